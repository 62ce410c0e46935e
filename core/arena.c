// SPDX-License-Identifier: GPL-2.0
/* Table-page arena: allocation, poisoned free, accounting, fault injection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/arena.h"

struct bbm_arena *bbm_arena_create(uint64_t nr_pages)
{
	struct bbm_arena *arena;
	size_t bytes = nr_pages * BBM_PAGE_SIZE;

	if (!nr_pages || nr_pages > UINT32_MAX)
		return NULL;
	arena = calloc(1, sizeof(*arena));
	if (!arena)
		return NULL;
	/* Reserve address space only: pages cost memory once touched. */
	arena->words = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena->words == MAP_FAILED)
		goto out_free_arena;
	arena->gen = calloc(nr_pages, sizeof(*arena->gen));
	arena->level = calloc(nr_pages, sizeof(*arena->level));
	arena->free_fifo = calloc(nr_pages, sizeof(*arena->free_fifo));
	if (!arena->gen || !arena->level || !arena->free_fifo)
		goto out_free_meta;
	arena->nr_pages = nr_pages;
	pthread_mutex_init(&arena->lock, NULL);
	return arena;

out_free_meta:
	free(arena->gen);
	free(arena->level);
	free(arena->free_fifo);
	munmap(arena->words, bytes);
out_free_arena:
	free(arena);
	return NULL;
}

void bbm_arena_destroy(struct bbm_arena *arena)
{
	if (!arena)
		return;
	munmap(arena->words, arena->nr_pages * BBM_PAGE_SIZE);
	free(arena->gen);
	free(arena->level);
	free(arena->free_fifo);
	pthread_mutex_destroy(&arena->lock);
	free(arena);
}

/* Decide, under the lock, whether this attempt is made to fail. */
static bool arena_inject_failure(struct bbm_arena *arena)
{
	uint64_t x;

	arena->alloc_attempts++;
	if (arena->fail_nth && arena->alloc_attempts == arena->fail_nth) {
		arena->fail_nth = 0;
		return true;
	}
	if (!arena->fail_per_million)
		return false;
	/* splitmix64 step: a private stream, independent of the callers'. */
	x = (arena->fail_rng += 0x9e3779b97f4a7c15ull);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x % 1000000 < arena->fail_per_million;
}

int bbm_arena_alloc(struct bbm_arena *arena, int level, uint64_t *pa)
{
	uint64_t pfn, used = 0;
	int lvl;

	pthread_mutex_lock(&arena->lock);
	if (arena_inject_failure(arena))
		goto out_enomem;
	if (arena->next_fresh < arena->nr_pages) {
		pfn = arena->next_fresh++;
	} else if (arena->free_count) {
		pfn = arena->free_fifo[arena->free_head];
		arena->free_head = (arena->free_head + 1) % arena->nr_pages;
		arena->free_count--;
	} else {
		goto out_enomem;
	}
	arena->level[pfn] = level;
	arena->in_use[level]++;
	for (lvl = 0; lvl < BBM_LEVELS; lvl++)
		used += arena->in_use[lvl];
	if (used > arena->peak_in_use)
		arena->peak_in_use = used;
	pthread_mutex_unlock(&arena->lock);

	memset(arena->words + pfn * BBM_PTRS_PER_TABLE, 0, BBM_PAGE_SIZE);
	/* Odd generation: allocated.  Release orders the zeroing before. */
	bbm_store_release(&arena->gen[pfn], arena->gen[pfn] + 1);
	*pa = BBM_ARENA_BASE_PA + (pfn << BBM_PAGE_SHIFT);
	return 0;

out_enomem:
	arena->failed++;
	pthread_mutex_unlock(&arena->lock);
	return -ENOMEM;
}

void bbm_arena_free(struct bbm_arena *arena, uint64_t pa)
{
	uint64_t pfn = bbm_arena_pfn(arena, pa);
	bbm_desc_t *words = bbm_arena_table(arena, pa);
	int i;

	/* Even generation first, so a walker that sees poison sees it freed. */
	bbm_store_release(&arena->gen[pfn], arena->gen[pfn] + 1);
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
		bbm_store_relaxed(&words[i], BBM_POISON);

	pthread_mutex_lock(&arena->lock);
	arena->in_use[arena->level[pfn]]--;
	/* FIFO: a freed page is reused as late as possible. */
	arena->free_fifo[(arena->free_head + arena->free_count) %
			 arena->nr_pages] = pfn;
	arena->free_count++;
	pthread_mutex_unlock(&arena->lock);
}

void bbm_arena_fail_nth(struct bbm_arena *arena, uint64_t nth)
{
	pthread_mutex_lock(&arena->lock);
	arena->fail_nth = nth ? arena->alloc_attempts + nth : 0;
	pthread_mutex_unlock(&arena->lock);
}

void bbm_arena_fail_random(struct bbm_arena *arena, uint32_t per_million,
			   uint64_t seed)
{
	pthread_mutex_lock(&arena->lock);
	arena->fail_per_million = per_million;
	arena->fail_rng = seed;
	pthread_mutex_unlock(&arena->lock);
}

uint64_t bbm_arena_in_use(struct bbm_arena *arena, int level)
{
	uint64_t n;

	pthread_mutex_lock(&arena->lock);
	n = arena->in_use[level];
	pthread_mutex_unlock(&arena->lock);
	return n;
}

uint64_t bbm_arena_total_in_use(struct bbm_arena *arena)
{
	uint64_t n = 0;
	int level;

	pthread_mutex_lock(&arena->lock);
	for (level = 0; level < BBM_LEVELS; level++)
		n += arena->in_use[level];
	pthread_mutex_unlock(&arena->lock);
	return n;
}

uint64_t bbm_arena_overhead_bytes(const struct bbm_arena *arena)
{
	/*
	 * The per-page arrays are reserved for the whole arena but, zeroed
	 * anonymous memory, take memory only where used: pages ever handed
	 * out.
	 */
	return bbm_load_relaxed(&arena->next_fresh) *
		       (sizeof(*arena->gen) + sizeof(*arena->level) +
			sizeof(*arena->free_fifo)) +
	       sizeof(*arena);
}
