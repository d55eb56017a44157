/*
 * Dashboard sessions: login, token refresh with rotation, logout, and the
 * issuing of a token pair that register and login share.
 */
#ifndef LEVY_API_SESSION_H
#define LEVY_API_SESSION_H

#include <json-c/json.h>

#include "core/err.h"

struct req;
struct reply;

/*
 * Inside a transaction in the tenant's context: issues an access and a
 * refresh token (recorded in family, or a new family when NULL) and returns
 * {"access", "refresh"} in *tokens (a new reference).
 */
int session_issue(struct req *r, long long tenant_id, long long user_id, const char *role,
                  const char *family, struct json_object **tokens, struct err *e);

int session_login(struct req *r, struct reply *out, struct err *e);
int session_refresh(struct req *r, struct reply *out, struct err *e);
int session_logout(struct req *r, struct reply *out, struct err *e);

#endif
