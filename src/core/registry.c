/*
 * registry.c - the names the resource descriptors imply (registry.h): permission resource
 * names and webhook event names, derived from the registered descriptors, plus the one
 * table of permission names that belong to no resource.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/registry.h"

#include <stdio.h>
#include <string.h>

#include "crm/resource.h"
#include "crm/banned.h"

#define REGISTRY_EVENT_MAX 128

const char *const resource_change_events[] = { "created", "updated", "deleted", NULL };

const struct registry_permission registry_other_permissions[] = {
	{ "analytics", "Customer-value analytics: scores, tiers and reports (write: the "
		       "settings and a recomputation)." },
	{ "users", "The people who use the CRM, their API keys and roles (administration)." },
	{ "audit", "The audit log of every change." },
	{ NULL, NULL },
};

const char *registry_permission_at(int index)
{
	const struct resource *resource = resource_at(index);
	if (resource)
		return resource->name;
	int resources = 0;
	while (resource_at(resources))
		resources++;
	for (int i = 0; registry_other_permissions[i].name; i++)
		if (i == index - resources)
			return registry_other_permissions[i].name;
	return NULL;
}

bool registry_permission_known(const char *name)
{
	if (resource_find(name))
		return true;
	for (int i = 0; registry_other_permissions[i].name; i++)
		if (strcmp(registry_other_permissions[i].name, name) == 0)
			return true;
	return false;
}

void registry_events_each(void (*visit)(void *context, const char *event), void *context)
{
	const struct resource *resource;
	for (int i = 0; (resource = resource_at(i)) != NULL; i++) {
		for (int v = 0; resource->events && resource->events[v]; v++) {
			char event[REGISTRY_EVENT_MAX];
			snprintf(event, sizeof(event), "%s.%s", resource->singular, resource->events[v]);
			visit(context, event);
		}
	}
}

static void append_event(void *context, const char *event)
{
	json_array_append_new(context, json_string(event));
}

json_t *registry_events_json(void)
{
	json_t *events = json_array();
	registry_events_each(append_event, events);
	return events;
}

/* For registry_event_known(): the name looked for, and whether it came by. */
struct event_search {
	const char *name;
	size_t length; /* compared: the whole name, or the "contact." of "contact.*" */
	bool found;
};

static void match_event(void *context, const char *event)
{
	struct event_search *search = context;
	if (strncmp(event, search->name, search->length) == 0 &&
	    (search->name[search->length] == '*' || event[search->length] == '\0'))
		search->found = true;
}

bool registry_event_known(const char *event)
{
	struct event_search search = { event, strlen(event), false };
	registry_events_each(match_event, &search);
	return search.found;
}

bool registry_event_family_known(const char *pattern)
{
	size_t len = strlen(pattern);
	if (len < 3 || strcmp(pattern + len - 2, ".*") != 0)
		return false;
	struct event_search search = { pattern, len - 1, false };
	registry_events_each(match_event, &search);
	return search.found;
}
