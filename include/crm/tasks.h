/*
 * tasks.h - the tasks resource (API.md section 5: follow-ups) on the generic resource
 * mechanism (resource.h).
 *
 * Rules beyond the field types:
 *   - title is required; assignee_id defaults to the caller (null: nobody).
 *   - done is a boolean (false when absent or null). done_at is read-only: the server sets
 *     it to the current time when done becomes true and clears it when done becomes false;
 *     a write that leaves done as it was keeps done_at.
 * Permissions: assignee_id is the owner. A rep (write own) may create tasks for themself
 * and change the tasks assigned to them; a manager may assign within the team. A task
 * without assignee is covered by scope `all` only.
 * Lists: filters assignee_id (also `me`), done (true|false), contact_id, opportunity_id,
 * due_before (due_at < value), due_after (due_at > value); ?sort=due_at (tasks without a
 * due date come first ascending, last with -due_at). What a rep has due:
 * GET /api/v1/tasks?assignee_id=me&done=false&due_before=2026-11-24T00:00:00Z&sort=due_at
 */
#ifndef CRM_TASKS_H
#define CRM_TASKS_H

#include "crm/resource.h"


extern const struct resource tasks_resource;


#endif
