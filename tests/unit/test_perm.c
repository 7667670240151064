/*
 * test_perm.c - permission decisions against a temporary, migrated database: the default
 * grants of the built-in roles, scope coverage (own, team, all, none; records without an
 * owner; callers without a team), read-only keys, custom roles and changed grants.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "unit_db.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/db.h"
#include "crm/perm.h"
#include "crm/registry.h"
#include "crm/roles.h"
#include "crm/routes.h"
#include "crm/users.h"

/* Creates a user (no password) and returns its id. */
static int64_t add_user(struct db *db, const char *email, const char *role, const char *team)
{
	struct user_change fields = USER_CHANGE_INIT;
	fields.email = email;
	fields.name = email;
	fields.role = role;
	fields.set_team = team != NULL;
	fields.team = team;
	struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	struct user created;
	CHECK_INT(DB_OK, users_create(db, &fields, &actor, &created));
	return created.id;
}

static struct auth_context caller_for(int64_t id, const char *role, const char *team)
{
	struct auth_context ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.method = AUTH_METHOD_API_KEY;
	ctx.user_id = id;
	snprintf(ctx.role, sizeof(ctx.role), "%s", role);
	snprintf(ctx.team, sizeof(ctx.team), "%s", team ? team : "");
	return ctx;
}

static void test_names_parse_and_print(void)
{
	CHECK_INT(PERM_READ, perm_action_parse("read"));
	CHECK_INT(PERM_WRITE, perm_action_parse("write"));
	CHECK_INT(PERM_DELETE, perm_action_parse("delete"));
	CHECK_INT(-1, perm_action_parse("Read"));
	CHECK_INT(-1, perm_action_parse(""));
	CHECK_INT(-1, perm_action_parse(NULL));
	CHECK_INT(PERM_SCOPE_ALL, perm_scope_parse("all"));
	CHECK_INT(PERM_SCOPE_TEAM, perm_scope_parse("team"));
	CHECK_INT(PERM_SCOPE_OWN, perm_scope_parse("own"));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_parse("none"));
	CHECK_INT(-1, perm_scope_parse("everything"));
	CHECK_STR("delete", perm_action_name(PERM_DELETE));
	CHECK_STR("team", perm_scope_name(PERM_SCOPE_TEAM));
	CHECK(roles_name_valid("sales-lead_2"));
	CHECK(!roles_name_valid("Sales"));
	CHECK(!roles_name_valid("2x"));
	CHECK(!roles_name_valid(""));
	CHECK(registry_permission_known("contacts"));
	CHECK(registry_permission_known("users"));
	CHECK(!registry_permission_known("spaceships"));
	/* the registered resources in their order, then the areas that are no resource */
	static const char *const names[] = {
		"contacts", "companies", "interactions", "tasks", "opportunities", "purchases",
		"segments", "webhooks", "analytics", "users", "audit", NULL,
	};
	for (int i = 0; names[i]; i++)
		CHECK_STR(names[i], registry_permission_at(i));
	CHECK(registry_permission_at(11) == NULL);
}

static void test_default_grants_of_builtin_roles(void)
{
	struct db *db = open_fresh_db("perm", true);
	struct auth_context admin = caller_for(add_user(db, "a@x.io", "admin", NULL), "admin", NULL);
	struct auth_context manager =
		caller_for(add_user(db, "m@x.io", "manager", "east"), "manager", "east");
	struct auth_context rep = caller_for(add_user(db, "r@x.io", "rep", "east"), "rep", "east");
	struct auth_context viewer = caller_for(add_user(db, "v@x.io", "viewer", NULL), "viewer", NULL);

	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &admin, "contacts", PERM_DELETE));
	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &admin, "users", PERM_WRITE));
	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &admin, "audit", PERM_READ));

	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &manager, "contacts", PERM_READ));
	CHECK_INT(PERM_SCOPE_TEAM, perm_scope_for(db, &manager, "contacts", PERM_WRITE));
	CHECK_INT(PERM_SCOPE_TEAM, perm_scope_for(db, &manager, "opportunities", PERM_DELETE));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &manager, "users", PERM_READ));

	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &rep, "companies", PERM_READ));
	CHECK_INT(PERM_SCOPE_OWN, perm_scope_for(db, &rep, "companies", PERM_WRITE));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &rep, "companies", PERM_DELETE));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &rep, "audit", PERM_READ));

	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &viewer, "contacts", PERM_READ));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &viewer, "contacts", PERM_WRITE));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &viewer, "contacts", PERM_DELETE));

	/* Unknown resources and roles, and no caller at all, get nothing. */
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &admin, "spaceships", PERM_READ));
	struct auth_context ghost = caller_for(99, "emperor", NULL);
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &ghost, "contacts", PERM_READ));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, NULL, "contacts", PERM_READ));
	remove_db(db);
}

static void test_scope_coverage(void)
{
	struct db *db = open_fresh_db("perm", true);
	int64_t me_id = add_user(db, "me@x.io", "rep", "east");
	int64_t teammate = add_user(db, "mate@x.io", "rep", "east");
	int64_t stranger = add_user(db, "far@x.io", "rep", "west");
	int64_t loner = add_user(db, "solo@x.io", "rep", NULL);
	struct auth_context me = caller_for(me_id, "rep", "east");

	CHECK(perm_scope_covers(db, PERM_SCOPE_ALL, &me, stranger));
	CHECK(perm_scope_covers(db, PERM_SCOPE_ALL, &me, 0)); /* no owner: only `all` */
	CHECK(!perm_scope_covers(db, PERM_SCOPE_TEAM, &me, 0));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_OWN, &me, 0));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_NONE, &me, me_id));

	CHECK(perm_scope_covers(db, PERM_SCOPE_OWN, &me, me_id));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_OWN, &me, teammate));

	CHECK(perm_scope_covers(db, PERM_SCOPE_TEAM, &me, me_id));
	CHECK(perm_scope_covers(db, PERM_SCOPE_TEAM, &me, teammate));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_TEAM, &me, stranger));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_TEAM, &me, loner));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_TEAM, &me, 424242)); /* no such user */

	/* A caller without a team: team scope behaves like own, and teamless owners do not
	 * form a team with them. */
	struct auth_context solo = caller_for(loner, "rep", NULL);
	CHECK(perm_scope_covers(db, PERM_SCOPE_TEAM, &solo, loner));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_TEAM, &solo, me_id));
	int64_t other_loner = add_user(db, "solo2@x.io", "rep", NULL);
	CHECK(!perm_scope_covers(db, PERM_SCOPE_TEAM, &solo, other_loner));

	/* The owner's team is read now: moving the teammate away takes effect at once. */
	struct user_change change = USER_CHANGE_INIT;
	change.set_team = true;
	change.team = "west";
	struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	struct user after;
	CHECK_INT(DB_OK, users_update(db, teammate, 0, &change, &actor, 0, &after));
	CHECK(!perm_scope_covers(db, PERM_SCOPE_TEAM, &me, teammate));

	char team[64];
	CHECK_INT(DB_OK, users_store_team_of(db, stranger, team, sizeof(team)));
	CHECK_STR("west", team);
	CHECK_INT(DB_OK, users_store_team_of(db, loner, team, sizeof(team)));
	CHECK_STR("", team);
	CHECK_INT(DB_NOT_FOUND, users_store_team_of(db, 424242, team, sizeof(team)));
	remove_db(db);
}

static void test_read_only_keys_never_write(void)
{
	struct db *db = open_fresh_db("perm", true);
	struct auth_context admin = caller_for(add_user(db, "a@x.io", "admin", NULL), "admin", NULL);
	admin.read_only = true;
	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &admin, "contacts", PERM_READ));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &admin, "contacts", PERM_WRITE));
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &admin, "users", PERM_DELETE));
	remove_db(db);
}

static void test_custom_roles_and_changed_grants(void)
{
	struct db *db = open_fresh_db("perm", true);
	CHECK_INT(DB_OK, roles_create(db, "lead", "team lead", "rep", 0, AUDIT_ACTOR_CLI));
	CHECK_INT(DB_CONFLICT, roles_create(db, "lead", NULL, NULL, 0, AUDIT_ACTOR_CLI));
	CHECK_INT(DB_NOT_FOUND, roles_create(db, "x", NULL, "emperor", 0, AUDIT_ACTOR_CLI));
	CHECK_INT(DB_NOT_FOUND, roles_store_exists(db, "x"));
	struct auth_context lead = caller_for(add_user(db, "l@x.io", "lead", "east"), "lead", "east");
	CHECK_INT(PERM_SCOPE_OWN, perm_scope_for(db, &lead, "contacts", PERM_WRITE));
	CHECK_INT(DB_OK, roles_grant(db, "lead", "contacts", PERM_WRITE, PERM_SCOPE_TEAM, 0,
					   AUDIT_ACTOR_CLI));
	CHECK_INT(PERM_SCOPE_TEAM, perm_scope_for(db, &lead, "contacts", PERM_WRITE));
	CHECK_INT(DB_OK, roles_grant(db, "lead", "audit", PERM_READ, PERM_SCOPE_ALL, 0,
					   AUDIT_ACTOR_CLI));
	CHECK_INT(PERM_SCOPE_ALL, perm_scope_for(db, &lead, "audit", PERM_READ));
	CHECK_INT(DB_NOT_FOUND, roles_grant(db, "emperor", "audit", PERM_READ, PERM_SCOPE_ALL,
						  0, AUDIT_ACTOR_CLI));
	/* An empty role can do nothing. */
	CHECK_INT(DB_OK, roles_create(db, "nobody", NULL, NULL, 0, AUDIT_ACTOR_CLI));
	struct auth_context nobody = caller_for(add_user(db, "n@x.io", "nobody", NULL), "nobody", NULL);
	CHECK_INT(PERM_SCOPE_NONE, perm_scope_for(db, &nobody, "contacts", PERM_READ));
	remove_db(db);
}

int main(void)
{
	routes_register_resources(); /* permission names come from the descriptors */
	RUN(test_names_parse_and_print);
	RUN(test_default_grants_of_builtin_roles);
	RUN(test_scope_coverage);
	RUN(test_read_only_keys_never_write);
	RUN(test_custom_roles_and_changed_grants);
	return check_finish();
}
