/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the map suites (split, pageattr, fold, walk) share: sizes, a cheap
 * assertion for hot loops, the entry at a level for a VA, and snapshots of
 * the whole linear region through the range walker, to prove a failed or
 * refused call left the map exactly as it was.
 */
#ifndef BBM_TESTS_MAP_SNAP_H
#define BBM_TESTS_MAP_SNAP_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/map.h"

#define SZ_4K (1ull << 12)
#define SZ_64K (1ull << 16)
#define SZ_1M (1ull << 20)
#define SZ_2M (1ull << 21)
#define SZ_32M (1ull << 25)
#define SZ_1G (1ull << 30)
#define PO BBM_PAGE_OFFSET
#define ULL(x) ((unsigned long long)(x))

/* ck_assert writes a checkpoint per call: too slow for hot loops. */
#define CHECK(cond, ...)                                                 \
	do {                                                             \
		if (!(cond))                                             \
			ck_abort_msg(__VA_ARGS__);                       \
	} while (0)

struct snap_ent {
	int level;
	uint64_t va;
	bbm_desc_t desc;
};

struct snap {
	struct snap_ent *e;
	size_t nr, cap;
	uint64_t in_use[BBM_LEVELS];
	uint64_t alloc_attempts;
};

/* The entry at @level for @va, through tables that must be there. */
bbm_desc_t *desc_at(struct bbm_map *map, uint64_t va, int level);

/* Take every non-empty entry of the linear region and the table counts. */
void snap_take(struct bbm_map *map, struct snap *s);
/* Free a snapshot's entries and zero it. */
void snap_free(struct snap *s);
/* Whether @a and @b hold the same entries and table counts. */
bool snap_same(const struct snap *a, const struct snap *b);
/* Fail unless @a and @b hold the same entries and table counts. */
void snap_assert_equal(const struct snap *a, const struct snap *b);
/* Fail unless @map is exactly as @before was taken. */
void assert_unchanged(struct bbm_map *map, const struct snap *before);

#endif /* BBM_TESTS_MAP_SNAP_H */
