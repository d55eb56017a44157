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

static void db_mark_broken(struct db *db)
{
	db->broken = true;
	db->in_tx = false;
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
	if (db->conn != NULL && !db->broken && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->in_tx = false;
	db->broken = false;
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
	} else if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0 ||
	           strcmp(state, "23514") == 0 || strncmp(state, "22", 2) == 0) {
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
	PGresult *r = PQexec(db->conn, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = db_result_error(db, r, sql, e);
	PQclear(r);
	return rc;
}

int db_set_context(struct db *db, const struct db_ctx *ctx, struct err *e)
{
	STMT(db_context_set, "SELECT set_config('app.tenant_id', $1, true),"
	                     " set_config('app.livemode', $2, true),"
	                     " set_config('app.user_id', $3, true)");
	char tid[24] = "", uid[24] = "";
	const char *params[3];
	PGresult *r;

	if (ctx->tenant_id > 0)
		snprintf(tid, sizeof(tid), "%lld", ctx->tenant_id);
	if (ctx->user_id > 0)
		snprintf(uid, sizeof(uid), "%lld", ctx->user_id);
	params[0] = tid;
	params[1] = ctx->livemode < 0 ? "" : (ctx->livemode ? "true" : "false");
	params[2] = uid;
	r = db_exec(db, NULL, &db_context_set, 3, params, e);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int db_begin(struct db *db, bool readonly, const struct db_ctx *ctx, struct err *e)
{
	if (db_connect(db, e) != 0)
		return -1;
	if (db_command(db, readonly ? "BEGIN READ ONLY" : "BEGIN", e) != 0)
		return -1;
	db->in_tx = true;
	if (ctx != NULL && db_set_context(db, ctx, e) != 0) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

int db_commit(struct db *db, struct err *e)
{
	int rc;

	if (!db->in_tx)
		return 0;
	rc = db_command(db, "COMMIT", e);
	db->in_tx = false;
	return rc;
}

void db_rollback(struct db *db)
{
	struct err ignored;
	PGresult *r;

	if (db->conn == NULL || db->broken)
		return;
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

PGresult *db_exec(struct db *db, struct arena *a, struct stmt *s, int n, const char *const *params,
                  struct err *e)
{
	PGresult *r;
	ExecStatusType st;

	if (db->conn == NULL || db->broken) {
		if (db_connect(db, e) != 0)
			return NULL;
	}
	if (s->prepared_gen != db->generation) {
		r = PQprepare(db->conn, s->name, s->sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			db_result_error(db, r, s->name, e);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		s->prepared_gen = db->generation;
	}
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
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	free(db->conninfo);
	db->conninfo = NULL;
}
