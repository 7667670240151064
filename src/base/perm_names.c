/*
 * perm_names.c - the words of the permission model (perm.h): actions and scopes as they
 * appear in grants, the API and crmctl. Pure, so that the store can read and write grants
 * without the decisions of src/core/perm.c.
 */
#include "crm/perm.h"

#include <string.h>

#include "crm/banned.h"

const char *perm_action_name(enum perm_action action)
{
	switch (action) {
	case PERM_READ: return "read";
	case PERM_WRITE: return "write";
	case PERM_DELETE: return "delete";
	}
	return "read";
}

const char *perm_scope_name(enum perm_scope scope)
{
	switch (scope) {
	case PERM_SCOPE_NONE: return "none";
	case PERM_SCOPE_OWN: return "own";
	case PERM_SCOPE_TEAM: return "team";
	case PERM_SCOPE_ALL: return "all";
	}
	return "none";
}

int perm_action_parse(const char *text)
{
	if (!text)
		return -1;
	if (strcmp(text, "read") == 0)
		return PERM_READ;
	if (strcmp(text, "write") == 0)
		return PERM_WRITE;
	if (strcmp(text, "delete") == 0)
		return PERM_DELETE;
	return -1;
}

int perm_scope_parse(const char *text)
{
	if (!text)
		return -1;
	if (strcmp(text, "none") == 0)
		return PERM_SCOPE_NONE;
	if (strcmp(text, "own") == 0)
		return PERM_SCOPE_OWN;
	if (strcmp(text, "team") == 0)
		return PERM_SCOPE_TEAM;
	if (strcmp(text, "all") == 0)
		return PERM_SCOPE_ALL;
	return -1;
}
