/*
 * Logging to stderr, one line per message, for the journal or the dev
 * stack's log file.  Levels follow syslog's numbers so that journald keeps
 * them when lines start with "<N>" (done when log_set_journal(1)).
 */
#ifndef LEVY_LOG_H
#define LEVY_LOG_H

enum log_level { LOG_LVL_ERROR = 3, LOG_LVL_WARNING = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

void log_set_level(enum log_level lvl);
/* "error", "warning", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *name);
void log_set_prefix(const char *prefix); /* e.g. "levy-fcgi[1234]" */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_enabled(enum log_level lvl);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
