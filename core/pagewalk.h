/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The software range walker, shaped like the kernel's
 * walk_kernel_page_table_range_lockless() (include/linux/pagewalk.h):
 * per-level callbacks (entry, addr, next, walk), an action, a private pointer.
 * pageattr, the repaint, collapse and ptdump are its clients.
 */
#ifndef BBM_PAGEWALK_H
#define BBM_PAGEWALK_H

#include <stdint.h>

#include "core/map.h"

enum bbm_walk_action {
	BBM_ACTION_SUBTREE = 0,	/* descend into the entry if it is a table */
	BBM_ACTION_CONTINUE,	/* do not descend: go to the next entry */
	BBM_ACTION_AGAIN,	/* call this entry's callback again */
};

struct bbm_walk;

typedef int (*bbm_walk_entry_fn)(bbm_desc_t *ptep, uint64_t addr,
				 uint64_t next, struct bbm_walk *walk);

struct bbm_walk_ops {
	bbm_walk_entry_fn pgd_entry;
	bbm_walk_entry_fn pud_entry;
	bbm_walk_entry_fn pmd_entry;
	bbm_walk_entry_fn pte_entry;
	/* A run [addr, next) of empty entries at @level. */
	int (*pte_hole)(uint64_t addr, uint64_t next, int level,
			struct bbm_walk *walk);
};

struct bbm_walk {
	const struct bbm_walk_ops *ops;
	struct bbm_map *map;
	enum bbm_walk_action action;
	void *private;
};

/*
 * Walk [@start, @end) of @map's tables without taking any lock: each caller
 * owns its range.  Stops at the first callback that returns non-zero and
 * returns that value; 0 when the whole range was walked.
 */
int bbm_walk_range(struct bbm_map *map, uint64_t start, uint64_t end,
		   const struct bbm_walk_ops *ops, void *private);

#endif /* BBM_PAGEWALK_H */
