/*
 * Checks of the formats the auth API takes: email addresses, host names,
 * webhook and branding URLs, colors.  Pure functions, unit-tested.
 */
#ifndef LEVY_VALIDATE_H
#define LEVY_VALIDATE_H

#include <stdbool.h>

/* A practical address check: one '@', local part 1..64 of atext and dots, a domain name. */
bool validate_email(const char *s);
/* A DNS host name: labels of [A-Za-z0-9-] (1..63, not starting or ending with '-'), <= 253. */
bool validate_hostname(const char *s);
/*
 * An absolute https:// URL with a valid host; http:// only to localhost,
 * 127.0.0.1 or [::1] and only when allow_http_loopback.  NULL when fine,
 * else a message for the client.
 */
const char *validate_webhook_url(const char *s, bool allow_http_loopback);
/* "#RRGGBB" */
bool validate_color(const char *s);

#endif
