/*
 * `levy migrate`: applies the files sqldir/NNN-*.sql not yet recorded in
 * levy_schema_migrations, in order, one transaction each, as the owner role.
 */
#ifndef LEVY_MIGRATE_H
#define LEVY_MIGRATE_H

#include <stdio.h>

#include <libpq-fe.h>

/* 0, or -1 with a message in errbuf.  Prints one line per applied file to out. */
int migrate_run(PGconn *conn, const char *sqldir, FILE *out, char *errbuf, size_t errlen);

#endif
