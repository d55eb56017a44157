/*
 * Who is calling.  Credentials: an API key (Authorization: Bearer, X-API-Key
 * or HTTP Basic with the key as user name) or a dashboard JWT access token
 * (Authorization: Bearer eyJ...).  A key's format and checksum are checked
 * before any database look-up; the look-up by hash runs outside the request
 * transaction through a SECURITY DEFINER function.  A user's role and state
 * come from the database inside the request's transaction (auth_load_user),
 * so that a demoted or deleted user loses access at once.
 */
#ifndef LEVY_AUTH_H
#define LEVY_AUTH_H

#include "core/err.h"

struct req;

/*
 * Fills r->who from the request's credentials as the route's flags allow:
 * 401 for missing or bad credentials, 403 for a publishable key where a
 * secret one is needed, a key where a user is needed, or a suspended tenant.
 * Leaves r->who.kind P_NONE on a public route.
 */
int auth_identify(struct req *r, struct err *e);
/*
 * Opens the request's transaction with its credentials' check: for a user,
 * the current role is loaded in the same round trip as BEGIN and the context
 * (and the route's action authorized); for an API key, the look-up travels
 * with the handler's first statement (see struct principal).
 */
int auth_begin(struct req *r, struct err *e);
/* Inside an open transaction: loads the user's role; 401 if gone or inactive. */
int auth_load_user(struct req *r, struct err *e);
/* The route's action against the caller; 403 permission_error when refused. */
int auth_authorize(struct req *r, int action, struct err *e);

#endif
