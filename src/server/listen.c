/*
 * Opening levy-fcgi's listening socket: unix, TCP, inherited on a descriptor,
 * or handed over by systemd.  The sd_listen_fds protocol is implemented here
 * by hand (LISTEN_PID, LISTEN_FDS, first socket on fd 3) so that levy does
 * not depend on libsystemd.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "server/listen.h"

#define SD_LISTEN_FDS_START 3

/* Parses a whole decimal number in [min, max]; -1 when it is not one. */
static long long listen_parse_num(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

int listen_systemd_active(void)
{
	long long pid = listen_parse_num(getenv("LISTEN_PID"), 1, INT_MAX);
	long long n = listen_parse_num(getenv("LISTEN_FDS"), 1, INT_MAX - SD_LISTEN_FDS_START);

	return pid == (long long)getpid() && n >= 1;
}

/* Refuses anything but a listening stream socket: a wrong fd would hang or spin the workers. */
static int listen_check_socket(int fd, const char *what, char *errbuf, size_t errlen)
{
	int val = 0;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len) != 0) {
		snprintf(errbuf, errlen, "%s is not a socket: %s", what, strerror(errno));
		return -1;
	}
	if (val != SOCK_STREAM) {
		snprintf(errbuf, errlen, "%s is not a stream socket", what);
		return -1;
	}
	val = 0;
	len = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) != 0 || val == 0) {
		snprintf(errbuf, errlen, "%s is not a listening socket", what);
		return -1;
	}
	return 0;
}

static int listen_set_flags(int fd, char *errbuf, size_t errlen)
{
	int fl = fcntl(fd, F_GETFL);
	int fdfl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fdfl < 0 ||
	    fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) {
		snprintf(errbuf, errlen, "could not set flags on the listening socket: %s",
		         strerror(errno));
		return -1;
	}
	return 0;
}

static int listen_systemd(struct listener *l, char *errbuf, size_t errlen)
{
	long long n;

	if (!listen_systemd_active()) {
		snprintf(errbuf, errlen,
		         "listen = \"systemd\" but systemd passed no socket (LISTEN_FDS and "
		         "LISTEN_PID are not set for this process)");
		return -1;
	}
	n = listen_parse_num(getenv("LISTEN_FDS"), 1, INT_MAX - SD_LISTEN_FDS_START);
	if (n > 1)
		log_warning("systemd passed %lld sockets; levy-fcgi serves only the first (fd %d)",
		            n, SD_LISTEN_FDS_START);
	/* As sd_listen_fds(1) does: children must not take the sockets for theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (listen_check_socket(SD_LISTEN_FDS_START, "the socket from systemd (fd 3)", errbuf,
	                        errlen) != 0)
		return -1;
	l->fd = SD_LISTEN_FDS_START;
	l->kind = LISTEN_SYSTEMD;
	snprintf(l->desc, sizeof(l->desc), "systemd (fd %d)", SD_LISTEN_FDS_START);
	return 0;
}

static int listen_inherited(struct listener *l, const char *spec, char *errbuf, size_t errlen)
{
	long long fd = listen_parse_num(spec + 3, 0, INT_MAX);
	char what[64];

	if (fd < 0) {
		snprintf(errbuf, errlen, "listen \"%s\": expected fd:N, e.g. fd:0", spec);
		return -1;
	}
	snprintf(what, sizeof(what), "fd %lld", fd);
	if (listen_check_socket((int)fd, what, errbuf, errlen) != 0)
		return -1;
	l->fd = (int)fd;
	l->kind = LISTEN_INHERITED;
	snprintf(l->desc, sizeof(l->desc), "fd:%lld", fd);
	return 0;
}

/*
 * A socket file left by a server that died is removed; one that a live
 * server still listens on is not, so that a second levy-fcgi cannot steal
 * the address of the first.
 */
static int listen_unix_stale(const char *path, const struct sockaddr_un *sun, char *errbuf,
                             size_t errlen)
{
	struct stat st;
	int probe, rc;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(errbuf, errlen,
		         "could not listen on \"%s\": the file exists and is not a socket", path);
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0) {
		snprintf(errbuf, errlen, "could not create a socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(probe, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno != ECONNREFUSED) {
		int saved = errno;

		close(probe);
		if (rc == 0 || saved == EAGAIN)
			snprintf(errbuf, errlen,
			         "could not listen on \"%s\": another server is listening on it",
			         path);
		else
			snprintf(errbuf, errlen, "could not check the existing socket \"%s\": %s",
			         path, strerror(saved));
		return -1;
	}
	close(probe);
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(errbuf, errlen, "could not remove the stale socket \"%s\": %s", path,
		         strerror(errno));
		return -1;
	}
	log_info("removed the stale socket \"%s\"", path);
	return 0;
}

static int listen_unix(struct listener *l, const char *path, int socket_mode, char *errbuf,
                       size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_umask;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen,
		         "listen \"unix:%.100s\": the path must have 1 to %zu bytes", path,
		         sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (listen_unix_stale(path, &sun, errbuf, errlen) != 0)
		return -1;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(errbuf, errlen, "could not create a unix socket: %s", strerror(errno));
		return -1;
	}
	/* Nobody may connect between bind() and chmod(): create it owner-only. */
	old_umask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (rc != 0) {
		snprintf(errbuf, errlen, "could not bind unix socket \"%s\": %s", path,
		         strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(path, (mode_t)socket_mode) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
	    lstat(path, &st) != 0) {
		snprintf(errbuf, errlen, "could not listen on unix socket \"%s\": %s", path,
		         strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	l->unix_dev = (unsigned long long)st.st_dev;
	l->unix_ino = (unsigned long long)st.st_ino;
	l->unix_path = strdup(path);
	if (l->unix_path == NULL)
		abort();
	l->fd = fd;
	l->kind = LISTEN_UNIX;
	snprintf(l->desc, sizeof(l->desc), "unix:%s", path);
	return 0;
}

/* "HOST:PORT", "[V6]:PORT", "*:PORT" -> host (NULL: any) and port, in buf. */
static int listen_split_hostport(const char *spec, char *buf, size_t buflen, const char **host,
                                 const char **port)
{
	char *colon;

	if (strlen(spec) >= buflen)
		return -1;
	memcpy(buf, spec, strlen(spec) + 1);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		*close = '\0';
		*host = buf + 1;
		*port = close + 2;
	} else {
		colon = strrchr(buf, ':');
		if (colon == NULL)
			return -1;
		*colon = '\0';
		*host = buf;
		*port = colon + 1;
		if (strchr(buf, ':') != NULL) /* a bare IPv6 address: brackets required */
			return -1;
	}
	if (**host == '\0' || strcmp(*host, "*") == 0)
		*host = NULL;
	if (listen_parse_num(*port, 1, 65535) < 0)
		return -1;
	return 0;
}

static int listen_tcp(struct listener *l, const char *spec, char *errbuf, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	const char *host, *port;
	char buf[256];
	int fd = -1, rc, saved = 0;

	if (listen_split_hostport(spec, buf, sizeof(buf), &host, &port) != 0) {
		snprintf(errbuf, errlen,
		         "listen \"%.100s\": expected unix:/PATH, HOST:PORT, [IPV6]:PORT, fd:0 or "
		         "systemd",
		         spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(errbuf, errlen, "listen \"%.100s\": %s", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(errbuf, errlen, "could not listen on %.100s: %s", spec, strerror(saved));
		return -1;
	}
	l->fd = fd;
	l->kind = LISTEN_TCP;
	snprintf(l->desc, sizeof(l->desc), "%s", spec);
	return 0;
}

int listen_open(struct listener *l, const char *spec, int socket_mode, char *errbuf, size_t errlen)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (spec == NULL)
		spec = "";
	if (strcmp(spec, "systemd") == 0 || listen_systemd_active()) {
		if (strcmp(spec, "systemd") != 0)
			log_info("systemd passed a socket: serving it instead of listen \"%s\"",
			         spec);
		rc = listen_systemd(l, errbuf, errlen);
	} else if (strncmp(spec, "fd:", 3) == 0) {
		rc = listen_inherited(l, spec, errbuf, errlen);
	} else if (strncmp(spec, "unix:", 5) == 0) {
		rc = listen_unix(l, spec + 5, socket_mode, errbuf, errlen);
	} else {
		rc = listen_tcp(l, spec, errbuf, errlen);
	}
	if (rc == 0 && listen_set_flags(l->fd, errbuf, errlen) != 0) {
		listen_close(l);
		rc = -1;
	}
	return rc;
}

void listen_close(struct listener *l)
{
	struct stat st;

	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	/* Only our own socket: another server may have taken the path over since. */
	if (l->unix_path != NULL && lstat(l->unix_path, &st) == 0 &&
	    (unsigned long long)st.st_dev == l->unix_dev &&
	    (unsigned long long)st.st_ino == l->unix_ino && unlink(l->unix_path) != 0)
		log_warning("could not remove the socket \"%s\": %s", l->unix_path,
		            strerror(errno));
	free(l->unix_path);
	l->unix_path = NULL;
}
