/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hardware-walk emulation: translate one VA the way an MMU does, with one
 * acquire load per level and nothing else on the path.  Reader CPUs call it
 * on every TLB miss, inside an RCU read-side section.
 */
#ifndef BBM_HWWALK_H
#define BBM_HWWALK_H

#include "core/map.h"

enum bbm_walk_status {
	BBM_WALK_OK,		/* a valid leaf: pa, attrs, level, size */
	BBM_WALK_FAULT,		/* translation fault at @level on @desc */
	BBM_WALK_POISON,	/* read a freed table page's poison */
};

struct bbm_hw_walk {
	enum bbm_walk_status status;
	int level;			/* leaf or faulting level */
	bbm_desc_t desc;		/* leaf or faulting descriptor */
	uint64_t pa;			/* output address of the VA */
	uint64_t table_pa[BBM_LEVELS];	/* table read at each level */
	bbm_desc_t descs[BBM_LEVELS];	/* descriptor read at each level */
};

/*
 * Walk @va from the root.  A descriptor is usable by hardware only if VALID:
 * a table at levels 0-2, a block at levels 1-2, a page at level 3; anything
 * else is a translation fault (present-invalid included).
 */
static inline enum bbm_walk_status
bbm_hw_walk(const struct bbm_map *map, uint64_t va, struct bbm_hw_walk *w)
{
	uint64_t table_pa = map->pgd_pa;
	bbm_desc_t d;
	int level;

	for (level = BBM_PGD; level < BBM_LEVELS; level++) {
		w->table_pa[level] = table_pa;
		d = bbm_load_acquire(
			&bbm_arena_table(map->arena,
					 table_pa)[bbm_index(va, level)]);
		w->descs[level] = d;
		if (__builtin_expect(d == BBM_POISON, 0))
			goto out_poison;
		if (!(d & BBM_VALID))
			goto out_fault;
		if (level == BBM_PTE) {
			if ((d & BBM_TYPE_MASK) != BBM_TYPE_PAGE)
				goto out_fault;
			break;
		}
		if ((d & BBM_TYPE_MASK) == BBM_TYPE_BLOCK) {
			if (level == BBM_PGD)
				goto out_fault;
			break;
		}
		table_pa = bbm_desc_oa(d);
		/* A garbage table address would read outside the arena. */
		if (__builtin_expect(!bbm_arena_contains(map->arena, table_pa),
				     0))
			goto out_fault;
	}
	w->level = level;
	w->desc = d;
	w->pa = bbm_desc_oa(d) + (va & (bbm_level_size(level) - 1));
	return w->status = BBM_WALK_OK;

out_fault:
	w->level = level;
	w->desc = d;
	return w->status = BBM_WALK_FAULT;
out_poison:
	w->level = level;
	w->desc = d;
	return w->status = BBM_WALK_POISON;
}

#endif /* BBM_HWWALK_H */
