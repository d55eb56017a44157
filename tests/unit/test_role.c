/* Walks the whole role matrix against the policy the issue states, cell by cell. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api/role.h"

/* The policy in words: owner everything; admin billing, webhooks, non-owner users, test keys;
 * developer reads, writes test data and webhook endpoints. */
static const struct {
	enum role_action a;
	bool owner, admin, developer;
} expected[] = {
        {ACT_READ, true, true, true},
        {ACT_WRITE_TEST_DATA, true, true, true},
        {ACT_WRITE_LIVE_DATA, true, true, false},
        {ACT_WEBHOOK_WRITE, true, true, true},
        {ACT_TENANT_PROFILE_WRITE, true, true, false},
        {ACT_USER_MANAGE, true, true, false},
        {ACT_USER_MANAGE_OWNER, true, false, false},
        {ACT_KEY_READ_LIVE, true, false, false},
        {ACT_KEY_ROLL_TEST, true, true, false},
        {ACT_KEY_ROLL_LIVE, true, false, false},
};

static void test_matrix(void **state)
{
	assert_int_equal(sizeof(expected) / sizeof(expected[0]), ACT__MAX);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		assert_int_equal(role_allows(ROLE_OWNER, expected[i].a), expected[i].owner);
		assert_int_equal(role_allows(ROLE_ADMIN, expected[i].a), expected[i].admin);
		assert_int_equal(role_allows(ROLE_DEVELOPER, expected[i].a), expected[i].developer);
		assert_false(role_allows(ROLE_NONE, expected[i].a));
		assert_true(role_action_name(expected[i].a)[0] != '\0');
	}
	assert_false(role_allows((enum role)99, ACT_READ));
	assert_false(role_allows(ROLE_OWNER, (enum role_action)99));
}

static void test_names(void **state)
{
	assert_int_equal(role_parse("owner"), ROLE_OWNER);
	assert_int_equal(role_parse("admin"), ROLE_ADMIN);
	assert_int_equal(role_parse("developer"), ROLE_DEVELOPER);
	assert_int_equal(role_parse("Owner"), ROLE_NONE);
	assert_int_equal(role_parse(""), ROLE_NONE);
	assert_int_equal(role_parse(NULL), ROLE_NONE);
	assert_string_equal(role_name(ROLE_ADMIN), "admin");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_matrix),
	        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
