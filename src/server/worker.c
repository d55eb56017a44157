/*
 * A worker process: waits for FastCGI connections on the listening socket it
 * shares with its siblings, serves each request through route_serve(), and
 * exits 0 when SIGTERM asks it to or after max_requests.
 *
 * How a worker stops gracefully.  libfcgi's FCGX_Accept_r() blocks in
 * accept(), retries it on EINTR and may hold an fcntl lock on the socket
 * meanwhile, so a signal cannot be used to get it out of there; and a signal
 * arriving while a request is being read or written must not cut that
 * request short.  So:
 *   - SIGTERM stays blocked in the worker at all times, except inside
 *     ppoll(), whose signal mask unblocks it atomically: a SIGTERM sent at
 *     any moment either interrupts the ppoll() or waits, pending, until the
 *     next one.  Its handler only sets a flag, which the loop checks before
 *     every wait.  No read or write of a request ever sees EINTR.
 *   - The worker calls FCGX_Accept_r() only after ppoll() reported the
 *     socket readable, and the socket is O_NONBLOCK (listen.c), so a worker
 *     that loses the race for a connection to a sibling gets EAGAIN back from
 *     accept().  libfcgi 2.4.2 then returns -EAGAIN from FCGX_Accept_r()
 *     (it only retries EINTR and a few network errors itself), which here
 *     just means "wait again".  The accepted connection itself is blocking
 *     (Linux does not pass O_NONBLOCK on through accept()).
 *   - Every idle worker polls the socket, level-triggered, so each pending
 *     connection wakes all of them until one accepts it: a worker that
 *     exits instead of accepting never strands a connection, which is what
 *     makes the master's one-by-one replacement on SIGHUP lose nothing.
 *     (EPOLLEXCLUSIVE would wake only one worker, and a connection could wait
 *     in the backlog if that one was leaving.)  With N of at most 256 the
 *     herd costs a few wake-ups per connection.
 *   - A connection the web server keeps open (FCGI_KEEP_CONN) is polled the
 *     same way before FCGX_Accept_r() reads its next request from it.
 * A request that takes longer than request_timeout + 5 seconds is ended by
 * SIGALRM's default action; the master logs it and starts a new worker.
 * Arming alarm() before each request and disarming it after would be two
 * system calls per request, so the watchdog (struct worker_watchdog) is
 * re-armed at most once a second and left running between requests; the
 * idle wait is bounded so that the worker wakes and disarms it before it
 * could fire with no request in hand.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/conf.h"
#include "core/log.h"
#include "http/req.h"
#include "http/route.h"
#include "pay/stripe_http.h"
#include "server/worker.h"

static volatile sig_atomic_t worker_stop;

/*
 * limit = request_timeout + 5 s.  An alarm armed at armed_ms for limit + 1
 * seconds fires no earlier than limit after any request that started
 * within the second after armed_ms, and no later than limit + 1 after it.
 */
struct worker_watchdog {
	unsigned limit_s;   /* 0: no watchdog */
	long long armed_ms; /* CLOCK_MONOTONIC; -1: disarmed */
};

/* An idle worker disarms this long before the alarm would fire. */
#define WORKER_WATCHDOG_MARGIN_MS 2000

static long long worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Before a request: covered by the alarm, re-armed if it is over a second old. */
static void worker_watchdog_request(struct worker_watchdog *w)
{
	long long now;

	if (w->limit_s == 0)
		return;
	now = worker_now_ms();
	if (w->armed_ms >= 0 && now - w->armed_ms < 1000)
		return;
	alarm(w->limit_s + 1);
	w->armed_ms = now;
}

/*
 * Before an idle wait: how long it may last (NULL: for ever) so that the
 * worker wakes to disarm the alarm in time; disarms it now when that is
 * too close.
 */
static const struct timespec *worker_watchdog_idle(struct worker_watchdog *w, struct timespec *ts)
{
	long long left;

	if (w->armed_ms < 0)
		return NULL;
	left = w->armed_ms + (long long)(w->limit_s + 1) * 1000 - worker_now_ms() -
	       WORKER_WATCHDOG_MARGIN_MS;
	if (left <= 0) {
		alarm(0);
		w->armed_ms = -1;
		return NULL;
	}
	ts->tv_sec = (time_t)(left / 1000);
	ts->tv_nsec = (long)(left % 1000) * 1000000L;
	return ts;
}

static void worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

/*
 * Signals: SIGTERM is caught (blocked but in ppoll); SIGINT and SIGHUP go to
 * the master, which decides (a Ctrl-C in a terminal reaches the whole process
 * group); SIGPIPE is ignored so that a client that went away only fails a
 * write; SIGUSR1 is ignored because libfcgi would otherwise take it as "shut
 * down" and fail every accept from then on.  *waitmask gets the mask to use
 * while waiting.
 */
static void worker_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = worker_on_term;
	sigaction(SIGTERM, &sa, NULL);

	/* Whatever the master had blocked is unblocked here, SIGTERM excepted. */
	sigprocmask(SIG_SETMASK, &term, NULL);
	sigemptyset(waitmask);
}

static bool worker_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

/*
 * Waits for the listening socket (or a signal, or the timeout).  Through
 * epoll with EPOLLEXCLUSIVE, so that a new connection wakes one idle
 * worker rather than every one of them, which then all but one found
 * nothing to accept: a wasted wake-up per worker and connection.  Same
 * return as ppoll(): >0 readable, 0 timeout, -1 with errno.
 */
static int worker_wait_listen(int epfd, const struct timespec *ts, const sigset_t *waitmask)
{
	struct epoll_event ev;
	int ms = -1;

	/* Rounded up: waking before the watchdog's deadline would only loop once more. */
	if (ts != NULL)
		ms = (int)(ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000);
	return epoll_pwait(epfd, &ev, 1, ms, waitmask);
}

/* An epoll instance on the listening socket, exclusive wake-ups; -1 when it cannot be made. */
static int worker_epoll(int listen_fd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	ev.data.fd = listen_fd;
	if (epfd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		close(epfd);
		epfd = -1;
	}
	return epfd;
}

/* Sleeps ms milliseconds, or less when SIGTERM arrives. */
static void worker_pause(int ms, const sigset_t *waitmask)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	ppoll(NULL, 0, &ts, waitmask);
}

void worker_main(int listen_fd, const struct conf *conf)
{
	struct route_ctx ctx;
	struct worker_watchdog dog = {0, -1};
	FCGX_Request req;
	sigset_t waitmask;
	char prefix[64];
	unsigned long long served = 0;
	pid_t parent = getppid();
	int rc, epfd;

	snprintf(prefix, sizeof(prefix), "levy-fcgi[%ld]", (long)getpid());
	log_set_prefix(prefix);
	log_set_level((enum log_level)conf->log_level);
	worker_signals(&waitmask);
	/* An orphaned worker stops as if the master had asked it to. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		worker_stop = 1;

#ifdef __GLIBC__
	/*
	 * glibc raises its mmap threshold each time a large block is freed, so
	 * that after one large answer every later large buffer comes from the
	 * heap, whose freed middle pages stay the worker's.  Fixed thresholds
	 * keep large buffers in mappings of their own, returned when freed.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
	rc = FCGX_Init();
	if (rc != 0) {
		log_error("could not initialize libfcgi: error %d", rc);
		exit(1);
	}
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0) {
		log_error("could not initialize the FastCGI request");
		exit(1);
	}
	route_ctx_init(&ctx, conf);
	req_id_init();
	if (conf->request_timeout > 0)
		dog.limit_s = (unsigned)conf->request_timeout + 5;
	log_debug("worker started");

	epfd = worker_epoll(listen_fd);
	if (epfd < 0)
		log_warning("epoll on the listening socket failed (%s): waiting with poll",
		            strerror(errno));
	for (;;) {
		struct pollfd pfd;
		struct timespec idle;
		const struct timespec *wait;

		/* A request already sent on a kept connection is ours alone: served. */
		if (worker_stop && (req.ipcFd < 0 || !worker_readable(req.ipcFd)))
			break;
		if (conf->max_requests > 0 && served >= (unsigned long long)conf->max_requests) {
			log_debug("served max_requests (%llu): exiting for a fresh worker", served);
			break;
		}
		pfd.fd = req.ipcFd >= 0 ? req.ipcFd : listen_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		wait = worker_watchdog_idle(&dog, &idle);
		if (pfd.fd == listen_fd && epfd >= 0)
			rc = worker_wait_listen(epfd, wait, &waitmask);
		else
			rc = ppoll(&pfd, 1, wait, &waitmask);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll failed: %s", strerror(errno));
			exit(1);
		}
		if (rc == 0)
			continue; /* woke to disarm the watchdog (worker_watchdog_idle) */
		/* Every idle sibling saw the same connection: one of them takes it. */
		if (worker_stop && pfd.fd == listen_fd)
			break;
		if (pfd.revents & POLLNVAL) {
			log_error("the listening socket is closed");
			exit(1);
		}
		worker_watchdog_request(&dog);
		rc = FCGX_Accept_r(&req);
		if (rc < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
				continue; /* a sibling took it, or the client left */
			/* EMFILE and the like: the socket stays readable, so do not spin. */
			log_warning("could not accept a connection: %s",
			            rc > -10000 && rc < -9000 ? "libfcgi error" : strerror(-rc));
			worker_pause(500, &waitmask);
			continue;
		}
		route_serve(&ctx, &req);
		served++;
	}

	log_debug("worker exiting after %llu requests", served);
	if (epfd >= 0)
		close(epfd);
	route_ctx_free(&ctx);
	stripe_http_close();
	if (req.ipcFd >= 0)
		FCGX_Free(&req, 1);
	exit(0);
}
