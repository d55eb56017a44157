/*
 * Live-mode customers and cards mirrored onto the tenant's connected
 * Stripe account, where the money moves.  Objects that move no money are
 * made in levy alone (a customer can be created before any account is
 * connected); a customer is mirrored when a card is attached to it or a
 * live payment needs it, a card when it is attached.  Each mirror is one
 * Stripe call with an Idempotency-Key made from levy's id and what is sent
 * (levy_mirror_<id>_<24 hex digits of the SHA-256 of the account and the
 * form>), then the row's update in the request's transaction: if that
 * transaction rolls back (a 503 later on), the retry asks Stripe again with
 * the same key and gets the same object, never a second one.  A customer
 * changed between two failed attempts is sent with a new key: Stripe
 * refuses a key reused with other parameters (idempotency_error).
 */
#ifndef LEVY_MIRROR_H
#define LEVY_MIRROR_H

#include "core/err.h"

struct req;

/* The connected account a live call goes to, checked (pay_live_ready). */
struct mirror {
	const char *account; /* acct_ */
};

/*
 * The tenant's connected account (tenants.stripe_account_id): 0, or -1
 * with e = 400 when there is none or the platform has no Stripe key.
 */
int mirror_open(struct req *r, struct mirror *m, struct err *e);
/* The same with the account already read (NULL: none). */
int mirror_init(struct req *r, const char *account, struct mirror *m, struct err *e);

/*
 * The customer's id on the connected account (*remote, cus_), made there
 * first when the customer has none, or one on another account.
 */
int mirror_customer(struct req *r, const struct mirror *m, const char *customer,
                    const char **remote, struct err *e);

/*
 * Attaches live payment method pm, still holding its Stripe token, to
 * customer, whose id on the account is remote_customer (mirror_customer()
 * first): the token becomes a card of that customer on Stripe, and the row
 * becomes attached with the card's id, brand, last4, expiry, funding,
 * country and fingerprint as Stripe tells them (the token is forgotten:
 * Stripe takes it once).  *json is the payment method now.  402
 * card_error when Stripe declines the card.
 */
int mirror_attach_card(struct req *r, const struct mirror *m, const char *pm, const char *token,
                       const char *customer, const char *remote_customer, const char **json,
                       struct err *e);

/*
 * What a live charge with pm names on Stripe: the customer and the card.
 * 400 naming payment_method when pm has no card on Stripe yet (never
 * attached), is detached, or was saved on another account than the one
 * connected now.
 */
int mirror_charge_ids(struct req *r, const struct mirror *m, const char *pm,
                      const char **remote_customer, const char **remote_card, struct err *e);

#endif
