/* The per-request arena: alignment, growth, cleanups in reverse, reset keeps memory flat. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"

static void test_alloc_aligned_and_zeroed(void **state)
{
	struct arena a;

	arena_init(&a);
	for (int i = 1; i < 100; i++) {
		unsigned char *p = arena_alloc(&a, (size_t)i);

		assert_int_equal((uintptr_t)p % 16, 0);
		for (int k = 0; k < i; k++)
			assert_int_equal(p[k], 0);
		memset(p, 0xAB, (size_t)i);
	}
	arena_destroy(&a);
}

static void test_large_and_many(void **state)
{
	struct arena a;
	char *big;

	arena_init(&a);
	big = arena_alloc(&a, 1 << 20);
	memset(big, 1, 1 << 20);
	for (int i = 0; i < 10000; i++)
		assert_non_null(arena_alloc(&a, 100));
	assert_true(a.total >= (1 << 20) + 10000 * 100);
	arena_reset(&a);
	assert_int_equal(a.total, 0);
	assert_ptr_equal(a.blocks, a.first);
	arena_destroy(&a);
}

static int order[4];
static int norder;

static void record(void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
}

static void test_cleanups_reverse(void **state)
{
	struct arena a;

	arena_init(&a);
	norder = 0;
	arena_on_reset(&a, record, (void *)1);
	arena_on_reset(&a, record, (void *)2);
	arena_on_reset(&a, record, (void *)3);
	arena_reset(&a);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
	/* Cleanups run once: a second reset runs none. */
	arena_reset(&a);
	assert_int_equal(norder, 3);
	arena_destroy(&a);
}

static void test_strings(void **state)
{
	struct arena a;

	arena_init(&a);
	assert_string_equal(arena_strdup(&a, "levy"), "levy");
	assert_string_equal(arena_strndup(&a, "levying", 4), "levy");
	assert_string_equal(arena_printf(&a, "%s-%d", "acme", 2), "acme-2");
	arena_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_alloc_aligned_and_zeroed),
	        cmocka_unit_test(test_large_and_many),
	        cmocka_unit_test(test_cleanups_reverse),
	        cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
