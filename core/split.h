/* SPDX-License-Identifier: GPL-2.0 */
/*
 * split_kernel_leaf_mapping() and the repaint to PTEs
 * (arch/arm64/mm/mmu.c, v6.18+).  Splits are live: each new table is filled
 * completely before one store publishes it, with no invalid step and no TLBI
 * (the map's replace_entries hook may impose another split method).
 */
#ifndef BBM_SPLIT_H
#define BBM_SPLIT_H

#include "core/map.h"

/*
 * Make @start and @end leaf boundaries.  Returns 0 when done or when the
 * policy gate says not to split, the gate's error (-EBUSY), -EINVAL on
 * unaligned input, or -ENOMEM (the live entry untouched; finer splits
 * already made on the path stay, as equivalent mappings).
 */
int bbm_split_kernel_leaf_mapping(struct bbm_map *map, uint64_t start,
				  uint64_t end);

/* split_kernel_leaf_mapping_locked(): make @addr a leaf boundary. */
int bbm_split_leaf_locked(struct bbm_map *map, uint64_t addr);

/*
 * linear_map_split_to_ptes()'s work on the boot CPU: every block to plain
 * PTEs, every CONT bit cleared, then a flush of the whole map.  The caller
 * provides the stop_machine() around it.  -ENOMEM (the kernel panics).
 */
int bbm_split_to_ptes(struct bbm_map *map);
/* The walk alone: split_lock held, no flush (for inside stop_machine()). */
int bbm_split_to_ptes_locked(struct bbm_map *map);

#endif /* BBM_SPLIT_H */
