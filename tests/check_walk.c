// SPDX-License-Identifier: GPL-2.0
/*
 * core/hwwalk and core/pagewalk: the hardware walk agrees with the range
 * walker on every page after random permission changes; faults, poison and
 * holes are seen at the right level; the walker's actions behave as the
 * kernel's (ACTION_SUBTREE/CONTINUE/AGAIN, early stop).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hwwalk.h"
#include "core/map.h"
#include "core/pageattr.h"
#include "core/pagewalk.h"
#include "core/split.h"
#include "map_snap.h"

Suite *make_walk_suite(void);

static struct bbm_map *make_map(uint64_t size, bool pte_only)
{
	struct bbm_map *map = bbm_map_create(size, pte_only, NULL, NULL, NULL);

	ck_assert_ptr_nonnull(map);
	return map;
}

static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = (*state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* --- Software walk of every page ------------------------------------------ */

#define LEVEL_HOLE 0x80	/* or'ed into the level: the entry was empty */

struct sw_pages {
	uint64_t start;		/* VA of page 0 */
	bbm_desc_t *desc;	/* per page: the leaf (or 0 for a hole) */
	uint8_t *level;		/* per page: its level, | LEVEL_HOLE */
	uint64_t leaves[BBM_LEVELS];
	uint64_t holes[BBM_LEVELS];
};

static void sw_note(struct sw_pages *sw, uint64_t addr, uint64_t next,
		    bbm_desc_t d, uint8_t level)
{
	uint64_t i;

	for (i = (addr - sw->start) / SZ_4K; i < (next - sw->start) / SZ_4K;
	     i++) {
		sw->desc[i] = d;
		sw->level[i] = level;
	}
}

/* Any level: a leaf (valid or present-invalid) ends the descent here. */
static int sw_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
		    struct bbm_walk *walk, int level)
{
	struct sw_pages *sw = walk->private;
	bbm_desc_t d = bbm_load_acquire(ptep);

	if (bbm_desc_table(d, level))
		return 0;
	sw_note(sw, addr, next, d, level);
	sw->leaves[level]++;
	walk->action = BBM_ACTION_CONTINUE;
	return 0;
}

static int sw_pgd(bbm_desc_t *p, uint64_t a, uint64_t n, struct bbm_walk *w)
{
	return sw_entry(p, a, n, w, BBM_PGD);
}

static int sw_pud(bbm_desc_t *p, uint64_t a, uint64_t n, struct bbm_walk *w)
{
	return sw_entry(p, a, n, w, BBM_PUD);
}

static int sw_pmd(bbm_desc_t *p, uint64_t a, uint64_t n, struct bbm_walk *w)
{
	return sw_entry(p, a, n, w, BBM_PMD);
}

static int sw_pte(bbm_desc_t *p, uint64_t a, uint64_t n, struct bbm_walk *w)
{
	return sw_entry(p, a, n, w, BBM_PTE);
}

static int sw_hole(uint64_t addr, uint64_t next, int level,
		   struct bbm_walk *walk)
{
	struct sw_pages *sw = walk->private;

	sw_note(sw, addr, next, 0, level | LEVEL_HOLE);
	sw->holes[level]++;
	return 0;
}

static const struct bbm_walk_ops sw_ops = {
	.pgd_entry = sw_pgd,
	.pud_entry = sw_pud,
	.pmd_entry = sw_pmd,
	.pte_entry = sw_pte,
	.pte_hole = sw_hole,
};

/* Record what the range walker sees for every page of [start, end). */
static void sw_walk(struct bbm_map *map, uint64_t start, uint64_t end,
		    struct sw_pages *sw)
{
	uint64_t nr = (end - start) / SZ_4K;

	memset(sw, 0, sizeof(*sw));
	sw->start = start;
	sw->desc = calloc(nr, sizeof(*sw->desc));
	sw->level = malloc(nr);
	ck_assert(sw->desc && sw->level);
	memset(sw->level, 0xff, nr);
	ck_assert_int_eq(bbm_walk_range(map, start, end, &sw_ops, sw), 0);
}

static void sw_free(struct sw_pages *sw)
{
	free(sw->desc);
	free(sw->level);
}

/* The hardware walk of each page agrees with the range walker's view. */
static void assert_hw_matches_sw(struct bbm_map *map, uint64_t start,
				 uint64_t end, const struct sw_pages *sw)
{
	struct bbm_hw_walk w;
	enum bbm_walk_status st;
	uint64_t i, va, offset;
	bbm_desc_t d;
	int level;

	for (i = 0, va = start; va < end; i++, va += SZ_4K) {
		d = sw->desc[i];
		level = sw->level[i] & ~LEVEL_HOLE;
		CHECK(sw->level[i] != 0xff, "va %#llx: not walked", ULL(va));
		st = bbm_hw_walk(map, va, &w);
		CHECK(w.level == level && w.desc == d,
		      "va %#llx: hw %#llx at %d, sw %#llx at %d", ULL(va),
		      ULL(w.desc), w.level, ULL(d), level);
		if (!bbm_desc_valid(d)) {
			/* Present-invalid leaf or hole: a fault there. */
			CHECK(st == BBM_WALK_FAULT, "va %#llx: status %d",
			      ULL(va), st);
			continue;
		}
		CHECK(st == BBM_WALK_OK, "va %#llx: status %d", ULL(va), st);
		offset = va & (bbm_level_size(level) - 1);
		CHECK(w.pa == bbm_linear_pa(va) &&
			      w.pa == bbm_desc_oa(d) + offset,
		      "va %#llx: pa %#llx from %#llx", ULL(va), ULL(w.pa),
		      ULL(d));
		CHECK(bbm_desc_attrs(w.desc) == bbm_desc_attrs(d),
		      "va %#llx: attrs", ULL(va));
	}
}

/* --- Hardware walk against the range walker ------------------------------- */

enum op { OP_RO, OP_RW, OP_NX, OP_X, OP_INVALID, OP_VALID, OP_NR };

#define PS_RDONLY 1
#define PS_EXEC 2
#define PS_INVALID 4

static int apply_op(struct bbm_map *map, uint8_t *shadow, enum op op,
		    uint64_t addr, uint64_t pages)
{
	static const struct {
		uint8_t set, clear;
	} effect[OP_NR] = {
		[OP_RO] = { PS_RDONLY, 0 },
		[OP_RW] = { 0, PS_RDONLY },
		[OP_NX] = { 0, PS_EXEC },
		[OP_X] = { PS_EXEC, 0 },
		[OP_INVALID] = { PS_INVALID, 0 },
		[OP_VALID] = { 0, PS_INVALID },
	};
	uint64_t first = bbm_linear_pa(addr) / SZ_4K, i;

	for (i = first; i < first + pages; i++)
		shadow[i] = (shadow[i] & ~effect[op].clear) | effect[op].set;
	switch (op) {
	case OP_RO:
		return bbm_set_memory_ro(map, addr, pages);
	case OP_RW:
		return bbm_set_memory_rw(map, addr, pages);
	case OP_NX:
		return bbm_set_memory_nx(map, addr, pages);
	case OP_X:
		return bbm_set_memory_x(map, addr, pages);
	case OP_INVALID:
		return bbm_set_direct_map_invalid(map, addr, pages);
	default:
		return bbm_set_direct_map_valid(map, addr, pages);
	}
}

static uint64_t shadow_attrs(uint8_t ps)
{
	uint64_t attrs = BBM_PROT_KERNEL;

	if (ps & PS_RDONLY)
		attrs |= BBM_RDONLY;
	if (ps & PS_EXEC)
		attrs &= ~BBM_PXN;
	if (ps & PS_INVALID)
		attrs = (attrs & ~BBM_VALID) | BBM_PRESENT_INVALID;
	return attrs;
}

START_TEST(test_hw_matches_sw_after_changes)
{
	static const uint64_t spans[] = { 1, 16, 512, 512 * 16, 512 * 512 };
	uint64_t size = 4 * SZ_1G, total = size / SZ_4K;
	struct bbm_map *map = make_map(size, false);
	uint8_t *shadow = calloc(total, 1);
	uint64_t rng = 0x3a11c0de, r, span, first, pages, i, nr_invalid = 0;
	struct sw_pages sw;
	int n;

	ck_assert_ptr_nonnull(shadow);
	/* The last GiB stays one PUD block, changed whole. */
	ck_assert_int_eq(apply_op(map, shadow, OP_RO, PO + 3 * SZ_1G,
				  SZ_1G / SZ_4K),
			 0);
	for (n = 0; n < 200; n++) {
		r = rng_next(&rng);
		span = spans[r % 5];
		first = (r >> 8) % (total - SZ_1G / SZ_4K);
		pages = 1 + (r >> 40) % span;
		/* A quarter of them cover whole aligned blocks or groups. */
		if ((r >> 4) % 4 == 0) {
			first &= ~(span - 1);
			pages = span;
		}
		if (first + pages > total - SZ_1G / SZ_4K)
			pages = total - SZ_1G / SZ_4K - first;
		ck_assert_int_eq(apply_op(map, shadow, (r >> 32) % OP_NR,
					  PO + first * SZ_4K, pages),
				 0);
	}
	ck_assert_int_eq(bbm_report_total(map->report), 0);

	sw_walk(map, PO, map->end, &sw);
	assert_hw_matches_sw(map, PO, map->end, &sw);
	/* Both against what the changes asked for. */
	for (i = 0; i < total; i++) {
		CHECK(bbm_desc_attrs(sw.desc[i]) == shadow_attrs(shadow[i]),
		      "page %llu: %#llx, state %#x", ULL(i), ULL(sw.desc[i]),
		      shadow[i]);
		nr_invalid += !!(shadow[i] & PS_INVALID);
	}
	/* The seed gives leaves of every size and invalid pages. */
	ck_assert_uint_gt(sw.leaves[BBM_PUD], 0);
	ck_assert_uint_gt(sw.leaves[BBM_PMD], 0);
	ck_assert_uint_gt(sw.leaves[BBM_PTE], 0);
	ck_assert_uint_gt(nr_invalid, 0);
	ck_assert_uint_lt(nr_invalid, total);
	ck_assert_uint_eq(sw.holes[BBM_PGD] + sw.holes[BBM_PUD] +
				  sw.holes[BBM_PMD] + sw.holes[BBM_PTE],
			  0);
	sw_free(&sw);
	free(shadow);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_fault_levels)
{
	struct bbm_map *map = make_map(4 * SZ_1G, false);
	struct bbm_hw_walk w;
	uint64_t va;

	/* A whole PUD block, a whole PMD block, one page: invalid. */
	ck_assert_int_eq(bbm_set_direct_map_invalid(map, PO + 3 * SZ_1G,
						    SZ_1G / SZ_4K),
			 0);
	ck_assert_int_eq(bbm_set_direct_map_invalid(map, PO + 2 * SZ_1G +
							 SZ_32M + SZ_2M,
						    SZ_2M / SZ_4K),
			 0);
	va = PO + SZ_1G + 5 * SZ_4K;
	ck_assert_int_eq(bbm_set_direct_map_invalid(map, va, 1), 0);

	ck_assert_int_eq(bbm_hw_walk(map, PO + 3 * SZ_1G + 12345 * SZ_4K, &w),
			 BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PUD);
	ck_assert(bbm_desc_present(w.desc) && !bbm_desc_valid(w.desc));
	ck_assert_int_eq(bbm_hw_walk(map, PO + 2 * SZ_1G + SZ_32M + SZ_2M +
						  SZ_1M,
				     &w),
			 BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PMD);
	ck_assert(bbm_desc_present(w.desc));
	ck_assert_int_eq(bbm_hw_walk(map, va, &w), BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PTE);
	ck_assert(bbm_desc_present(w.desc));
	/* Neighbours translate. */
	ck_assert_int_eq(bbm_hw_walk(map, va + SZ_4K, &w), BBM_WALK_OK);
	ck_assert_int_eq(w.level, BBM_PTE);
	ck_assert_uint_eq(w.pa, bbm_linear_pa(va) + SZ_4K);
	ck_assert_int_eq(bbm_hw_walk(map, PO + 2 * SZ_1G + SZ_32M, &w),
			 BBM_WALK_OK);
	ck_assert_int_eq(w.level, BBM_PMD);
	/* Beyond the end: empty PUD entry, empty PGD entry. */
	ck_assert_int_eq(bbm_hw_walk(map, PO + 4 * SZ_1G, &w),
			 BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PUD);
	ck_assert_uint_eq(w.desc, 0);
	ck_assert_int_eq(bbm_hw_walk(map, PO + (512 * SZ_1G), &w),
			 BBM_WALK_FAULT);
	ck_assert_int_eq(w.level, BBM_PGD);
	ck_assert_uint_eq(w.desc, 0);
	/* Valid again: all of it translates. */
	ck_assert_int_eq(bbm_set_direct_map_valid(map, PO, 4 * SZ_1G / SZ_4K),
			 0);
	for (va = PO; va < map->end; va += SZ_1M) {
		CHECK(bbm_hw_walk(map, va, &w) == BBM_WALK_OK, "va %#llx",
		      ULL(va));
		CHECK(w.pa == bbm_linear_pa(va), "va %#llx", ULL(va));
	}
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_poisoned_table)
{
	struct bbm_map *map = make_map(4 * SZ_1M, true);
	uint64_t pte_table, pmd_table;
	struct bbm_hw_walk w;

	ck_assert_int_eq(bbm_hw_walk(map, PO, &w), BBM_WALK_OK);
	ck_assert_int_eq(w.level, BBM_PTE);
	pte_table = w.table_pa[BBM_PTE];
	pmd_table = w.table_pa[BBM_PMD];
	ck_assert_uint_eq(pte_table, bbm_desc_oa(w.descs[BBM_PMD]));

	/* Freed while still linked: the walk reads poison at PTE level. */
	bbm_arena_free(map->arena, pte_table);
	ck_assert_int_eq(bbm_hw_walk(map, PO + 77 * SZ_4K, &w),
			 BBM_WALK_POISON);
	ck_assert_int_eq(w.level, BBM_PTE);
	ck_assert_uint_eq(w.desc, BBM_POISON);
	ck_assert_uint_eq(w.table_pa[BBM_PTE], pte_table);
	ck_assert_int_eq(bbm_hw_walk(map, PO + SZ_2M, &w), BBM_WALK_OK);

	/* The PMD table: poison one level up, for both halves. */
	bbm_arena_free(map->arena, pmd_table);
	ck_assert_int_eq(bbm_hw_walk(map, PO + SZ_2M, &w), BBM_WALK_POISON);
	ck_assert_int_eq(w.level, BBM_PMD);
	ck_assert_int_eq(bbm_hw_walk(map, PO, &w), BBM_WALK_POISON);
	ck_assert_int_eq(w.level, BBM_PMD);
	bbm_map_destroy(map);
}
END_TEST

/* --- The range walker ----------------------------------------------------- */

#define MAX_HOLES 8

struct holes {
	int nr;
	struct {
		uint64_t start, end;
		int level;
	} run[MAX_HOLES];	/* runs of adjacent holes at one level */
	long calls;
	bool misaligned;
};

/* Each call is one empty entry (clamped to the range): merge into runs. */
static int record_hole(uint64_t addr, uint64_t next, int level,
		       struct bbm_walk *walk)
{
	struct holes *h = walk->private;
	uint64_t size = bbm_level_size(level);

	h->calls++;
	/* Whole entry, or clamped at the range's ends only. */
	if ((addr & (size - 1)) && (next & (size - 1)))
		h->misaligned = true;
	if (next - addr > size)
		h->misaligned = true;
	if (h->nr && h->run[h->nr - 1].end == addr &&
	    h->run[h->nr - 1].level == level) {
		h->run[h->nr - 1].end = next;
		return 0;
	}
	ck_assert_int_lt(h->nr, MAX_HOLES);
	h->run[h->nr].start = addr;
	h->run[h->nr].end = next;
	h->run[h->nr].level = level;
	h->nr++;
	return 0;
}

static const struct bbm_walk_ops hole_ops = {
	.pte_hole = record_hole,
};

static void assert_run(const struct holes *h, int i, uint64_t start,
		       uint64_t end, int level)
{
	ck_assert_int_lt(i, h->nr);
	ck_assert_uint_eq(h->run[i].start, start);
	ck_assert_uint_eq(h->run[i].end, end);
	ck_assert_int_eq(h->run[i].level, level);
}

START_TEST(test_pte_hole_levels)
{
	struct bbm_map *map = make_map(5000 * SZ_1M, false);
	struct holes h = { 0 };

	/* The whole linear region: PMD, PUD then PGD holes. */
	ck_assert_int_eq(bbm_walk_range(map, PO, BBM_LINEAR_END, &hole_ops,
					&h),
			 0);
	ck_assert_int_eq(h.nr, 3);
	assert_run(&h, 0, PO + 5000 * SZ_1M, PO + 5 * SZ_1G, BBM_PMD);
	assert_run(&h, 1, PO + 5 * SZ_1G, PO + 512 * SZ_1G, BBM_PUD);
	assert_run(&h, 2, PO + 512 * SZ_1G, BBM_LINEAR_END, BBM_PGD);
	/* One call per empty entry: 60 PMD, 507 PUD, 255 PGD. */
	ck_assert_int_eq(h.calls, 60 + 507 + 255);
	ck_assert(!h.misaligned);

	/* Clamped at both ends of an unaligned range. */
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(bbm_walk_range(map, PO + 4999 * SZ_1M + SZ_4K,
					PO + 5 * SZ_1G + 3 * SZ_4K, &hole_ops,
					&h),
			 0);
	ck_assert_int_eq(h.nr, 2);
	assert_run(&h, 0, PO + 5000 * SZ_1M, PO + 5 * SZ_1G, BBM_PMD);
	assert_run(&h, 1, PO + 5 * SZ_1G, PO + 5 * SZ_1G + 3 * SZ_4K,
		   BBM_PUD);
	ck_assert(!h.misaligned);
	bbm_map_destroy(map);

	/* A PTE table's empty tail: PTE holes, then PMD, PUD, PGD. */
	map = make_map(SZ_1G + 34 * SZ_1M + 68 * 1024, false);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(bbm_walk_range(map, PO, BBM_LINEAR_END, &hole_ops,
					&h),
			 0);
	ck_assert_int_eq(h.nr, 4);
	assert_run(&h, 0, map->end, PO + SZ_1G + 36 * SZ_1M, BBM_PTE);
	assert_run(&h, 1, PO + SZ_1G + 36 * SZ_1M, PO + 2 * SZ_1G, BBM_PMD);
	assert_run(&h, 2, PO + 2 * SZ_1G, PO + 512 * SZ_1G, BBM_PUD);
	assert_run(&h, 3, PO + 512 * SZ_1G, BBM_LINEAR_END, BBM_PGD);
	ck_assert_int_eq(h.calls, (512 - 17) + (512 - 18) + 510 + 255);
	bbm_map_destroy(map);
}
END_TEST

struct counts {
	long calls[BBM_LEVELS];
	uint64_t first_pte, last_pte;
	int again_left;		/* AGAIN answers still to give */
	uint64_t again_addr;	/* the entry to give them for */
	long again_calls;
	uint64_t split_at;	/* pmd_entry splits the block holding this */
	int stop_after;		/* pte_entry fails on this call (1-based) */
	enum bbm_walk_action pmd_table_action;	/* for PMD tables */
};

static int count_pmd(bbm_desc_t *pmdp, uint64_t addr, uint64_t next,
		     struct bbm_walk *walk)
{
	struct counts *c = walk->private;
	bbm_desc_t d = bbm_load_acquire(pmdp);

	c->calls[BBM_PMD]++;
	if (c->again_left && addr == c->again_addr) {
		c->again_calls++;
		c->again_left--;
		walk->action = BBM_ACTION_AGAIN;
		return 0;
	}
	/* The kernel's pattern: split the block, then look again. */
	if (c->split_at && bbm_desc_leaf(d, BBM_PMD) && addr <= c->split_at &&
	    c->split_at < next) {
		pthread_mutex_lock(&walk->map->split_lock);
		ck_assert_int_eq(bbm_split_leaf_locked(walk->map,
						       c->split_at),
				 0);
		pthread_mutex_unlock(&walk->map->split_lock);
		c->split_at = 0;
		walk->action = BBM_ACTION_AGAIN;
		return 0;
	}
	if (bbm_desc_table(d, BBM_PMD))
		walk->action = c->pmd_table_action;
	return 0;
}

static int count_pte(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
		     struct bbm_walk *walk)
{
	struct counts *c = walk->private;

	(void)ptep;
	CHECK(next == addr + SZ_4K, "pte entry %#llx-%#llx", ULL(addr),
	      ULL(next));
	if (!c->calls[BBM_PTE])
		c->first_pte = addr;
	c->last_pte = addr;
	c->calls[BBM_PTE]++;
	if (c->stop_after && c->calls[BBM_PTE] == c->stop_after)
		return -42;
	return 0;
}

static const struct bbm_walk_ops count_ops = {
	.pmd_entry = count_pmd,
	.pte_entry = count_pte,
};

START_TEST(test_action_subtree_continue)
{
	/* PUD 4 of 5000M: 452 PMD blocks; make two of them tables. */
	struct bbm_map *map = make_map(5000 * SZ_1M, false);
	uint64_t base = PO + 4 * SZ_1G;
	struct counts c;

	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, base + SZ_4K,
						       base + SZ_2M + SZ_4K),
			 0);
	/* Default (SUBTREE): into both tables, 1024 PTEs. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(bbm_walk_range(map, base, map->end, &count_ops, &c),
			 0);
	ck_assert_int_eq(c.calls[BBM_PMD], 452);
	ck_assert_int_eq(c.calls[BBM_PTE], 1024);
	ck_assert_uint_eq(c.first_pte, base);
	ck_assert_uint_eq(c.last_pte, base + 2 * SZ_2M - SZ_4K);
	/* CONTINUE on tables: no PTE callback at all. */
	memset(&c, 0, sizeof(c));
	c.pmd_table_action = BBM_ACTION_CONTINUE;
	ck_assert_int_eq(bbm_walk_range(map, base, map->end, &count_ops, &c),
			 0);
	ck_assert_int_eq(c.calls[BBM_PMD], 452);
	ck_assert_int_eq(c.calls[BBM_PTE], 0);
	/* Clamped: PTEs of [base + 8K, base + 2M + 12K) only. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(bbm_walk_range(map, base + 2 * SZ_4K,
					base + SZ_2M + 3 * SZ_4K, &count_ops,
					&c),
			 0);
	ck_assert_int_eq(c.calls[BBM_PMD], 2);
	ck_assert_int_eq(c.calls[BBM_PTE], 512 - 2 + 3);
	ck_assert_uint_eq(c.first_pte, base + 2 * SZ_4K);
	ck_assert_uint_eq(c.last_pte, base + SZ_2M + 2 * SZ_4K);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_action_again)
{
	struct bbm_map *map = make_map(5000 * SZ_1M, false);
	uint64_t base = PO + 4 * SZ_1G + 10 * SZ_2M;
	struct counts c;

	/* AGAIN calls the same entry's callback again, then moves on. */
	memset(&c, 0, sizeof(c));
	c.again_addr = base;
	c.again_left = 3;
	ck_assert_int_eq(bbm_walk_range(map, base - SZ_2M, base + 2 * SZ_2M,
					&count_ops, &c),
			 0);
	ck_assert_int_eq(c.again_calls, 3);
	ck_assert_int_eq(c.calls[BBM_PMD], 3 + 3);
	ck_assert_int_eq(c.calls[BBM_PTE], 0);

	/* Split in the callback, AGAIN: the walk goes down the new table. */
	memset(&c, 0, sizeof(c));
	c.split_at = base + SZ_64K + 5 * SZ_4K;
	ck_assert_int_eq(bbm_walk_range(map, base - SZ_2M, base + 2 * SZ_2M,
					&count_ops, &c),
			 0);
	ck_assert_int_eq(c.calls[BBM_PMD], 3 + 1);
	ck_assert_int_eq(c.calls[BBM_PTE], 512);
	ck_assert_uint_eq(c.first_pte, base);
	ck_assert_uint_eq(c.last_pte, base + SZ_2M - SZ_4K);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_walk_stops_on_error)
{
	struct bbm_map *map = make_map(8 * SZ_1M, true);
	struct counts c;

	memset(&c, 0, sizeof(c));
	c.stop_after = 600;
	ck_assert_int_eq(bbm_walk_range(map, PO, map->end, &count_ops, &c),
			 -42);
	ck_assert_int_eq(c.calls[BBM_PTE], 600);
	ck_assert_int_eq(c.calls[BBM_PMD], 2);
	ck_assert_uint_eq(c.last_pte, PO + 599 * SZ_4K);
	/* An empty range walks nothing. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(bbm_walk_range(map, PO + SZ_2M, PO + SZ_2M,
					&count_ops, &c),
			 0);
	ck_assert_int_eq(c.calls[BBM_PMD] + c.calls[BBM_PTE], 0);
	bbm_map_destroy(map);
}
END_TEST

Suite *make_walk_suite(void)
{
	Suite *s = suite_create("walk");
	TCase *tc_hw = tcase_create("hwwalk");
	TCase *tc_range = tcase_create("pagewalk");

	/* A million hardware walks: seconds under sanitizers. */
	tcase_set_timeout(tc_hw, 60);
	tcase_add_test(tc_hw, test_hw_matches_sw_after_changes);
	tcase_add_test(tc_hw, test_fault_levels);
	tcase_add_test(tc_hw, test_poisoned_table);
	suite_add_tcase(s, tc_hw);

	tcase_set_timeout(tc_range, 20);
	tcase_add_test(tc_range, test_pte_hole_levels);
	tcase_add_test(tc_range, test_action_subtree_continue);
	tcase_add_test(tc_range, test_action_again);
	tcase_add_test(tc_range, test_walk_stops_on_error);
	suite_add_tcase(s, tc_range);
	return s;
}
