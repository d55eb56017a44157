/*
 * The listening socket of levy-fcgi.  The address comes from the config's
 * `listen` or from -l:
 *   "unix:/run/levy/levy-fcgi.sock"  a unix socket this process creates
 *                                    (a stale one is removed first) and chmods
 *   "127.0.0.1:9000", "[::1]:9000"   TCP, through getaddrinfo
 *   "fd:0"                           a listening socket inherited on fd 0
 *                                    (spawn-fcgi, Apache mod_fcgid)
 *   "systemd"                        socket activation (LISTEN_FDS, fd 3)
 * Socket activation also wins whenever LISTEN_FDS is set for this process.
 * The socket is left O_NONBLOCK: see worker.c for why.
 */
#ifndef LEVY_LISTEN_H
#define LEVY_LISTEN_H

#include <stddef.h>

#define LISTEN_BACKLOG 1024

enum listen_kind { LISTEN_UNIX = 1, LISTEN_TCP, LISTEN_INHERITED, LISTEN_SYSTEMD };

struct listener {
	int fd; /* -1 when closed */
	enum listen_kind kind;
	char *unix_path; /* the socket this process created (LISTEN_UNIX), removed by listen_close
	                  */
	unsigned long long unix_dev, unix_ino; /* of that socket file, so that only it is removed */
	char desc[160];                        /* for the log: "unix:/run/levy/levy-fcgi.sock" */
};

/*
 * Opens the listening socket that `spec` names, with unix sockets chmod'ed
 * to socket_mode.  Returns 0, or -1 with a message in errbuf (and l->fd -1).
 */
int listen_open(struct listener *l, const char *spec, int socket_mode, char *errbuf, size_t errlen)
        __attribute__((warn_unused_result));
/*
 * 1 when systemd passed this process its sockets (LISTEN_PID == getpid()
 * and LISTEN_FDS >= 1), else 0.
 */
int listen_systemd_active(void);
/* Closes the socket and removes a unix socket this process created. */
void listen_close(struct listener *l);

#endif
