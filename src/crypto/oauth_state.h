/*
 * The state of levy's Stripe Connect OAuth flow: a signed, expiring value
 * that ties the authorize URL to the tenant and the user who asked for it,
 * so that a callback with a code obtained by someone else (OAuth CSRF:
 * connecting the victim's tenant to the attacker's Stripe account) or
 * replayed later is refused.
 *
 * Form: base64url(payload) "." base64url(HMAC-SHA256(key, payload)),
 * payload = version (1 byte), tenant id, user id, expiry (8 bytes each,
 * big-endian), nonce (16 random bytes).  The key is derived from the JWT
 * secret with its own label, so a state is never a valid token of another
 * kind and the other way round.
 */
#ifndef LEVY_OAUTH_STATE_H
#define LEVY_OAUTH_STATE_H

#include <stddef.h>

/* How long the owner has to come back from Stripe. */
#define OAUTH_STATE_TTL 600
/* The state's length: 55 + 1 + 43 characters; longer input is refused unread. */
#define OAUTH_STATE_LEN 99

enum oauth_state_verdict {
	OAUTH_STATE_OK = 0,
	OAUTH_STATE_MALFORMED,    /* not of the form, or of another version */
	OAUTH_STATE_BAD_MAC,      /* not made with this key, or altered */
	OAUTH_STATE_EXPIRED,      /* now is past its expiry */
	OAUTH_STATE_OTHER_TENANT, /* made for another tenant */
	OAUTH_STATE_OTHER_USER,   /* made for another user of the tenant */
};

/*
 * A new state for (tenant, user), valid until now + ttl (*expires_at), in
 * out (at least OAUTH_STATE_LEN + 1 bytes).  0, or -1 when out is too
 * small or the secret empty.
 */
int oauth_state_make(const char *secret, long long tenant_id, long long user_id, long long now,
                     int ttl, char *out, size_t outlen, long long *expires_at);
/*
 * Checks state: its MAC (in constant time, before anything in it is
 * believed), then expiry, then that it names this tenant and user.
 */
enum oauth_state_verdict oauth_state_check(const char *secret, const char *state,
                                           long long tenant_id, long long user_id, long long now);

#endif
