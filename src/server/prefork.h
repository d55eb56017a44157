/*
 * The master process of levy-fcgi: forks the workers, replaces those that
 * die or retire, reloads the configuration on SIGHUP by replacing workers one
 * by one, and stops gracefully on SIGTERM or SIGINT.
 */
#ifndef LEVY_PREFORK_H
#define LEVY_PREFORK_H

#include <stddef.h>

#include "core/conf.h"
#include "server/listen.h"

/* What the command line said; kept for every reload. */
struct prefork_opts {
	const char *conf_path;
	const char *listen_override; /* -l, or NULL */
	int workers_override;        /* -w, or 0 */
	const char *pidfile;         /* -p, or NULL */
};

/*
 * Loads o->conf_path, applies the command line's overrides and checks what
 * serving needs (conf_check_server).  0, or -1 with a message in errbuf; c
 * is always safe to conf_free().
 */
int prefork_conf_load(const struct prefork_opts *o, struct conf *c, char *errbuf, size_t errlen)
        __attribute__((warn_unused_result));
/*
 * Connects once as c->db_conninfo and refuses a role that voids row-level
 * security (db_check_app_role).  0, or -1 with the reason in errbuf.
 */
int prefork_check_db(const struct conf *c, char *errbuf, size_t errlen)
        __attribute__((warn_unused_result));
/*
 * Runs the master until it is told to stop; takes over conf and l (both
 * released before returning).  Returns the exit status: 0 after a graceful
 * stop, 1 when the pid file cannot be written.
 */
int prefork_run(const struct prefork_opts *o, struct conf *conf, struct listener *l);

#endif
