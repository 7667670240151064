/*
 * two_factor_http.h - the routes of two-factor sign-in (src/http/two_factor_http.c):
 * /api/v1/auth/2fa (status, enrol, confirm) and the second step of a login
 * (/api/v1/auth/login/second-factor, /auth/login/enrol, /auth/login/confirm).
 */
#ifndef CRM_TWO_FACTOR_HTTP_H
#define CRM_TWO_FACTOR_HTTP_H

struct db;
struct response;
struct router;
struct user;

/*
 * The answer of a login whose password was right but that needs a second step
 * (`step`: "verify" or "enrol", two_factor_login_step()): 200 with a challenge token and
 * no session, or 503.
 */
void two_factor_login_challenge_reply(struct db *db, struct response *res,
				      const struct user *user, const char *step);

void two_factor_routes_register(struct router *router);

#endif
