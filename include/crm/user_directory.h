/*
 * user_directory.h - GET /api/v1/users/directory: who the users are, for every
 * authenticated caller, so that pages can show "Ada Lovelace" for owner_id 7 and offer
 * owners and assignees in pickers. Only what a colleague may know: no emails, roles or
 * anything else of the users resource (that stays with administrators).
 *
 * Answer: {"data":[{"id":7,"name":"Ada Lovelace","team":"north"|null,"disabled":false},
 * ...]} - every user, by name then id, in one answer (no paging: a CRM has a few hundred
 * users at most). No query parameters (anything else is a 400).
 */
#ifndef CRM_USER_DIRECTORY_H
#define CRM_USER_DIRECTORY_H

struct router;

void user_directory_routes_register(struct router *router);

#endif
