/*
 * Idempotent POSTs (../shared/API.md): a request that carries an
 * Idempotency-Key is answered once; for 24 hours per tenant, mode and key a
 * repeat with the same request gets the first answer again (with
 * Idempotent-Replayed: true), a repeat with other parameters 400, a repeat
 * while the first still runs 409.  The stored answer is written in the
 * first request's own transaction, so it exists exactly when the work does;
 * an answer whose transaction is rolled back (a refused parameter, a 5xx)
 * is not stored, and a retry runs afresh.
 */
#ifndef LEVY_IDEM_H
#define LEVY_IDEM_H

#include <stdbool.h>

#include "core/err.h"

struct req;
struct reply;

#define IDEM_KEY_MAX_LEN 255

struct idem {
	const char *key; /* NULL: the request carries none */
	char hash[65];   /* SHA-256 of method, path and the decoded parameters */
};

/*
 * Reads the Idempotency-Key of a POST into *id (id->key NULL when none, not
 * a POST, a public route or one whose answer holds a secret): 0, or -1 with e = 400 for an empty or
 * too long key.
 */
int idem_prepare(struct req *r, struct idem *id, struct err *e);
/*
 * Inside the request's transaction, before the handler: 0 with *replayed
 * false (go ahead: the key is held until the transaction ends), 0 with
 * *replayed true and out filled with the first answer, or -1 with e set
 * (400 other parameters, 409 in use).
 */
int idem_begin(struct req *r, const struct idem *id, struct reply *out, bool *replayed,
               struct err *e);
/* After the handler, still in its transaction: stores the answer (out, or e when set). */
int idem_finish(struct req *r, const struct idem *id, const struct reply *out,
                const struct err *handler_err, struct err *e);

#endif
