/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The map object: one linear map of @mem_size bytes of RAM from PA 0, its
 * table pages, its split lock, the hooks through which the concurrent parts
 * (policy gate, split method, TLB flush, deferred free) plug in, and map_mem.
 */
#ifndef BBM_MAP_H
#define BBM_MAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/pte.h"
#include "core/report.h"

struct bbm_map;

/*
 * Hooks.  A NULL member gets the single-threaded default given in brackets.
 */
struct bbm_map_ops {
	/*
	 * The policy gate at the top of split_kernel_leaf_mapping(): 1 to
	 * split, 0 to return 0 without splitting, or a negative errno to
	 * return (the hook reports its own warning).  [always 1]
	 */
	int (*split_gate)(struct bbm_map *map, uint64_t start, uint64_t end);
	/*
	 * Replace the @nr live entries from @ptep (the first maps @va) by
	 * @new[]: an equivalent mapping of another block size or CONT state,
	 * the step a split or a fold makes (a table publish is @nr == 1, a
	 * CONT change @nr == 16).  [release stores in order: BBML2's way]
	 */
	void (*replace_entries)(struct bbm_map *map, bbm_desc_t *ptep,
				const bbm_desc_t *new, int nr, uint64_t va,
				int level);
	/* flush_tlb_kernel_range(): broadcast, complete on return.  [none] */
	void (*flush_tlb_range)(struct bbm_map *map, uint64_t start,
				uint64_t end);
	/* An unlinked table page is no longer needed.  [freed at once] */
	void (*free_table)(struct bbm_map *map, uint64_t table_pa);
	/*
	 * Take split_lock, the kernel's pgtable_split_lock (a sleeping
	 * mutex: the stress harness lets stop_machine() see the waiter as
	 * parked).  [pthread_mutex_lock]
	 */
	void (*lock_split)(struct bbm_map *map);
	/*
	 * A lockless walker is about to write into a table it has just
	 * reached: where a preempted kernel thread would pause.  [nothing]
	 */
	void (*walk_pause)(struct bbm_map *map, uint64_t addr);
	/* The realm monitor flips [start, end) to shared or private.  [ok] */
	int (*rsi_set_state)(struct bbm_map *map, uint64_t start, uint64_t end,
			     bool shared);
};

struct bbm_map {
	struct bbm_arena *arena;
	uint64_t pgd_pa;		/* root table */
	uint64_t mem_size;		/* RAM bytes mapped from PA 0 */
	uint64_t end;			/* PAGE_OFFSET + mem_size */
	bool pte_only;			/* built by force_pte_mapping */
	pthread_mutex_t split_lock;	/* pgtable_split_lock */
	struct bbm_map_ops ops;
	void *priv;			/* for the hooks */
	struct bbm_report *report;	/* warnings go here */
	bool own_report;
	struct bbm_report default_report;
	uint32_t rsi_fail_next;		/* default RSI stub: fail this many */
};

/*
 * Build the linear map of @mem_size bytes (a multiple of 4 KiB, at least
 * 2 MiB) as map_mem() does: the largest mappings alignment allows, or PTEs
 * only when @pte_only (force_pte_mapping: no blocks, no CONT).  @report may be
 * NULL for a private one without a sink.  NULL on bad size or no memory.
 */
struct bbm_map *bbm_map_create(uint64_t mem_size, bool pte_only,
			       const struct bbm_map_ops *ops, void *priv,
			       struct bbm_report *report);
void bbm_map_destroy(struct bbm_map *map);

/* Arena pages a map of @mem_size is given: a full PTE map, twice, + slack. */
uint64_t bbm_map_arena_pages(uint64_t mem_size);

/* The root table's descriptors. */
static inline bbm_desc_t *bbm_map_pgd(const struct bbm_map *map)
{
	return bbm_arena_table(map->arena, map->pgd_pa);
}

/* The table a table descriptor points to. */
static inline bbm_desc_t *bbm_map_table(const struct bbm_map *map,
					bbm_desc_t table_desc)
{
	return bbm_arena_table(map->arena, bbm_desc_oa(table_desc));
}

static inline bool bbm_map_contains(const struct bbm_map *map, uint64_t va)
{
	return va >= BBM_PAGE_OFFSET && va < map->end;
}

/* The output address the linear map must give @va. */
static inline uint64_t bbm_linear_pa(uint64_t va)
{
	return va - BBM_PAGE_OFFSET;
}

/* Hook wrappers: call the hook or its default. */
void bbm_map_replace_entries(struct bbm_map *map, bbm_desc_t *ptep,
			     const bbm_desc_t *new, int nr, uint64_t va,
			     int level);
void bbm_map_flush_tlb_range(struct bbm_map *map, uint64_t start,
			     uint64_t end);
void bbm_map_free_table(struct bbm_map *map, uint64_t table_pa);

/* pgtable_split_lock: held for every structural change of the tables. */
void bbm_map_lock_split(struct bbm_map *map);
void bbm_map_unlock_split(struct bbm_map *map);

/* Allocate a zeroed table page for @level; -ENOMEM. */
int bbm_map_alloc_table(struct bbm_map *map, int level, uint64_t *pa);

#endif /* BBM_MAP_H */
