// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse: fold uniform tables into blocks and set CONT on uniform groups,
 * the inverse of split_kernel_leaf_mapping().  No kernel counterpart for the
 * linear map (option 3 of DOMAIN.md section 6; x86's CPA collapse is the
 * nearest relative).  Every change goes through the map's replace_entries
 * hook, so a stress thread decides how the size change reaches the tables.
 */
#include <stdbool.h>

#include "core/access.h"
#include "core/fold.h"
#include "core/pagewalk.h"

/* A valid leaf of the type hardware accepts at @level (block or page). */
static bool fold_valid_leaf(bbm_desc_t d, int level)
{
	bbm_desc_t type = level == BBM_PTE ? BBM_TYPE_PAGE : BBM_TYPE_BLOCK;

	return bbm_desc_valid(d) && (d & BBM_TYPE_MASK) == type;
}

/*
 * True if the @nr entries from @entries (level @level, the first mapping
 * @addr) are valid leaves with the attributes of the first and the linear
 * map's outputs.  Their attributes go to *@attrs, CONT aside.  Counts how
 * many have CONT in *@nr_cont.
 */
static bool fold_uniform(const bbm_desc_t *entries, int nr, uint64_t addr,
			 int level, uint64_t *attrs, int *nr_cont)
{
	uint64_t size = bbm_level_size(level);
	uint64_t pa = bbm_linear_pa(addr);
	bbm_desc_t d;
	int i;

	*nr_cont = 0;
	for (i = 0; i < nr; i++, pa += size) {
		/* Racing permission changes are the oracle's to catch. */
		d = bbm_load_relaxed(&entries[i]);
		if (!fold_valid_leaf(d, level) || bbm_desc_oa(d) != pa)
			return false;
		if (!i)
			*attrs = bbm_desc_attrs(d);
		else if (bbm_desc_attrs(d) != *attrs)
			return false;
		*nr_cont += bbm_desc_cont(d) ? 1 : 0;
	}
	return true;
}

int bbm_fold_table(struct bbm_map *map, bbm_desc_t *ptep, uint64_t addr,
		   int level)
{
	uint64_t size, table_pa, attrs;
	bbm_desc_t entry, block;
	int nr_cont;

	/* A PGD entry cannot be a block; a PTE has no table below. */
	if (level != BBM_PUD && level != BBM_PMD)
		return 0;
	size = bbm_level_size(level);
	addr &= ~(size - 1);
	entry = bbm_load_acquire(ptep);
	if (!bbm_desc_table(entry, level))
		return 0;
	table_pa = bbm_desc_oa(entry);
	if (!bbm_arena_contains(map->arena, table_pa))
		return 0;
	if (!fold_uniform(bbm_arena_table(map->arena, table_pa),
			  BBM_PTRS_PER_TABLE, addr, level + 1, &attrs,
			  &nr_cont))
		return 0;

	/* One block, CONT clear: its neighbours were un-CONTed by the split. */
	block = bbm_mk_leaf(level, bbm_linear_pa(addr), attrs);
	bbm_map_replace_entries(map, ptep, &block, 1, addr, level);
	/* Walks of the old table may still be cached: drop them first. */
	bbm_map_flush_tlb_range(map, addr, addr + size);
	bbm_map_free_table(map, table_pa);
	return 1;
}

int bbm_fold_cont(struct bbm_map *map, bbm_desc_t *ptep, uint64_t addr,
		  int level)
{
	bbm_desc_t group[BBM_CONT_ENTRIES], *first;
	uint64_t size, attrs, pa;
	int i, nr_cont;

	if (level != BBM_PMD && level != BBM_PTE)
		return 0;
	size = bbm_level_size(level);
	first = ptep - (bbm_index(addr, level) & (BBM_CONT_ENTRIES - 1));
	addr &= ~(bbm_cont_size(level) - 1);
	if (!fold_uniform(first, BBM_CONT_ENTRIES, addr, level, &attrs,
			  &nr_cont))
		return 0;
	if (nr_cont == BBM_CONT_ENTRIES)
		return 0;

	pa = bbm_linear_pa(addr);
	for (i = 0; i < BBM_CONT_ENTRIES; i++, pa += size)
		group[i] = bbm_mk_leaf(level, pa, attrs) | BBM_CONT;
	bbm_map_replace_entries(map, first, group, BBM_CONT_ENTRIES, addr,
				level);
	/* As contpte does after a repaint: the smaller entries can go. */
	bbm_map_flush_tlb_range(map, addr, addr + bbm_cont_size(level));
	return 1;
}

/* Set CONT on every uniform group of @table lying inside [addr, end). */
static long fold_cont_groups(struct bbm_map *map, bbm_desc_t *table,
			     uint64_t addr, uint64_t end, int level)
{
	uint64_t cont_size = bbm_cont_size(level);
	uint64_t group = (addr + cont_size - 1) & ~(cont_size - 1);
	long made = 0;

	for (; group + cont_size <= end; group += cont_size)
		made += bbm_fold_cont(map, &table[bbm_index(group, level)],
				      group, level);
	return made;
}

/*
 * One table entry at @level (PMD or PUD) met by a collapse walk over
 * [addr, next): fold the table below if all of it is in range, else set
 * CONT on the uniform groups below that are.  Never descends.
 */
static int collapse_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
			  struct bbm_walk *walk, int level)
{
	long *made = walk->private;
	bbm_desc_t entry = bbm_load_acquire(ptep);

	walk->action = BBM_ACTION_CONTINUE;
	if (!bbm_desc_table(entry, level))
		return 0;
	if (next - addr == bbm_level_size(level) &&
	    bbm_fold_table(walk->map, ptep, addr, level)) {
		(*made)++;
		return 0;
	}
	*made += fold_cont_groups(walk->map, bbm_map_table(walk->map, entry),
				  addr, next, level + 1);
	return 0;
}

static int collapse_pmd_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
			      struct bbm_walk *walk)
{
	return collapse_entry(ptep, addr, next, walk, BBM_PMD);
}

static int collapse_pud_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
			      struct bbm_walk *walk)
{
	return collapse_entry(ptep, addr, next, walk, BBM_PUD);
}

/* Pass 1: PTE tables into PMD blocks, else CONT_PTE groups. */
static const struct bbm_walk_ops collapse_pte_tables_ops = {
	.pmd_entry = collapse_pmd_entry,
};

/* Pass 2, once every PMD entry is as large as it gets: PUD level. */
static const struct bbm_walk_ops collapse_pmd_tables_ops = {
	.pud_entry = collapse_pud_entry,
};

long bbm_collapse_range(struct bbm_map *map, uint64_t start, uint64_t end)
{
	long made = 0;

	bbm_map_lock_split(map);
	bbm_walk_range(map, start, end, &collapse_pte_tables_ops, &made);
	bbm_walk_range(map, start, end, &collapse_pmd_tables_ops, &made);
	bbm_map_unlock_split(map);
	return made;
}
