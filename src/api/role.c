/*
 * The role matrix.  Owner: everything.  Admin: billing objects, webhooks,
 * users other than the owner, test keys.  Developer: reads everything,
 * writes test-mode data and webhook endpoints; no user management, no live
 * keys.  tests/unit/test_role.c walks every cell.
 */
#include "config.h"

#include <string.h>

#include "api/role.h"

static const bool role_matrix[ACT__MAX][ROLE__MAX] = {
        /*                           none   owner  admin  developer */
        [ACT_READ] = {false, true, true, true},
        [ACT_WRITE_TEST_DATA] = {false, true, true, true},
        [ACT_WRITE_LIVE_DATA] = {false, true, true, false},
        [ACT_WEBHOOK_WRITE] = {false, true, true, true},
        [ACT_TENANT_PROFILE_WRITE] = {false, true, true, false},
        [ACT_USER_MANAGE] = {false, true, true, false},
        [ACT_USER_MANAGE_OWNER] = {false, true, false, false},
        [ACT_KEY_READ_LIVE] = {false, true, false, false},
        [ACT_KEY_ROLL_TEST] = {false, true, true, false},
        [ACT_KEY_ROLL_LIVE] = {false, true, false, false},
};

static const char *const role_names[ROLE__MAX] = {
        [ROLE_NONE] = "",
        [ROLE_OWNER] = "owner",
        [ROLE_ADMIN] = "admin",
        [ROLE_DEVELOPER] = "developer",
};

static const char *const action_names[ACT__MAX] = {
        [ACT_READ] = "read",
        [ACT_WRITE_TEST_DATA] = "write_test_data",
        [ACT_WRITE_LIVE_DATA] = "write_live_data",
        [ACT_WEBHOOK_WRITE] = "webhook_write",
        [ACT_TENANT_PROFILE_WRITE] = "tenant_profile_write",
        [ACT_USER_MANAGE] = "user_manage",
        [ACT_USER_MANAGE_OWNER] = "user_manage_owner",
        [ACT_KEY_READ_LIVE] = "key_read_live",
        [ACT_KEY_ROLL_TEST] = "key_roll_test",
        [ACT_KEY_ROLL_LIVE] = "key_roll_live",
};

bool role_allows(enum role r, enum role_action a)
{
	if ((int)r < 0 || r >= ROLE__MAX || (int)a < 0 || a >= ACT__MAX)
		return false;
	return role_matrix[a][r];
}

enum role role_parse(const char *name)
{
	if (name == NULL)
		return ROLE_NONE;
	for (int i = ROLE_OWNER; i < ROLE__MAX; i++)
		if (strcmp(role_names[i], name) == 0)
			return (enum role)i;
	return ROLE_NONE;
}

const char *role_name(enum role r)
{
	if ((int)r < 0 || r >= ROLE__MAX)
		return "";
	return role_names[r];
}

const char *role_action_name(enum role_action a)
{
	if ((int)a < 0 || a >= ACT__MAX)
		return "";
	return action_names[a];
}
