// SPDX-License-Identifier: GPL-2.0
/*
 * core/pageattr: set_memory_*(), set_direct_map_*(), the realm's
 * set_memory_{de,en}crypted(), the pageattr WARN on partial blocks and the
 * consequences the kernel reports, checked descriptor by descriptor against
 * DOMAIN.md section 4 (written independently of core/pageattr.c).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hwwalk.h"
#include "core/map.h"
#include "core/pageattr.h"
#include "core/pagewalk.h"
#include "core/report.h"
#include "core/split.h"
#include "map_snap.h"

Suite *make_pageattr_suite(void);

/* --- A map with recording hooks and a report sink ----------------------- */

#define MAX_RECS 8

struct rsi_call {
	uint64_t start, end;
	bool shared;
	bbm_desc_t first, last;	/* the range's first and last PTE then */
};

struct env {
	struct bbm_map *map;
	struct bbm_report report;
	/* Split gate: 1 splits, 0 skips (v6.18 before caps are final). */
	int gate_ret;
	int gate_calls;
	/* flush_tlb_kernel_range() */
	int flush_calls;
	uint64_t flush_start, flush_end;
	/* RSI stub, when installed */
	int rsi_calls;
	int rsi_ret;
	struct rsi_call rsi[MAX_RECS];
	/* Report sink */
	int nr_recs;
	struct bbm_failure recs[MAX_RECS];
};

static int gate_hook(struct bbm_map *map, uint64_t start, uint64_t end)
{
	struct env *e = map->priv;

	(void)start;
	(void)end;
	e->gate_calls++;
	return e->gate_ret;
}

static void flush_hook(struct bbm_map *map, uint64_t start, uint64_t end)
{
	struct env *e = map->priv;

	e->flush_calls++;
	e->flush_start = start;
	e->flush_end = end;
}

static int rsi_hook(struct bbm_map *map, uint64_t start, uint64_t end,
		    bool shared)
{
	struct env *e = map->priv;
	struct rsi_call *c;

	if (e->rsi_calls < MAX_RECS) {
		c = &e->rsi[e->rsi_calls];
		c->start = start;
		c->end = end;
		c->shared = shared;
		c->first = *desc_at(map, PO + start, BBM_PTE);
		c->last = *desc_at(map, PO + end - SZ_4K, BBM_PTE);
	}
	e->rsi_calls++;
	return e->rsi_ret;
}

static void sink(void *priv, const struct bbm_failure *f)
{
	struct env *e = priv;

	if (e->nr_recs < MAX_RECS)
		e->recs[e->nr_recs] = *f;
	e->nr_recs++;
}

static const struct bbm_map_ops env_ops = {
	.split_gate = gate_hook,
	.flush_tlb_range = flush_hook,
};

static void env_init(struct env *e, uint64_t size)
{
	memset(e, 0, sizeof(*e));
	e->gate_ret = 1;
	bbm_report_init(&e->report, sink, e);
	e->map = bbm_map_create(size, false, &env_ops, e, &e->report);
	ck_assert_ptr_nonnull(e->map);
}

/* Route RSI calls to the recording stub instead of rsi_fail_next. */
static void env_use_rsi_hook(struct env *e)
{
	e->map->ops.rsi_set_state = rsi_hook;
}

static void env_fini(struct env *e)
{
	bbm_map_destroy(e->map);
	bbm_report_destroy(&e->report);
}

/* No warning, no note, nothing reported at all. */
static void assert_no_reports(struct env *e)
{
	int kind;

	for (kind = 0; kind < BBM_FAIL_NR_KINDS; kind++)
		ck_assert_uint_eq(bbm_report_count(&e->report, kind), 0);
	ck_assert_int_eq(e->nr_recs, 0);
	ck_assert_uint_eq(e->report.leaked_pages, 0);
}

/* --- Descriptor checks --------------------------------------------------- */

static bbm_desc_t kernel_leaf(int level, uint64_t va, bool cont)
{
	return bbm_mk_leaf(level, bbm_linear_pa(va), BBM_PROT_KERNEL) |
	       (cont ? BBM_CONT : 0);
}

/* The present-invalid form of a valid leaf: VALID clear, nG set. */
static bbm_desc_t present_invalid(bbm_desc_t d)
{
	return (d & ~BBM_VALID) | BBM_NG;
}

/*
 * Hardware-walk every @step of [start, end): the right output address;
 * attributes @xattrs inside [xs, xe) and PAGE_KERNEL outside.
 */
static void assert_attrs(struct bbm_map *map, uint64_t start, uint64_t end,
			 uint64_t step, uint64_t xs, uint64_t xe,
			 uint64_t xattrs)
{
	struct bbm_hw_walk w;
	uint64_t va, want;

	for (va = start; va < end; va += step) {
		want = va >= xs && va < xe ? xattrs : BBM_PROT_KERNEL;
		CHECK(bbm_hw_walk(map, va, &w) == BBM_WALK_OK,
		      "va %#llx: status %d at L%d desc %#llx", ULL(va),
		      w.status, w.level, ULL(w.desc));
		CHECK(w.pa == bbm_linear_pa(va), "va %#llx -> pa %#llx",
		      ULL(va), ULL(w.pa));
		CHECK(bbm_desc_attrs(w.desc) == want,
		      "va %#llx attrs %#llx, want %#llx", ULL(va),
		      ULL(bbm_desc_attrs(w.desc)), ULL(want));
	}
}

static void assert_all_kernel(struct bbm_map *map, uint64_t step)
{
	assert_attrs(map, PO, map->end, step, 0, 0, 0);
}

/* --- set_memory_ro/rw/nx/x ----------------------------------------------- */

/* Inside PUD 1: CONT_PMD group 3, PMD 53, CONT_PTE group 7, PTE 115. */
#define PMD53 (PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M)
#define DEEP (PMD53 + 7 * SZ_64K + 3 * SZ_4K)

START_TEST(test_ro_rw_one_page_in_pud_block)
{
	struct env e;
	bbm_desc_t *ptes;
	struct bbm_hw_walk w;
	int i;

	env_init(&e, 2 * SZ_1G);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP, 1), 0);
	ck_assert_int_eq(e.gate_calls, 1);
	/* Split down to PTEs: this page RDONLY, neighbours not. */
	ck_assert_int_eq(bbm_hw_walk(e.map, DEEP, &w), BBM_WALK_OK);
	ck_assert_int_eq(w.level, BBM_PTE);
	ptes = desc_at(e.map, PMD53, BBM_PTE);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, PMD53 + i * SZ_4K,
					      i < 112 || i >= 128) |
					  (i == 115 ? BBM_RDONLY : 0));
	assert_attrs(e.map, PO, e.map->end, SZ_4K, DEEP, DEEP + SZ_4K,
		     BBM_PROT_KERNEL | BBM_RDONLY);
	ck_assert_int_eq(e.flush_calls, 1);
	ck_assert_uint_eq(e.flush_start, DEEP);
	ck_assert_uint_eq(e.flush_end, DEEP + SZ_4K);

	/* rw restores the split PTE's exact value. */
	ck_assert_int_eq(bbm_set_memory_rw(e.map, DEEP, 1), 0);
	ck_assert_uint_eq(ptes[115], kernel_leaf(BBM_PTE, DEEP, false));
	assert_all_kernel(e.map, SZ_4K);
	ck_assert_int_eq(e.flush_calls, 2);
	ck_assert_uint_eq(e.flush_start, DEEP);
	ck_assert_uint_eq(e.flush_end, DEEP + SZ_4K);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/* A whole CONT_PTE group changes together and keeps CONT. */
START_TEST(test_ro_whole_cont_pte_group)
{
	uint64_t start = PMD53 + 7 * SZ_64K;
	struct env e;
	bbm_desc_t *ptes;
	int i;

	env_init(&e, 2 * SZ_1G);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, start, 16), 0);
	ptes = desc_at(e.map, PMD53, BBM_PTE);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, PMD53 + i * SZ_4K,
					      true) |
					  (i >= 112 && i < 128 ? BBM_RDONLY :
								 0));
	assert_attrs(e.map, PMD53, PMD53 + SZ_2M, SZ_4K, start,
		     start + SZ_64K, BBM_PROT_KERNEL | BBM_RDONLY);
	/* nx is already set (PAGE_KERNEL); x clears PXN only on these. */
	ck_assert_int_eq(bbm_set_memory_x(e.map, start, 16), 0);
	for (i = 112; i < 128; i++)
		ck_assert_uint_eq(ptes[i],
				  (kernel_leaf(BBM_PTE, PMD53 + i * SZ_4K,
					       true) |
				   BBM_RDONLY) &
					  ~BBM_PXN);
	ck_assert_int_eq(bbm_set_memory_nx(e.map, start, 16), 0);
	ck_assert_int_eq(bbm_set_memory_rw(e.map, start, 16), 0);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, PMD53 + i * SZ_4K,
					      true));
	ck_assert_int_eq(e.flush_calls, 4);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/* A range over whole blocks changes them in place, without splitting. */
START_TEST(test_ro_whole_blocks_split_gate_on)
{
	struct env e;
	struct bbm_hw_walk w;

	env_init(&e, 2 * SZ_1G);
	/* The whole PUD 1 block, and the 2M PMD 5 of PUD 0. */
	ck_assert_int_eq(bbm_set_memory_ro(e.map, PO + SZ_1G, SZ_1G / SZ_4K),
			 0);
	ck_assert_uint_eq(*desc_at(e.map, PO + SZ_1G, BBM_PUD),
			  kernel_leaf(BBM_PUD, PO + SZ_1G, false) |
				  BBM_RDONLY);
	ck_assert_uint_eq(bbm_arena_in_use(e.map->arena, BBM_PMD), 0);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, PO + 5 * SZ_2M, 512), 0);
	/* PUD 0 split to CONT PMDs; group 0 lost CONT (5 is inside it). */
	ck_assert_uint_eq(*desc_at(e.map, PO + 5 * SZ_2M, BBM_PMD),
			  kernel_leaf(BBM_PMD, PO + 5 * SZ_2M, false) |
				  BBM_RDONLY);
	ck_assert_uint_eq(*desc_at(e.map, PO + 16 * SZ_2M, BBM_PMD),
			  kernel_leaf(BBM_PMD, PO + 16 * SZ_2M, true));
	ck_assert_uint_eq(bbm_arena_in_use(e.map->arena, BBM_PTE), 0);
	ck_assert_int_eq(bbm_hw_walk(e.map, PO + 5 * SZ_2M + 77 * SZ_4K, &w),
			 BBM_WALK_OK);
	ck_assert_int_eq(w.level, BBM_PMD);
	assert_attrs(e.map, PO, PO + SZ_1G, SZ_64K, PO + 5 * SZ_2M,
		     PO + 6 * SZ_2M, BBM_PROT_KERNEL | BBM_RDONLY);
	assert_attrs(e.map, PO + SZ_1G, PO + 2 * SZ_1G, SZ_2M, 0, ~0ull,
		     BBM_PROT_KERNEL | BBM_RDONLY);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/* --- The pageattr WARN: partial blocks when the split was skipped --------- */

/* The one record in the sink is a PAGEATTR_WARN at @va naming @fn. */
static void assert_pageattr_warn(struct env *e, uint64_t va, const char *fn)
{
	ck_assert_uint_eq(bbm_report_count(&e->report, BBM_FAIL_PAGEATTR_WARN),
			  1);
	ck_assert_int_ge(e->nr_recs, 1);
	ck_assert_int_eq(e->recs[0].kind, BBM_FAIL_PAGEATTR_WARN);
	ck_assert_uint_eq(e->recs[0].va, va);
	ck_assert_ptr_nonnull(strstr(e->recs[0].msg, fn));
	ck_assert_ptr_nonnull(strstr(e->recs[0].msg, "pageattr.c:56"));
}

START_TEST(test_warn_pmd_partial_block)
{
	/* 512M: PUD 0 is a table of CONT PMD blocks. */
	uint64_t addr = PO + 5 * SZ_2M + 2 * SZ_64K;
	struct snap before;
	struct env e;

	env_init(&e, 512 * SZ_1M);
	e.gate_ret = 0;
	snap_take(e.map, &before);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, addr, 16), -EINVAL);
	ck_assert_int_eq(e.gate_calls, 1);
	assert_pageattr_warn(&e, addr, "pageattr_pmd_entry");
	ck_assert_int_eq(e.nr_recs, 1);
	ck_assert_uint_eq(bbm_report_total(&e.report), 1);
	/* The block is untouched (the split was skipped, not refused). */
	assert_unchanged(e.map, &before);
	ck_assert_uint_eq(*desc_at(e.map, addr, BBM_PMD),
			  kernel_leaf(BBM_PMD, PO + 5 * SZ_2M, true));
	snap_free(&before);
	env_fini(&e);
}
END_TEST

START_TEST(test_warn_pud_partial_block)
{
	uint64_t addr = PMD53 + 2 * SZ_64K;
	struct snap before;
	struct env e;

	env_init(&e, 2 * SZ_1G);
	e.gate_ret = 0;
	snap_take(e.map, &before);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, addr, 16), -EINVAL);
	assert_pageattr_warn(&e, addr, "pageattr_pud_entry");
	ck_assert_int_eq(e.nr_recs, 1);
	assert_unchanged(e.map, &before);
	ck_assert_uint_eq(*desc_at(e.map, addr, BBM_PUD),
			  kernel_leaf(BBM_PUD, PO + SZ_1G, false));
	snap_free(&before);
	env_fini(&e);
}
END_TEST

/* With the split skipped, a whole 2M block is still changed in place. */
START_TEST(test_skip_gate_whole_pmd_block)
{
	/* 40M: PMDs 0..15 a CONT_PMD group, 16..19 plain blocks. */
	uint64_t blk = PO + 17 * SZ_2M;
	struct env e;
	bbm_desc_t *pmds;
	int i;

	env_init(&e, 40 * SZ_1M);
	e.gate_ret = 0;
	ck_assert_int_eq(bbm_set_memory_ro(e.map, blk, 512), 0);
	ck_assert_int_eq(e.gate_calls, 1);
	pmds = desc_at(e.map, PO, BBM_PMD);
	for (i = 0; i < 20; i++)
		ck_assert_uint_eq(pmds[i],
				  kernel_leaf(BBM_PMD, PO + i * SZ_2M,
					      i < 16) |
					  (i == 17 ? BBM_RDONLY : 0));
	ck_assert_uint_eq(pmds[17] & BBM_TYPE_MASK, BBM_TYPE_BLOCK);
	ck_assert_uint_eq(bbm_arena_in_use(e.map->arena, BBM_PTE), 0);
	assert_attrs(e.map, PO, e.map->end, SZ_64K, blk, blk + SZ_2M,
		     BBM_PROT_KERNEL | BBM_RDONLY);
	ck_assert_int_eq(e.flush_calls, 1);
	ck_assert_uint_eq(e.flush_start, blk);
	ck_assert_uint_eq(e.flush_end, blk + SZ_2M);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/* The walk stops at the first error: the PTEs before it stay changed. */
START_TEST(test_stops_at_first_error)
{
	uint64_t pmd17 = PO + 17 * SZ_2M, pmd18 = PO + 18 * SZ_2M;
	uint64_t start = pmd17 + SZ_1M, end = pmd18 + SZ_64K;
	bbm_desc_t *ptes, *pmds;
	struct env e;
	int i;

	env_init(&e, 40 * SZ_1M);
	/* Make PMD 17 a PTE table (split at a page in CONT_PTE group 1). */
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(
				 e.map, pmd17 + SZ_64K + SZ_4K,
				 pmd17 + SZ_64K + 2 * SZ_4K),
			 0);
	e.gate_ret = 0;
	ck_assert_int_eq(bbm_set_memory_ro(e.map, start,
					   (end - start) / SZ_4K),
			 -EINVAL);
	assert_pageattr_warn(&e, pmd18, "pageattr_pmd_entry");
	ck_assert_int_eq(e.nr_recs, 1);
	/* PTEs 256..511 of PMD 17 changed (whole CONT groups), 0..255 not. */
	ptes = desc_at(e.map, pmd17, BBM_PTE);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, pmd17 + i * SZ_4K,
					      i < 16 || i >= 32) |
					  (i >= 256 ? BBM_RDONLY : 0));
	/* PMD 18 (the partial block) and 19 untouched. */
	pmds = desc_at(e.map, PO, BBM_PMD);
	ck_assert_uint_eq(pmds[18], kernel_leaf(BBM_PMD, pmd18, false));
	ck_assert_uint_eq(pmds[19],
			  kernel_leaf(BBM_PMD, pmd18 + SZ_2M, false));
	assert_attrs(e.map, PO, e.map->end, SZ_4K, start, pmd18,
		     BBM_PROT_KERNEL | BBM_RDONLY);
	/* The kernel flushes the range even so. */
	ck_assert_int_eq(e.flush_calls, 1);
	ck_assert_uint_eq(e.flush_start, start);
	ck_assert_uint_eq(e.flush_end, end);
	env_fini(&e);
}
END_TEST

/* --- set_direct_map_invalid/valid ---------------------------------------- */

START_TEST(test_direct_map_invalid_valid_page)
{
	bbm_desc_t orig = kernel_leaf(BBM_PTE, DEEP, false), d;
	struct bbm_hw_walk w;
	struct env e;

	env_init(&e, 2 * SZ_1G);
	ck_assert_int_eq(bbm_set_direct_map_invalid(e.map, DEEP, 1), 0);
	d = *desc_at(e.map, DEEP, BBM_PTE);
	/* VALID clear, nG set, type bit 1 kept, nothing else changed. */
	ck_assert_uint_eq(d, present_invalid(orig));
	ck_assert_uint_eq(d & BBM_TYPE_MASK, 2);
	ck_assert(bbm_desc_present(d));
	ck_assert(!bbm_desc_valid(d));
	ck_assert(bbm_desc_leaf(d, BBM_PTE));
	/* The hardware faults on it; its neighbours translate. */
	ck_assert_int_eq(bbm_hw_walk(e.map, DEEP, &w), BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PTE);
	ck_assert_uint_eq(w.desc, d);
	assert_attrs(e.map, DEEP - SZ_64K, DEEP, SZ_4K, 0, 0, 0);
	assert_attrs(e.map, DEEP + SZ_4K, DEEP + SZ_64K, SZ_4K, 0, 0, 0);
	ck_assert_int_eq(e.flush_calls, 1);
	ck_assert_uint_eq(e.flush_start, DEEP);
	ck_assert_uint_eq(e.flush_end, DEEP + SZ_4K);

	/* valid restores the exact descriptor, without a flush. */
	ck_assert_int_eq(bbm_set_direct_map_valid(e.map, DEEP, 1), 0);
	ck_assert_uint_eq(*desc_at(e.map, DEEP, BBM_PTE), orig);
	ck_assert_int_eq(e.flush_calls, 1);
	assert_all_kernel(e.map, SZ_4K);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/* A CONT group made invalid keeps CONT; valid gives it back intact. */
START_TEST(test_direct_map_invalid_valid_cont_group)
{
	uint64_t start = PMD53 + 7 * SZ_64K;
	struct env e;
	bbm_desc_t *ptes;
	int i;

	env_init(&e, 2 * SZ_1G);
	ck_assert_int_eq(bbm_set_direct_map_invalid(e.map, start, 16), 0);
	ptes = desc_at(e.map, PMD53, BBM_PTE);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		bbm_desc_t want = kernel_leaf(BBM_PTE, PMD53 + i * SZ_4K, true);

		if (i >= 112 && i < 128)
			want = present_invalid(want);
		ck_assert_uint_eq(ptes[i], want);
	}
	ck_assert_int_eq(bbm_set_direct_map_valid(e.map, start, 16), 0);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, PMD53 + i * SZ_4K,
					      true));
	ck_assert_int_eq(e.flush_calls, 1);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/*
 * A whole 2M block made present-invalid, then one page inside made valid:
 * the split of a present-invalid block gives present-invalid PTEs.
 */
START_TEST(test_direct_map_invalid_block_then_split)
{
	uint64_t blk = PO + 17 * SZ_2M, page = blk + 5 * SZ_64K + SZ_4K;
	bbm_desc_t *pmdp, *ptes, want;
	struct bbm_hw_walk w;
	struct env e;
	int i;

	env_init(&e, 40 * SZ_1M);
	ck_assert_int_eq(bbm_set_direct_map_invalid(e.map, blk, 512), 0);
	pmdp = desc_at(e.map, blk, BBM_PMD);
	ck_assert_uint_eq(*pmdp,
			  present_invalid(kernel_leaf(BBM_PMD, blk, false)));
	ck_assert_uint_eq(*pmdp & BBM_TYPE_MASK, 0);
	ck_assert(bbm_desc_leaf(*pmdp, BBM_PMD));
	ck_assert_int_eq(bbm_hw_walk(e.map, blk + 1234 * 8, &w),
			 BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PMD);

	ck_assert_int_eq(bbm_set_direct_map_valid(e.map, page, 1), 0);
	ck_assert(bbm_desc_table(*pmdp, BBM_PMD));
	ptes = bbm_map_table(e.map, *pmdp);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		want = kernel_leaf(BBM_PTE, blk + i * SZ_4K,
				   i < 80 || i >= 96);
		if (blk + i * SZ_4K != page)
			want = present_invalid(want);
		ck_assert_uint_eq(ptes[i], want);
	}
	assert_attrs(e.map, page, page + SZ_4K, SZ_4K, 0, 0, 0);
	ck_assert_int_eq(bbm_hw_walk(e.map, page + SZ_4K, &w),
			 BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PTE);

	/* All valid again: the split PTEs of a PAGE_KERNEL block. */
	ck_assert_int_eq(bbm_set_direct_map_valid(e.map, blk, 512), 0);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, blk + i * SZ_4K,
					      i < 80 || i >= 96));
	assert_all_kernel(e.map, SZ_4K);
	ck_assert_int_eq(e.flush_calls, 1);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/* --- Realm decrypt/encrypt ----------------------------------------------- */

/* 16 pages, one whole CONT_PTE group of PMD 53 (64K-aligned both ends). */
#define REALM (PMD53 + 3 * SZ_64K)

START_TEST(test_decrypt_encrypt_round_trip)
{
	uint64_t pa = bbm_linear_pa(REALM);
	bbm_desc_t *ptes;
	struct env e;
	int i;

	env_init(&e, 2 * SZ_1G);
	env_use_rsi_hook(&e);
	ck_assert_int_eq(bbm_set_memory_decrypted(e.map, REALM, 16), 0);
	ptes = desc_at(e.map, REALM, BBM_PTE);
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, REALM + i * SZ_4K,
					      true) |
					  BBM_NS_SHARED);
	assert_attrs(e.map, PMD53, PMD53 + SZ_2M, SZ_4K, REALM,
		     REALM + SZ_64K, BBM_PROT_KERNEL | BBM_NS_SHARED);
	/* The RSI call: the PA range, shared, on present-invalid pages. */
	ck_assert_int_eq(e.rsi_calls, 1);
	ck_assert_uint_eq(e.rsi[0].start, pa);
	ck_assert_uint_eq(e.rsi[0].end, pa + SZ_64K);
	ck_assert(e.rsi[0].shared);
	ck_assert_uint_eq(e.rsi[0].first,
			  present_invalid(kernel_leaf(BBM_PTE, REALM, true)) |
				  BBM_NS_SHARED);
	ck_assert_uint_eq(e.rsi[0].last,
			  present_invalid(kernel_leaf(BBM_PTE,
						      REALM + 15 * SZ_4K,
						      true)) |
				  BBM_NS_SHARED);
	/* The break is flushed; the make (valid only) is not. */
	ck_assert_int_eq(e.flush_calls, 1);
	ck_assert_uint_eq(e.flush_start, REALM);
	ck_assert_uint_eq(e.flush_end, REALM + SZ_64K);

	ck_assert_int_eq(bbm_set_memory_encrypted(e.map, REALM, 16), 0);
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, REALM + i * SZ_4K,
					      true));
	ck_assert_int_eq(e.rsi_calls, 2);
	ck_assert_uint_eq(e.rsi[1].start, pa);
	ck_assert_uint_eq(e.rsi[1].end, pa + SZ_64K);
	ck_assert(!e.rsi[1].shared);
	ck_assert_uint_eq(e.rsi[1].first,
			  present_invalid(kernel_leaf(BBM_PTE, REALM, true)));
	ck_assert_int_eq(e.flush_calls, 2);
	assert_all_kernel(e.map, SZ_4K);
	assert_no_reports(&e);
	env_fini(&e);
}
END_TEST

/* The leak note in the sink: exact text, and the leaked-page count. */
static void assert_leak_note(struct env *e, int rec, const char *msg,
			     uint64_t va, uint64_t pages)
{
	ck_assert_uint_eq(bbm_report_count(&e->report, BBM_NOTE_PAGES_LEAKED),
			  1);
	ck_assert_uint_eq(e->report.leaked_pages, pages);
	ck_assert_int_gt(e->nr_recs, rec);
	ck_assert_int_eq(e->recs[rec].kind, BBM_NOTE_PAGES_LEAKED);
	ck_assert_str_eq(e->recs[rec].msg, msg);
	ck_assert_uint_eq(e->recs[rec].va, va);
}

START_TEST(test_decrypt_rsi_failure)
{
	bbm_desc_t *ptes;
	struct bbm_hw_walk w;
	struct env e;
	int ret, i;

	env_init(&e, 2 * SZ_1G);
	e.map->rsi_fail_next = 1;
	ret = bbm_set_memory_decrypted(e.map, REALM, 16);
	ck_assert_int_lt(ret, 0);
	ck_assert_uint_eq(e.map->rsi_fail_next, 0);
	assert_leak_note(&e, 0,
			 "Failed to decrypt memory, 16 pages will be leaked",
			 REALM, 16);
	ck_assert_int_eq(e.nr_recs, 1);
	/* A note, not a failure. */
	ck_assert_uint_eq(bbm_report_total(&e.report), 0);
	/* Left broken, as the kernel leaves them: present-invalid, NS. */
	ptes = desc_at(e.map, REALM, BBM_PTE);
	for (i = 0; i < 16; i++) {
		ck_assert_uint_eq(ptes[i],
				  present_invalid(kernel_leaf(
					  BBM_PTE, REALM + i * SZ_4K, true)) |
					  BBM_NS_SHARED);
		ck_assert_int_eq(bbm_hw_walk(e.map, REALM + i * SZ_4K, &w),
				 BBM_WALK_FAULT);
	}
	assert_attrs(e.map, PMD53, REALM, SZ_4K, 0, 0, 0);
	assert_attrs(e.map, REALM + SZ_64K, PMD53 + SZ_2M, SZ_4K, 0, 0, 0);
	ck_assert_int_eq(e.flush_calls, 1);
	env_fini(&e);
}
END_TEST

/* v6.18's bug: split skipped before caps are final, decrypt in a block. */
START_TEST(test_v6_18_bug_shape)
{
	uint64_t addr = PO + 5 * SZ_2M + 2 * SZ_64K;
	struct snap before;
	struct env e;

	env_init(&e, 512 * SZ_1M);
	env_use_rsi_hook(&e);
	e.gate_ret = 0;
	snap_take(e.map, &before);
	ck_assert_int_eq(bbm_set_memory_decrypted(e.map, addr, 16), -EINVAL);
	/* The WARN first, then the leak. */
	ck_assert_int_eq(e.nr_recs, 2);
	assert_pageattr_warn(&e, addr, "pageattr_pmd_entry");
	assert_leak_note(&e, 1,
			 "Failed to decrypt memory, 16 pages will be leaked",
			 addr, 16);
	ck_assert_uint_eq(bbm_report_total(&e.report), 1);
	/* The RSI was never asked; the block is as it was. */
	ck_assert_int_eq(e.rsi_calls, 0);
	assert_unchanged(e.map, &before);
	snap_free(&before);
	env_fini(&e);
}
END_TEST

/* --- Split failures and bad ranges --------------------------------------- */

START_TEST(test_split_refused_enomem)
{
	struct snap before;
	struct env e;

	env_init(&e, 2 * SZ_1G);
	snap_take(e.map, &before);
	bbm_arena_fail_nth(e.map->arena, 1);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP, 1), -ENOMEM);
	ck_assert_uint_eq(bbm_report_count(&e.report, BBM_FAIL_SPLIT_REFUSED),
			  1);
	ck_assert_int_eq(e.nr_recs, 1);
	ck_assert_int_eq(e.recs[0].kind, BBM_FAIL_SPLIT_REFUSED);
	ck_assert_uint_eq(e.recs[0].va, DEEP);
	ck_assert_ptr_nonnull(strstr(e.recs[0].msg, "update_range_prot"));
	ck_assert_ptr_nonnull(strstr(e.recs[0].msg, "returned -12"));
	ck_assert_uint_eq(bbm_report_count(&e.report, BBM_FAIL_PAGEATTR_WARN),
			  0);
	assert_unchanged(e.map, &before);
	snap_free(&before);

	/* Midway (PUD split done, PMD's fails): attributes unchanged. */
	bbm_arena_fail_nth(e.map->arena, 2);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP, 1), -ENOMEM);
	ck_assert_uint_eq(bbm_report_count(&e.report, BBM_FAIL_SPLIT_REFUSED),
			  2);
	ck_assert(bbm_desc_table(*desc_at(e.map, DEEP, BBM_PUD), BBM_PUD));
	ck_assert_uint_eq(*desc_at(e.map, DEEP, BBM_PMD),
			  kernel_leaf(BBM_PMD, PMD53, false));
	assert_all_kernel(e.map, SZ_4K);

	/* A decrypt whose split fails leaks its pages. */
	bbm_arena_fail_nth(e.map->arena, 1);
	ck_assert_int_eq(bbm_set_memory_decrypted(e.map, DEEP, 16), -ENOMEM);
	ck_assert_uint_eq(bbm_report_count(&e.report, BBM_FAIL_SPLIT_REFUSED),
			  3);
	assert_leak_note(&e, 3,
			 "Failed to decrypt memory, 16 pages will be leaked",
			 DEEP, 16);
	assert_all_kernel(e.map, SZ_4K);
	env_fini(&e);
}
END_TEST

START_TEST(test_bad_ranges)
{
	struct snap before;
	struct env e;

	env_init(&e, 2 * SZ_1G);
	snap_take(e.map, &before);
	/* Unaligned address. */
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP + 8, 1), -EINVAL);
	ck_assert_int_eq(bbm_set_memory_rw(e.map, DEEP + 2048, 2), -EINVAL);
	ck_assert_int_eq(bbm_set_direct_map_invalid(e.map, DEEP + 1, 1),
			 -EINVAL);
	/* Outside the map: below, at the end, across the end, user VAs. */
	ck_assert_int_eq(bbm_set_memory_ro(e.map, PO - SZ_4K, 1), -EINVAL);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, PO - SZ_4K, 2), -EINVAL);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, e.map->end, 1), -EINVAL);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, e.map->end - SZ_4K, 2),
			 -EINVAL);
	ck_assert_int_eq(bbm_set_memory_nx(e.map, PO, SZ_1G / SZ_4K * 2 + 1),
			 -EINVAL);
	ck_assert_int_eq(bbm_set_memory_x(e.map, 0x400000, 1), -EINVAL);
	ck_assert_int_eq(bbm_set_direct_map_valid(e.map, BBM_LINEAR_END, 1),
			 -EINVAL);
	/* Zero pages: nothing to do. */
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP, 0), 0);

	assert_unchanged(e.map, &before);
	ck_assert_int_eq(e.gate_calls, 0);
	ck_assert_int_eq(e.flush_calls, 0);
	assert_no_reports(&e);

	/* The last page of the map is in range. */
	ck_assert_int_eq(bbm_set_memory_ro(e.map, e.map->end - SZ_4K, 1), 0);
	assert_attrs(e.map, e.map->end - SZ_2M, e.map->end, SZ_4K,
		     e.map->end - SZ_4K, e.map->end,
		     BBM_PROT_KERNEL | BBM_RDONLY);
	snap_free(&before);
	env_fini(&e);
}
END_TEST

/* numpages * PAGE_SIZE must not wrap into a small, valid-looking range. */
START_TEST(test_numpages_overflow)
{
	struct snap before;
	struct env e;

	env_init(&e, 2 * SZ_1G);
	snap_take(e.map, &before);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP, (1ull << 52) + 1),
			 -EINVAL);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP, 1ull << 52), -EINVAL);
	ck_assert_int_eq(bbm_set_memory_ro(e.map, DEEP, UINT64_MAX), -EINVAL);
	assert_unchanged(e.map, &before);
	snap_free(&before);
	env_fini(&e);
}
END_TEST

Suite *make_pageattr_suite(void)
{
	Suite *s = suite_create("pageattr");
	TCase *tc = tcase_create("set_memory");
	TCase *tc_warn = tcase_create("warn");
	TCase *tc_direct = tcase_create("direct_map");
	TCase *tc_realm = tcase_create("realm");
	TCase *tc_bad = tcase_create("bad_input");

	/* Each well under a second; sanitizers make them a few times slower. */
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ro_rw_one_page_in_pud_block);
	tcase_add_test(tc, test_ro_whole_cont_pte_group);
	tcase_add_test(tc, test_ro_whole_blocks_split_gate_on);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tc_warn, 20);
	tcase_add_test(tc_warn, test_warn_pmd_partial_block);
	tcase_add_test(tc_warn, test_warn_pud_partial_block);
	tcase_add_test(tc_warn, test_skip_gate_whole_pmd_block);
	tcase_add_test(tc_warn, test_stops_at_first_error);
	suite_add_tcase(s, tc_warn);

	tcase_set_timeout(tc_direct, 20);
	tcase_add_test(tc_direct, test_direct_map_invalid_valid_page);
	tcase_add_test(tc_direct, test_direct_map_invalid_valid_cont_group);
	tcase_add_test(tc_direct, test_direct_map_invalid_block_then_split);
	suite_add_tcase(s, tc_direct);

	tcase_set_timeout(tc_realm, 20);
	tcase_add_test(tc_realm, test_decrypt_encrypt_round_trip);
	tcase_add_test(tc_realm, test_decrypt_rsi_failure);
	tcase_add_test(tc_realm, test_v6_18_bug_shape);
	suite_add_tcase(s, tc_realm);

	tcase_set_timeout(tc_bad, 20);
	tcase_add_test(tc_bad, test_split_refused_enomem);
	tcase_add_test(tc_bad, test_bad_ranges);
	tcase_add_test(tc_bad, test_numpages_overflow);
	suite_add_tcase(s, tc_bad);
	return s;
}
