/*
 * Format checks.  Deliberately strict and simple: levy stores what passes
 * verbatim, so anything odd is refused at the door.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "api/validate.h"

bool validate_hostname(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)c) || c == '-'))
			return false;
		if (label == 0 && c == '-')
			return false;
		label++;
	}
	return true;
}

bool validate_email(const char *s)
{
	const char *at = strchr(s, '@');
	size_t local;

	if (at == NULL || strchr(at + 1, '@') != NULL || strlen(s) > 254)
		return false;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.')
		return false;
	for (const char *p = s; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (!(isalnum(c) || strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL))
			return false;
		if (c == '.' && p[1] == '.')
			return false;
	}
	return strchr(at + 1, '.') != NULL && validate_hostname(at + 1);
}

static bool is_loopback_host(const char *host, size_t n)
{
	return (n == 9 && strncmp(host, "localhost", 9) == 0) ||
	       (n == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
	       (n == 5 && strncmp(host, "[::1]", 5) == 0);
}

const char *validate_webhook_url(const char *s, bool allow_http_loopback)
{
	const char *host, *end;
	char name[256];
	size_t n;
	bool https;

	if (strncmp(s, "https://", 8) == 0) {
		https = true;
		host = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		https = false;
		host = s + 7;
	} else {
		return "Invalid URL: a webhook URL must start with https://.";
	}
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return "Invalid URL: it contains spaces or control characters.";
	if (strchr(host, '@') != NULL && strchr(host, '@') < host + strcspn(host, "/?#"))
		return "Invalid URL: user information is not allowed.";
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			return "Invalid URL: bad IPv6 host.";
		end++;
	} else {
		end = host + strcspn(host, ":/?#");
	}
	n = (size_t)(end - host);
	if (n == 0 || n >= sizeof(name))
		return "Invalid URL: it has no host.";
	if (*end == ':') {
		const char *p = end + 1;
		size_t digits = 0;

		while (isdigit((unsigned char)p[digits]))
			digits++;
		if (digits == 0 || digits > 5 ||
		    (p[digits] != '\0' && strchr("/?#", p[digits]) == NULL))
			return "Invalid URL: bad port.";
	} else if (*end != '\0' && strchr("/?#", *end) == NULL) {
		return "Invalid URL: bad host.";
	}
	if (!https) {
		if (!allow_http_loopback || !is_loopback_host(host, n))
			return "Invalid URL: a webhook URL must use https.";
		return NULL;
	}
	if (host[0] == '[')
		return NULL;
	memcpy(name, host, n);
	name[n] = '\0';
	if (!validate_hostname(name))
		return "Invalid URL: bad host.";
	return NULL;
}

bool validate_color(const char *s)
{
	if (strlen(s) != 7 || s[0] != '#')
		return false;
	for (int i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}
