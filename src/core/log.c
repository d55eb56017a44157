/*
 * Each line is formatted into one buffer and written with one write(2), so
 * that lines of concurrent workers sharing stderr never interleave.  Never
 * buffered across lines, though a write per request costs: the lines a
 * buffer would lose are those just before a crash or a watchdog's SIGALRM,
 * the ones most needed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static enum log_level log_level = LOG_LVL_INFO;
static char log_prefix[64] = "levy";
static size_t log_prefix_len = 4;

static const char *const level_names[] = {
        [LOG_LVL_ERROR] = "error",
        [LOG_LVL_WARNING] = "warning",
        [LOG_LVL_INFO] = "info",
        [LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] != NULL && strcmp(level_names[i], name) == 0)
			return (int)i;
	return -1;
}

void log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix);
	log_prefix_len = strlen(log_prefix);
}

int log_enabled(enum log_level lvl)
{
	return lvl <= log_level;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	const char *name;
	size_t n = log_prefix_len, len;
	int m;

	if (!log_enabled(lvl))
		return;
	name = lvl >= 0 && (size_t)lvl < sizeof(level_names) / sizeof(level_names[0]) &&
	                       level_names[lvl] != NULL
	               ? level_names[lvl]
	               : "log";
	len = strlen(name);
	/* "prefix level: " by hand: this runs for every request's line. */
	memcpy(line, log_prefix, n);
	line[n++] = ' ';
	memcpy(line + n, name, len);
	n += len;
	line[n++] = ':';
	line[n++] = ' ';
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (m > 0)
		n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A short or failed write of a log line has nowhere better to go. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
