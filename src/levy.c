/*
 * main of `levy`, the command-line tool beside the server: global options,
 * the configuration, then one command of src/cli/admin.c.  The file is
 * -c CONFIG, else $LEVY_CONF, else SYSCONFDIR/levy/levy.conf.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin.h"
#include "core/conf.h"
#include "core/log.h"

static void levy_version(void)
{
	printf("levy %s\n", PACKAGE_VERSION);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	char errbuf[1024];
	struct conf conf;
	int i, rc;

	log_set_prefix("levy");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "levy: %s needs a file name\n", argv[i]);
				return ADMIN_EXIT_USAGE;
			}
			path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			admin_usage(stdout);
			return ADMIN_EXIT_OK;
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			levy_version();
			return ADMIN_EXIT_OK;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			fprintf(stderr, "levy: unknown option: %s\n", argv[i]);
			admin_usage(stderr);
			return ADMIN_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		admin_usage(stderr);
		return ADMIN_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		admin_usage(stdout);
		return ADMIN_EXIT_OK;
	}
	if (strcmp(argv[i], "version") == 0) {
		levy_version();
		return ADMIN_EXIT_OK;
	}
	/* A typo should not wait for the configuration to be read. */
	if (!admin_known(argc - i, argv + i)) {
		fprintf(stderr, "levy: unknown command: %s%s%s\n", argv[i], i + 1 < argc ? " " : "",
		        i + 1 < argc ? argv[i + 1] : "");
		admin_usage(stderr);
		return ADMIN_EXIT_USAGE;
	}

	if (path == NULL)
		path = getenv("LEVY_CONF");
	if (path == NULL || path[0] == '\0')
		path = SYSCONFDIR "/levy/levy.conf";
	if (conf_load(path, &conf, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "levy: %s\n", errbuf);
		conf_free(&conf);
		return ADMIN_EXIT_USAGE;
	}
	/* Commands report their own failures on stderr; the log adds only bugs, or debug. */
	log_set_level(conf.log_level >= LOG_LVL_DEBUG ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	rc = admin_run(&conf, argc - i, argv + i);
	conf_free(&conf);
	return rc;
}
