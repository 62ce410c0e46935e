// SPDX-License-Identifier: GPL-2.0
/*
 * core/split: split_kernel_leaf_mapping() (leaf-boundary splits, the
 * single-page rule, bad input, -ENOMEM midway, the policy gate) and the
 * repaint to PTEs, checked descriptor by descriptor against DOMAIN.md
 * section 4, written independently of core/split.c.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hwwalk.h"
#include "core/map.h"
#include "core/pagewalk.h"
#include "core/split.h"
#include "map_snap.h"

Suite *make_split_suite(void);

/* A table descriptor as map_mem and the split build it, without its PA. */
#define TABLE_BITS (BBM_TYPE_TABLE | BBM_TABLE_HINTS(BBM_PROT_KERNEL))

/* --- Hooks: policy gate, replace_entries and flush recorders ------------ */

#define MAX_CALLS 16

struct replace_call {
	bbm_desc_t *ptep;
	uint64_t va;
	int level;
	int nr;
	bbm_desc_t new[BBM_CONT_ENTRIES];
};

struct hooks {
	int gate_ret;			/* what the gate returns */
	int gate_calls;
	uint64_t gate_start, gate_end;
	int nr_replace;			/* all calls */
	int replace_by[BBM_LEVELS][2];	/* [level][nr == 16] */
	struct replace_call calls[MAX_CALLS];	/* the first MAX_CALLS */
	int flush_calls;
	uint64_t flush_start, flush_end;
};

static int gate_hook(struct bbm_map *map, uint64_t start, uint64_t end)
{
	struct hooks *h = map->priv;

	h->gate_calls++;
	h->gate_start = start;
	h->gate_end = end;
	return h->gate_ret;
}

static void replace_hook(struct bbm_map *map, bbm_desc_t *ptep,
			 const bbm_desc_t *new, int nr, uint64_t va, int level)
{
	struct hooks *h = map->priv;
	struct replace_call *c;
	int i;

	CHECK(nr == 1 || nr == BBM_CONT_ENTRIES, "replace nr %d", nr);
	CHECK(level >= BBM_PGD && level < BBM_LEVELS, "level %d", level);
	h->replace_by[level][nr == BBM_CONT_ENTRIES]++;
	if (h->nr_replace < MAX_CALLS) {
		c = &h->calls[h->nr_replace];
		c->ptep = ptep;
		c->va = va;
		c->level = level;
		c->nr = nr;
		memcpy(c->new, new, nr * sizeof(*new));
	}
	h->nr_replace++;
	/* The default method: release stores in order. */
	for (i = 0; i < nr; i++)
		bbm_store_release(&ptep[i], new[i]);
}

static void flush_hook(struct bbm_map *map, uint64_t start, uint64_t end)
{
	struct hooks *h = map->priv;

	h->flush_calls++;
	h->flush_start = start;
	h->flush_end = end;
}

static const struct bbm_map_ops recording_ops = {
	.split_gate = gate_hook,
	.replace_entries = replace_hook,
	.flush_tlb_range = flush_hook,
};

static struct bbm_map *make_map(uint64_t size, bool pte_only,
				struct hooks *h)
{
	struct bbm_map *map;

	memset(h, 0, sizeof(*h));
	h->gate_ret = 1;
	map = bbm_map_create(size, pte_only, &recording_ops, h, NULL);
	ck_assert_ptr_nonnull(map);
	/* map_mem publishes its tables itself, not through the hook. */
	ck_assert_int_eq(h->nr_replace, 0);
	return map;
}

/* split_kernel_leaf_mapping_locked(@addr), under the lock as the kernel. */
static int split_at(struct bbm_map *map, uint64_t addr)
{
	int ret;

	pthread_mutex_lock(&map->split_lock);
	ret = bbm_split_leaf_locked(map, addr);
	pthread_mutex_unlock(&map->split_lock);
	return ret;
}

/* --- Descriptor checks --------------------------------------------------- */

static bbm_desc_t kernel_leaf(int level, uint64_t va, bool cont)
{
	return bbm_mk_leaf(level, bbm_linear_pa(va), BBM_PROT_KERNEL) |
	       (cont ? BBM_CONT : 0);
}

static void assert_table(struct bbm_map *map, bbm_desc_t d, int level)
{
	CHECK(bbm_desc_table(d, level), "L%d %#llx: not a table", level,
	      ULL(d));
	/* PXNTable, UXNTable and AF from the block's PAGE_KERNEL. */
	CHECK((d & ~BBM_OA_MASK) == TABLE_BITS, "L%d table bits %#llx", level,
	      ULL(d & ~BBM_OA_MASK));
	CHECK(d & BBM_TABLE_PXN, "no PXNTable");
	CHECK(d & BBM_TABLE_UXN, "no UXNTable");
	CHECK(bbm_arena_contains(map->arena, bbm_desc_oa(d)),
	      "table %#llx outside the arena", ULL(d));
}

/*
 * Translate every @step in [start, end) with the hardware walker: valid,
 * output address va - PAGE_OFFSET, PAGE_KERNEL's attributes.
 */
static void assert_translates(struct bbm_map *map, uint64_t start,
			      uint64_t end, uint64_t step)
{
	struct bbm_hw_walk w;
	uint64_t va;

	for (va = start; va < end; va += step) {
		CHECK(bbm_hw_walk(map, va, &w) == BBM_WALK_OK,
		      "va %#llx: status %d at L%d desc %#llx", ULL(va),
		      w.status, w.level, ULL(w.desc));
		CHECK(w.pa == bbm_linear_pa(va), "va %#llx -> pa %#llx",
		      ULL(va), ULL(w.pa));
		CHECK(bbm_desc_attrs(w.desc) == BBM_PROT_KERNEL,
		      "va %#llx attrs %#llx", ULL(va),
		      ULL(bbm_desc_attrs(w.desc)));
	}
}

/* Where the leaf (or CONT group) mapping @va begins. */
static uint64_t leaf_start(struct bbm_map *map, uint64_t va)
{
	struct bbm_hw_walk w;
	uint64_t size;

	CHECK(bbm_hw_walk(map, va, &w) == BBM_WALK_OK, "va %#llx faults",
	      ULL(va));
	size = bbm_level_size(w.level);
	if (bbm_desc_cont(w.desc))
		size *= BBM_CONT_ENTRIES;
	return va & ~(size - 1);
}

static void assert_boundary(struct bbm_map *map, uint64_t va)
{
	CHECK(leaf_start(map, va) == va, "%#llx is not a leaf boundary "
	      "(leaf from %#llx)", ULL(va), ULL(leaf_start(map, va)));
}

static bool in_group(unsigned int idx, unsigned int group_of)
{
	return idx / BBM_CONT_ENTRIES == group_of / BBM_CONT_ENTRIES;
}

/*
 * The PUD containing @addr, a 1G block before, after a split at @addr by
 * DOMAIN.md's rule: stop where @addr is aligned; a PUD block becomes CONT
 * PMD blocks; the CONT_PMD group holding @addr loses CONT; a PMD block
 * becomes CONT PTEs; the CONT_PTE group holding @addr loses CONT.
 * Returns the number of replace_entries calls that needs.
 */
static int assert_split_pud_block(struct bbm_map *map, uint64_t addr)
{
	uint64_t pud_va = addr & ~(SZ_1G - 1), pmd_va = addr & ~(SZ_2M - 1);
	unsigned int pmd_idx = bbm_index(addr, BBM_PMD);
	unsigned int pte_idx = bbm_index(addr, BBM_PTE);
	bool pmd_group = addr & (SZ_32M - 1);
	bool pmd_split = addr & (SZ_2M - 1);
	bool pte_group = addr & (SZ_64K - 1);
	bbm_desc_t pud = *desc_at(map, addr, BBM_PUD), *pmds, *ptes;
	unsigned int i;

	if (!(addr & (SZ_1G - 1))) {
		CHECK(pud == kernel_leaf(BBM_PUD, pud_va, false),
		      "PUD %#llx: %#llx", ULL(pud_va), ULL(pud));
		return 0;
	}
	assert_table(map, pud, BBM_PUD);
	pmds = bbm_map_table(map, pud);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		if (pmd_split && i == pmd_idx) {
			assert_table(map, pmds[i], BBM_PMD);
			continue;
		}
		CHECK(pmds[i] == kernel_leaf(BBM_PMD, pud_va + i * SZ_2M,
					     !(pmd_group &&
					       in_group(i, pmd_idx))),
		      "PMD %u of %#llx: %#llx", i, ULL(pud_va), ULL(pmds[i]));
	}
	if (!pmd_split)
		return 1 + pmd_group;
	ptes = bbm_map_table(map, pmds[pmd_idx]);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		CHECK(ptes[i] == kernel_leaf(BBM_PTE, pmd_va + i * SZ_4K,
					     !(pte_group &&
					       in_group(i, pte_idx))),
		      "PTE %u of %#llx: %#llx", i, ULL(pmd_va), ULL(ptes[i]));
	return 1 + pmd_group + 1 + pte_group;
}

/* Every other PUD of a map of whole PUD blocks is still its block. */
static void assert_other_puds(struct bbm_map *map, uint64_t addr)
{
	bbm_desc_t *puds = bbm_map_table(map, bbm_map_pgd(map)[0]);
	unsigned int i, n = map->mem_size / SZ_1G;

	for (i = 0; i < n; i++)
		if (i != bbm_index(addr, BBM_PUD))
			CHECK(puds[i] == kernel_leaf(BBM_PUD, PO + i * SZ_1G,
						     false),
			      "PUD %u: %#llx", i, ULL(puds[i]));
	CHECK(puds[n] == 0, "PUD %u after the end: %#llx", n, ULL(puds[n]));
}

/* --- Leaf-boundary split ------------------------------------------------- */

/* Inside PUD 1, CONT_PMD group 3, PMD 53, CONT_PTE group 7, PTE 115. */
#define DEEP (PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M + 7 * SZ_64K + 3 * SZ_4K)

START_TEST(test_pud_block_split)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	bbm_desc_t *pudp = desc_at(map, DEEP, BBM_PUD), pud, *pmds;
	unsigned int i;

	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), 0);
	ck_assert_int_eq(split_at(map, DEEP), 0);

	/* PUD 1: a table with PXNTable/UXNTable/AF, as the block had PXN. */
	pud = *pudp;
	assert_table(map, pud, BBM_PUD);
	pmds = bbm_map_table(map, pud);
	/* 512 CONT PMD blocks, but group 48..63 plain and 53 a table. */
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		if (i == 53)
			continue;
		ck_assert_uint_eq(pmds[i],
				  bbm_mk_leaf(BBM_PMD, SZ_1G + i * SZ_2M,
					      BBM_PROT_KERNEL) |
					  (i >= 48 && i < 64 ? 0 : BBM_CONT));
	}
	assert_table(map, pmds[53], BBM_PMD);
	/* 512 CONT PTEs, but group 112..127 plain. */
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(bbm_map_table(map, pmds[53])[i],
				  (SZ_1G + 53 * SZ_2M + i * SZ_4K) |
					  BBM_PROT_KERNEL | BBM_TYPE_PAGE |
					  (i >= 112 && i < 128 ? 0 :
								 BBM_CONT));

	/* The independent rule agrees; four replaces; nothing else moved. */
	ck_assert_int_eq(assert_split_pud_block(map, DEEP), 4);
	ck_assert_int_eq(h.nr_replace, 4);
	assert_other_puds(map, DEEP);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PGD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PUD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 1);
	/* Outputs contiguous, PAGE_KERNEL, every page of PUD 1. */
	assert_translates(map, PO + SZ_1G, PO + 2 * SZ_1G, SZ_4K);
	assert_boundary(map, DEEP);
	bbm_map_destroy(map);
}
END_TEST

/* Aligned addresses stop at the right level; each checked by the rule. */
START_TEST(test_aligned_stops)
{
	static const struct {
		uint64_t addr;
		int replaces;
		uint64_t pmd_tables, pte_tables;
	} cases[] = {
		{ PO, 0, 0, 0 },			/* PGD aligned */
		{ PO + SZ_1G, 0, 0, 0 },		/* PUD aligned */
		{ PO + 5 * SZ_1G, 0, 0, 0 },
		{ PO + SZ_1G + 3 * SZ_32M, 1, 1, 0 },	/* CONT_PMD aligned */
		{ PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M, 2, 1, 0 }, /* PMD */
		{ PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M + 7 * SZ_64K, 3, 1, 1 },
		{ DEEP, 4, 1, 1 },
		/* The first PMD of a group, the last PTE of a group. */
		{ PO + 2 * SZ_1G + 2 * SZ_32M + SZ_4K * 15, 4, 1, 1 },
		{ PO + 11 * SZ_1G + SZ_1G - SZ_4K, 4, 1, 1 },
	};
	struct hooks h;
	struct bbm_map *map;
	struct snap before;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		map = make_map(12 * SZ_1G, false, &h);
		snap_take(map, &before);
		ck_assert_int_eq(split_at(map, cases[i].addr), 0);
		ck_assert_int_eq(assert_split_pud_block(map, cases[i].addr),
				 cases[i].replaces);
		ck_assert_int_eq(h.nr_replace, cases[i].replaces);
		ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD),
				  cases[i].pmd_tables);
		ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE),
				  cases[i].pte_tables);
		assert_other_puds(map, cases[i].addr);
		assert_boundary(map, cases[i].addr);
		if (!cases[i].replaces)
			assert_unchanged(map, &before);
		/* Splitting again at the same address changes nothing. */
		snap_free(&before);
		snap_take(map, &before);
		ck_assert_int_eq(split_at(map, cases[i].addr), 0);
		ck_assert_int_eq(h.nr_replace, cases[i].replaces);
		assert_unchanged(map, &before);
		snap_free(&before);
		bbm_map_destroy(map);
	}
}
END_TEST

/* A 2M-aligned address in a CONT_PMD group: group cleared, no PTE table. */
START_TEST(test_cont_pmd_group_5000m)
{
	/* PUD 4 of 5000M: 28 CONT_PMD groups (PMD 0..447), 4 plain blocks. */
	uint64_t pud4 = PO + 4 * SZ_1G, addr = pud4 + 2 * SZ_32M + 3 * SZ_2M;
	struct hooks h;
	struct bbm_map *map = make_map(5000 * SZ_1M, false, &h);
	bbm_desc_t *pmds = desc_at(map, pud4, BBM_PMD);
	uint64_t pmd_tables = bbm_arena_in_use(map->arena, BBM_PMD);
	unsigned int i;

	ck_assert_int_eq(split_at(map, addr), 0);
	for (i = 0; i < 452; i++)
		ck_assert_uint_eq(pmds[i],
				  kernel_leaf(BBM_PMD, pud4 + i * SZ_2M,
					      i < 448 && !(i >= 32 && i < 48)));
	ck_assert_uint_eq(pmds[452], 0);
	ck_assert_int_eq(h.nr_replace, 1);
	ck_assert_int_eq(h.calls[0].nr, 16);
	ck_assert_int_eq(h.calls[0].level, BBM_PMD);
	ck_assert_uint_eq(h.calls[0].va, pud4 + 2 * SZ_32M);
	ck_assert_ptr_eq(h.calls[0].ptep, &pmds[32]);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), pmd_tables);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 0);
	/* The PUD blocks before are untouched. */
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(*desc_at(map, PO + i * SZ_1G, BBM_PUD),
				  kernel_leaf(BBM_PUD, PO + i * SZ_1G, false));

	/* Now inside PMD 35, not 64K aligned: PMD split, PTE group too. */
	ck_assert_int_eq(split_at(map, addr + 9 * SZ_64K + SZ_4K), 0);
	assert_table(map, pmds[35], BBM_PMD);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(bbm_map_table(map, pmds[35])[i],
				  kernel_leaf(BBM_PTE, addr + i * SZ_4K,
					      !(i >= 144 && i < 160)));
	ck_assert_int_eq(h.nr_replace, 3);
	ck_assert_int_eq(h.replace_by[BBM_PMD][1], 1);	/* not cleared twice */
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 1);

	/* A plain (non-CONT) PMD block: no CONT_PMD clearing at all. */
	addr = pud4 + 449 * SZ_2M + 5 * SZ_64K;
	ck_assert_int_eq(split_at(map, addr), 0);
	ck_assert_int_eq(h.nr_replace, 4);
	ck_assert_int_eq(h.calls[3].nr, 1);
	ck_assert_int_eq(h.calls[3].level, BBM_PMD);
	ck_assert_uint_eq(h.calls[3].va, pud4 + 449 * SZ_2M);
	for (i = 448; i < 452; i++)
		if (i != 449)
			ck_assert_uint_eq(pmds[i],
					  kernel_leaf(BBM_PMD,
						      pud4 + i * SZ_2M,
						      false));
	/* 64K aligned: every PTE of the new table keeps CONT. */
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(bbm_map_table(map, pmds[449])[i],
				  kernel_leaf(BBM_PTE,
					      pud4 + 449 * SZ_2M + i * SZ_4K,
					      true));
	assert_translates(map, pud4, map->end, SZ_4K);
	bbm_map_destroy(map);
}
END_TEST

/* CONT_PTE groups of map_mem's own PTE tail; absent entries stop a split. */
START_TEST(test_cont_pte_group_68k_tail)
{
	/* 1G + 34M + 68K: ..., PMD block 32M-34M, CONT_PTE run, one PTE. */
	uint64_t size = SZ_1G + 34 * SZ_1M + 68 * 1024;
	uint64_t tail = PO + SZ_1G + 34 * SZ_1M;
	struct hooks h;
	struct bbm_map *map = make_map(size, false, &h);
	bbm_desc_t *ptes = desc_at(map, tail, BBM_PTE);
	struct snap before;
	int i;

	/* 64K-aligned and at the end (absent PTE): nothing to do. */
	snap_take(map, &before);
	ck_assert_int_eq(split_at(map, tail), 0);
	ck_assert_int_eq(split_at(map, tail + SZ_64K), 0);
	ck_assert_int_eq(split_at(map, map->end), 0);
	ck_assert_int_eq(split_at(map, map->end + 5 * SZ_4K), 0);
	ck_assert_int_eq(h.nr_replace, 0);
	assert_unchanged(map, &before);
	snap_free(&before);

	/* Inside the CONT run: the 16 lose CONT, the last PTE as it was. */
	ck_assert_int_eq(split_at(map, tail + 5 * SZ_4K), 0);
	for (i = 0; i < 17; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, tail + i * SZ_4K,
					      false));
	ck_assert_uint_eq(ptes[17], 0);
	ck_assert_int_eq(h.nr_replace, 1);
	ck_assert_int_eq(h.calls[0].nr, 16);
	ck_assert_int_eq(h.calls[0].level, BBM_PTE);
	ck_assert_uint_eq(h.calls[0].va, tail);
	ck_assert_ptr_eq(h.calls[0].ptep, &ptes[0]);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 1);
	assert_translates(map, PO + SZ_1G, map->end, SZ_4K);
	bbm_map_destroy(map);
}
END_TEST

/* CONT_PTE clearing after a PMD split: only the group holding addr. */
START_TEST(test_cont_pte_group_after_pmd_split)
{
	uint64_t pmd = PO + SZ_1G + 7 * SZ_2M;
	struct hooks h;
	struct bbm_map *map = make_map(2 * SZ_1G, false, &h);
	bbm_desc_t *ptes;
	int i, g;

	/* 64K aligned: PMD split, every group CONT. */
	ck_assert_int_eq(split_at(map, pmd + 4 * SZ_64K), 0);
	ptes = desc_at(map, pmd, BBM_PTE);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, pmd + i * SZ_4K, true));
	/* Then groups 9 and 31 (the last), each through its last page. */
	ck_assert_int_eq(split_at(map, pmd + 10 * SZ_64K - SZ_4K), 0);
	ck_assert_int_eq(split_at(map, pmd + SZ_2M - SZ_4K), 0);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		g = i / 16;
		ck_assert_uint_eq(ptes[i],
				  kernel_leaf(BBM_PTE, pmd + i * SZ_4K,
					      g != 9 && g != 31));
	}
	ck_assert_int_eq(h.replace_by[BBM_PTE][1], 2);
	ck_assert_uint_eq(h.calls[3].va, pmd + 9 * SZ_64K);
	ck_assert_uint_eq(h.calls[4].va, pmd + 31 * SZ_64K);
	ck_assert_ptr_eq(h.calls[4].ptep, &ptes[496]);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 1);
	assert_translates(map, PO + SZ_1G, PO + 2 * SZ_1G, SZ_4K);
	bbm_map_destroy(map);
}
END_TEST

/*
 * One page: split only at the less aligned end.  The more aligned end
 * lies in the same CONT_PTE group, so splitting it as well would change
 * nothing visible: the check is that the result is exactly the split at
 * the less aligned end (and not the one at the more aligned end), and
 * that both ends are boundaries.
 */
START_TEST(test_single_page)
{
	static const struct {
		uint64_t start;
		uint64_t less;	/* the less aligned end */
	} cases[] = {
		/* start 64K-aligned: the split happens at end. */
		{ PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M + 7 * SZ_64K,
		  PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M + 7 * SZ_64K + SZ_4K },
		/* start 2M-aligned, PGD-aligned: end too. */
		{ PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M,
		  PO + SZ_1G + 3 * SZ_32M + 5 * SZ_2M + SZ_4K },
		{ PO, PO + SZ_4K },
		/* end 2M-aligned, start 4K-aligned only: start. */
		{ PO + SZ_1G + 3 * SZ_32M + 6 * SZ_2M - SZ_4K,
		  PO + SZ_1G + 3 * SZ_32M + 6 * SZ_2M - SZ_4K },
		/* end 1G-aligned: start. */
		{ PO + 2 * SZ_1G - SZ_4K, PO + 2 * SZ_1G - SZ_4K },
	};
	struct hooks ha, hb, hc;
	struct bbm_map *a, *b, *c;
	struct snap sa, sb, sc;
	uint64_t start, end, more;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start = cases[i].start;
		end = start + SZ_4K;
		more = cases[i].less == start ? end : start;
		a = make_map(12 * SZ_1G, false, &ha);
		b = make_map(12 * SZ_1G, false, &hb);
		c = make_map(12 * SZ_1G, false, &hc);
		ck_assert_int_eq(bbm_split_kernel_leaf_mapping(a, start, end),
				 0);
		ck_assert_int_eq(split_at(b, cases[i].less), 0);
		ck_assert_int_eq(split_at(c, more), 0);
		snap_take(a, &sa);
		snap_take(b, &sb);
		snap_take(c, &sc);
		/* Same tables, CONT states and replaces as the lone split. */
		snap_assert_equal(&sa, &sb);
		ck_assert_int_eq(ha.nr_replace, hb.nr_replace);
		ck_assert_int_eq(ha.nr_replace, 4);
		ck_assert_int_eq(assert_split_pud_block(a, cases[i].less), 4);
		/* ... which the split at the more aligned end alone is not. */
		ck_assert_int_lt(hc.nr_replace, 4);
		ck_assert(!snap_same(&sc, &sa));
		assert_boundary(a, start);
		assert_boundary(a, end);
		ck_assert_int_eq(ha.gate_calls, 1);
		ck_assert_uint_eq(ha.gate_start, start);
		ck_assert_uint_eq(ha.gate_end, end);
		snap_free(&sa);
		snap_free(&sb);
		snap_free(&sc);
		bbm_map_destroy(a);
		bbm_map_destroy(b);
		bbm_map_destroy(c);
	}
}
END_TEST

/* More than one page: split at start and at end, each by the rule. */
START_TEST(test_range_splits_both_ends)
{
	uint64_t start = PO + SZ_1G + 3 * SZ_64K + SZ_4K;
	uint64_t end = PO + 3 * SZ_1G + 17 * SZ_2M + 2 * SZ_4K;
	struct hooks h;
	struct bbm_map *map = make_map(4 * SZ_1G, false, &h);

	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, start, end), 0);
	ck_assert_int_eq(assert_split_pud_block(map, start), 4);
	ck_assert_int_eq(assert_split_pud_block(map, end), 4);
	ck_assert_int_eq(h.nr_replace, 8);
	/* PUD 2, between the ends, is still a block; PUD 0 too. */
	ck_assert_uint_eq(*desc_at(map, PO + 2 * SZ_1G, BBM_PUD),
			  kernel_leaf(BBM_PUD, PO + 2 * SZ_1G, false));
	ck_assert_uint_eq(*desc_at(map, PO, BBM_PUD),
			  kernel_leaf(BBM_PUD, PO, false));
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), 2);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 2);
	assert_boundary(map, start);
	assert_boundary(map, end);
	assert_translates(map, PO, map->end, SZ_64K);
	bbm_map_destroy(map);
}
END_TEST

/* Unaligned start or end: -EINVAL before anything is touched. */
START_TEST(test_unaligned_einval)
{
	static const struct {
		uint64_t start, end;
	} cases[] = {
		{ DEEP + 1, DEEP + SZ_4K },
		{ DEEP, DEEP + SZ_4K + 8 },
		{ DEEP + 2048, DEEP + 2 * SZ_64K },
		{ DEEP, DEEP + 3 * SZ_64K + 4095 },
		{ PO + 512, PO + SZ_1G + 512 },
	};
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	struct snap before;
	unsigned int i;

	snap_take(map, &before);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map,
							       cases[i].start,
							       cases[i].end),
				 -EINVAL);
	ck_assert_int_eq(h.nr_replace, 0);
	/* No table was even asked for. */
	assert_unchanged(map, &before);
	ck_assert_uint_eq(map->arena->alloc_attempts, before.alloc_attempts);
	/* The lock was released: a good split still works. */
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP,
						       DEEP + SZ_4K),
			 0);
	ck_assert_int_eq(assert_split_pud_block(map, DEEP), 4);
	snap_free(&before);
	bbm_map_destroy(map);
}
END_TEST

/* The second allocation fails: the PUD split stays, the PMD block lives. */
START_TEST(test_enomem_midway)
{
	struct hooks h;
	struct bbm_map *map = make_map(2 * SZ_1G, false, &h);
	uint64_t pmd_va = DEEP & ~(SZ_2M - 1);
	bbm_desc_t *pmds;
	unsigned int i;

	bbm_arena_fail_nth(map->arena, 2);
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP,
						       DEEP + SZ_4K),
			 -ENOMEM);
	ck_assert_uint_eq(map->arena->failed, 1);
	/* PUD 1 is the table of CONT PMDs (an equivalent mapping) ... */
	assert_table(map, *desc_at(map, DEEP, BBM_PUD), BBM_PUD);
	pmds = desc_at(map, PO + SZ_1G, BBM_PMD);
	/*
	 * ... and PMD 53 still the block it was: only CONT cleared with its
	 * group, which the kernel's split_contpmd() does before split_pmd()
	 * allocates.
	 */
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(pmds[i],
				  kernel_leaf(BBM_PMD, PO + SZ_1G + i * SZ_2M,
					      !(i >= 48 && i < 64)));
	ck_assert_uint_eq(pmds[53], kernel_leaf(BBM_PMD, pmd_va, false));
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 0);
	ck_assert_int_eq(h.nr_replace, 2);
	ck_assert_uint_eq(*desc_at(map, PO, BBM_PUD),
			  kernel_leaf(BBM_PUD, PO, false));
	/* Every page still translates to va - PAGE_OFFSET, PAGE_KERNEL. */
	assert_translates(map, PO, map->end, SZ_4K);

	/* The retry finishes the job: same as one clean split. */
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP,
						       DEEP + SZ_4K),
			 0);
	ck_assert_int_eq(assert_split_pud_block(map, DEEP), 4);
	ck_assert_int_eq(h.nr_replace, 4);
	bbm_map_destroy(map);
}
END_TEST

/* The first allocation fails: nothing at all changes. */
START_TEST(test_enomem_first)
{
	struct hooks h;
	struct bbm_map *map = make_map(2 * SZ_1G, false, &h);
	struct snap before;

	snap_take(map, &before);
	bbm_arena_fail_nth(map->arena, 1);
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP,
						       DEEP + SZ_4K),
			 -ENOMEM);
	ck_assert_uint_eq(map->arena->failed, 1);
	ck_assert_int_eq(h.nr_replace, 0);
	assert_unchanged(map, &before);
	/* One attempt, the failed one. */
	ck_assert_uint_eq(map->arena->alloc_attempts,
			  before.alloc_attempts + 1);
	assert_translates(map, PO, map->end, SZ_4K);
	/* The failure was one-shot and the lock released. */
	ck_assert_int_eq(split_at(map, DEEP), 0);
	ck_assert_int_eq(assert_split_pud_block(map, DEEP), 4);
	snap_free(&before);
	bbm_map_destroy(map);
}
END_TEST

/* The end's split fails after the start's succeeded: start's stays. */
START_TEST(test_enomem_at_end)
{
	uint64_t start = PO + 3 * SZ_2M + SZ_4K, end = DEEP;
	struct hooks h;
	struct bbm_map *map = make_map(2 * SZ_1G, false, &h);

	/* start needs 2 tables (PUD 0, PMD 3); end's first one fails. */
	bbm_arena_fail_nth(map->arena, 3);
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, start, end),
			 -ENOMEM);
	ck_assert_int_eq(assert_split_pud_block(map, start), 4);
	ck_assert_uint_eq(*desc_at(map, end, BBM_PUD),
			  kernel_leaf(BBM_PUD, PO + SZ_1G, false));
	assert_translates(map, PO, map->end, SZ_4K);
	bbm_map_destroy(map);
}
END_TEST

/* The policy gate: 0 skips silently, an errno is returned, 1 splits. */
START_TEST(test_split_gate)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	struct snap before;

	snap_take(map, &before);
	h.gate_ret = 0;
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP,
						       DEEP + 16 * SZ_4K),
			 0);
	ck_assert_int_eq(h.gate_calls, 1);
	ck_assert_uint_eq(h.gate_start, DEEP);
	ck_assert_uint_eq(h.gate_end, DEEP + 16 * SZ_4K);
	/* The kernel's order: the gate comes before the alignment check. */
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP + 1,
						       DEEP + SZ_4K),
			 0);
	ck_assert_int_eq(h.gate_calls, 2);

	h.gate_ret = -EBUSY;
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP,
						       DEEP + SZ_4K),
			 -EBUSY);
	ck_assert_int_eq(h.gate_calls, 3);
	ck_assert_int_eq(h.nr_replace, 0);
	assert_unchanged(map, &before);
	/* No report of its own: the hook reports its warnings. */
	ck_assert_uint_eq(bbm_report_total(map->report), 0);

	h.gate_ret = 1;
	ck_assert_int_eq(bbm_split_kernel_leaf_mapping(map, DEEP,
						       DEEP + SZ_4K),
			 0);
	ck_assert_int_eq(h.gate_calls, 4);
	ck_assert_int_eq(assert_split_pud_block(map, DEEP), 4);
	ck_assert_int_eq(h.nr_replace, 4);
	snap_free(&before);
	bbm_map_destroy(map);
}
END_TEST

/* Every publish and CONT clearing goes through replace_entries. */
START_TEST(test_replace_hook_calls)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);
	uint64_t pud_va = PO + SZ_1G, grp_pmd = pud_va + 3 * SZ_32M;
	uint64_t pmd_va = grp_pmd + 5 * SZ_2M, grp_pte = pmd_va + 7 * SZ_64K;
	bbm_desc_t *pudp = desc_at(map, DEEP, BBM_PUD), *pmds, *ptes;
	struct replace_call *c = h.calls;
	int i;

	ck_assert_int_eq(split_at(map, DEEP), 0);
	ck_assert_int_eq(h.nr_replace, 4);
	pmds = bbm_map_table(map, *pudp);
	ptes = bbm_map_table(map, pmds[53]);

	/* 1: publish of the PMD table in the PUD entry. */
	ck_assert_int_eq(c[0].nr, 1);
	ck_assert_int_eq(c[0].level, BBM_PUD);
	ck_assert_uint_eq(c[0].va, pud_va);
	ck_assert_ptr_eq(c[0].ptep, pudp);
	ck_assert_uint_eq(c[0].new[0] & ~BBM_OA_MASK, TABLE_BITS);
	/* 2: the CONT_PMD group 48..63, CONT cleared. */
	ck_assert_int_eq(c[1].nr, 16);
	ck_assert_int_eq(c[1].level, BBM_PMD);
	ck_assert_uint_eq(c[1].va, grp_pmd);
	ck_assert_ptr_eq(c[1].ptep, &pmds[48]);
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(c[1].new[i],
				  kernel_leaf(BBM_PMD, grp_pmd + i * SZ_2M,
					      false));
	/* 3: publish of the PTE table in PMD 53. */
	ck_assert_int_eq(c[2].nr, 1);
	ck_assert_int_eq(c[2].level, BBM_PMD);
	ck_assert_uint_eq(c[2].va, pmd_va);
	ck_assert_ptr_eq(c[2].ptep, &pmds[53]);
	ck_assert_uint_eq(c[2].new[0], pmds[53]);
	ck_assert_uint_eq(c[2].new[0] & ~BBM_OA_MASK, TABLE_BITS);
	/* 4: the CONT_PTE group 112..127, CONT cleared. */
	ck_assert_int_eq(c[3].nr, 16);
	ck_assert_int_eq(c[3].level, BBM_PTE);
	ck_assert_uint_eq(c[3].va, grp_pte);
	ck_assert_ptr_eq(c[3].ptep, &ptes[112]);
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(c[3].new[i],
				  kernel_leaf(BBM_PTE, grp_pte + i * SZ_4K,
					      false));
	/* Nothing but the hook wrote: no flush either (live split). */
	ck_assert_int_eq(h.flush_calls, 0);
	bbm_map_destroy(map);
}
END_TEST

/* --- Repaint to PTEs ----------------------------------------------------- */

struct census {
	uint64_t tables[BBM_LEVELS];
	uint64_t leaves[BBM_LEVELS];
	uint64_t cont;
};

static void census(struct bbm_map *map, bbm_desc_t *table, int level,
		   struct census *c)
{
	bbm_desc_t d;
	int i;

	c->tables[level]++;
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		d = table[i];
		if (!d)
			continue;
		if (bbm_desc_table(d, level)) {
			CHECK((d & ~BBM_OA_MASK) == TABLE_BITS,
			      "L%d table %#llx", level, ULL(d));
			census(map, bbm_map_table(map, d), level + 1, c);
			continue;
		}
		c->leaves[level]++;
		if (bbm_desc_cont(d))
			c->cont++;
	}
}

/* @map is now leaf for leaf the PTE-only map of its size. */
static void assert_like_pte_only(struct bbm_map *map)
{
	struct bbm_map *ref = bbm_map_create(map->mem_size, true, NULL, NULL,
					     NULL);
	struct census cm = { 0 }, cr = { 0 };
	uint64_t va;
	int level;

	ck_assert_ptr_nonnull(ref);
	census(map, bbm_map_pgd(map), BBM_PGD, &cm);
	census(ref, bbm_map_pgd(ref), BBM_PGD, &cr);
	ck_assert_uint_eq(cm.cont, 0);
	ck_assert_uint_eq(cm.leaves[BBM_PUD] + cm.leaves[BBM_PMD], 0);
	ck_assert_uint_eq(cm.leaves[BBM_PTE], map->mem_size / SZ_4K);
	for (level = BBM_PGD; level < BBM_LEVELS; level++) {
		ck_assert_uint_eq(cm.tables[level], cr.tables[level]);
		ck_assert_uint_eq(cm.leaves[level], cr.leaves[level]);
		ck_assert_uint_eq(bbm_arena_in_use(map->arena, level),
				  bbm_arena_in_use(ref->arena, level));
	}
	for (va = PO; va < map->end; va += SZ_4K)
		CHECK(*desc_at(map, va, BBM_PTE) == *desc_at(ref, va, BBM_PTE),
		      "va %#llx: %#llx, PTE-only map %#llx", ULL(va),
		      ULL(*desc_at(map, va, BBM_PTE)),
		      ULL(*desc_at(ref, va, BBM_PTE)));
	bbm_map_destroy(ref);
}

START_TEST(test_repaint_12g)
{
	struct hooks h;
	struct bbm_map *map = make_map(12 * SZ_1G, false, &h);

	ck_assert_int_eq(bbm_split_to_ptes(map), 0);
	assert_like_pte_only(map);
	/* One flush of the whole map. */
	ck_assert_int_eq(h.flush_calls, 1);
	ck_assert_uint_eq(h.flush_start, PO);
	ck_assert_uint_eq(h.flush_end, map->end);
	/* 12 PUD publishes, 12 * 512 PMD publishes, no CONT to clear. */
	ck_assert_int_eq(h.replace_by[BBM_PUD][0], 12);
	ck_assert_int_eq(h.replace_by[BBM_PMD][0], 12 * 512);
	ck_assert_int_eq(h.nr_replace, 12 + 12 * 512);
	ck_assert_int_eq(h.gate_calls, 0);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_repaint_5000m)
{
	struct hooks h;
	struct bbm_map *map = make_map(5000 * SZ_1M, false, &h);

	ck_assert_int_eq(bbm_split_to_ptes(map), 0);
	assert_like_pte_only(map);
	ck_assert_int_eq(h.flush_calls, 1);
	ck_assert_uint_eq(h.flush_start, PO);
	ck_assert_uint_eq(h.flush_end, map->end);
	/* 4 PUD blocks, 28 CONT_PMD groups, 2500 PMD blocks in all. */
	ck_assert_int_eq(h.replace_by[BBM_PUD][0], 4);
	ck_assert_int_eq(h.replace_by[BBM_PMD][1], 28);
	ck_assert_int_eq(h.replace_by[BBM_PMD][0], 2500);
	ck_assert_int_eq(h.replace_by[BBM_PTE][1], 0);
	ck_assert_int_eq(h.nr_replace, 4 + 28 + 2500);
	bbm_map_destroy(map);
}
END_TEST

/* A map with split PTE tables, CONT_PTE runs and a tail; then again. */
START_TEST(test_repaint_after_splits)
{
	uint64_t size = SZ_1G + 34 * SZ_1M + 68 * 1024;
	struct hooks h;
	struct bbm_map *map = make_map(size, false, &h);
	struct snap before;

	ck_assert_int_eq(split_at(map, PO + 5 * SZ_2M + 3 * SZ_64K), 0);
	ck_assert_int_eq(split_at(map, PO + SZ_1G + 7 * SZ_2M + SZ_4K), 0);
	ck_assert_int_eq(bbm_split_to_ptes(map), 0);
	assert_like_pte_only(map);
	/* A second repaint finds nothing to do but still flushes. */
	snap_take(map, &before);
	h.nr_replace = 0;
	ck_assert_int_eq(bbm_split_to_ptes(map), 0);
	ck_assert_int_eq(h.nr_replace, 0);
	ck_assert_int_eq(h.flush_calls, 2);
	assert_unchanged(map, &before);
	snap_free(&before);
	bbm_map_destroy(map);
}
END_TEST

/* A PTE-only map is left exactly as it is. */
START_TEST(test_repaint_pte_only_noop)
{
	struct hooks h;
	struct bbm_map *map = make_map(64 * SZ_1M + 68 * 1024, true, &h);
	struct snap before;

	snap_take(map, &before);
	ck_assert_int_eq(bbm_split_to_ptes(map), 0);
	ck_assert_int_eq(h.nr_replace, 0);
	assert_unchanged(map, &before);
	snap_free(&before);
	bbm_map_destroy(map);
}
END_TEST

/* Allocation failure: -ENOMEM, and the map is still an equivalent one. */
START_TEST(test_repaint_enomem)
{
	static const uint64_t nth[] = { 1, 2, 3, 514, 600 };
	struct hooks h;
	struct bbm_map *map;
	unsigned int i;

	for (i = 0; i < sizeof(nth) / sizeof(nth[0]); i++) {
		map = make_map(2 * SZ_1G, false, &h);
		bbm_arena_fail_nth(map->arena, nth[i]);
		ck_assert_int_eq(bbm_split_to_ptes(map), -ENOMEM);
		ck_assert_uint_eq(map->arena->failed, 1);
		/* The tables made before the failure stay, all published. */
		ck_assert_uint_eq(bbm_arena_total_in_use(map->arena),
				  2 + nth[i] - 1);
		assert_translates(map, PO, map->end, SZ_4K);
		/* It can be finished afterwards. */
		ck_assert_int_eq(bbm_split_to_ptes(map), 0);
		assert_like_pte_only(map);
		bbm_map_destroy(map);
	}
}
END_TEST

Suite *make_split_suite(void)
{
	Suite *s = suite_create("split");
	TCase *tc = tcase_create("leaf");
	TCase *tc_repaint = tcase_create("repaint");

	/* Each well under a second; sanitizers make them a few times slower. */
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_pud_block_split);
	tcase_add_test(tc, test_aligned_stops);
	tcase_add_test(tc, test_cont_pmd_group_5000m);
	tcase_add_test(tc, test_cont_pte_group_68k_tail);
	tcase_add_test(tc, test_cont_pte_group_after_pmd_split);
	tcase_add_test(tc, test_single_page);
	tcase_add_test(tc, test_range_splits_both_ends);
	tcase_add_test(tc, test_unaligned_einval);
	tcase_add_test(tc, test_enomem_midway);
	tcase_add_test(tc, test_enomem_first);
	tcase_add_test(tc, test_enomem_at_end);
	tcase_add_test(tc, test_split_gate);
	tcase_add_test(tc, test_replace_hook_calls);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tc_repaint, 30);
	tcase_add_test(tc_repaint, test_repaint_12g);
	tcase_add_test(tc_repaint, test_repaint_5000m);
	tcase_add_test(tc_repaint, test_repaint_after_splits);
	tcase_add_test(tc_repaint, test_repaint_pte_only_noop);
	tcase_add_test(tc_repaint, test_repaint_enomem);
	suite_add_tcase(s, tc_repaint);
	return s;
}
