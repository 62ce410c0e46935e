// SPDX-License-Identifier: GPL-2.0
/* core/arena: zeroing, poison, FIFO reuse, fault injection, accounting. */
#include <check.h>
#include <errno.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/map.h"

Suite *make_arena_suite(void);

/* Page number of @pa, checked against the arena's bounds. */
static uint64_t page_no(struct bbm_arena *arena, uint64_t pa)
{
	ck_assert(bbm_arena_contains(arena, pa));
	return bbm_arena_pfn(arena, pa);
}

START_TEST(test_alloc_zeroes)
{
	struct bbm_arena *arena = bbm_arena_create(2);
	bbm_desc_t *words;
	uint64_t pa, pa2;
	int i;

	ck_assert_ptr_nonnull(arena);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), 0);
	words = bbm_arena_table(arena, pa);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		ck_assert_uint_eq(words[i], 0);
		words[i] = 0x1234567800000000ull | i;
	}
	ck_assert_uint_eq(bbm_arena_gen(arena, pa) & 1, 1);
	bbm_arena_free(arena, pa);
	/* Use the fresh page, then the freed one comes back zeroed. */
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa2), 0);
	ck_assert_uint_ne(pa2, pa);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PMD, &pa2), 0);
	ck_assert_uint_eq(pa2, pa);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(words[i], 0);
	ck_assert_uint_eq(bbm_arena_gen(arena, pa), 3);
	bbm_arena_destroy(arena);
}
END_TEST

START_TEST(test_free_poisons)
{
	struct bbm_arena *arena = bbm_arena_create(4);
	bbm_desc_t *words;
	uint32_t gen;
	uint64_t pa;
	int i;

	ck_assert_ptr_nonnull(arena);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PMD, &pa), 0);
	words = bbm_arena_table(arena, pa);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		words[i] = bbm_mk_leaf(BBM_PMD, i * BBM_PMD_SIZE,
				       BBM_PROT_KERNEL);
	gen = bbm_arena_gen(arena, pa);
	ck_assert_uint_eq(gen & 1, 1);
	bbm_arena_free(arena, pa);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(words[i], BBM_POISON);
	ck_assert_uint_eq(bbm_arena_gen(arena, pa), gen + 1);
	ck_assert_uint_eq(bbm_arena_gen(arena, pa) & 1, 0);
	/* Poison is neither valid nor present-invalid. */
	ck_assert(!bbm_desc_present(BBM_POISON));
	bbm_arena_destroy(arena);
}
END_TEST

START_TEST(test_fifo_reuse)
{
	struct bbm_arena *arena = bbm_arena_create(6);
	uint64_t pa[6], got;
	int i;

	ck_assert_ptr_nonnull(arena);
	/* Fresh pages come in address order. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa[i]), 0);
		ck_assert_uint_eq(page_no(arena, pa[i]), i);
	}
	/* Freed pages wait until no fresh page is left. */
	bbm_arena_free(arena, pa[1]);
	bbm_arena_free(arena, pa[0]);
	for (i = 3; i < 6; i++) {
		ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa[i]), 0);
		ck_assert_uint_eq(page_no(arena, pa[i]), i);
	}
	bbm_arena_free(arena, pa[4]);
	/* Then oldest freed first: 1, 0, 4. */
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &got), 0);
	ck_assert_uint_eq(got, pa[1]);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &got), 0);
	ck_assert_uint_eq(got, pa[0]);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &got), 0);
	ck_assert_uint_eq(got, pa[4]);
	/* Exhausted: -ENOMEM, counted. */
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &got), -ENOMEM);
	ck_assert_uint_eq(arena->failed, 1);
	ck_assert_uint_eq(bbm_arena_total_in_use(arena), 6);
	bbm_arena_destroy(arena);
}
END_TEST

START_TEST(test_fail_nth)
{
	struct bbm_arena *arena = bbm_arena_create(16);
	uint64_t pa;
	int i;

	ck_assert_ptr_nonnull(arena);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), 0);
	/* Counted from the call: the third attempt from now fails, once. */
	bbm_arena_fail_nth(arena, 3);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), 0);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), 0);
	ck_assert_uint_eq(page_no(arena, pa), 2);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), -ENOMEM);
	ck_assert_uint_eq(arena->failed, 1);
	/* A failed attempt consumes no page. */
	ck_assert_uint_eq(bbm_arena_total_in_use(arena), 3);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), 0);
	ck_assert_uint_eq(page_no(arena, pa), 7);

	/* nth == 1: the very next attempt; 0 switches it off. */
	bbm_arena_fail_nth(arena, 1);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PMD, &pa), -ENOMEM);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PMD, &pa), 0);
	bbm_arena_fail_nth(arena, 2);
	bbm_arena_fail_nth(arena, 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PMD, &pa), 0);
	ck_assert_uint_eq(arena->failed, 2);
	ck_assert_uint_eq(arena->alloc_attempts, 15);
	bbm_arena_destroy(arena);
}
END_TEST

/* Run @n allocations (freeing each success) and note which ones failed. */
static int fail_pattern(uint32_t per_million, uint64_t seed, int n,
			uint8_t *failed)
{
	struct bbm_arena *arena = bbm_arena_create(2);
	int i, ret, nr_failed = 0;
	uint64_t pa;

	ck_assert_ptr_nonnull(arena);
	bbm_arena_fail_random(arena, per_million, seed);
	for (i = 0; i < n; i++) {
		ret = bbm_arena_alloc(arena, BBM_PTE, &pa);
		ck_assert(ret == 0 || ret == -ENOMEM);
		failed[i] = ret != 0;
		nr_failed += failed[i];
		if (!ret)
			bbm_arena_free(arena, pa);
	}
	ck_assert_uint_eq(arena->failed, nr_failed);
	bbm_arena_destroy(arena);
	return nr_failed;
}

START_TEST(test_fail_random)
{
	enum { N = 20000 };
	static uint8_t a[N], b[N], c[N];
	int na, nb, nc, i, differ = 0;

	ck_assert_int_eq(fail_pattern(0, 1, N, a), 0);
	ck_assert_int_eq(fail_pattern(1000000, 1, N, a), N);

	/* 10%: near the rate, and the same pattern for the same seed. */
	na = fail_pattern(100000, 42, N, a);
	nb = fail_pattern(100000, 42, N, b);
	nc = fail_pattern(100000, 43, N, c);
	ck_assert_int_eq(na, nb);
	for (i = 0; i < N; i++) {
		ck_assert_uint_eq(a[i], b[i]);
		differ += a[i] != c[i];
	}
	ck_assert_int_gt(na, N / 10 - N / 50);
	ck_assert_int_lt(na, N / 10 + N / 50);
	ck_assert_int_gt(nc, N / 10 - N / 50);
	ck_assert_int_lt(nc, N / 10 + N / 50);
	ck_assert_int_gt(differ, 0);
}
END_TEST

START_TEST(test_random_off_then_nth)
{
	struct bbm_arena *arena = bbm_arena_create(8);
	uint64_t pa;
	int i;

	ck_assert_ptr_nonnull(arena);
	bbm_arena_fail_random(arena, 1000000, 7);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), -ENOMEM);
	bbm_arena_fail_random(arena, 0, 7);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa), 0);
	ck_assert_uint_eq(arena->failed, 1);
	bbm_arena_destroy(arena);
}
END_TEST

START_TEST(test_level_accounting)
{
	struct bbm_arena *arena = bbm_arena_create(32);
	uint64_t pa[10];
	int level, i;

	ck_assert_ptr_nonnull(arena);
	/* 1 PGD, 2 PUD, 3 PMD, 4 PTE tables. */
	for (i = 0, level = BBM_PGD; level < BBM_LEVELS; level++) {
		int n;

		for (n = 0; n <= level; n++, i++)
			ck_assert_int_eq(bbm_arena_alloc(arena, level, &pa[i]),
					 0);
	}
	for (level = BBM_PGD; level < BBM_LEVELS; level++)
		ck_assert_uint_eq(bbm_arena_in_use(arena, level), level + 1);
	ck_assert_uint_eq(bbm_arena_total_in_use(arena), 10);
	ck_assert_uint_eq(arena->peak_in_use, 10);

	/* Free a PUD table and two PTE tables: their levels go down. */
	bbm_arena_free(arena, pa[1]);
	bbm_arena_free(arena, pa[6]);
	bbm_arena_free(arena, pa[9]);
	ck_assert_uint_eq(bbm_arena_in_use(arena, BBM_PGD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(arena, BBM_PUD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(arena, BBM_PMD), 3);
	ck_assert_uint_eq(bbm_arena_in_use(arena, BBM_PTE), 2);
	ck_assert_uint_eq(bbm_arena_total_in_use(arena), 7);
	ck_assert_uint_eq(arena->peak_in_use, 10);

	/* A reused page counts at its new level. */
	for (i = 0; i < 22; i++)
		ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PTE, &pa[0]), 0);
	ck_assert_int_eq(bbm_arena_alloc(arena, BBM_PMD, &pa[0]), 0);
	ck_assert_uint_eq(pa[0], pa[1]);
	ck_assert_uint_eq(bbm_arena_in_use(arena, BBM_PMD), 4);
	ck_assert_uint_eq(bbm_arena_in_use(arena, BBM_PUD), 1);
	ck_assert_uint_eq(arena->peak_in_use, 30);
	bbm_arena_destroy(arena);
}
END_TEST

START_TEST(test_overhead_256g)
{
	/* What a 256 GiB PTE-only map holds: tables for 4K pages. */
	uint64_t mem = 256ull << 30;
	uint64_t pte_tables = mem / BBM_PMD_SIZE;
	uint64_t table_pages = pte_tables + mem / BBM_PUD_SIZE + 2;
	uint64_t nr_pages = bbm_map_arena_pages(mem);
	struct bbm_arena *arena;
	uint64_t overhead;

	uint64_t i, pa;

	ck_assert_uint_ge(nr_pages, table_pages);
	arena = bbm_arena_create(nr_pages);
	ck_assert_ptr_nonnull(arena);
	/* Nothing used yet: next to nothing kept. */
	ck_assert_uint_lt(bbm_arena_overhead_bytes(arena), 4096);
	for (i = 0; i < table_pages; i++)
		if (bbm_arena_alloc(arena, BBM_PTE, &pa))
			ck_abort_msg("allocation %llu failed",
				     (unsigned long long)i);
	overhead = bbm_arena_overhead_bytes(arena);
	/* Under 10% of the table bytes the map uses. */
	ck_assert_uint_lt(overhead * 10, table_pages * BBM_PAGE_SIZE);
	ck_assert_uint_ge(overhead, table_pages * 9);
	bbm_arena_destroy(arena);
}
END_TEST

START_TEST(test_bad_create)
{
	ck_assert_ptr_null(bbm_arena_create(0));
	ck_assert_ptr_null(bbm_arena_create(1ull << 32));
}
END_TEST

Suite *make_arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("pages");
	TCase *tc_fail = tcase_create("fault-injection");
	TCase *tc_acct = tcase_create("accounting");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_alloc_zeroes);
	tcase_add_test(tc, test_free_poisons);
	tcase_add_test(tc, test_fifo_reuse);
	tcase_add_test(tc, test_bad_create);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tc_fail, 10);
	tcase_add_test(tc_fail, test_fail_nth);
	tcase_add_test(tc_fail, test_fail_random);
	tcase_add_test(tc_fail, test_random_off_then_nth);
	suite_add_tcase(s, tc_fail);

	tcase_set_timeout(tc_acct, 20);
	tcase_add_test(tc_acct, test_level_accounting);
	tcase_add_test(tc_acct, test_overhead_256g);
	suite_add_tcase(s, tc_acct);
	return s;
}
