/*
 * Schema migrations: the files sqldir/NNN-name.sql, applied in name order,
 * each in its own transaction together with its row in
 * levy_schema_migrations, so that a file is either wholly applied and
 * recorded or not at all.  A session advisory lock serialises concurrent
 * runs (two hosts deploying at once); the second waits, then finds nothing
 * left to do.  The files are constants shipped with levy, which is why they
 * alone go through PQexec (several statements per file).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "db/migrate.h"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_NAME 128
#define MIGRATE_MAX_SIZE (16L * 1024 * 1024)
/* pg_advisory_lock key: "levy" in ASCII, shared by every levy migrate. */
#define MIGRATE_LOCK_KEY "1818588793"

/* Copies the primary message of a failed result, with the file's line when known. */
static void migrate_pg_error(PGconn *conn, PGresult *r, const char *what, const char *sql,
                             char *errbuf, size_t errlen)
{
	const char *msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *pos = r != NULL ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
	char buf[512];

	if (msg == NULL) {
		snprintf(buf, sizeof(buf), "%s", PQerrorMessage(conn));
		buf[strcspn(buf, "\n")] = '\0';
		msg = buf;
	}
	if (pos != NULL && sql != NULL) {
		/* The position counts characters from 1; the files are ASCII. */
		long p = strtol(pos, NULL, 10), line = 1;

		for (long i = 0; i < p - 1 && sql[i] != '\0'; i++)
			if (sql[i] == '\n')
				line++;
		snprintf(errbuf, errlen, "%s:%ld: %s", what, line, msg);
	} else {
		snprintf(errbuf, errlen, "%s: %s", what, msg);
	}
}

/* Runs a constant statement without parameters; 0 or -1 with errbuf. */
static int migrate_command(PGconn *conn, const char *sql, char *errbuf, size_t errlen)
{
	PGresult *r = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		migrate_pg_error(conn, r, sql, NULL, errbuf, errlen);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

static int migrate_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A migration file: "NNN-something.sql" with a plain name. */
static int migrate_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n < 5 || n >= MIGRATE_MAX_NAME || strcmp(name + n - 4, ".sql") != 0)
		return 0;
	if (name[0] < '0' || name[0] > '9')
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z') || name[i] == '-' || name[i] == '_' ||
		      name[i] == '.'))
			return 0;
	return 1;
}

static void migrate_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The sorted migration file names of dir; NULL with errbuf on error. */
static char **migrate_list(const char *dir, size_t *count, char *errbuf, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names;
	size_t n = 0;

	if (d == NULL) {
		snprintf(errbuf, errlen, "could not open directory \"%s\": %s", dir,
		         strerror(errno));
		return NULL;
	}
	names = calloc(MIGRATE_MAX_FILES, sizeof(*names));
	if (names == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (!migrate_name_ok(de->d_name))
			continue;
		if (n == MIGRATE_MAX_FILES) {
			snprintf(errbuf, errlen, "too many migration files in \"%s\"", dir);
			closedir(d);
			migrate_free_names(names, n);
			return NULL;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL)
			abort();
		n++;
	}
	closedir(d);
	if (n == 0) {
		snprintf(errbuf, errlen, "no migration files (NNN-name.sql) in \"%s\"", dir);
		migrate_free_names(names, n);
		return NULL;
	}
	qsort(names, n, sizeof(*names), migrate_name_cmp);
	*count = n;
	return names;
}

/* 1 when version is recorded, 0 when not, -1 with errbuf. */
static int migrate_applied(PGconn *conn, const char *version, char *errbuf, size_t errlen)
{
	const char *params[1] = {version};
	PGresult *r = PQexecParams(conn, "SELECT 1 FROM levy_schema_migrations WHERE version = $1",
	                           1, NULL, params, NULL, NULL, 0);
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		migrate_pg_error(conn, r, "levy_schema_migrations", NULL, errbuf, errlen);
		rc = -1;
	} else {
		rc = PQntuples(r) > 0;
	}
	PQclear(r);
	return rc;
}

/* One file in one transaction with its record: 1 applied, 0 already was, -1 with errbuf. */
static int migrate_apply(PGconn *conn, const char *sqldir, const char *name, char *errbuf,
                         size_t errlen)
{
	const char *params[1] = {name};
	char path[4096];
	char *sql;
	size_t sql_len;
	PGresult *r;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", sqldir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(errbuf, errlen, "path too long: %s/%s", sqldir, name);
		return -1;
	}
	if (migrate_command(conn, "BEGIN", errbuf, errlen) != 0)
		return -1;
	n = migrate_applied(conn, name, errbuf, errlen);
	if (n != 0) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return n < 0 ? -1 : 0;
	}
	sql = file_read(path, MIGRATE_MAX_SIZE, &sql_len, errbuf, errlen);
	if (sql == NULL) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		migrate_pg_error(conn, r, path, sql, errbuf, errlen);
		PQclear(r);
		free(sql);
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	PQclear(r);
	free(sql);
	/* A file that ends the transaction itself would escape its record. */
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		snprintf(errbuf, errlen,
		         "%s: the file must not contain BEGIN, COMMIT or ROLLBACK"
		         " (levy migrate wraps each file in its own transaction)",
		         path);
		if (PQtransactionStatus(conn) != PQTRANS_IDLE)
			PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	r = PQexecParams(conn, "INSERT INTO levy_schema_migrations (version) VALUES ($1)", 1, NULL,
	                 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		migrate_pg_error(conn, r, "levy_schema_migrations", NULL, errbuf, errlen);
		PQclear(r);
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	PQclear(r);
	if (migrate_command(conn, "COMMIT", errbuf, errlen) != 0)
		return -1;
	return 1;
}

/*
 * Refuses a superuser: everything a migration creates belongs to the role
 * that runs it, and a superuser-owned SECURITY DEFINER function or table
 * voids the separation the schema is built on.
 */
static int migrate_check_role(PGconn *conn, char *errbuf, size_t errlen)
{
	PGresult *r = PQexecParams(conn,
	                           "SELECT current_user, rolsuper FROM pg_catalog.pg_roles"
	                           " WHERE rolname = current_user",
	                           0, NULL, NULL, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		migrate_pg_error(conn, r, "could not check the database role", NULL, errbuf,
		                 errlen);
		rc = -1;
	} else if (PQgetvalue(r, 0, 1)[0] == 't') {
		snprintf(errbuf, errlen,
		         "refusing to migrate as superuser \"%s\": the schema must be owned by"
		         " the owner role (levy_owner); set database.owner_conninfo to connect"
		         " as it",
		         PQgetvalue(r, 0, 0));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int migrate_run(PGconn *conn, const char *sqldir, FILE *out, char *errbuf, size_t errlen)
{
	char **names;
	size_t n = 0, i;
	int rc = 0;

	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(errbuf, errlen, "not connected to the database");
		return -1;
	}
	if (migrate_check_role(conn, errbuf, errlen) != 0)
		return -1;
	names = migrate_list(sqldir, &n, errbuf, errlen);
	if (names == NULL)
		return -1;
	/* Our own IF NOT EXISTS would otherwise print a NOTICE on every run. */
	if (migrate_command(conn, "SET client_min_messages = warning", errbuf, errlen) != 0 ||
	    migrate_command(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", errbuf,
	                    errlen) != 0) {
		migrate_free_names(names, n);
		return -1;
	}
	if (migrate_command(conn,
	                    "CREATE TABLE IF NOT EXISTS levy_schema_migrations ("
	                    " version text PRIMARY KEY,"
	                    " applied_at timestamptz NOT NULL DEFAULT now())",
	                    errbuf, errlen) != 0)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		int applied = migrate_apply(conn, sqldir, names[i], errbuf, errlen);

		if (applied < 0)
			rc = -1;
		else if (applied > 0 && out != NULL)
			fprintf(out, "applied %s\n", names[i]);
	}
	if (PQstatus(conn) == CONNECTION_OK) {
		char ignored[256];

		if (PQtransactionStatus(conn) != PQTRANS_IDLE)
			PQclear(PQexec(conn, "ROLLBACK"));
		(void)migrate_command(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
		                      ignored, sizeof(ignored));
	}
	migrate_free_names(names, n);
	return rc;
}
