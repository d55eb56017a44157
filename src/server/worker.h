/*
 * A worker process: accepts FastCGI requests on the inherited listening
 * socket and hands each to route_serve(), until told to stop (SIGTERM:
 * finish the request in hand, then exit 0) or until it has served
 * max_requests (then exit 0 so that the master forks a fresh one).
 */
#ifndef LEVY_WORKER_H
#define LEVY_WORKER_H

#include "core/conf.h"

/* Never returns: exits the process. */
void worker_main(int listen_fd, const struct conf *conf) __attribute__((noreturn));

#endif
