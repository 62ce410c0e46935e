/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table pages: a fixed arena of 4 KiB pages addressed by emulated physical
 * address.  Freed pages are poisoned and their generation bumped, so that a
 * walker reading a freed or reused page can tell; allocation can be made to
 * fail on purpose to exercise -ENOMEM paths.
 */
#ifndef BBM_ARENA_H
#define BBM_ARENA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/access.h"
#include "core/pte.h"

/* Table pages live above any RAM the model maps (up to 64 TiB). */
#define BBM_ARENA_BASE_PA (1ull << 46)

struct bbm_arena {
	bbm_desc_t *words;	/* nr_pages pages of 512 descriptors */
	uint32_t *gen;		/* per page: odd while allocated */
	uint8_t *level;		/* per page: level of the table it holds */
	uint64_t nr_pages;
	pthread_mutex_t lock;	/* free FIFO, fresh cursor, fault injection */
	uint32_t *free_fifo;	/* freed page numbers, oldest first */
	uint64_t free_head, free_count;
	uint64_t next_fresh;	/* pages from here on were never used */
	uint64_t in_use[BBM_LEVELS];
	uint64_t peak_in_use;
	uint64_t alloc_attempts;
	uint64_t fail_nth;	/* fail the attempt with this number (1-based) */
	uint32_t fail_per_million;	/* fail each attempt with p = x / 1e6 */
	uint64_t fail_rng;
	uint64_t failed;
};

struct bbm_arena *bbm_arena_create(uint64_t nr_pages);
void bbm_arena_destroy(struct bbm_arena *arena);

/* A zeroed table page for @level, or -ENOMEM (also when injected). */
int bbm_arena_alloc(struct bbm_arena *arena, int level, uint64_t *pa);

/* Poison the page and bump its generation; its number is reused last. */
void bbm_arena_free(struct bbm_arena *arena, uint64_t pa);

/* Fail the @nth allocation attempt from now (0: off). */
void bbm_arena_fail_nth(struct bbm_arena *arena, uint64_t nth);

/* Fail each allocation with probability @per_million / 1e6 (0: off). */
void bbm_arena_fail_random(struct bbm_arena *arena, uint32_t per_million,
			   uint64_t seed);

uint64_t bbm_arena_in_use(struct bbm_arena *arena, int level);
uint64_t bbm_arena_total_in_use(struct bbm_arena *arena);

/* Bytes of bookkeeping the arena keeps beside its table pages. */
uint64_t bbm_arena_overhead_bytes(const struct bbm_arena *arena);

static inline uint64_t bbm_arena_pfn(const struct bbm_arena *arena,
				     uint64_t pa)
{
	(void)arena;
	return (pa - BBM_ARENA_BASE_PA) >> BBM_PAGE_SHIFT;
}

/* True if @pa is the address of a page inside the arena. */
static inline bool bbm_arena_contains(const struct bbm_arena *arena,
				      uint64_t pa)
{
	return pa >= BBM_ARENA_BASE_PA &&
	       bbm_arena_pfn(arena, pa) < arena->nr_pages &&
	       !(pa & (BBM_PAGE_SIZE - 1));
}

/* The 512 descriptors of the table page at @pa. */
static inline bbm_desc_t *bbm_arena_table(const struct bbm_arena *arena,
					  uint64_t pa)
{
	return arena->words + bbm_arena_pfn(arena, pa) * BBM_PTRS_PER_TABLE;
}

/* The page's generation: odd while allocated, even while free. */
static inline uint32_t bbm_arena_gen(const struct bbm_arena *arena,
				     uint64_t pa)
{
	return bbm_load_acquire(&arena->gen[bbm_arena_pfn(arena, pa)]);
}

#endif /* BBM_ARENA_H */
