/*
 * One PostgreSQL connection per worker (libpq).  Opened lazily on the first
 * request, its statements prepared once per connection (struct stmt keeps
 * the connection generation it was prepared in), reopened after a failure:
 * the request that meets a broken connection answers 503 with Retry-After,
 * the next one reconnects.  Every request that touches tenant data runs in
 * one transaction whose first statement sets app.tenant_id, app.livemode and
 * app.user_id with set_config(..., true); row-level security does the rest.
 *
 * Round trips are the cost that matters: db_begin() only records the
 * transaction, whose BEGIN and set_config() travel in one libpq pipeline with
 * the first statement, and a read-only transaction's COMMIT is sent without
 * waiting (nothing can be lost by a failed read-only commit), its result read
 * before the connection's next command.
 *
 * SQL only through db_exec() (PQexecPrepared with text parameters).  PQexec
 * is kept for the constants BEGIN, COMMIT and ROLLBACK and for migrations.
 *
 * SQLSTATE -> error, in db_exec():
 *   08xxx, 57P01-57P03, connection lost -> 503 api_error, Retry-After: 1, reconnect next time
 *   40001, 40P01 (serialization, deadlock) -> 503 api_error, Retry-After: 1
 *   57014 (statement timeout)           -> 503 api_error
 *   23505, 23514 (unique, check)        -> 400 parameter_invalid naming the param, from one
 *                                           constraint -> param table in db.c; 500 for a
 *                                           constraint on a value levy made itself
 *   23503, 22xxx                        -> 400 invalid_request_error
 *   42501 (insufficient privilege)      -> 500, logged as a bug
 *   anything else                       -> 500
 */
#ifndef LEVY_DB_H
#define LEVY_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "core/arena.h"
#include "core/err.h"

struct stmt {
	const char *name; /* unique per program: the variable's name */
	const char *sql;
	unsigned prepared_gen; /* == db->generation when prepared on this connection */
};
/* STMT(tenant_get, "SELECT ... WHERE id = $1") declares a static struct stmt. */
#define STMT(id, text) static struct stmt id = {#id, text, 0}

/* Statements sent by db_defer() whose results are not read yet, at most. */
#define DB_DEFER_MAX 32

/* The context's settings: app.tenant_id, app.livemode, app.user_id, app.request_id. */
#define DB_CTX_PARAMS 4
#define DB_CTX_LEN 40

struct db {
	PGconn *conn;
	char *conninfo;
	unsigned generation; /* bumped on every (re)connect; 0: never connected */
	bool in_tx;
	bool broken; /* reconnect before the next statement */
	/*
	 * BEGIN and the context are sent with the transaction's first statement,
	 * in one pipeline (one round trip for three statements).
	 */
	bool begin_pending;
	bool begin_readonly;
	bool begin_has_ctx;
	char begin_ctx[DB_CTX_PARAMS][DB_CTX_LEN];
	const struct db_check *begin_check; /* NULL: none, or already answered */
	/* A read-only COMMIT sent without waiting; its result is read before the next command. */
	bool commit_unread;
	/* In an implicit pipeline transaction (struct db_check.implicit), and its Sync sent. */
	bool pipe_open;
	bool sync_unread;
	bool final_next; /* db_final(): the next statement ends the implicit transaction */
	/*
	 * Results still to read of statements sent by db_defer() (a PREPARE
	 * counts as one); the connection is in pipeline mode while there are.
	 * Each one's name, for the error of the first that failed.
	 */
	int deferred;
	const char *deferred_what[DB_DEFER_MAX];
	char last_constraint[64];
	char last_sqlstate[6];
};

/* The tenant context of a transaction.  tenant_id 0: none (register, login). */
struct db_ctx {
	long long tenant_id;
	int livemode;      /* 0, 1, or -1: unset */
	long long user_id; /* 0: none (API key) */
	/* A write's Request-Id, for event.request.id (app.request_id); NULL: none. */
	const char *request_id;
};

/*
 * A statement that establishes who is calling (an API key's look-up, a
 * user's current role), sent in the transaction's opening pipeline just
 * before the first statement.  fn judges its result: 0, or -1 with e set
 * (401, 403); on -1 the statement after it is discarded and its
 * transaction can only be rolled back.  The struct and its params must live
 * until db_settle() or the first db_exec().
 */
struct db_check {
	struct stmt *stmt;
	int n;
	const char *params[5];
	int (*fn)(void *arg, PGresult *r, struct err *e);
	void *arg;
	/*
	 * The check sets the context and read-only mode itself, so a read-only
	 * transaction needs no BEGIN: the statements run in the pipeline's
	 * implicit transaction, which its Sync (sent at commit, not waited for)
	 * ends.  Only for read-only transactions: there is nothing to roll back.
	 */
	bool implicit;
};

void db_init(struct db *db, const char *conninfo);
/* Connects if needed. 0, or -1 with e = 503. */
int db_connect(struct db *db, struct err *e);
/* BEGIN [READ ONLY] then one SELECT set_config(...) x3 (ctx may be NULL: no context). */
int db_begin(struct db *db, bool readonly, const struct db_ctx *ctx, struct err *e);
/* db_begin() with a check that travels with the first statement (see struct db_check). */
int db_begin_checked(struct db *db, bool readonly, const struct db_ctx *ctx,
                     const struct db_check *check, struct err *e);
/*
 * Sends the opening pipeline now if no statement has yet, so that the
 * check's verdict is known: 0, or -1 with e set.  db_commit() settles by
 * itself; call it before db_rollback() when the caller's answer depends on
 * who is calling.
 */
int db_settle(struct db *db, struct err *e);
/*
 * Declares the next statement the transaction's last.  In an implicit
 * (read-only) pipeline transaction it then carries the Sync that ends the
 * transaction, saving a message and a wait; a statement after it would run
 * with no context, so RLS shows it nothing.  Elsewhere it changes nothing.
 */
void db_final(struct db *db);
/* Sets the context again inside the open transaction (register creates its tenant). */
int db_set_context(struct db *db, const struct db_ctx *ctx, struct err *e);
int db_commit(struct db *db, struct err *e);
/* Safe to call when no transaction is open. */
void db_rollback(struct db *db);
/*
 * Runs a prepared statement with n text parameters (NULL: SQL NULL).  The
 * result is PQclear'ed at arena_reset(a); NULL with e set on error.
 */
PGresult *db_exec(struct db *db, struct arena *a, struct stmt *s, int n, const char *const *params,
                  struct err *e);
/*
 * Sends a statement of a write transaction whose result the caller does
 * not need, without waiting for it: its success is known when the next
 * db_exec(), db_flush() or db_commit() reads its result with theirs, in the
 * same round trip.  A statement that failed fails that call with its own
 * error, and none of the statements after it ran (the transaction can only
 * be rolled back).  Outside a write transaction, or first in one, it is
 * db_exec().  0, or -1 with e set (an error of this or an earlier statement).
 */
int db_defer(struct db *db, struct stmt *s, int n, const char *const *params, struct err *e);
/* Reads the results of deferred statements now: 0, or -1 with the first failure's error. */
int db_flush(struct db *db, struct err *e);
/*
 * True while any connection of the process has deferred statements whose
 * outcome is unknown.  Nothing may leave the process on the strength of
 * them (a charge sent to Stripe): the Stripe client refuses to call then.
 */
bool db_unconfirmed(void);
/* Copies of a result's field in the arena; NULL for SQL NULL. */
const char *db_str(struct arena *a, PGresult *r, int row, int col);
long long db_int(PGresult *r, int row, int col); /* 0 for NULL */
bool db_bool(PGresult *r, int row, int col);     /* 't' */
/*
 * Refuses to serve as a role that voids row-level security: 0, or -1 with
 * a reason in errbuf when the role is a superuser, has BYPASSRLS, or owns a
 * table, view, sequence or function of the database.
 */
int db_check_app_role(struct db *db, char *errbuf, size_t errlen);
void db_close(struct db *db);

#endif
