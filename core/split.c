// SPDX-License-Identifier: GPL-2.0
/*
 * split_kernel_leaf_mapping() and linear_map_split_to_ptes()'s work
 * (arch/arm64/mm/mmu.c, v6.18 and later).
 */
#include <errno.h>

#include "core/pagewalk.h"
#include "core/split.h"

static bool aligned(uint64_t addr, uint64_t size)
{
	return !(addr & (size - 1));
}

/*
 * split_pud()/split_pmd(): a table of 512 leaves one level down with the
 * block's attributes (CONT on each if @to_cont), filled before one store
 * publishes it.  -ENOMEM leaves the live entry untouched.
 */
static int split_block(struct bbm_map *map, bbm_desc_t *ptep, bbm_desc_t block,
		       uint64_t va, int level, bool to_cont)
{
	uint64_t attrs = bbm_desc_attrs(block);
	uint64_t oa = bbm_desc_oa(block);
	uint64_t step = bbm_level_size(level + 1);
	bbm_desc_t *table, cont = to_cont ? BBM_CONT : 0;
	bbm_desc_t new;
	uint64_t pa;
	int i, ret;

	ret = bbm_map_alloc_table(map, level + 1, &pa);
	if (ret)
		return ret;
	table = bbm_arena_table(map->arena, pa);
	/* Present-invalid blocks keep VALID clear in their children. */
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		bbm_store_relaxed(&table[i],
				  bbm_mk_leaf(level + 1, oa + i * step, attrs) |
					  cont);
	/* The block's PXN goes to PXNTable; the release orders the fill. */
	new = bbm_mk_table(pa, BBM_TABLE_HINTS(attrs));
	bbm_map_replace_entries(map, ptep, &new, 1, va, level);
	return 0;
}

/* split_contpmd()/split_contpte(): clear CONT on the whole aligned group. */
static void split_cont(struct bbm_map *map, bbm_desc_t *ptep, uint64_t addr,
		       int level)
{
	unsigned int first = bbm_index(addr, level) & ~(BBM_CONT_ENTRIES - 1);
	bbm_desc_t *group = ptep - (bbm_index(addr, level) - first);
	uint64_t group_va = addr & ~(bbm_cont_size(level) - 1);
	bbm_desc_t new[BBM_CONT_ENTRIES];
	int i;

	for (i = 0; i < BBM_CONT_ENTRIES; i++)
		new[i] = bbm_load_relaxed(&group[i]) & ~BBM_CONT;
	bbm_map_replace_entries(map, group, new, BBM_CONT_ENTRIES, group_va,
				level);
}

int bbm_split_leaf_locked(struct bbm_map *map, uint64_t addr)
{
	bbm_desc_t *pgdp, *pudp, *pmdp, *ptep;
	bbm_desc_t pgd, pud, pmd, pte;
	int ret;

	/* PGD: no blocks at level 0; aligned means already a boundary. */
	if (aligned(addr, BBM_PGD_SIZE))
		return 0;
	pgdp = &bbm_map_pgd(map)[bbm_index(addr, BBM_PGD)];
	pgd = bbm_load_relaxed(pgdp);
	if (!bbm_desc_present(pgd))
		return 0;

	/* PUD: a 1 GiB block becomes 512 CONT PMD blocks (to_cont). */
	if (aligned(addr, BBM_PUD_SIZE))
		return 0;
	pudp = &bbm_map_table(map, pgd)[bbm_index(addr, BBM_PUD)];
	pud = bbm_load_relaxed(pudp);
	if (!bbm_desc_present(pud))
		return 0;
	if (bbm_desc_leaf(pud, BBM_PUD)) {
		ret = split_block(map, pudp, pud, addr & ~(BBM_PUD_SIZE - 1),
				  BBM_PUD, true);
		if (ret)
			return ret;
		pud = bbm_load_relaxed(pudp);
	}

	/* CONT_PMD, then PMD: a 2 MiB block becomes 512 CONT PTEs. */
	if (aligned(addr, BBM_CONT_PMD_SIZE))
		return 0;
	pmdp = &bbm_map_table(map, pud)[bbm_index(addr, BBM_PMD)];
	pmd = bbm_load_relaxed(pmdp);
	if (!bbm_desc_present(pmd))
		return 0;
	if (bbm_desc_leaf(pmd, BBM_PMD)) {
		if (bbm_desc_cont(pmd)) {
			split_cont(map, pmdp, addr, BBM_PMD);
			pmd = bbm_load_relaxed(pmdp);
		}
		if (aligned(addr, BBM_PMD_SIZE))
			return 0;
		ret = split_block(map, pmdp, pmd, addr & ~(BBM_PMD_SIZE - 1),
				  BBM_PMD, true);
		if (ret)
			return ret;
		pmd = bbm_load_relaxed(pmdp);
	}

	/* CONT_PTE: clear CONT on the group holding @addr. */
	if (aligned(addr, BBM_CONT_PTE_SIZE))
		return 0;
	ptep = &bbm_map_table(map, pmd)[bbm_index(addr, BBM_PTE)];
	pte = bbm_load_relaxed(ptep);
	if (!bbm_desc_present(pte))
		return 0;
	if (bbm_desc_cont(pte))
		split_cont(map, ptep, addr, BBM_PTE);
	return 0;
}

int bbm_split_kernel_leaf_mapping(struct bbm_map *map, uint64_t start,
				  uint64_t end)
{
	int ret;

	/* The policy point: skip (0), refuse (-EBUSY), or go on (1). */
	if (map->ops.split_gate) {
		ret = map->ops.split_gate(map, start, end);
		if (ret <= 0)
			return ret;
	}
	if (!aligned(start, BBM_PAGE_SIZE) || !aligned(end, BBM_PAGE_SIZE))
		return -EINVAL;

	bbm_map_lock_split(map);
	/*
	 * One page: split only at the less aligned end; the more aligned one
	 * lies in the same CONT_PTE group, which that split breaks up.
	 */
	if (end - start == BBM_PAGE_SIZE) {
		ret = bbm_split_leaf_locked(
			map, __builtin_ctzll(start) < __builtin_ctzll(end) ?
				     start :
				     end);
	} else {
		ret = bbm_split_leaf_locked(map, start);
		if (!ret)
			ret = bbm_split_leaf_locked(map, end);
	}
	bbm_map_unlock_split(map);
	return ret;
}

/* split_to_ptes_*_entry(): every leaf down to plain PTEs. */
static int repaint_pud_entry(bbm_desc_t *pudp, uint64_t addr, uint64_t next,
			     struct bbm_walk *walk)
{
	bbm_desc_t pud = bbm_load_relaxed(pudp);

	(void)next;
	if (bbm_desc_leaf(pud, BBM_PUD))
		return split_block(walk->map, pudp, pud, addr, BBM_PUD, false);
	return 0;
}

static int repaint_pmd_entry(bbm_desc_t *pmdp, uint64_t addr, uint64_t next,
			     struct bbm_walk *walk)
{
	bbm_desc_t pmd = bbm_load_relaxed(pmdp);

	(void)next;
	if (!bbm_desc_leaf(pmd, BBM_PMD))
		return 0;
	if (bbm_desc_cont(pmd)) {
		split_cont(walk->map, pmdp, addr, BBM_PMD);
		pmd = bbm_load_relaxed(pmdp);
	}
	return split_block(walk->map, pmdp, pmd, addr, BBM_PMD, false);
}

static int repaint_pte_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
			     struct bbm_walk *walk)
{
	(void)next;
	if (bbm_desc_cont(bbm_load_relaxed(ptep)))
		split_cont(walk->map, ptep, addr, BBM_PTE);
	return 0;
}

static const struct bbm_walk_ops repaint_ops = {
	.pud_entry = repaint_pud_entry,
	.pmd_entry = repaint_pmd_entry,
	.pte_entry = repaint_pte_entry,
};

int bbm_split_to_ptes_locked(struct bbm_map *map)
{
	return bbm_walk_range(map, BBM_PAGE_OFFSET, map->end, &repaint_ops,
			      NULL);
}

int bbm_split_to_ptes(struct bbm_map *map)
{
	int ret;

	bbm_map_lock_split(map);
	ret = bbm_split_to_ptes_locked(map);
	bbm_map_unlock_split(map);
	bbm_map_flush_tlb_range(map, BBM_PAGE_OFFSET, map->end);
	return ret;
}
