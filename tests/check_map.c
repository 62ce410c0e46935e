// SPDX-License-Identifier: GPL-2.0
/* core/map: map_mem's shapes, table accounting, bad sizes. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "core/map.h"

Suite *make_map_suite(void);

#define SZ_1M (1ull << 20)
#define SZ_1G (1ull << 30)
#define TABLE_BITS (BBM_TYPE_TABLE | BBM_TABLE_HINTS(BBM_PROT_KERNEL))

/* ck_assert without its per-call checkpoint write, for hot loops. */
#define fast_assert(expr, ...)                                           \
	do {                                                             \
		if (!(expr))                                             \
			ck_abort_msg(__VA_ARGS__);                       \
	} while (0)

struct shape {
	uint64_t leaves[BBM_LEVELS];	/* plain leaves per level */
	uint64_t cont[BBM_LEVELS];	/* CONT leaves per level */
	uint64_t tables[BBM_LEVELS];	/* table pages holding each level */
};

/*
 * DOMAIN.md section 4's map_mem, written independently of core/map.c: the
 * level and CONT state of the leaf mapping @pa in @mem bytes of RAM from 0.
 */
static int expect_leaf(uint64_t mem, bool pte_only, uint64_t pa, bool *cont)
{
	static const struct {
		int level;
		uint64_t size;
		bool cont;
	} order[] = {
		{ BBM_PUD, BBM_PUD_SIZE, false },
		{ BBM_PMD, BBM_CONT_PMD_SIZE, true },
		{ BBM_PMD, BBM_PMD_SIZE, false },
		{ BBM_PTE, BBM_CONT_PTE_SIZE, true },
	};
	unsigned int i;

	*cont = false;
	if (pte_only)
		return BBM_PTE;
	/* The largest aligned region around @pa that RAM covers whole. */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((pa & ~(order[i].size - 1)) + order[i].size <= mem) {
			*cont = order[i].cont;
			return order[i].level;
		}
	}
	return BBM_PTE;
}

/* The entry at @level for @va, through tables that must be there. */
static bbm_desc_t *desc_at(struct bbm_map *map, uint64_t va, int level)
{
	bbm_desc_t *table = bbm_map_pgd(map), d;
	int lvl;

	for (lvl = BBM_PGD; lvl < level; lvl++) {
		d = table[bbm_index(va, lvl)];
		fast_assert(bbm_desc_table(d, lvl),
			    "va %#llx level %d: %#llx is not a table",
			    (unsigned long long)va, lvl,
			    (unsigned long long)d);
		table = bbm_map_table(map, d);
	}
	return &table[bbm_index(va, level)];
}

/* Count tables, leaves and CONT leaves in the tree under @table. */
static void census(struct bbm_map *map, bbm_desc_t *table, int level,
		   struct shape *shape)
{
	bbm_desc_t d;
	int i;

	shape->tables[level]++;
	for (i = 0; i < BBM_PTRS_PER_TABLE; i++) {
		d = table[i];
		if (!d)
			continue;
		if (bbm_desc_table(d, level)) {
			fast_assert((d & ~BBM_OA_MASK) == TABLE_BITS,
				    "table descriptor %#llx",
				    (unsigned long long)d);
			census(map, bbm_map_table(map, d), level + 1, shape);
		} else if (bbm_desc_cont(d)) {
			shape->cont[level]++;
		} else {
			shape->leaves[level]++;
		}
	}
}

/*
 * Check every leaf of @map against expect_leaf(), the census against the
 * arena's accounting, and return the census.
 */
static void verify_map(struct bbm_map *map, struct shape *shape)
{
	uint64_t pa, size, va;
	bbm_desc_t want;
	int level;
	bool cont;

	for (pa = 0; pa < map->mem_size; pa += size) {
		va = BBM_PAGE_OFFSET + pa;
		level = expect_leaf(map->mem_size, map->pte_only, pa, &cont);
		size = bbm_level_size(level);
		want = bbm_mk_leaf(level, pa, BBM_PROT_KERNEL) |
		       (cont ? BBM_CONT : 0);
		fast_assert(*desc_at(map, va, level) == want,
			    "va %#llx level %d: %#llx, want %#llx",
			    (unsigned long long)va, level,
			    (unsigned long long)*desc_at(map, va, level),
			    (unsigned long long)want);
	}
	memset(shape, 0, sizeof(*shape));
	census(map, bbm_map_pgd(map), BBM_PGD, shape);
	for (level = BBM_PGD; level < BBM_LEVELS; level++)
		ck_assert_uint_eq(bbm_arena_in_use(map->arena, level),
				  shape->tables[level]);
}

/* Nothing is mapped from the map's end to the end of its last tables. */
static void verify_end_empty(struct bbm_map *map)
{
	bbm_desc_t *table = bbm_map_pgd(map), d;
	uint64_t va = map->end;
	unsigned int i;
	int level;

	for (level = BBM_PGD; level < BBM_LEVELS; level++) {
		for (i = bbm_index(va, level) + 1; i < BBM_PTRS_PER_TABLE; i++)
			fast_assert(!table[i], "entry %u at level %d after end",
				    i, level);
		d = table[bbm_index(va, level)];
		if (!bbm_desc_table(d, level)) {
			ck_assert_uint_eq(d, 0);
			return;
		}
		table = bbm_map_table(map, d);
	}
}

static struct bbm_map *make_map(uint64_t size, bool pte_only)
{
	struct bbm_map *map = bbm_map_create(size, pte_only, NULL, NULL, NULL);

	ck_assert_ptr_nonnull(map);
	ck_assert_uint_eq(map->mem_size, size);
	ck_assert_uint_eq(map->end, BBM_PAGE_OFFSET + size);
	return map;
}

START_TEST(test_12g_pud_blocks)
{
	struct bbm_map *map = make_map(12 * SZ_1G, false);
	bbm_desc_t *puds;
	struct shape s;
	int i;

	verify_map(map, &s);
	verify_end_empty(map);
	ck_assert_uint_eq(s.leaves[BBM_PUD], 12);
	ck_assert_uint_eq(s.leaves[BBM_PMD] + s.leaves[BBM_PTE], 0);
	ck_assert_uint_eq(s.tables[BBM_PGD], 1);
	ck_assert_uint_eq(s.tables[BBM_PUD], 1);
	ck_assert_uint_eq(s.tables[BBM_PMD] + s.tables[BBM_PTE], 0);
	/* PGD[0] -> one PUD table with blocks 0..11, nothing after. */
	ck_assert_uint_eq(bbm_map_pgd(map)[0] & ~BBM_OA_MASK, TABLE_BITS);
	ck_assert_uint_eq(bbm_map_pgd(map)[1], 0);
	puds = bbm_map_table(map, bbm_map_pgd(map)[0]);
	for (i = 0; i < 12; i++)
		ck_assert_uint_eq(puds[i], i * SZ_1G | BBM_PROT_KERNEL);
	ck_assert_uint_eq(puds[12], 0);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_5000m_shape)
{
	struct bbm_map *map = make_map(5000 * SZ_1M, false);
	bbm_desc_t *puds, *pmds;
	struct shape s;
	int i;

	verify_map(map, &s);
	verify_end_empty(map);
	/*
	 * 5000M = 4G + 904M, and 904M = 28 * 32M + 8M: 4 PUD blocks, then a
	 * PMD table with 28 CONT_PMD groups (448 blocks) and 4 plain blocks.
	 */
	ck_assert_uint_eq(s.leaves[BBM_PUD], 4);
	ck_assert_uint_eq(s.cont[BBM_PMD], 28 * 16);
	ck_assert_uint_eq(s.leaves[BBM_PMD], 4);
	ck_assert_uint_eq(s.leaves[BBM_PTE] + s.cont[BBM_PTE], 0);
	ck_assert_uint_eq(s.tables[BBM_PMD], 1);
	ck_assert_uint_eq(s.tables[BBM_PTE], 0);

	puds = bbm_map_table(map, bbm_map_pgd(map)[0]);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(puds[i], i * SZ_1G | BBM_PROT_KERNEL);
	ck_assert_uint_eq(puds[4] & ~BBM_OA_MASK, TABLE_BITS);
	ck_assert_uint_eq(puds[5], 0);
	pmds = bbm_map_table(map, puds[4]);
	for (i = 0; i < 448; i++)
		ck_assert_uint_eq(pmds[i], (4 * SZ_1G + i * BBM_PMD_SIZE) |
						   BBM_PROT_KERNEL | BBM_CONT);
	for (i = 448; i < 452; i++)
		ck_assert_uint_eq(pmds[i], (4 * SZ_1G + i * BBM_PMD_SIZE) |
						   BBM_PROT_KERNEL);
	for (i = 452; i < BBM_PTRS_PER_TABLE; i++)
		ck_assert_uint_eq(pmds[i], 0);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_1t_two_pgd_entries)
{
	struct bbm_map *map = make_map(1024 * SZ_1G, false);
	bbm_desc_t *pgd = bbm_map_pgd(map), *puds;
	struct shape s;
	int i, j;

	verify_map(map, &s);
	verify_end_empty(map);
	ck_assert_uint_eq(s.leaves[BBM_PUD], 1024);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PGD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PUD), 2);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), 0);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 0);
	for (j = 0; j < 2; j++) {
		ck_assert_uint_eq(pgd[j] & ~BBM_OA_MASK, TABLE_BITS);
		puds = bbm_map_table(map, pgd[j]);
		for (i = 0; i < BBM_PTRS_PER_TABLE; i++)
			ck_assert_uint_eq(puds[i],
					  (j * 512ull + i) * SZ_1G |
						  BBM_PROT_KERNEL);
	}
	ck_assert_uint_eq(pgd[2], 0);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_68k_tail)
{
	/* 1G + 34M + 68K: PUD, CONT_PMD run, PMD, CONT_PTE run, one PTE. */
	uint64_t size = SZ_1G + 34 * SZ_1M + 68 * 1024;
	struct bbm_map *map = make_map(size, false);
	uint64_t tail = BBM_PAGE_OFFSET + SZ_1G + 34 * SZ_1M;
	bbm_desc_t *ptes;
	struct shape s;
	int i;

	verify_map(map, &s);
	verify_end_empty(map);
	ck_assert_uint_eq(s.leaves[BBM_PUD], 1);
	ck_assert_uint_eq(s.cont[BBM_PMD], 16);
	ck_assert_uint_eq(s.leaves[BBM_PMD], 1);
	ck_assert_uint_eq(s.cont[BBM_PTE], 16);
	ck_assert_uint_eq(s.leaves[BBM_PTE], 1);
	ck_assert_uint_eq(s.tables[BBM_PTE], 1);
	ck_assert_uint_eq(*desc_at(map, tail - BBM_PMD_SIZE, BBM_PMD),
			  (SZ_1G + 32 * SZ_1M) | BBM_PROT_KERNEL);
	ptes = desc_at(map, tail, BBM_PTE);
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(ptes[i],
				  bbm_mk_leaf(BBM_PTE,
					      bbm_linear_pa(tail) + i * 4096,
					      BBM_PROT_KERNEL) |
					  BBM_CONT);
	ck_assert_uint_eq(ptes[16], bbm_mk_leaf(BBM_PTE,
						bbm_linear_pa(tail) + 16 * 4096,
						BBM_PROT_KERNEL));
	ck_assert_uint_eq(ptes[17], 0);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_odd_sizes)
{
	/* Sizes that exercise each fallback; all checked against the rule. */
	static const uint64_t sizes[] = {
		2 * SZ_1M,
		2 * SZ_1M + 4096,
		2 * SZ_1M + 60 * 1024,
		3 * SZ_1M + 64 * 1024,
		34 * SZ_1M,
		SZ_1G - 4096,
		SZ_1G + 2 * SZ_1M + 128 * 1024 + 8192,
		2 * SZ_1G + 33 * SZ_1M,
	};
	struct bbm_map *map;
	struct shape s;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		map = make_map(sizes[i], false);
		verify_map(map, &s);
		verify_end_empty(map);
		bbm_map_destroy(map);
	}
}
END_TEST

START_TEST(test_pte_only_12g)
{
	struct bbm_map *map = make_map(12 * SZ_1G, true);
	struct shape s;
	int level;

	ck_assert(map->pte_only);
	verify_map(map, &s);
	verify_end_empty(map);
	for (level = BBM_PGD; level < BBM_PTE; level++)
		ck_assert_uint_eq(s.leaves[level] + s.cont[level], 0);
	ck_assert_uint_eq(s.cont[BBM_PTE], 0);
	ck_assert_uint_eq(s.leaves[BBM_PTE], 12 * SZ_1G / 4096);
	ck_assert_uint_eq(s.tables[BBM_PTE], 12 * 512);
	ck_assert_uint_eq(s.tables[BBM_PMD], 12);
	ck_assert_uint_eq(s.tables[BBM_PUD], 1);
	ck_assert_uint_eq(s.tables[BBM_PGD], 1);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_pte_only_256g_accounting)
{
	struct bbm_map *map = make_map(256 * SZ_1G, true);
	uint64_t va;

	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE), 131072);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PMD), 256);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PUD), 1);
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PGD), 1);
	/* 512 MiB of PTE tables: DOMAIN.md section 1's figure. */
	ck_assert_uint_eq(bbm_arena_in_use(map->arena, BBM_PTE) *
				  BBM_PAGE_SIZE,
			  512 * SZ_1M);
	/* Spot checks, one page in each GiB. */
	for (va = BBM_PAGE_OFFSET + 4096 * 77; va < map->end; va += SZ_1G)
		ck_assert_uint_eq(*desc_at(map, va, BBM_PTE),
				  bbm_mk_leaf(BBM_PTE, bbm_linear_pa(va),
					      BBM_PROT_KERNEL));
	verify_end_empty(map);
	bbm_map_destroy(map);
}
END_TEST

START_TEST(test_bad_sizes)
{
	ck_assert_ptr_null(bbm_map_create(0, false, NULL, NULL, NULL));
	ck_assert_ptr_null(bbm_map_create(SZ_1M, false, NULL, NULL, NULL));
	ck_assert_ptr_null(bbm_map_create(SZ_1M, true, NULL, NULL, NULL));
	ck_assert_ptr_null(bbm_map_create(2 * SZ_1M - 4096, false, NULL, NULL,
					  NULL));
	ck_assert_ptr_null(bbm_map_create(3 * SZ_1M + 512, false, NULL, NULL,
					  NULL));
	ck_assert_ptr_null(bbm_map_create(SZ_1G + 1, true, NULL, NULL, NULL));
	/* More than the linear region [PAGE_OFFSET, LINEAR_END) holds. */
	ck_assert_ptr_null(bbm_map_create(BBM_LINEAR_END - BBM_PAGE_OFFSET +
						  BBM_PUD_SIZE,
					  false, NULL, NULL, NULL));
}
END_TEST

Suite *make_map_suite(void)
{
	Suite *s = suite_create("map");
	TCase *tc = tcase_create("shapes");
	TCase *tc_big = tcase_create("large");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_12g_pud_blocks);
	tcase_add_test(tc, test_5000m_shape);
	tcase_add_test(tc, test_68k_tail);
	tcase_add_test(tc, test_odd_sizes);
	tcase_add_test(tc, test_bad_sizes);
	suite_add_tcase(s, tc);

	/* Big maps: a few seconds under sanitizers. */
	tcase_set_timeout(tc_big, 120);
	tcase_add_test(tc_big, test_1t_two_pgd_entries);
	tcase_add_test(tc_big, test_pte_only_12g);
	tcase_add_test(tc_big, test_pte_only_256g_accounting);
	suite_add_tcase(s, tc_big);
	return s;
}
