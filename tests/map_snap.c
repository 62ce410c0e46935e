// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-tree snapshots through the walker, and desc_at() (see map_snap.h).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "core/pagewalk.h"
#include "map_snap.h"

/* The entry at @level for @va, through tables that must be there. */
bbm_desc_t *desc_at(struct bbm_map *map, uint64_t va, int level)
{
	bbm_desc_t *table = bbm_map_pgd(map), d;
	int lvl;

	for (lvl = BBM_PGD; lvl < level; lvl++) {
		d = table[bbm_index(va, lvl)];
		CHECK(bbm_desc_table(d, lvl), "va %#llx L%d: %#llx not a table",
		      ULL(va), lvl, ULL(d));
		table = bbm_map_table(map, d);
	}
	return &table[bbm_index(va, level)];
}

static void snap_add(struct snap *s, int level, uint64_t va, bbm_desc_t d)
{
	if (s->nr == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->e = realloc(s->e, s->cap * sizeof(*s->e));
		CHECK(s->e, "out of memory");
	}
	s->e[s->nr].level = level;
	s->e[s->nr].va = va;
	s->e[s->nr].desc = d;
	s->nr++;
}

#define SNAP_ENTRY(name, level)                                          \
	static int name(bbm_desc_t *ptep, uint64_t addr, uint64_t next,  \
			struct bbm_walk *walk)                           \
	{                                                                \
		(void)next;                                              \
		snap_add(walk->private, level, addr,                     \
			 bbm_load_relaxed(ptep));                        \
		return 0;                                                \
	}
SNAP_ENTRY(snap_pgd, BBM_PGD)
SNAP_ENTRY(snap_pud, BBM_PUD)
SNAP_ENTRY(snap_pmd, BBM_PMD)
SNAP_ENTRY(snap_pte, BBM_PTE)

static const struct bbm_walk_ops snap_ops = {
	.pgd_entry = snap_pgd,
	.pud_entry = snap_pud,
	.pmd_entry = snap_pmd,
	.pte_entry = snap_pte,
};

/* Every non-empty entry of the whole linear region, top down, in order. */
void snap_take(struct bbm_map *map, struct snap *s)
{
	int level;

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(bbm_walk_range(map, PO, BBM_LINEAR_END, &snap_ops, s),
			 0);
	for (level = BBM_PGD; level < BBM_LEVELS; level++)
		s->in_use[level] = bbm_arena_in_use(map->arena, level);
	s->alloc_attempts = map->arena->alloc_attempts;
}

/* Free a snapshot's entries and zero it. */
void snap_free(struct snap *s)
{
	free(s->e);
	memset(s, 0, sizeof(*s));
}

/* Whether @a and @b hold the same entries and table counts. */
bool snap_same(const struct snap *a, const struct snap *b)
{
	size_t i;
	int level;

	for (level = BBM_PGD; level < BBM_LEVELS; level++)
		if (a->in_use[level] != b->in_use[level])
			return false;
	if (a->nr != b->nr)
		return false;
	for (i = 0; i < a->nr; i++)
		if (a->e[i].level != b->e[i].level ||
		    a->e[i].va != b->e[i].va || a->e[i].desc != b->e[i].desc)
			return false;
	return true;
}

/* Same entries, same descriptors, same table accounting. */
void snap_assert_equal(const struct snap *a, const struct snap *b)
{
	size_t i;
	int level;

	for (level = BBM_PGD; level < BBM_LEVELS; level++)
		CHECK(a->in_use[level] == b->in_use[level],
		      "level %d tables: %llu vs %llu", level,
		      ULL(a->in_use[level]), ULL(b->in_use[level]));
	CHECK(a->nr == b->nr, "snapshot sizes %zu vs %zu", a->nr, b->nr);
	for (i = 0; i < a->nr; i++)
		CHECK(a->e[i].level == b->e[i].level &&
			      a->e[i].va == b->e[i].va &&
			      a->e[i].desc == b->e[i].desc,
		      "entry %zu: L%d %#llx %#llx vs L%d %#llx %#llx", i,
		      a->e[i].level, ULL(a->e[i].va), ULL(a->e[i].desc),
		      b->e[i].level, ULL(b->e[i].va), ULL(b->e[i].desc));
}

/* The map is exactly as @before was taken: entries and table counts. */
void assert_unchanged(struct bbm_map *map, const struct snap *before)
{
	struct snap now;

	snap_take(map, &now);
	snap_assert_equal(before, &now);
	snap_free(&now);
}
