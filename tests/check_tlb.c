// SPDX-License-Identifier: GPL-2.0
/* Per-CPU TLBs: classes, multi-hits, invalidation, the TLBI log. */
#include <check.h>

#include "core/tlb.h"

Suite *make_tlb_suite(void);

#define VA(off) (BBM_PAGE_OFFSET + (off))

static bbm_desc_t leaf(int level, uint64_t va, bool cont)
{
	return bbm_mk_leaf(level, va - BBM_PAGE_OFFSET, BBM_PROT_KERNEL) |
	       (cont ? BBM_CONT : 0);
}

START_TEST(test_classes_and_hits)
{
	struct bbm_tlb tlb;
	struct bbm_tlb_entry *hits[BBM_TLB_NR_CLASSES];
	uint64_t rng = 1, va = VA(0x40203000);

	ck_assert_int_eq(bbm_tlb_init(&tlb, 64, BBM_TLB_REPLACE_INDEX), 0);
	ck_assert_uint_eq(tlb.per_class, 8);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, va, hits), 0);

	/* A 2M block entry covers the whole block, output from its base. */
	bbm_tlb_insert(&tlb, va, BBM_PMD, leaf(BBM_PMD, VA(0x40200000), 0),
		       &rng);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0x403ff000), hits), 1);
	ck_assert_uint_eq(bbm_tlb_entry_pa(hits[0], VA(0x403ff000)),
			  0x403ff000);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0x40400000), hits), 0);

	/* A 4K entry beside it: two sizes for one VA, a multi-hit. */
	bbm_tlb_insert(&tlb, va, BBM_PTE, leaf(BBM_PTE, va, 0), &rng);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, va, hits), 2);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, va + BBM_PAGE_SIZE, hits), 1);

	/* A CONT PTE walked at its 3rd page caches the 64K group. */
	bbm_tlb_insert(&tlb, VA(0x80002000), BBM_PTE,
		       leaf(BBM_PTE, VA(0x80002000), true), &rng);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0x8000f000), hits), 1);
	ck_assert_uint_eq(bbm_tlb_entry_pa(hits[0], VA(0x8000f000)),
			  0x8000f000);
	ck_assert_uint_eq(bbm_tlb_count(&tlb), 3);
	bbm_tlb_destroy(&tlb);
}
END_TEST

START_TEST(test_invalidate_range_overlap)
{
	struct bbm_tlb tlb;
	struct bbm_tlb_entry *hits[BBM_TLB_NR_CLASSES];
	uint64_t rng = 1;

	ck_assert_int_eq(bbm_tlb_init(&tlb, 40, BBM_TLB_REPLACE_INDEX), 0);
	bbm_tlb_insert(&tlb, VA(0), BBM_PUD, leaf(BBM_PUD, VA(0), 0), &rng);
	bbm_tlb_insert(&tlb, VA(0x80000000), BBM_PTE,
		       leaf(BBM_PTE, VA(0x80000000), 0), &rng);
	/* One page inside the 1G entry drops the whole entry. */
	bbm_tlb_invalidate_range(&tlb, VA(0x12345000), VA(0x12346000));
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0), hits), 0);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0x80000000), hits), 1);
	/* A range ending exactly at an entry leaves it. */
	bbm_tlb_invalidate_range(&tlb, VA(0x7ffff000), VA(0x80000000));
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0x80000000), hits), 1);
	bbm_tlb_invalidate_all(&tlb);
	ck_assert_uint_eq(bbm_tlb_count(&tlb), 0);
	bbm_tlb_destroy(&tlb);
}
END_TEST

START_TEST(test_random_replacement)
{
	struct bbm_tlb tlb;
	struct bbm_tlb_entry *hits[BBM_TLB_NR_CLASSES];
	uint64_t rng = 7, va;
	int i, found = 0;

	ck_assert_int_eq(bbm_tlb_init(&tlb, 20, BBM_TLB_REPLACE_RANDOM), 0);
	ck_assert_uint_eq(tlb.per_class, 4);
	for (i = 0; i < 4; i++) {
		va = VA((uint64_t)i << 30);
		bbm_tlb_insert(&tlb, va, BBM_PTE, leaf(BBM_PTE, va, 0), &rng);
	}
	/* Fully associative: four VAs that index alike all fit. */
	for (i = 0; i < 4; i++)
		found += bbm_tlb_lookup(&tlb, VA((uint64_t)i << 30), hits);
	ck_assert_int_eq(found, 4);
	/* A fifth evicts exactly one. */
	bbm_tlb_insert(&tlb, VA(5ull << 30), BBM_PTE,
		       leaf(BBM_PTE, VA(5ull << 30), 0), &rng);
	ck_assert_uint_eq(bbm_tlb_count(&tlb), 4);
	bbm_tlb_destroy(&tlb);
}
END_TEST

START_TEST(test_tlbi_log)
{
	struct bbm_tlbi_log log;
	struct bbm_tlb tlb;
	struct bbm_tlb_entry *hits[BBM_TLB_NR_CLASSES];
	uint64_t rng = 1, acked = 0;
	int i;

	bbm_tlbi_log_init(&log);
	ck_assert_int_eq(bbm_tlb_init(&tlb, 64, BBM_TLB_REPLACE_INDEX), 0);
	bbm_tlb_insert(&tlb, VA(0x1000), BBM_PTE, leaf(BBM_PTE, VA(0x1000), 0),
		       &rng);
	bbm_tlb_insert(&tlb, VA(0x200000), BBM_PMD,
		       leaf(BBM_PMD, VA(0x200000), 0), &rng);
	ck_assert_uint_eq(bbm_tlbi_log_append(&log, VA(0x1000), VA(0x2000)),
			  1);
	bbm_tlbi_log_apply(&log, &tlb, &acked);
	ck_assert_uint_eq(acked, 1);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0x1000), hits), 0);
	ck_assert_int_eq(bbm_tlb_lookup(&tlb, VA(0x200000), hits), 1);

	/* Fall behind by more than the ring: everything is flushed. */
	for (i = 0; i < BBM_TLBI_LOG + 3; i++)
		bbm_tlbi_log_append(&log, VA(0x40000000), VA(0x40001000));
	bbm_tlbi_log_apply(&log, &tlb, &acked);
	ck_assert_uint_eq(acked, BBM_TLBI_LOG + 4);
	ck_assert_uint_eq(bbm_tlb_count(&tlb), 0);
	bbm_tlb_destroy(&tlb);
	bbm_tlbi_log_destroy(&log);
}
END_TEST

Suite *make_tlb_suite(void)
{
	Suite *s = suite_create("tlb");
	TCase *tc = tcase_create("tlb");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_classes_and_hits);
	tcase_add_test(tc, test_invalidate_range_overlap);
	tcase_add_test(tc, test_random_replacement);
	tcase_add_test(tc, test_tlbi_log);
	suite_add_tcase(s, tc);
	return s;
}
