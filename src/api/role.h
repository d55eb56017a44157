/*
 * The role matrix: which dashboard role may do what.  One table in role.c
 * decides every permission; handlers and the dispatcher only ask it.
 */
#ifndef LEVY_ROLE_H
#define LEVY_ROLE_H

#include <stdbool.h>

enum role { ROLE_NONE = 0, ROLE_OWNER, ROLE_ADMIN, ROLE_DEVELOPER, ROLE__MAX };

enum role_action {
	ACT_READ = 0,             /* read anything of the tenant */
	ACT_WRITE_TEST_DATA,      /* billing objects in test mode */
	ACT_WRITE_LIVE_DATA,      /* billing objects in live mode */
	ACT_WEBHOOK_WRITE,        /* webhook endpoints */
	ACT_TENANT_PROFILE_WRITE, /* PATCH tenants/me */
	ACT_USER_MANAGE,          /* create, change, delete users other than the owner */
	ACT_USER_MANAGE_OWNER,    /* change or transfer the owner */
	ACT_KEY_READ_LIVE,        /* see live-mode keys */
	ACT_KEY_ROLL_TEST,
	ACT_KEY_ROLL_LIVE,
	ACT__MAX
};

bool role_allows(enum role r, enum role_action a);
/* ROLE_NONE for anything but "owner", "admin", "developer". */
enum role role_parse(const char *name);
const char *role_name(enum role r);
const char *role_action_name(enum role_action a);

#endif
