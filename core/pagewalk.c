// SPDX-License-Identifier: GPL-2.0
/* The lockless range walker (mm/pagewalk.c, kernel tables: no VMA). */
#include "core/pagewalk.h"

static bbm_walk_entry_fn walk_entry_fn(const struct bbm_walk_ops *ops,
				       int level)
{
	switch (level) {
	case BBM_PGD:
		return ops->pgd_entry;
	case BBM_PUD:
		return ops->pud_entry;
	case BBM_PMD:
		return ops->pmd_entry;
	default:
		return ops->pte_entry;
	}
}

/* True if some callback below @level wants to see the entries there. */
static bool walk_wants_below(const struct bbm_walk_ops *ops, int level)
{
	int below;

	if (ops->pte_hole)
		return true;
	for (below = level + 1; below < BBM_LEVELS; below++)
		if (walk_entry_fn(ops, below))
			return true;
	return false;
}

/* One level: the kernel's walk_pXd_range loop. */
static int walk_level(bbm_desc_t *table, uint64_t addr, uint64_t end,
		      int level, struct bbm_walk *walk)
{
	const struct bbm_walk_ops *ops = walk->ops;
	bbm_walk_entry_fn entry_fn = walk_entry_fn(ops, level);
	bbm_desc_t *ptep = &table[bbm_index(addr, level)];
	bbm_desc_t entry;
	uint64_t next;
	int err = 0;

	do {
again:
		next = bbm_addr_end(addr, end, level);
		if (!bbm_load_acquire(ptep)) {
			if (ops->pte_hole)
				err = ops->pte_hole(addr, next, level, walk);
			if (err)
				break;
			continue;
		}
		walk->action = BBM_ACTION_SUBTREE;
		if (entry_fn)
			err = entry_fn(ptep, addr, next, walk);
		if (err)
			break;
		if (walk->action == BBM_ACTION_AGAIN)
			goto again;
		if (walk->action == BBM_ACTION_CONTINUE)
			continue;
		/* Leaves and present-invalid entries have nothing below. */
		entry = bbm_load_acquire(ptep);
		if (!bbm_desc_table(entry, level) ||
		    !walk_wants_below(ops, level))
			continue;
		err = walk_level(bbm_map_table(walk->map, entry), addr, next,
				 level + 1, walk);
		if (err)
			break;
	} while (ptep++, addr = next, addr != end);
	return err;
}

int bbm_walk_range(struct bbm_map *map, uint64_t start, uint64_t end,
		   const struct bbm_walk_ops *ops, void *private)
{
	struct bbm_walk walk = {
		.ops = ops,
		.map = map,
		.private = private,
	};

	if (start >= end)
		return 0;
	return walk_level(bbm_map_pgd(map), start, end, BBM_PGD, &walk);
}
