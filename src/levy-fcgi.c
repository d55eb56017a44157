/*
 * levy-fcgi: the pre-forked FastCGI server.  main() only reads the command
 * line and the configuration, checks the database role, opens the listening
 * socket and hands over to the master loop (server/prefork.c); the workers
 * live in server/worker.c and the request path in http/route.c.
 *
 * Exit status: 0 after a graceful stop or -t/-V, 1 when it cannot start
 * (database role, socket, pid file), 2 for a bad command line or config.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "crypto/rand.h"
#include "server/listen.h"
#include "server/prefork.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: levy-fcgi [-c FILE] [-l LISTEN] [-w WORKERS] [-p PIDFILE] [-t] [-V]\n"
	        "  -c FILE     configuration file (default $LEVY_CONF, else %s)\n"
	        "  -l LISTEN   unix:/PATH, HOST:PORT, [IPV6]:PORT, fd:0 or systemd\n"
	        "  -w WORKERS  number of worker processes (1 to 256)\n"
	        "  -p PIDFILE  write the master's pid there, removed at exit\n"
	        "  -t          check the configuration, print it and exit\n"
	        "  -V          print the version and exit\n",
	        SYSCONFDIR "/levy/levy.conf");
}

static int parse_workers(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 256)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	struct prefork_opts o = {0};
	struct conf conf;
	struct listener lst;
	char prefix[64], err[1024];
	const char *env;
	int ch, test_only = 0;

	snprintf(prefix, sizeof(prefix), "levy-fcgi[%ld]", (long)getpid());
	log_set_prefix(prefix);

	while ((ch = getopt(argc, argv, "c:l:w:p:tVh")) != -1) {
		switch (ch) {
		case 'c':
			o.conf_path = optarg;
			break;
		case 'l':
			if (optarg[0] == '\0') {
				fprintf(stderr, "levy-fcgi: -l: empty listen address\n");
				return 2;
			}
			o.listen_override = optarg;
			break;
		case 'w':
			o.workers_override = parse_workers(optarg);
			if (o.workers_override < 0) {
				fprintf(stderr, "levy-fcgi: -w %s: must be between 1 and 256\n",
				        optarg);
				return 2;
			}
			break;
		case 'p':
			o.pidfile = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'V':
			printf("levy-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (o.conf_path == NULL) {
		env = getenv("LEVY_CONF");
		o.conf_path = env != NULL && env[0] != '\0' ? env : SYSCONFDIR "/levy/levy.conf";
	}

	if (prefork_conf_load(&o, &conf, err, sizeof(err)) != 0) {
		log_error("%s", err);
		conf_free(&conf);
		return 2;
	}
	if (test_only) {
		conf_print(&conf, stdout);
		conf_free(&conf);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	log_set_level((enum log_level)conf.log_level);

	if (prefork_check_db(&conf, err, sizeof(err)) != 0) {
		log_error("refusing to start: %s", err);
		conf_free(&conf);
		return 1;
	}
	if (listen_open(&lst, conf.listen, conf.socket_mode, err, sizeof(err)) != 0) {
		log_error("%s", err);
		conf_free(&conf);
		return 1;
	}
	rand_preload();
	return prefork_run(&o, &conf, &lst);
}
