/*
 * Reading a whole, bounded text file: the configuration and the migrations.
 */
#ifndef LEVY_FILE_H
#define LEVY_FILE_H

#include <stddef.h>

/*
 * The file as a NUL-terminated string (malloc'd; the caller frees it), at
 * most max bytes and with no NUL byte in it; *len is its length.  NULL with
 * "PATH: could not open: ...", "could not read", "larger than MAX bytes" or
 * "contains a NUL byte" in errbuf.
 */
char *file_read(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen);

#endif
