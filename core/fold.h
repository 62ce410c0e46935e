/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collapse (option 3's fold): the inverse of a split.  A table whose 512
 * entries are valid leaves with identical attributes (CONT aside) and
 * contiguous outputs becomes one block; an aligned uniform group of 16
 * leaves gets CONT.  The kernel never folds the linear map; this is the
 * model's, for option 3 and the collapser threads.
 */
#ifndef BBM_FOLD_H
#define BBM_FOLD_H

#include "core/map.h"

/*
 * Fold the table under *@ptep (an entry at @level mapping @addr) into one
 * block if it can be: store the block, flush the range, hand the old table
 * to the map's free_table hook.  1 if folded, 0 if not foldable.
 * The caller holds map->split_lock.
 */
int bbm_fold_table(struct bbm_map *map, bbm_desc_t *ptep, uint64_t addr,
		   int level);

/*
 * Set CONT on the aligned group of 16 leaves containing *@ptep at @level
 * (PMD or PTE) if they are uniform.  1 if set, 0 if not.  Holds as above.
 */
int bbm_fold_cont(struct bbm_map *map, bbm_desc_t *ptep, uint64_t addr,
		  int level);

/*
 * Collapse everything foldable in [start, end), bottom up; takes
 * map->split_lock.  Returns the number of folds and CONT groups made.
 */
long bbm_collapse_range(struct bbm_map *map, uint64_t start, uint64_t end);

#endif /* BBM_FOLD_H */
