/*
 * The master: it holds the listening socket, forks `workers` workers and
 * keeps that many running; it never accepts a connection itself.
 *
 * Signals reach it through a signalfd (SIGCHLD, SIGTERM, SIGINT and SIGHUP
 * stay blocked), so all the work happens in the main loop, never in a
 * handler.  The loop reaps children, then brings the pool back to its size,
 * then sleeps in poll() until the next signal or deadline.
 *
 * - A worker that dies (a signal, a non-zero status) is logged and replaced.
 *   Workers that die less than a second after they started make the master
 *   wait before the next start, doubling from 100 ms up to 10 s, so that a
 *   broken setup logs a few lines a second instead of forking in a loop.
 * - A worker that exits 0 on its own has served max_requests: replaced.
 * - SIGHUP re-reads the configuration (on error: logged, old one kept) and
 *   moves to a new generation.  Old-generation workers are then replaced one
 *   at a time: a new worker is forked first, then one old worker gets
 *   SIGTERM, and the next only once that one has exited.  The pool never
 *   has fewer than `workers` workers accepting, the socket stays open in the
 *   master, and so no connection is refused.
 * - SIGTERM or SIGINT: every worker gets SIGTERM and finishes the request in
 *   hand; whatever is still alive after request_timeout + 5 s gets SIGKILL.
 *   Then the pid file and the unix socket are removed and the master exits 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "db/db.h"
#include "server/listen.h"
#include "server/prefork.h"
#include "server/worker.h"

/* Up to 256 workers of the new generation plus as many old ones while reloading. */
#define PREFORK_SLOTS 520
#define PREFORK_QUICK_DEATH_MS 1000
#define PREFORK_DELAY_MIN_MS 100
#define PREFORK_DELAY_MAX_MS 10000

struct prefork_worker {
	pid_t pid; /* 0: a free slot */
	unsigned gen;
	bool stopping; /* sent SIGTERM */
	long long started_ms;
	long long stop_ms;
};

struct prefork {
	const struct prefork_opts *opts;
	struct conf conf;
	struct listener *lst;
	struct prefork_worker w[PREFORK_SLOTS];
	unsigned gen;
	int sfd;
	bool stopping;
	bool killed;
	long long stop_deadline_ms;
	long long next_spawn_ms;
	int spawn_delay_ms;
	bool rolling;
};

static long long prefork_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int prefork_conf_load(const struct prefork_opts *o, struct conf *c, char *errbuf, size_t errlen)
{
	if (conf_load(o->conf_path, c, errbuf, errlen) != 0)
		return -1;
	if (o->listen_override != NULL) {
		free(c->listen);
		c->listen = strdup(o->listen_override);
		if (c->listen == NULL)
			abort();
	}
	if (o->workers_override > 0)
		c->workers = o->workers_override;
	return conf_check_server(c, errbuf, errlen);
}

int prefork_check_db(const struct conf *c, char *errbuf, size_t errlen)
{
	struct db db;
	int rc;

	db_init(&db, c->db_conninfo);
	rc = db_check_app_role(&db, errbuf, errlen);
	db_close(&db);
	return rc;
}

/* Written under a temporary name and renamed, so that a reader never sees it half written. */
static int prefork_write_pidfile(const char *path)
{
	char tmp[4096], line[32];
	int fd, n;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		log_error("could not write the pid file \"%s\": path too long", path);
		return -1;
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
		log_error("could not write the pid file \"%s\": %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return -1;
	}
	return 0;
}

static void prefork_count(const struct prefork *p, int *active, int *old_active, int *stopping)
{
	*active = *old_active = *stopping = 0;
	for (int i = 0; i < PREFORK_SLOTS; i++) {
		if (p->w[i].pid == 0)
			continue;
		if (p->w[i].stopping) {
			(*stopping)++;
		} else {
			(*active)++;
			if (p->w[i].gen != p->gen)
				(*old_active)++;
		}
	}
}

static int prefork_spawn(struct prefork *p, long long now)
{
	struct prefork_worker *w = NULL;
	pid_t pid;

	for (int i = 0; i < PREFORK_SLOTS && w == NULL; i++)
		if (p->w[i].pid == 0)
			w = &p->w[i];
	if (w == NULL) {
		log_error("no free worker slot");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("could not fork a worker: %s", strerror(errno));
		p->spawn_delay_ms = PREFORK_DELAY_MAX_MS / 10;
		p->next_spawn_ms = now + p->spawn_delay_ms;
		return -1;
	}
	if (pid == 0) {
		close(p->sfd);
		worker_main(p->lst->fd, &p->conf);
	}
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->gen = p->gen;
	w->started_ms = now;
	log_debug("started worker %ld", (long)pid);
	return 0;
}

static void prefork_describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)%s", WTERMSIG(status),
		         strsignal(WTERMSIG(status)),
		         WTERMSIG(status) == SIGALRM ? ": a request exceeded request_timeout" : "");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

static void prefork_exited(struct prefork *p, struct prefork_worker *w, int status, long long now)
{
	char how[160];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (w->stopping || p->stopping)
			log_debug("worker %ld stopped", (long)w->pid);
		else
			log_info("worker %ld retired after max_requests; starting a new one",
			         (long)w->pid);
	} else {
		prefork_describe(status, how, sizeof(how));
		if (p->stopping) {
			log_warning("worker %ld %s", (long)w->pid, how);
		} else if (now - w->started_ms < PREFORK_QUICK_DEATH_MS) {
			p->spawn_delay_ms = p->spawn_delay_ms == 0 ? PREFORK_DELAY_MIN_MS
			                                           : p->spawn_delay_ms * 2;
			if (p->spawn_delay_ms > PREFORK_DELAY_MAX_MS)
				p->spawn_delay_ms = PREFORK_DELAY_MAX_MS;
			p->next_spawn_ms = now + p->spawn_delay_ms;
			log_warning("worker %ld %s right after it started; waiting %d ms before "
			            "starting another",
			            (long)w->pid, how, p->spawn_delay_ms);
		} else {
			p->spawn_delay_ms = 0;
			log_warning("worker %ld %s; starting a new one", (long)w->pid, how);
		}
	}
	memset(w, 0, sizeof(*w));
}

static void prefork_reap(struct prefork *p, long long now)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < PREFORK_SLOTS; i++) {
			if (p->w[i].pid == pid) {
				prefork_exited(p, &p->w[i], status, now);
				break;
			}
		}
	}
}

static void prefork_stop_worker(struct prefork_worker *w, long long now)
{
	if (kill(w->pid, SIGTERM) != 0 && errno != ESRCH)
		log_warning("could not signal worker %ld: %s", (long)w->pid, strerror(errno));
	w->stopping = true;
	w->stop_ms = now;
}

/*
 * Keeps `workers` workers accepting, then replaces old-generation workers
 * one at a time (see the top of the file).
 */
static void prefork_maintain(struct prefork *p, long long now)
{
	int active, old_active, stopping;
	long long grace_ms = ((long long)p->conf.request_timeout + 5) * 1000;

	/* A worker that ignores SIGTERM beyond the grace would stall a reload forever. */
	for (int i = 0; i < PREFORK_SLOTS; i++) {
		struct prefork_worker *w = &p->w[i];

		if (w->pid != 0 && w->stopping && now - w->stop_ms > grace_ms) {
			log_warning("worker %ld still busy %lld s after SIGTERM: killing it",
			            (long)w->pid, (now - w->stop_ms) / 1000);
			kill(w->pid, SIGKILL);
			w->stop_ms = now; /* once per grace period */
		}
	}

	prefork_count(p, &active, &old_active, &stopping);
	while (active < p->conf.workers && now >= p->next_spawn_ms) {
		if (prefork_spawn(p, now) != 0)
			return;
		active++;
	}
	if (old_active == 0) {
		if (p->rolling && stopping == 0) {
			log_info("reload done: %d workers of the new configuration", active);
			p->rolling = false;
		}
		return;
	}
	if (stopping > 0)
		return; /* one at a time */
	if (active <= p->conf.workers) {
		/* The replacement first, so that the pool never shrinks below `workers`. */
		if (now < p->next_spawn_ms || prefork_spawn(p, now) != 0)
			return;
	}
	for (int i = 0; i < PREFORK_SLOTS; i++) {
		struct prefork_worker *w = &p->w[i];

		if (w->pid != 0 && !w->stopping && w->gen != p->gen) {
			log_debug("replacing worker %ld", (long)w->pid);
			prefork_stop_worker(w, now);
			return;
		}
	}
}

static void prefork_reload(struct prefork *p)
{
	struct conf nc;
	char err[1024];

	log_info("SIGHUP: reloading the configuration from %s", p->opts->conf_path);
	if (prefork_conf_load(p->opts, &nc, err, sizeof(err)) != 0) {
		log_error("%s; keeping the running configuration", err);
		conf_free(&nc);
		return;
	}
	if (strcmp(nc.listen, p->conf.listen) != 0 || nc.socket_mode != p->conf.socket_mode) {
		log_warning("listen changed from \"%s\" to \"%s\" (or socket_mode): restart "
		            "levy-fcgi to apply it; still listening on %s",
		            p->conf.listen, nc.listen, p->lst->desc);
		free(nc.listen);
		nc.listen = strdup(p->conf.listen);
		if (nc.listen == NULL)
			abort();
		nc.socket_mode = p->conf.socket_mode;
	}
	if (strcmp(nc.db_conninfo, p->conf.db_conninfo) != 0 &&
	    prefork_check_db(&nc, err, sizeof(err)) != 0) {
		log_error("%s; keeping the running configuration", err);
		conf_free(&nc);
		return;
	}
	conf_free(&p->conf);
	p->conf = nc;
	log_set_level((enum log_level)p->conf.log_level);
	p->gen++;
	p->rolling = true;
	p->spawn_delay_ms = 0;
	p->next_spawn_ms = 0;
	log_info("configuration reloaded: replacing the workers one by one (%d workers)",
	         p->conf.workers);
}

static void prefork_begin_stop(struct prefork *p, int sig, long long now)
{
	if (p->stopping)
		return;
	log_info("%s: stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
	p->stopping = true;
	p->stop_deadline_ms = now + ((long long)p->conf.request_timeout + 5) * 1000;
	for (int i = 0; i < PREFORK_SLOTS; i++)
		if (p->w[i].pid != 0)
			prefork_stop_worker(&p->w[i], now);
}

static int prefork_alive(const struct prefork *p)
{
	int n = 0;

	for (int i = 0; i < PREFORK_SLOTS; i++)
		n += p->w[i].pid != 0;
	return n;
}

/* Milliseconds until the next thing the loop must do without a signal. */
static int prefork_timeout(const struct prefork *p, long long now)
{
	long long t = 1000; /* also a safety net against a lost SIGCHLD */

	if (p->stopping && !p->killed && p->stop_deadline_ms - now < t)
		t = p->stop_deadline_ms - now;
	if (!p->stopping && p->next_spawn_ms > now && p->next_spawn_ms - now < t)
		t = p->next_spawn_ms - now;
	return t < 0 ? 0 : (int)t;
}

static void prefork_read_signals(struct prefork *p, long long now)
{
	struct signalfd_siginfo si;

	while (read(p->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			prefork_begin_stop(p, (int)si.ssi_signo, now);
			break;
		case SIGHUP:
			if (!p->stopping)
				prefork_reload(p);
			break;
		default: /* SIGCHLD: reaped at the top of the loop */
			break;
		}
	}
}

int prefork_run(const struct prefork_opts *o, struct conf *conf, struct listener *l)
{
	static struct prefork p; /* large; one per process */
	struct sigaction sa;
	sigset_t mask;
	int status = 0;

	memset(&p, 0, sizeof(p));
	p.opts = o;
	p.conf = *conf;
	memset(conf, 0, sizeof(*conf));
	p.lst = l;
	p.gen = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	p.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (p.sfd < 0) {
		log_error("could not create a signalfd: %s", strerror(errno));
		status = 1;
		goto out;
	}
	if (o->pidfile != NULL && prefork_write_pidfile(o->pidfile) != 0) {
		status = 1;
		goto out;
	}
	log_info("levy-fcgi %s listening on %s, workers: %d", PACKAGE_VERSION, l->desc,
	         p.conf.workers);

	for (;;) {
		long long now = prefork_now_ms();
		struct pollfd pfd = {.fd = p.sfd, .events = POLLIN};

		prefork_reap(&p, now);
		if (p.stopping) {
			if (prefork_alive(&p) == 0)
				break;
			if (!p.killed && now >= p.stop_deadline_ms) {
				log_warning("%d workers still busy after %d s: killing them",
				            prefork_alive(&p), p.conf.request_timeout + 5);
				for (int i = 0; i < PREFORK_SLOTS; i++)
					if (p.w[i].pid != 0)
						kill(p.w[i].pid, SIGKILL);
				p.killed = true;
			}
		} else {
			prefork_maintain(&p, now);
		}
		if (poll(&pfd, 1, prefork_timeout(&p, now)) < 0 && errno != EINTR) {
			log_error("poll failed: %s", strerror(errno));
			abort();
		}
		prefork_read_signals(&p, prefork_now_ms());
	}
	log_info("stopped");
	if (o->pidfile != NULL && unlink(o->pidfile) != 0)
		log_warning("could not remove the pid file \"%s\": %s", o->pidfile,
		            strerror(errno));
out:
	if (p.sfd >= 0)
		close(p.sfd);
	listen_close(l);
	conf_free(&p.conf);
	return status;
}
