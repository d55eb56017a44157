/*
 * The commands of `levy` (src/levy.c parses the global options and loads
 * the configuration): `migrate`, and the platform operator's tenant and
 * user commands, all on database.owner_conninfo, whose role sees every
 * tenant.  Exit statuses: 0 done, 1 runtime error (message on stderr),
 * 2 usage or configuration error.
 */
#ifndef LEVY_ADMIN_H
#define LEVY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/conf.h"

#define ADMIN_EXIT_OK 0
#define ADMIN_EXIT_RUNTIME 1
#define ADMIN_EXIT_USAGE 2

/* True when argv (command first) names a command of the table. */
bool admin_known(int argc, char **argv);
/* Runs the command argv[0] [argv[1]] with its arguments; returns the exit status. */
int admin_run(const struct conf *c, int argc, char **argv);
/* One line per command. */
void admin_usage(FILE *out);

/*
 * A percentage as the configuration writes it ("15", "12.5", "12.50": at
 * most two decimals, 0 to 100, no floating point) -> basis points.  0, or -1
 * when malformed or out of range.
 */
int admin_percent_parse(const char *s, int *bp);
/* Basis points -> "15.00".  outlen >= 8. */
void admin_percent_format(int bp, char *out, size_t outlen);

#endif
