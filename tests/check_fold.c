// SPDX-License-Identifier: GPL-2.0
/*
 * core/fold: folding tables into blocks, CONT on uniform groups, and the
 * key property of collapse: once every permission change is reverted, a
 * collapse of the whole map gives back exactly the map map_mem built.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fold.h"
#include "core/hwwalk.h"
#include "core/map.h"
#include "core/pageattr.h"
#include "core/split.h"
#include "map_snap.h"

Suite *make_fold_suite(void);

/* --- Recording hooks ------------------------------------------------------ */

#define MAX_FREED 64

struct hooks {
	int nr_replace;
	int last_nr, last_level;
	uint64_t last_va;
	bbm_desc_t *last_ptep;
	int nr_flush;
	uint64_t flush_start, flush_end;
	int nr_freed;
	uint64_t freed[MAX_FREED];
	bool defer_free;	/* keep freed tables, as a grace period would */
};

static void replace_hook(struct bbm_map *map, bbm_desc_t *ptep,
			 const bbm_desc_t *new, int nr, uint64_t va, int level)
{
	struct hooks *h = map->priv;
	int i;

	h->nr_replace++;
	h->last_nr = nr;
	h->last_level = level;
	h->last_va = va;
	h->last_ptep = ptep;
	for (i = 0; i < nr; i++)
		bbm_store_release(&ptep[i], new[i]);
}

static void flush_hook(struct bbm_map *map, uint64_t start, uint64_t end)
{
	struct hooks *h = map->priv;

	h->nr_flush++;
	h->flush_start = start;
	h->flush_end = end;
}

static void free_hook(struct bbm_map *map, uint64_t table_pa)
{
	struct hooks *h = map->priv;

	if (h->nr_freed < MAX_FREED)
		h->freed[h->nr_freed] = table_pa;
	h->nr_freed++;
	if (!h->defer_free)
		bbm_arena_free(map->arena, table_pa);
}

static const struct bbm_map_ops recording_ops = {
	.replace_entries = replace_hook,
	.flush_tlb_range = flush_hook,
	.free_table = free_hook,
};

static struct bbm_map *make_map(uint64_t size, bool pte_only,
				struct hooks *h)
{
	struct bbm_map *map;

	if (h)
		memset(h, 0, sizeof(*h));
	map = bbm_map_create(size, pte_only, h ? &recording_ops : NULL, h,
			     NULL);
	ck_assert_ptr_nonnull(map);
	return map;
}

static void reset_hooks(struct hooks *h)
{
	bool defer = h->defer_free;

	memset(h, 0, sizeof(*h));
	h->defer_free = defer;
}

/* --- Helpers -------------------------------------------------------------- */

/* Tables compared by their bits but the address, leaves bit for bit. */
static void compare_tables(struct bbm_map *a, const bbm_desc_t *ta,
			   struct bbm_map *b, const bbm_desc_t *tb,
			   int level, uint64_t va)
{
	uint64_t size = bbm_level_size(level);
	bbm_desc_t da, db;
	int i;

	for (i = 0; i < BBM_PTRS_PER_TABLE; i++, va += size) {
		da = ta[i];
		db = tb[i];
		if (bbm_desc_table(da, level) && bbm_desc_table(db, level)) {
			CHECK((da & ~BBM_OA_MASK) == (db & ~BBM_OA_MASK),
			      "va %#llx level %d: table %#llx vs %#llx",
			      ULL(va), level, ULL(da), ULL(db));
			compare_tables(a, bbm_map_table(a, da), b,
				       bbm_map_table(b, db), level + 1, va);
			continue;
		}
		CHECK(da == db, "va %#llx level %d: %#llx vs %#llx", ULL(va),
		      level, ULL(da), ULL(db));
	}
}

/* @map is structurally the map @fresh, and holds as many table pages. */
static void assert_same_map(struct bbm_map *map, struct bbm_map *fresh)
{
	int level;

	ck_assert_uint_eq(map->mem_size, fresh->mem_size);
	/* The PGD covers the top half: the linear region starts there. */
	compare_tables(map, bbm_map_pgd(map), fresh, bbm_map_pgd(fresh),
		       BBM_PGD, PO);
	for (level = BBM_PGD; level < BBM_LEVELS; level++)
		ck_assert_uint_eq(bbm_arena_in_use(map->arena, level),
				  bbm_arena_in_use(fresh->arena, level));
}

/* The map map_mem builds for @map's size, with blocks. */
static void assert_fresh(struct bbm_map *map)
{
	struct bbm_map *fresh = make_map(map->mem_size, false, NULL);

	assert_same_map(map, fresh);
	bbm_map_destroy(fresh);
}

static long collapse_all(struct bbm_map *map)
{
	return bbm_collapse_range(map, PO, map->end);
}

static int fold_table_locked(struct bbm_map *map, uint64_t va, int level)
{
	int ret;

	pthread_mutex_lock(&map->split_lock);
	ret = bbm_fold_table(map, desc_at(map, va, level), va, level);
	pthread_mutex_unlock(&map->split_lock);
	return ret;
}

static int fold_cont_locked(struct bbm_map *map, uint64_t va, int level)
{
	int ret;

	pthread_mutex_lock(&map->split_lock);
	ret = bbm_fold_cont(map, desc_at(map, va, level), va, level);
	pthread_mutex_unlock(&map->split_lock);
	return ret;
}

static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = (*state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* --- Folding one table ---------------------------------------------------- */

START_TEST(test_fold_split_pmd)
{
	/* 5000M: PUD 4 is a PMD table; 4G + 896M is a plain PMD block. */
	struct hooks h;
	struct bbm_map *map = make_map(5000 * SZ_1M, false, &h);
	uint64_t va = PO + 4 * SZ_1G + 896 * SZ_1M;
	bbm_desc_t *pmdp = desc_at(map, va, BBM_PMD);
	bbm_desc_t block = *pmdp, *ptes;
	uint64_t table_pa;
	int i;

	ck_assert(bbm_desc_leaf(block, BBM_PMD) && !bbm_desc_cont(block));
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, va + SZ_64K + SZ_4K,
						       va + SZ_64K + 2 * SZ_4K),
			 0);
	ck_assert(bbm_desc_table(*pmdp, BBM_PMD));
	table_pa = bbm_desc_oa(*pmdp);
	ptes = bbm_map_table(map, *pmdp);
	/* The split's shape: CONT on all but the group it broke up. */
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		CHECK(bbm_desc_cont(ptes[i]) == (i < 16 || i >= 32),
		      "pte %d: %#llx", i, ULL(ptes[i]));
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 1);

	reset_hooks(&h);
	ck_assert_int_eq(fold_table_locked(map, va, BBM_PMD), 1);
	ck_assert_uint_eq(*pmdp, block);
	ck_assert_int_eq(h.nr_replace, 1);
	ck_assert_int_eq(h.last_nr, 1);
	ck_assert_int_eq(h.last_level, BBM_PMD);
	ck_assert_uint_eq(h.last_va, va);
	ck_assert_ptr_eq(h.last_ptep, pmdp);
	ck_assert_int_eq(h.nr_flush, 1);
	ck_assert_uint_eq(h.flush_start, va);
	ck_assert_uint_eq(h.flush_end, va + SZ_2M);
	ck_assert_int_eq(h.nr_freed, 1);
	ck_assert_uint_eq(h.freed[0], table_pa);
	/* Freed through the hook: poisoned, generation even. */
	ck_assert_uint_eq(bbm_arena_gen(map->arena, table_pa) & 1, 0);
	ck_assert_uint_eq(ptes[0], BBM_POISON);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 0);
	assert_fresh(map);

	/* Nothing left to fold. */
	ck_assert_int_eq(fold_table_locked(map, va, BBM_PMD), 0);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_fold_cont_pmd_block_keeps_group)
{
	/* A block of a CONT_PMD group folds back plain; collapse re-CONTs. */
	struct bbm_map *map = make_map(5000 * SZ_1M, false, NULL);
	uint64_t va = PO + 4 * SZ_1G + 5 * SZ_32M + 3 * SZ_2M;
	bbm_desc_t *pmdp;
	int i;

	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, va + SZ_4K,
						       va + 2 * SZ_4K),
			 0);
	ck_assert_int_eq(fold_table_locked(map, va, BBM_PMD), 1);
	pmdp = desc_at(map, va, BBM_PMD);
	ck_assert_uint_eq(*pmdp, bbm_mk_leaf(BBM_PMD, bbm_linear_pa(va),
					     BBM_PROT_KERNEL));
	/* The whole group is plain, as the split left it. */
	for (i = -3; i < 13; i++)
		ck_assert(!bbm_desc_cont(pmdp[i]));
	/* PUD 4 is partial, so no PUD fold: CONT on the group instead. */
	ck_assert_int_eq(collapse_all(map), 1);
	assert_fresh(map);
	bbm_map_destroy(map);
}
END_TEST

/* One PTE of a split, otherwise foldable table made different. */
enum mutation {
	MUT_RDONLY,
	MUT_EXEC,
	MUT_PRESENT_INVALID,
	MUT_INVALID,
	MUT_EMPTY,
	MUT_WRONG_OA,
	MUT_SHARED,
	MUT_BLOCK_TYPE,
	MUT_NR,
};

static bbm_desc_t mutate(bbm_desc_t d, enum mutation m)
{
	switch (m) {
	case MUT_RDONLY:
		return d | BBM_RDONLY;
	case MUT_EXEC:
		return d & ~BBM_PXN;
	case MUT_PRESENT_INVALID:
		return (d & ~BBM_VALID) | BBM_PRESENT_INVALID;
	case MUT_INVALID:
		return d & ~BBM_VALID;
	case MUT_EMPTY:
		return 0;
	case MUT_WRONG_OA:
		return d + BBM_PAGE_SIZE;
	case MUT_SHARED:
		return d | BBM_NS_SHARED;
	default:
		/* bits[1:0] == 01 at level 3: reserved, faults. */
		return (d & ~BBM_TYPE_MASK) | BBM_TYPE_BLOCK;
	}
}

START_TEST(test_fold_refused)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	uint64_t va = PO + 7 * SZ_1G + 40 * SZ_2M;
	bbm_desc_t *pmdp, *ptes, table, saved;
	int m, idx;

	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, va + SZ_4K,
						       va + 2 * SZ_4K),
			 0);
	pmdp = desc_at(map, va, BBM_PMD);
	table = *pmdp;
	ptes = bbm_map_table(map, table);
	for (m = 0; m < MUT_NR; m++) {
		/* First, middle and last entries in turn. */
		idx = (m * 211) % BBM_PTRS_PER_TABLE;
		if (m == MUT_NR - 1)
			idx = BBM_PTRS_PER_TABLE - 1;
		saved = ptes[idx];
		ptes[idx] = mutate(saved, m);
		reset_hooks(&h);
		ck_assert_msg(fold_table_locked(map, va, BBM_PMD) == 0,
			      "mutation %d at %d folded", m, idx);
		ck_assert_uint_eq(*pmdp, table);
		ck_assert_int_eq(h.nr_replace + h.nr_flush + h.nr_freed, 0);
		/* Collapse leaves it alone too, apart from CONT groups. */
		collapse_all(map);
		ck_assert_uint_eq(*pmdp, table);
		ck_assert_int_eq(h.nr_freed, 0);
		ptes[idx] = saved;
	}
	/* Undamaged, it folds. */
	ck_assert_int_eq(fold_table_locked(map, va, BBM_PMD), 1);
	ck_assert_int_eq(collapse_all(map), 1);
	assert_fresh(map);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_fold_refused_not_a_table)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	bbm_desc_t pgd0 = bbm_map_pgd(map)[0];

	pthread_mutex_lock(&map->split_lock);
	/* A block, a hole, the PGD level, a PTE "table". */
	ck_assert_int_eq(bbm_fold_table(map, desc_at(map, PO, BBM_PUD), PO,
					BBM_PUD),
			 0);
	ck_assert_int_eq(bbm_fold_table(map, desc_at(map, PO + 12 * SZ_1G,
						     BBM_PUD),
					PO + 12 * SZ_1G, BBM_PUD),
			 0);
	ck_assert_int_eq(bbm_fold_table(map, bbm_map_pgd(map), PO, BBM_PGD),
			 0);
	pthread_mutex_unlock(&map->split_lock);
	ck_assert_uint_eq(bbm_map_pgd(map)[0], pgd0);
	ck_assert_int_eq(h.nr_replace + h.nr_flush + h.nr_freed, 0);
	ck_assert_int_eq(collapse_all(map), 0);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_fold_refused_partial_table)
{
	/* 1G + 34M + 68K: the last PTE table holds 17 entries. */
	struct hooks h;
	uint64_t size = SZ_1G + 34 * SZ_1M + 68 * 1024;
	struct bbm_map *map = make_map(size, false, &h);
	struct bbm_map *fresh = make_map(size, false, NULL);
	uint64_t tail = PO + SZ_1G + 34 * SZ_1M;
	bbm_desc_t table = *desc_at(map, tail, BBM_PMD);

	ck_assert(bbm_desc_table(table, BBM_PMD));
	ck_assert_int_eq(fold_table_locked(map, tail, BBM_PMD), 0);
	/* Its full group is CONT already; the second has one entry. */
	ck_assert_int_eq(fold_cont_locked(map, tail, BBM_PTE), 0);
	ck_assert_int_eq(fold_cont_locked(map, tail + SZ_64K, BBM_PTE), 0);
	ck_assert_int_eq(collapse_all(map), 0);
	ck_assert_int_eq(h.nr_replace + h.nr_flush + h.nr_freed, 0);
	assert_same_map(map, fresh);

	/* Nor does a PTE-only map of that size fold its tail. */
	bbm_map_destroy(map);
	map = make_map(size, true, &h);
	ck_assert_int_gt(collapse_all(map), 0);
	assert_same_map(map, fresh);
	bbm_map_destroy(fresh);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_fold_pud)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	uint64_t va = PO + 5 * SZ_1G;
	bbm_desc_t *pudp = desc_at(map, va, BBM_PUD);
	bbm_desc_t block = *pudp, *pmds, saved;
	uint64_t table_pa;

	/* Split the PUD block, then one of its PMD blocks. */
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, va + SZ_2M,
						       va + SZ_2M + SZ_4K),
			 0);
	ck_assert(bbm_desc_table(*pudp, BBM_PUD));
	table_pa = bbm_desc_oa(*pudp);
	pmds = bbm_map_table(map, *pudp);
	ck_assert(bbm_desc_table(pmds[1], BBM_PMD));
	/* A PMD table below: no PUD fold. */
	ck_assert_int_eq(fold_table_locked(map, va, BBM_PUD), 0);
	/* A PMD block with other attributes: no PUD fold either. */
	ck_assert_int_eq(fold_table_locked(map, va + SZ_2M, BBM_PMD), 1);
	saved = pmds[300];
	pmds[300] |= BBM_RDONLY;
	ck_assert_int_eq(fold_table_locked(map, va, BBM_PUD), 0);
	pmds[300] = saved;

	reset_hooks(&h);
	ck_assert_int_eq(fold_table_locked(map, va, BBM_PUD), 1);
	ck_assert_uint_eq(*pudp, block);
	ck_assert_int_eq(h.last_level, BBM_PUD);
	ck_assert_int_eq(h.last_nr, 1);
	ck_assert_uint_eq(h.flush_start, va);
	ck_assert_uint_eq(h.flush_end, va + SZ_1G);
	ck_assert_int_eq(h.nr_freed, 1);
	ck_assert_uint_eq(h.freed[0], table_pa);
	assert_fresh(map);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_free_hook_gets_old_tables)
{
	/* Deferred frees: unlinked tables stay intact until the hook frees. */
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	uint64_t va = PO + 2 * SZ_1G + 64 * SZ_2M;
	uint64_t pmd_table, pte_table;
	bbm_desc_t *ptes;
	int i;

	h.defer_free = true;
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, va + SZ_4K,
						       va + 2 * SZ_4K),
			 0);
	pmd_table = bbm_desc_oa(*desc_at(map, va, BBM_PUD));
	pte_table = bbm_desc_oa(*desc_at(map, va, BBM_PMD));
	reset_hooks(&h);
	/* The PTE table, then the PMD table (CONT does not matter). */
	ck_assert_int_eq(collapse_all(map), 2);
	ck_assert_int_eq(h.nr_freed, 2);
	ck_assert_uint_eq(h.freed[0], pte_table);
	ck_assert_uint_eq(h.freed[1], pmd_table);
	/* Not freed yet: still counted, still the old leaves. */
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 1);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), 1);
	ptes = bbm_arena_table(map->arena, pte_table);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		CHECK(bbm_desc_oa(ptes[i]) ==
			      bbm_linear_pa(va) + i * BBM_PAGE_SIZE,
		      "pte %d", i);
	for (i = 0; i < h.nr_freed; i++)
		bbm_arena_free(map->arena, h.freed[i]);
	assert_fresh(map);
	bbm_map_destroy(map);
}
END_TEST

/* --- CONT groups ---------------------------------------------------------- */

START_TEST(test_fold_cont_pte)
{
	struct hooks h;
	struct bbm_map *map = make_map(4 * SZ_1M, true, &h);
	uint64_t va = PO + SZ_2M + 3 * SZ_64K;
	bbm_desc_t *ptes = desc_at(map, va, BBM_PTE), saved;
	int i;

	/* Any entry of the group names the group. */
	ck_assert_int_eq(fold_cont_locked(map, va + 5 * SZ_4K, BBM_PTE), 1);
	ck_assert_int_eq(h.nr_replace, 1);
	ck_assert_int_eq(h.last_nr, 16);
	ck_assert_int_eq(h.last_level, BBM_PTE);
	ck_assert_uint_eq(h.last_va, va);
	ck_assert_ptr_eq(h.last_ptep, ptes);
	ck_assert_int_eq(h.nr_flush, 1);
	ck_assert_uint_eq(h.flush_start, va);
	ck_assert_uint_eq(h.flush_end, va + SZ_64K);
	ck_assert_int_eq(h.nr_freed, 0);
	for (i = -1; i < 17; i++)
		ck_assert_uint_eq(ptes[i],
				  bbm_mk_leaf(BBM_PTE,
					      bbm_linear_pa(va) + i * SZ_4K,
					      BBM_PROT_KERNEL) |
					  (i >= 0 && i < 16 ? BBM_CONT : 0));
	/* Already CONT: nothing to do. */
	reset_hooks(&h);
	ck_assert_int_eq(fold_cont_locked(map, va, BBM_PTE), 0);
	ck_assert_int_eq(h.nr_replace + h.nr_flush, 0);

	/* A misprogrammed group (CONT on some) is repainted whole. */
	for (i = 0; i < 16; i += 3)
		ptes[i] &= ~BBM_CONT;
	ck_assert_int_eq(fold_cont_locked(map, va, BBM_PTE), 1);
	for (i = 0; i < 16; i++)
		ck_assert(bbm_desc_cont(ptes[i]));

	/* Not uniform: attrs, invalid, present-invalid, OA. */
	va += SZ_64K;
	ptes += 16;
	for (i = 0; i < MUT_NR; i++) {
		saved = ptes[7];
		ptes[7] = mutate(saved, i);
		reset_hooks(&h);
		ck_assert_int_eq(fold_cont_locked(map, va, BBM_PTE), 0);
		ck_assert_int_eq(h.nr_replace, 0);
		ptes[7] = saved;
	}
	ck_assert_int_eq(fold_cont_locked(map, va, BBM_PTE), 1);
	/* Uniform but not PAGE_KERNEL: a read-only group gets CONT too. */
	for (i = 16; i < 32; i++)
		ptes[i] |= BBM_RDONLY;
	ck_assert_int_eq(fold_cont_locked(map, va + SZ_64K, BBM_PTE), 1);
	ck_assert_uint_eq(ptes[20], bbm_mk_leaf(BBM_PTE,
						bbm_linear_pa(va) + 20 * SZ_4K,
						BBM_PROT_KERNEL | BBM_RDONLY) |
					    BBM_CONT);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_fold_cont_pmd)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	uint64_t va = PO + 9 * SZ_1G;
	bbm_desc_t *pmds;
	int i;

	/* Split at 9G + 2M: group 0 of the new PMD table loses CONT. */
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, va + SZ_2M,
						       va + 2 * SZ_2M),
			 0);
	pmds = desc_at(map, va, BBM_PMD);
	for (i = 0; i < 32; i++)
		ck_assert(bbm_desc_cont(pmds[i]) == (i >= 16));
	ck_assert_int_eq(fold_cont_locked(map, va + 16 * SZ_2M, BBM_PMD), 0);
	reset_hooks(&h);
	ck_assert_int_eq(fold_cont_locked(map, va + 7 * SZ_2M, BBM_PMD), 1);
	ck_assert_int_eq(h.last_nr, 16);
	ck_assert_int_eq(h.last_level, BBM_PMD);
	ck_assert_uint_eq(h.last_va, va);
	ck_assert_uint_eq(h.flush_start, va);
	ck_assert_uint_eq(h.flush_end, va + SZ_32M);
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(pmds[i],
				  bbm_mk_leaf(BBM_PMD,
					      bbm_linear_pa(va) + i * SZ_2M,
					      BBM_PROT_KERNEL) |
					  BBM_CONT);

	/* A table in the group: no CONT. */
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, va + 40 * SZ_2M,
						       va + 40 * SZ_2M + SZ_4K),
			 0);
	ck_assert(bbm_desc_table(pmds[40], BBM_PMD));
	ck_assert_int_eq(fold_cont_locked(map, va + 32 * SZ_2M, BBM_PMD), 0);
	/* Wrong level: PUD and PGD have no CONT. */
	ck_assert_int_eq(fold_cont_locked(map, va, BBM_PUD), 0);
	bbm_map_destroy(map);
}
END_TEST

/* --- Collapse ------------------------------------------------------------- */

START_TEST(test_collapse_fresh_is_noop)
{
	static const uint64_t sizes[] = {
		12 * SZ_1G,
		5000 * SZ_1M,
		SZ_1G + 34 * SZ_1M + 68 * 1024,
		2 * SZ_1M + 4096,
	};
	struct hooks h;
	struct bbm_map *map;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		map = make_map(sizes[i], false, &h);
		ck_assert_int_eq(collapse_all(map), 0);
		ck_assert_int_eq(h.nr_replace + h.nr_flush + h.nr_freed, 0);
		assert_fresh(map);
		bbm_map_destroy(map);
	}
}
END_TEST

/* A random page-aligned range of @map: sizes from one page to 1 GiB. */
static void random_range(struct bbm_map *map, uint64_t *rng, uint64_t *addr,
			 uint64_t *pages)
{
	static const uint64_t spans[] = {
		1, 16, 512, 512 * 16, 512 * 512,
	};
	uint64_t total = map->mem_size / BBM_PAGE_SIZE;
	uint64_t r = rng_next(rng);
	uint64_t span = spans[r % 5];
	uint64_t first = (r >> 8) % total;

	/* Now and then a range aligned to its span: whole blocks. */
	if ((r >> 4) % 4 == 0)
		first &= ~(span - 1);
	*pages = 1 + (r >> 40) % span;
	if ((r >> 4) % 4 == 0)
		*pages = span;
	if (first + *pages > total)
		*pages = total - first;
	*addr = PO + first * BBM_PAGE_SIZE;
}

struct change {
	uint64_t addr, pages;
	int kind;
};

/* Shadow of each page's state: which changes are in force. */
#define PS_RDONLY 1
#define PS_EXEC 2
#define PS_INVALID 4

/* The change of @kind, or its reverse, on the map and on @shadow. */
static int apply_change(struct bbm_map *map, uint8_t *shadow,
			const struct change *c, bool revert)
{
	uint64_t first = bbm_linear_pa(c->addr) / BBM_PAGE_SIZE, i;
	uint8_t bit = 1 << c->kind;

	for (i = first; i < first + c->pages; i++)
		shadow[i] = revert ? shadow[i] & ~bit : shadow[i] | bit;
	switch (c->kind) {
	case 0:
		return revert ? bbm_set_memory_rw(map, c->addr, c->pages) :
				bbm_set_memory_ro(map, c->addr, c->pages);
	case 1:
		return revert ? bbm_set_memory_nx(map, c->addr, c->pages) :
				bbm_set_memory_x(map, c->addr, c->pages);
	default:
		return revert ? bbm_set_direct_map_valid(map, c->addr,
							 c->pages) :
				bbm_set_direct_map_invalid(map, c->addr,
							   c->pages);
	}
}

/* Every page translates as @shadow says, by a hardware walk. */
static void assert_shadow(struct bbm_map *map, const uint8_t *shadow)
{
	uint64_t nr = map->mem_size / BBM_PAGE_SIZE, i, va, want;
	struct bbm_hw_walk w;
	enum bbm_walk_status st;

	for (i = 0; i < nr; i++) {
		va = PO + i * BBM_PAGE_SIZE;
		want = BBM_PROT_KERNEL;
		if (shadow[i] & PS_RDONLY)
			want |= BBM_RDONLY;
		if (shadow[i] & PS_EXEC)
			want &= ~BBM_PXN;
		if (shadow[i] & PS_INVALID)
			want = (want & ~BBM_VALID) | BBM_PRESENT_INVALID;
		st = bbm_hw_walk(map, va, &w);
		CHECK(st == (shadow[i] & PS_INVALID ? BBM_WALK_FAULT :
						      BBM_WALK_OK),
		      "va %#llx: status %d, state %#x", ULL(va), st,
		      shadow[i]);
		CHECK(bbm_desc_attrs(w.desc) == want,
		      "va %#llx: %#llx at level %d, want attrs %#llx",
		      ULL(va), ULL(w.desc), w.level, ULL(want));
		CHECK(bbm_desc_oa(w.desc) + (va & (bbm_level_size(w.level) -
						   1)) ==
			      bbm_linear_pa(va),
		      "va %#llx: %#llx at level %d", ULL(va), ULL(w.desc),
		      w.level);
	}
}

/*
 * @rounds rounds of: up to 16 changes (ro, x, invalid) and splits at
 * random points, a collapse while they are in force (every page must keep
 * its attributes), their reversal; then a collapse of the whole map must
 * give the fresh map back.
 */
static void round_trips(uint64_t size, bool pte_only, uint64_t seed,
			int rounds, int kinds)
{
	struct change changes[16];
	struct bbm_map *map = make_map(size, pte_only, NULL);
	uint8_t *shadow = calloc(size / BBM_PAGE_SIZE, 1);
	uint64_t rng = seed, addr, pages;
	long folded = 0;
	int round, i, n;

	ck_assert_ptr_nonnull(shadow);
	for (round = 0; round < rounds; round++) {
		n = 1 + rng_next(&rng) % 16;
		for (i = 0; i < n; i++) {
			random_range(map, &rng, &changes[i].addr,
				     &changes[i].pages);
			changes[i].kind = rng_next(&rng) % kinds;
			ck_assert_int_eq(apply_change(map, shadow, &changes[i],
						      false),
					 0);
			/* And a split that changes nothing. */
			random_range(map, &rng, &addr, &pages);
			ck_assert_int_eq(bbm_split_kernel_leaf_mapping(
						 map, addr,
						 addr + pages * BBM_PAGE_SIZE),
					 0);
		}
		/* Collapse what is uniform even now: changes stay intact. */
		if (round % 2) {
			folded += collapse_all(map);
			assert_shadow(map, shadow);
		}
		for (i = n - 1; i >= 0; i--)
			ck_assert_int_eq(apply_change(map, shadow, &changes[i],
						      true),
					 0);
	}
	ck_assert_int_eq(bbm_report_total(map->report), 0);
	ck_assert_int_gt(folded, 0);
	ck_assert_int_gt(collapse_all(map), 0);
	assert_fresh(map);
	/* A second collapse finds nothing. */
	ck_assert_int_eq(collapse_all(map), 0);
	free(shadow);
	bbm_map_destroy(map);
}

START_TEST(test_collapse_round_trips_12g)
{
	round_trips(12 * SZ_1G, false, 0x12c0ffee, 24, 2);
}
END_TEST

START_TEST(test_collapse_round_trips_5000m)
{
	round_trips(5000 * SZ_1M, false, 0x5000, 24, 2);
}
END_TEST

START_TEST(test_collapse_round_trips_invalid)
{
	/* ro/rw, x/nx and invalid/valid, on a map with a PTE tail. */
	round_trips(3 * SZ_1G + 34 * SZ_1M + 68 * 1024, false, 0xbadf00d, 24,
		    3);
}
END_TEST

START_TEST(test_collapse_round_trips_pte_only)
{
	/* Option 3: PTEs at boot, changes, collapse to map_mem's blocks. */
	round_trips(5000 * SZ_1M, true, 0x0b3, 6, 3);
}
END_TEST

START_TEST(test_collapse_after_changes_inside)
{
	/* Changes still in force: collapse keeps every page's attributes. */
	struct bbm_map *map = make_map(4 * SZ_1G, false, NULL);
	uint64_t pmd = PO + SZ_1G + 3 * SZ_2M;
	uint64_t va = pmd + 5 * SZ_4K, split;

	ck_assert_int_eq(bbm_set_memory_ro(map, va, 1), 0);
	/* A split that breaks up the next CONT_PTE group for nothing. */
	split = pmd + SZ_64K + SZ_4K;
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, split,
						       split + SZ_4K),
			 0);
	ck_assert(!bbm_desc_cont(*desc_at(map, pmd + SZ_64K, BBM_PTE)));
	/* Only that group can be collapsed. */
	ck_assert_int_eq(collapse_all(map), 1);
	ck_assert(bbm_desc_cont(*desc_at(map, pmd + SZ_64K, BBM_PTE)));
	ck_assert(bbm_desc_table(*desc_at(map, pmd, BBM_PMD), BBM_PMD));
	ck_assert_uint_eq(*desc_at(map, va, BBM_PTE),
			  bbm_mk_leaf(BBM_PTE, bbm_linear_pa(va),
				      BBM_PROT_KERNEL | BBM_RDONLY));
	ck_assert(!bbm_desc_cont(*desc_at(map, pmd, BBM_PTE)));
	/* The PMD group around it is not all blocks: no CONT there. */
	ck_assert(!bbm_desc_cont(*desc_at(map, pmd - SZ_2M, BBM_PMD)));
	ck_assert(bbm_desc_cont(*desc_at(map, pmd + SZ_32M, BBM_PMD)));
	ck_assert_int_eq(bbm_set_memory_rw(map, va, 1), 0);
	/* The PTE table, then the PMD table. */
	ck_assert_int_eq(collapse_all(map), 2);
	assert_fresh(map);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_collapse_after_split_to_ptes)
{
	static const uint64_t sizes[] = {
		12 * SZ_1G,
		5000 * SZ_1M,
		SZ_1G + 34 * SZ_1M + 68 * 1024,
	};
	struct bbm_map *map;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		map = make_map(sizes[i], false, NULL);
		ck_assert_int_eq(bbm_split_to_ptes(map), 0);
		ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE),
				  (sizes[i] + SZ_2M - 1) / SZ_2M);
		ck_assert_int_gt(collapse_all(map), 0);
		assert_fresh(map);
		bbm_map_destroy(map);
	}
}
END_TEST

START_TEST(test_collapse_pte_only_gives_blocks)
{
	/* A force_pte_mapping map collapses into map_mem's block map. */
	struct bbm_map *map = make_map(12 * SZ_1G, true, NULL);

	/* 6144 PTE tables, 12 PMD tables, 384 CONT_PMD groups skipped. */
	ck_assert_int_eq(collapse_all(map), 12 * 512 + 12);
	assert_fresh(map);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_collapse_partial_range)
{
	/* Only whole tables and groups inside [start, end) are touched. */
	struct bbm_map *map = make_map(4 * SZ_1G, true, NULL);
	uint64_t start = PO + 3 * SZ_1M, end = PO + SZ_1G + 5 * SZ_1M;
	uint64_t va;
	long made;

	made = bbm_collapse_range(map, start, end);
	/* [0, 2M) untouched, [2M, 4M): CONT on the 16 groups of [3M, 4M). */
	ck_assert(!bbm_desc_cont(*desc_at(map, PO, BBM_PTE)));
	ck_assert(!bbm_desc_cont(*desc_at(map, PO + 3 * SZ_1M - SZ_4K,
					  BBM_PTE)));
	for (va = PO + 3 * SZ_1M; va < PO + 4 * SZ_1M; va += SZ_64K)
		ck_assert(bbm_desc_cont(*desc_at(map, va, BBM_PTE)));
	/* [4M, 1G + 4M): PMD blocks; PUD 0 is not whole: no PUD fold. */
	ck_assert(bbm_desc_table(*desc_at(map, PO, BBM_PUD), BBM_PUD));
	/* CONT on PMD groups [32M, 1G) only: [0, 32M) is not all inside. */
	ck_assert(!bbm_desc_cont(*desc_at(map, PO + 4 * SZ_1M, BBM_PMD)));
	ck_assert(!bbm_desc_table(*desc_at(map, PO + 4 * SZ_1M, BBM_PMD),
				  BBM_PMD));
	for (va = PO + SZ_32M; va < PO + SZ_1G; va += SZ_2M)
		ck_assert(bbm_desc_cont(*desc_at(map, va, BBM_PMD)));
	/* PUD 1: [1G, 1G + 4M) blocks, no CONT; CONT PTEs in [4M, 5M). */
	ck_assert_uint_eq(*desc_at(map, PO + SZ_1G + SZ_2M, BBM_PMD),
			  bbm_mk_leaf(BBM_PMD, SZ_1G + SZ_2M,
				      BBM_PROT_KERNEL));
	ck_assert(bbm_desc_cont(*desc_at(map, PO + SZ_1G + 4 * SZ_1M,
					 BBM_PTE)));
	ck_assert(!bbm_desc_cont(*desc_at(map, end, BBM_PTE)));
	ck_assert(!bbm_desc_cont(*desc_at(map, PO + 2 * SZ_1G, BBM_PTE)));
	/* 511 + 1 PMD folds, 16 + 16 PTE groups, 31 PMD groups. */
	ck_assert_int_eq(made, 512 + 32 + 31);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE),
			  4 * 512 - 512);
	bbm_map_destroy(map);
}
END_TEST

Suite *make_fold_suite(void)
{
	Suite *s = suite_create("fold");
	TCase *tc = tcase_create("fold");
	TCase *tc_cont = tcase_create("cont");
	TCase *tc_collapse = tcase_create("collapse");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_fold_split_pmd);
	tcase_add_test(tc, test_fold_cont_pmd_block_keeps_group);
	tcase_add_test(tc, test_fold_refused);
	tcase_add_test(tc, test_fold_refused_not_a_table);
	tcase_add_test(tc, test_fold_refused_partial_table);
	tcase_add_test(tc, test_fold_pud);
	tcase_add_test(tc, test_free_hook_gets_old_tables);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tc_cont, 20);
	tcase_add_test(tc_cont, test_fold_cont_pte);
	tcase_add_test(tc_cont, test_fold_cont_pmd);
	suite_add_tcase(s, tc_cont);

	/* Whole-map work: seconds under sanitizers. */
	tcase_set_timeout(tc_collapse, 60);
	tcase_add_test(tc_collapse, test_collapse_fresh_is_noop);
	tcase_add_test(tc_collapse, test_collapse_round_trips_12g);
	tcase_add_test(tc_collapse, test_collapse_round_trips_5000m);
	tcase_add_test(tc_collapse, test_collapse_round_trips_invalid);
	tcase_add_test(tc_collapse, test_collapse_round_trips_pte_only);
	tcase_add_test(tc_collapse, test_collapse_after_changes_inside);
	tcase_add_test(tc_collapse, test_collapse_after_split_to_ptes);
	tcase_add_test(tc_collapse, test_collapse_pte_only_gives_blocks);
	tcase_add_test(tc_collapse, test_collapse_partial_range);
	suite_add_tcase(s, tc_collapse);
	return s;
}
