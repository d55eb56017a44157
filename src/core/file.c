/*
 * Bounded whole-file reads.  The buffer is allocated once at the bound plus
 * one byte, so that a file over the bound is told apart without a second read.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

char *file_read(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(errbuf, errlen, "%s: could not open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf == NULL)
		abort();
	n = fread(buf, 1, max + 1, f);
	if (ferror(f))
		snprintf(errbuf, errlen, "%s: could not read: %s", path, strerror(errno));
	else if (n > max)
		snprintf(errbuf, errlen, "%s: larger than %zu bytes", path, max);
	else if (memchr(buf, '\0', n) != NULL)
		snprintf(errbuf, errlen, "%s: contains a NUL byte", path);
	else {
		fclose(f);
		buf[n] = '\0';
		*len = n;
		return buf;
	}
	fclose(f);
	free(buf);
	return NULL;
}
