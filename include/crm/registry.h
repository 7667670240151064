/*
 * registry.h - what the registered resource descriptors (resource.h) imply, in one place:
 * the permission resource names that grants can name, and the webhook event names.
 *
 * Permission names: every registered resource's `name`, in the order of registration,
 * then the hand-written names of areas that are no resource (registry_other_permissions:
 * analytics, users, audit). Event names: "<singular>.<verb>" for every verb of every
 * registered resource's `events`, in the order of registration. Nothing here is a list to
 * keep in step: a new resource brings its names with its descriptor.
 */
#ifndef CRM_REGISTRY_H
#define CRM_REGISTRY_H

#include <stdbool.h>

#include <jansson.h>

/* A permission resource that is no registered resource (hand-written routes). */
struct registry_permission {
	const char *name;        /* as grants name it: "analytics" */
	const char *description; /* what it covers, for GET /api/v1/meta */
};

/* The permission names of areas without a descriptor, {NULL}-terminated. */
extern const struct registry_permission registry_other_permissions[];

/*
 * The `index`th permission resource name (0, 1, ...): registered resources first, then
 * registry_other_permissions; NULL past the end.
 */
const char *registry_permission_at(int index);
/* Whether grants can name `name` (one of registry_permission_at()'s names). */
bool registry_permission_known(const char *name);

/* Calls `visit` for every event name, in order. The name is valid during the call only. */
void registry_events_each(void (*visit)(void *context, const char *event), void *context);
/* The event names as a new JSON array of strings. */
json_t *registry_events_json(void);
/* Whether `event` is the name of an event ("contact.created"). */
bool registry_event_known(const char *event);
/* Whether `pattern` is "<singular>.*" of a resource that has events ("contact.*"). */
bool registry_event_family_known(const char *pattern);

#endif
