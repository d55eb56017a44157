/*
 * The worker's connection: lazy connect, prepared statements, transactions
 * with the tenant context, and the SQLSTATE -> API error table.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db.h"

/* Deferred statements of every connection of the process whose results are unread. */
static int db_deferred_total;

static void db_forget_deferred(struct db *db)
{
	db_deferred_total -= db->deferred;
	db->deferred = 0;
}

bool db_unconfirmed(void)
{
	return db_deferred_total > 0;
}

static PGresult *db_deferred_end(struct db *db, const char *last, struct err *e, int *failed);

static void db_mark_broken(struct db *db)
{
	db_forget_deferred(db);
	db->broken = true;
	db->in_tx = false;
	db->begin_pending = false;
	db->commit_unread = false;
	db->pipe_open = false;
	db->sync_unread = false;
}

/*
 * Reads the result of a read-only COMMIT sent earlier.  A failure there lost
 * nothing, so it only means: reconnect.
 */
static void db_drain(struct db *db)
{
	PGresult *r;

	if (db->sync_unread) {
		/* The implicit transaction's end: skip to its Sync, then leave pipeline mode. */
		db->sync_unread = false;
		db->pipe_open = false;
		for (;;) {
			r = PQgetResult(db->conn);
			if (r == NULL) {
				if (PQstatus(db->conn) != CONNECTION_OK) {
					db->broken = true;
					return;
				}
				continue;
			}
			if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
				PQclear(r);
				break;
			}
			PQclear(r);
		}
		if (PQexitPipelineMode(db->conn) != 1)
			db->broken = true;
		return;
	}
	if (!db->commit_unread)
		return;
	db->commit_unread = false;
	while ((r = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			db->broken = true;
		PQclear(r);
	}
	if (PQstatus(db->conn) != CONNECTION_OK)
		db->broken = true;
}

void db_init(struct db *db, const char *conninfo)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = strdup(conninfo != NULL ? conninfo : "");
	if (db->conninfo == NULL)
		abort();
}

static int db_unavailable(struct err *e, const char *what, const char *pgmsg)
{
	err_set(e, 503, E_API, NULL, NULL,
	        "The database is unavailable. Please retry the request shortly.");
	e->retry_after = 1;
	err_detail(e, "%s: %s", what, pgmsg != NULL ? pgmsg : "");
	return -1;
}

int db_connect(struct db *db, struct err *e)
{
	if (db->conn != NULL)
		db_drain(db);
	if (db->conn != NULL && !db->broken && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db_forget_deferred(db);
	db->in_tx = false;
	db->broken = false;
	db->begin_pending = false;
	db->commit_unread = false;
	db->pipe_open = false;
	db->sync_unread = false;
	db->conn = PQconnectdb(db->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db->conn));
		msg[strcspn(msg, "\n")] = '\0';
		PQfinish(db->conn);
		db->conn = NULL;
		log_warning("could not connect to database: %s", msg);
		return db_unavailable(e, "could not connect to database", msg);
	}
	db->generation++;
	if (db->generation == 0)
		db->generation = 1;
	return 0;
}

/*
 * Constraint -> the param a client sent that it refused (PostgREST's idea).
 * Checks of values levy makes itself (slugs, secrets, hashes, ids) are not
 * here: a violation of one is a bug, answered 500.
 */
static const struct {
	const char *constraint;
	const char *param;
	const char *message;
} db_constraint_params[] = {
        {"tenant_users_email_key", "email", "A user with this email address already exists."},
        {"tenants_company_name_check", "company_name", "Invalid company_name."},
        {"tenants_email_check", "email", "Invalid email."},
        {"tenants_domain_check", "domain", "Invalid domain."},
        {"tenants_logo_url_check", "branding[logo_url]", "Invalid branding[logo_url]."},
        {"tenants_primary_color_check", "branding[primary_color]",
         "Invalid branding[primary_color]."},
        {"tenants_webhook_url_check", "webhook_url", "Invalid webhook_url."},
        {"tenants_platform_fee_bp_check", "platform_fee_percentage",
         "Invalid platform_fee_percentage: must be between 0 and 100."},
        {"tenant_users_email_check", "email", "Invalid email."},
        {"tenant_users_role_check", "role", "Invalid role."},
        {"tenant_users_first_name_check", "first_name", "Invalid first_name."},
        {"tenant_users_last_name_check", "last_name", "Invalid last_name."},
        {"webhook_endpoints_url_check", "webhook_url", "Invalid webhook_url."},
        /* A leading '*': any constraint whose name ends so (one per billing table). */
        {"*_metadata_check", "metadata",
         "Invalid metadata: at most 50 keys, keys of at most 40 characters and string values "
         "of at most 500 characters."},
};

static bool db_constraint_matches(const char *name, const char *pattern)
{
	size_t n = strlen(name), k;

	if (pattern[0] != '*')
		return strcmp(name, pattern) == 0;
	k = strlen(pattern + 1);
	return n >= k && strcmp(name + n - k, pattern + 1) == 0;
}

/* A constraint violation: 400 naming the param, or 500 when levy made the value. */
static void db_constraint_error(struct db *db, const char *what, const char *msg, struct err *e)
{
	for (size_t i = 0; i < sizeof(db_constraint_params) / sizeof(db_constraint_params[0]);
	     i++) {
		if (db_constraint_matches(db->last_constraint,
		                          db_constraint_params[i].constraint)) {
			err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid",
			        db_constraint_params[i].param, "%s",
			        db_constraint_params[i].message);
			err_detail(e, "%s: %s", what, msg);
			return;
		}
	}
	err_internal(e, "%s: constraint %s refused a value levy made: %s", what,
	             db->last_constraint, msg);
}

/* Fills e from a failed result; returns -1. */
static int db_result_error(struct db *db, PGresult *r, const char *what, struct err *e)
{
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint = r != NULL ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	const char *msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	snprintf(db->last_sqlstate, sizeof(db->last_sqlstate), "%s", state != NULL ? state : "");
	snprintf(db->last_constraint, sizeof(db->last_constraint), "%s",
	         constraint != NULL ? constraint : "");
	if (msg == NULL)
		msg = PQerrorMessage(db->conn);

	if (PQstatus(db->conn) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P0", 4) == 0) {
		db_mark_broken(db);
		log_warning("database connection lost during %s: %s", what, msg);
		db_unavailable(e, what, msg);
	} else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	           strcmp(state, "57014") == 0) {
		db_unavailable(e, what, msg);
	} else if (strcmp(state, "23505") == 0 || strcmp(state, "23514") == 0) {
		db_constraint_error(db, what, msg, e);
	} else if (strcmp(state, "23503") == 0 || strncmp(state, "22", 2) == 0) {
		err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid", NULL,
		        "The request conflicts with existing data or has an invalid value.");
		err_detail(e, "%s: %s (constraint %s)", what, msg, db->last_constraint);
	} else {
		if (strcmp(state, "42501") == 0)
			log_error("BUG: insufficient privilege in %s: %s", what, msg);
		err_internal(e, "%s: SQLSTATE %s: %s", what, state, msg);
	}
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", db->last_sqlstate);
	return -1;
}

static int db_command(struct db *db, const char *sql, struct err *e)
{
	PGresult *r;

	db_drain(db);
	r = PQexec(db->conn, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = db_result_error(db, r, sql, e);
	PQclear(r);
	return rc;
}

/* Ends an implicit (read-only) pipeline transaction: its Sync is sent, its result read later. */
static int db_pipe_end(struct db *db, struct err *e)
{
	if (db->sync_unread)
		return 0;
	if (PQpipelineSync(db->conn) != 1) {
		db_mark_broken(db);
		return 0; /* read-only: nothing was lost */
	}
	db->sync_unread = true;
	return 0;
}

STMT(db_context_set, "SELECT set_config('app.tenant_id', $1, true),"
                     " set_config('app.livemode', $2, true),"
                     " set_config('app.user_id', $3, true),"
                     " CASE WHEN $4 <> '' THEN set_config('app.request_id', $4, true) END");

static void db_ctx_params(const struct db_ctx *ctx, char out[DB_CTX_PARAMS][DB_CTX_LEN])
{
	out[0][0] = out[2][0] = '\0';
	if (ctx->tenant_id > 0)
		snprintf(out[0], DB_CTX_LEN, "%lld", ctx->tenant_id);
	snprintf(out[1], DB_CTX_LEN, "%s",
	         ctx->livemode < 0 ? "" : (ctx->livemode ? "true" : "false"));
	if (ctx->user_id > 0)
		snprintf(out[2], DB_CTX_LEN, "%lld", ctx->user_id);
	snprintf(out[3], DB_CTX_LEN, "%s", ctx->request_id != NULL ? ctx->request_id : "");
}

int db_set_context(struct db *db, const struct db_ctx *ctx, struct err *e)
{
	char vals[DB_CTX_PARAMS][DB_CTX_LEN];
	const char *params[DB_CTX_PARAMS] = {vals[0], vals[1], vals[2], vals[3]};
	PGresult *r;

	if (db->begin_pending) {
		db_ctx_params(ctx, db->begin_ctx);
		db->begin_has_ctx = true;
		return 0;
	}
	db_ctx_params(ctx, vals);
	r = db_exec(db, NULL, &db_context_set, DB_CTX_PARAMS, params, e);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int db_begin(struct db *db, bool readonly, const struct db_ctx *ctx, struct err *e)
{
	return db_begin_checked(db, readonly, ctx, NULL, e);
}

int db_begin_checked(struct db *db, bool readonly, const struct db_ctx *ctx,
                     const struct db_check *check, struct err *e)
{
	if (db_connect(db, e) != 0)
		return -1;
	db->begin_check = check;
	db->final_next = false;
	db->in_tx = true;
	db->begin_pending = true;
	db->begin_readonly = readonly;
	db->begin_has_ctx = ctx != NULL;
	if (ctx != NULL)
		db_ctx_params(ctx, db->begin_ctx);
	return 0;
}

int db_commit(struct db *db, struct err *e)
{
	int rc;

	if (!db->in_tx)
		return 0;
	if (db->begin_pending && db->begin_check != NULL && db_settle(db, e) != 0) {
		db_rollback(db);
		return -1;
	}
	if (!db->in_tx)
		return 0; /* the settle's Sync ended it (db_final) */
	db->in_tx = false;
	if (db->begin_pending) {
		/* Nothing ran: there is nothing to commit. */
		db->begin_pending = false;
		return 0;
	}
	if (db->pipe_open)
		return db_pipe_end(db, e);
	if (db->deferred > 0) {
		/* COMMIT travels with the deferred statements' results. */
		PGresult *r;
		int failed;

		if (PQsendQueryParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1)
			return db_result_error(db, NULL, "COMMIT", e);
		r = db_deferred_end(db, "COMMIT", e, &failed);
		if (r != NULL) {
			PQclear(r);
			return 0;
		}
		/* A deferred statement failed: COMMIT did not run, the transaction is still open.
		 */
		if (!db->broken && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
			r = PQexec(db->conn, "ROLLBACK");
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				db_mark_broken(db);
			PQclear(r);
		}
		return -1;
	}
	if (db->begin_readonly && !db->broken) {
		if (PQsendQueryParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1) {
			db->commit_unread = true;
			return 0;
		}
	}
	rc = db_command(db, "COMMIT", e);
	return rc;
}

void db_rollback(struct db *db)
{
	struct err ignored;
	PGresult *r;

	if (db->begin_pending) {
		db->begin_pending = false;
		db->begin_check = NULL;
		db->in_tx = false;
		return;
	}
	if (db->conn == NULL || db->broken)
		return;
	if (db->deferred > 0) {
		struct err ignored_deferred;
		int failed;

		err_clear(&ignored_deferred);
		db_deferred_end(db, NULL, &ignored_deferred, &failed);
		if (db->broken)
			return;
	}
	if (db->pipe_open) {
		struct err ignored_end;

		db->in_tx = false;
		db_pipe_end(db, &ignored_end);
		return;
	}
	db_drain(db);
	if (!db->in_tx && PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	r = PQexec(db->conn, "ROLLBACK");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		db_result_error(db, r, "ROLLBACK", &ignored);
	PQclear(r);
	db->in_tx = false;
}

static void db_pqclear(void *r)
{
	PQclear(r);
}

static int db_prepare(struct db *db, struct stmt *s, struct err *e)
{
	PGresult *r;

	if (s->prepared_gen == db->generation)
		return 0;
	r = PQprepare(db->conn, s->name, s->sql, 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		db_result_error(db, r, s->name, e);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	s->prepared_gen = db->generation;
	return 0;
}

/*
 * Reads the results of `expect` statements sent in pipeline mode (each
 * followed by its NULL), up to and including the Sync when `sync` is set.
 * The check's result (number check_at, 0: none) goes to check->fn; the last
 * statement's result is returned when want_last.  The first failure fills e,
 * and *failed tells which result it was (1 for the first).  whats, when not
 * NULL, names each result (whats[0] the first) for the error; else what.
 */
static PGresult *db_pipe_read(struct db *db, int expect, bool sync, int check_at,
                              const struct db_check *check, bool want_last, const char *what,
                              const char *const *whats, struct err *e, int *failed)
{
	PGresult *r, *out = NULL;
	int got = 0;

	while (sync ? got <= expect : got < expect) {
		r = PQgetResult(db->conn);
		if (r == NULL) {
			if (PQstatus(db->conn) != CONNECTION_OK)
				goto lost;
			continue; /* the end of one statement's results */
		}
		switch (PQresultStatus(r)) {
		case PGRES_PIPELINE_SYNC:
			got = expect + 1;
			break;
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			got++;
			if (got == check_at && !*failed) {
				if (check->fn(check->arg, r, e) != 0)
					*failed = 1;
			} else if (got == expect && want_last && !*failed) {
				out = r;
				r = NULL;
			}
			break;
		case PGRES_PIPELINE_ABORTED:
			got++;
			break;
		default:
			got++;
			if (!*failed) {
				db_result_error(db, r, whats != NULL ? whats[got - 1] : what, e);
				*failed = got; /* which result failed first: 1, 2, ... */
			}
			break;
		}
		PQclear(r);
	}
	/* The NULL that ends the last statement's results, when no Sync follows. */
	if (!sync && (r = PQgetResult(db->conn)) != NULL)
		PQclear(r);
	return out;
lost:
	PQclear(out);
	*failed = 1;
	db_result_error(db, NULL, what, e);
	return NULL;
}

/*
 * Sends BEGIN, the context, the check and the statement (s may be NULL) in
 * one pipeline and returns the statement's result (NULL when s is NULL);
 * the first failure fills e.  With an implicit check there is no BEGIN and
 * no Sync: the pipeline stays open as the transaction (db->pipe_open).
 */
static PGresult *db_exec_pipelined(struct db *db, struct stmt *s, int n, const char *const *params,
                                   struct err *e)
{
	const char *ctx[DB_CTX_PARAMS] = {db->begin_ctx[0], db->begin_ctx[1], db->begin_ctx[2],
	                                  db->begin_ctx[3]};
	const struct db_check *check = db->begin_check;
	bool implicit = check != NULL && check->implicit;
	/*
	 * The transaction's last statement carries its Sync: no second message,
	 * no wait later.  With no statement (db_settle), the check is the last.
	 */
	bool final = implicit && db->final_next;
	int expect = !implicit + db->begin_has_ctx + (check != NULL) + (s != NULL);
	int check_at = check != NULL ? !implicit + db->begin_has_ctx + 1 : 0, failed = 0;
	const char *what = s != NULL ? s->name : "BEGIN";
	PGresult *out;

	db->begin_pending = false;
	db->begin_check = NULL;
	if ((s != NULL && db_prepare(db, s, e) != 0) ||
	    (check != NULL && db_prepare(db, check->stmt, e) != 0) ||
	    (db->begin_has_ctx && db_prepare(db, &db_context_set, e) != 0))
		return NULL;
	if (PQenterPipelineMode(db->conn) != 1)
		goto lost;
	if ((!implicit &&
	     PQsendQueryParams(db->conn, db->begin_readonly ? "BEGIN READ ONLY" : "BEGIN", 0, NULL,
	                       NULL, NULL, NULL, 0) != 1) ||
	    (db->begin_has_ctx && PQsendQueryPrepared(db->conn, db_context_set.name, DB_CTX_PARAMS,
	                                              ctx, NULL, NULL, 0) != 1) ||
	    (check != NULL && PQsendQueryPrepared(db->conn, check->stmt->name, check->n,
	                                          check->params, NULL, NULL, 0) != 1) ||
	    (s != NULL && PQsendQueryPrepared(db->conn, s->name, n, params, NULL, NULL, 0) != 1))
		goto lost;
	if (implicit && !final ? (PQsendFlushRequest(db->conn) != 1 || PQflush(db->conn) != 0)
	                       : PQpipelineSync(db->conn) != 1)
		goto lost;
	out = db_pipe_read(db, expect, !implicit || final, check_at, check, s != NULL, what, NULL,
	                   e, &failed);
	if (db->broken)
		return NULL;
	if (implicit && !final)
		db->pipe_open = true;
	else if (PQexitPipelineMode(db->conn) != 1)
		goto lost;
	if (final) {
		/* Committed by its Sync: a later statement would run without context. */
		db->final_next = false;
		db->in_tx = false;
	}
	if (failed) {
		PQclear(out);
		return NULL;
	}
	return out;
lost:
	db_result_error(db, NULL, what, e);
	return NULL;
}

/* A further statement of an implicit pipeline transaction (the last one, after db_final()). */
static PGresult *db_exec_in_pipe(struct db *db, struct stmt *s, int n, const char *const *params,
                                 struct err *e)
{
	bool final = db->final_next;
	int expect = 1, failed = 0;
	PGresult *out;

	if (s->prepared_gen != db->generation) {
		if (PQsendPrepare(db->conn, s->name, s->sql, 0, NULL) != 1)
			goto lost;
		expect++;
		s->prepared_gen = db->generation;
	}
	if (PQsendQueryPrepared(db->conn, s->name, n, params, NULL, NULL, 0) != 1 ||
	    (final ? PQpipelineSync(db->conn) != 1
	           : (PQsendFlushRequest(db->conn) != 1 || PQflush(db->conn) != 0)))
		goto lost;
	out = db_pipe_read(db, expect, final, 0, NULL, true, s->name, NULL, e, &failed);
	/* A PREPARE sent here that failed left nothing prepared: prepare it again next time. */
	if (failed == 1 && expect == 2)
		s->prepared_gen = 0;
	if (db->broken)
		return NULL;
	if (final) {
		db->final_next = false;
		db->pipe_open = false;
		db->in_tx = false;
		if (PQexitPipelineMode(db->conn) != 1)
			goto lost;
	}
	if (failed) {
		PQclear(out);
		return NULL;
	}
	return out;
lost:
	db_result_error(db, NULL, s->name, e);
	return NULL;
}

/*
 * Ends the batch of deferred statements (and `last`, already sent after
 * them, when not NULL) with a Sync, reads their results and leaves
 * pipeline mode.  Returns last's result; NULL with e set (and *failed the
 * number of the first failed result) on failure.
 */
static PGresult *db_deferred_end(struct db *db, const char *last, struct err *e, int *failed)
{
	const char *whats[DB_DEFER_MAX + 1];
	int n = db->deferred, expect = n + (last != NULL);
	const char *what = last != NULL ? last : "deferred statements";
	PGresult *out;

	memcpy(whats, db->deferred_what, sizeof(whats[0]) * (size_t)n);
	whats[n] = what;
	*failed = 0;
	db_forget_deferred(db);
	if (PQpipelineSync(db->conn) != 1)
		goto lost;
	out = db_pipe_read(db, expect, true, 0, NULL, last != NULL, what, whats, e, failed);
	if (db->broken)
		return NULL;
	if (PQexitPipelineMode(db->conn) != 1) {
		PQclear(out);
		goto lost;
	}
	if (*failed) {
		PQclear(out);
		return NULL;
	}
	return out;
lost:
	*failed = expect;
	db_result_error(db, NULL, what, e);
	return NULL;
}

int db_flush(struct db *db, struct err *e)
{
	int failed;

	if (db->deferred == 0)
		return 0;
	db_deferred_end(db, NULL, e, &failed);
	return failed ? -1 : 0;
}

int db_defer(struct db *db, struct stmt *s, int n, const char *const *params, struct err *e)
{
	PGresult *r;

	if (db->conn == NULL || db->broken || !db->in_tx || db->begin_pending || db->pipe_open ||
	    db->begin_readonly) {
		r = db_exec(db, NULL, s, n, params, e);
		PQclear(r);
		return r != NULL ? 0 : -1;
	}
	db->last_sqlstate[0] = db->last_constraint[0] = '\0';
	/* A statement is prepared once per connection, outside the pipeline. */
	if ((db->deferred == DB_DEFER_MAX || s->prepared_gen != db->generation) &&
	    db_flush(db, e) != 0)
		return -1;
	if (db_prepare(db, s, e) != 0)
		return -1;
	if ((db->deferred == 0 && PQenterPipelineMode(db->conn) != 1) ||
	    PQsendQueryPrepared(db->conn, s->name, n, params, NULL, NULL, 0) != 1 ||
	    PQflush(db->conn) != 0) {
		db_result_error(db, NULL, s->name, e);
		return -1;
	}
	db->deferred_what[db->deferred++] = s->name;
	db_deferred_total++;
	return 0;
}

void db_final(struct db *db)
{
	db->final_next = true;
}

int db_settle(struct db *db, struct err *e)
{
	struct err local;

	if (!db->begin_pending)
		return 0;
	err_clear(&local);
	db_exec_pipelined(db, NULL, 0, NULL, &local);
	if (local.status != 0) {
		*e = local;
		return -1;
	}
	return 0;
}

PGresult *db_exec(struct db *db, struct arena *a, struct stmt *s, int n, const char *const *params,
                  struct err *e)
{
	PGresult *r;
	ExecStatusType st;

	/* Callers refine errors by these: never let them see an earlier statement's. */
	db->last_sqlstate[0] = db->last_constraint[0] = '\0';
	if (db->conn == NULL || db->broken) {
		if (db_connect(db, e) != 0)
			return NULL;
	}
	db_drain(db);
	if (db->deferred > 0 && s->prepared_gen != db->generation && db_flush(db, e) != 0)
		return NULL;
	if (db->deferred > 0) {
		/* The deferred statements' results come back with this one's. */
		int failed;

		if (PQsendQueryPrepared(db->conn, s->name, n, params, NULL, NULL, 0) != 1) {
			db_result_error(db, NULL, s->name, e);
			return NULL;
		}
		r = db_deferred_end(db, s->name, e, &failed);
		if (r != NULL && a != NULL)
			arena_on_reset(a, db_pqclear, r);
		return r;
	}
	if (db->pipe_open || db->begin_pending) {
		r = db->pipe_open ? db_exec_in_pipe(db, s, n, params, e)
		                  : db_exec_pipelined(db, s, n, params, e);
		if (r != NULL && a != NULL)
			arena_on_reset(a, db_pqclear, r);
		return r;
	}
	if (db_prepare(db, s, e) != 0)
		return NULL;
	r = PQexecPrepared(db->conn, s->name, n, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		db_result_error(db, r, s->name, e);
		PQclear(r);
		return NULL;
	}
	if (a != NULL)
		arena_on_reset(a, db_pqclear, r);
	return r;
}

const char *db_str(struct arena *a, PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

long long db_int(PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool db_bool(PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

int db_check_app_role(struct db *db, char *errbuf, size_t errlen)
{
	STMT(db_role_check, "SELECT r.rolname, r.rolsuper, r.rolbypassrls,"
	                    " (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid"
	                    "   AND c.relnamespace NOT IN (SELECT oid FROM pg_namespace"
	                    "     WHERE nspname IN ('pg_catalog', 'information_schema')"
	                    "        OR nspname LIKE 'pg_toast%' OR nspname LIKE 'pg_temp%')),"
	                    " (SELECT count(*) FROM pg_proc p WHERE p.proowner = r.oid)"
	                    " FROM pg_roles r WHERE r.rolname = current_user");
	struct err e;
	PGresult *r;
	int rc = -1;

	err_clear(&e);
	if (db_connect(db, &e) != 0) {
		snprintf(errbuf, errlen, "%s", e.detail);
		return -1;
	}
	r = db_exec(db, NULL, &db_role_check, 0, NULL, &e);
	if (r == NULL) {
		snprintf(errbuf, errlen, "could not check the database role: %s", e.detail);
		return -1;
	}
	if (PQntuples(r) != 1)
		snprintf(errbuf, errlen, "could not find the database role");
	else if (db_bool(r, 0, 1))
		snprintf(errbuf, errlen,
		         "database role \"%s\" is a superuser, which voids row-level security;"
		         " connect as the application role",
		         PQgetvalue(r, 0, 0));
	else if (db_bool(r, 0, 2))
		snprintf(errbuf, errlen,
		         "database role \"%s\" has BYPASSRLS, which voids row-level security",
		         PQgetvalue(r, 0, 0));
	else if (db_int(r, 0, 3) > 0 || db_int(r, 0, 4) > 0)
		snprintf(errbuf, errlen,
		         "database role \"%s\" owns tables or functions; table owners can bypass"
		         " row-level security: connect as a role that owns nothing",
		         PQgetvalue(r, 0, 0));
	else
		rc = 0;
	PQclear(r);
	return rc;
}

void db_close(struct db *db)
{
	db_forget_deferred(db);
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	free(db->conninfo);
	db->conninfo = NULL;
}
