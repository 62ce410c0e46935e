// SPDX-License-Identifier: GPL-2.0
/*
 * ptdump and census: the kernel's format byte for byte (DOMAIN.md section 8)
 * on maps built as map_mem() builds them and reshaped by splits and
 * permission changes, and exact leaf and table counts.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "core/pageattr.h"
#include "core/ptdump.h"
#include "core/split.h"

Suite *make_ptdump_suite(void);

#define K(x) ((uint64_t)(x) << 10)
#define M(x) ((uint64_t)(x) << 20)
#define G(x) ((uint64_t)(x) << 30)
#define VA(off) (BBM_PAGE_OFFSET + (off))

#define START "---[ Linear Mapping start ]---\n"
#define END "---[ Linear Mapping end ]---\n"
/* PAGE_KERNEL's words for a block, a CONT block, a page, a CONT page. */
#define BLK "       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED\n"
#define CON_BLK "       RW NX SHD AF    CON BLK UXN    MEM/NORMAL-TAGGED\n"
#define PAGE "       RW NX SHD AF            UXN    MEM/NORMAL-TAGGED\n"
#define CON_PAGE "       RW NX SHD AF    CON     UXN    MEM/NORMAL-TAGGED\n"
#define RO_PAGE "       ro NX SHD AF            UXN    MEM/NORMAL-TAGGED\n"

static struct bbm_map *new_map(uint64_t mem_size, bool pte_only)
{
	struct bbm_map *map = bbm_map_create(mem_size, pte_only, NULL, NULL,
					     NULL);

	ck_assert_msg(map, "bbm_map_create(%llu, %s) failed",
		      (unsigned long long)mem_size,
		      pte_only ? "pte" : "blocks");
	return map;
}

/* The whole dump as one malloc'ed string. */
static char *dump(struct bbm_map *map)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	ck_assert_ptr_nonnull(f);
	ret = bbm_ptdump(map, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(ret == 0, "bbm_ptdump returned %d", ret);
	return buf;
}

/* Compare a whole dump, showing both on a mismatch. */
#define assert_dump(map, expected)                                       \
	do {                                                             \
		char *got_ = dump(map);                                  \
		ck_assert_msg(!strcmp(got_, (expected)),                 \
			      "dump differs.\n--- got:\n%s--- want:\n%s",   \
			      got_, (expected));                         \
		free(got_);                                              \
	} while (0)

/* One exact line (without its newline) must be in the dump. */
#define assert_has_line(text, line)                                      \
	ck_assert_msg(has_line((text), (line)),                          \
		      "line not in dump:\n%s\n--- dump:\n%s", (line), (text))

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

/* The leaf descriptor mapping @va, and its level. */
static bbm_desc_t *leaf_of(struct bbm_map *map, uint64_t va, int *level)
{
	bbm_desc_t *table = bbm_map_pgd(map), *ptep;
	int l;

	for (l = BBM_PGD;; l++) {
		ptep = &table[bbm_index(va, l)];
		if (l == BBM_PTE || !bbm_desc_table(bbm_load_relaxed(ptep), l))
			break;
		table = bbm_map_table(map, bbm_load_relaxed(ptep));
	}
	*level = l;
	return ptep;
}

/* The holes after a map that ends at 2M, 4M, 6M: PMD, PUD, PGD level. */
#define HOLES_AFTER(pmd_start, pmd_size)                                  \
	"0xffff0000" pmd_start "-0xffff000040000000        " pmd_size " PMD\n" \
	"0xffff000040000000-0xffff008000000000         511G PUD\n"           \
	"0xffff008000000000-0xffff800000000000      130560G PGD\n"

static const char dump_12g[] =
	START
	"0xffff000000000000-0xffff000300000000          12G PUD" BLK
	"0xffff000300000000-0xffff008000000000         500G PUD\n"
	"0xffff008000000000-0xffff800000000000      130560G PGD\n"
	END;

/* map_mem of 12 GiB: twelve 1G PUD blocks, holes at PUD and PGD level. */
START_TEST(test_dump_12g_blocks)
{
	struct bbm_map *map = new_map(G(12), false);

	assert_dump(map, dump_12g);
	bbm_map_destroy(map);
}
END_TEST

static const char dump_pte_6m[] =
	START
	"0xffff000000000000-0xffff000000600000           6M PTE" PAGE
	HOLES_AFTER("00600000", "1018M")
	END;

/* force_pte_mapping: one run of plain PTEs; holes at PMD, PUD, PGD. */
START_TEST(test_dump_pte_small)
{
	struct bbm_map *map = new_map(M(6), true);

	assert_dump(map, dump_pte_6m);
	bbm_map_destroy(map);
}
END_TEST

/* The example lines of DOMAIN.md section 8, verbatim. */
static const char *const domain_lines[] = {
	"0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED",
	"0xffff000000200000-0xffff000000210000          64K PTE       RW NX SHD AF    CON     UXN    MEM/NORMAL-TAGGED",
	"0xffff000004000000-0xffff000040000000         960M PMD       RW NX SHD AF    CON BLK UXN    MEM/NORMAL-TAGGED",
	"0xffff000040000000-0xffff000140000000           4G PUD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED",
	"0xffff000300000000-0xffff008000000000         500G PUD",
	"0xffff008000000000-0xffff800000000000      130560G PGD",
};

static const char dump_domain_example[] =
	START
	"0xffff000000000000-0xffff000000200000           2M PMD" BLK
	"0xffff000000200000-0xffff000000210000          64K PTE" CON_PAGE
	"0xffff000000210000-0xffff000000211000           4K PTE" RO_PAGE
	"0xffff000000211000-0xffff000000220000          60K PTE" PAGE
	"0xffff000000220000-0xffff000000400000        1920K PTE" CON_PAGE
	"0xffff000000400000-0xffff000003000000          44M PMD" BLK
	"0xffff000003000000-0xffff000003001000           4K PTE" RO_PAGE
	"0xffff000003001000-0xffff000003010000          60K PTE" PAGE
	"0xffff000003010000-0xffff000003200000        1984K PTE" CON_PAGE
	"0xffff000003200000-0xffff000004000000          14M PMD" BLK
	"0xffff000004000000-0xffff000040000000         960M PMD" CON_BLK
	"0xffff000040000000-0xffff000140000000           4G PUD" BLK
	"0xffff000140000000-0xffff000140001000           4K PTE" RO_PAGE
	"0xffff000140001000-0xffff000140010000          60K PTE" PAGE
	"0xffff000140010000-0xffff000140200000        1984K PTE" CON_PAGE
	"0xffff000140200000-0xffff000142000000          30M PMD" BLK
	"0xffff000142000000-0xffff000180000000         992M PMD" CON_BLK
	"0xffff000180000000-0xffff000300000000           6G PUD" BLK
	"0xffff000300000000-0xffff008000000000         500G PUD\n"
	"0xffff008000000000-0xffff800000000000      130560G PGD\n"
	END;

/*
 * The DOMAIN.md example (a 12 GiB VM after three single-page set_memory_ro
 * calls): each page split splits only its less aligned end, breaking the
 * PUD into CONT PMDs, the CONT_PMD group, the PMD into CONT PTEs and the
 * CONT_PTE group on its way down.
 */
START_TEST(test_dump_domain_example)
{
	struct bbm_map *map = new_map(G(12), false);
	char *text;
	size_t i;

	ck_assert_int_eq(bbm_set_memory_ro(map, VA(0x210000), 1), 0);
	ck_assert_int_eq(bbm_set_memory_ro(map, VA(0x3000000), 1), 0);
	ck_assert_int_eq(bbm_set_memory_ro(map, VA(0x140000000), 1), 0);

	text = dump(map);
	for (i = 0; i < sizeof(domain_lines) / sizeof(domain_lines[0]); i++)
		assert_has_line(text, domain_lines[i]);
	free(text);
	assert_dump(map, dump_domain_example);
	bbm_map_destroy(map);
}
END_TEST

/* A present-invalid leaf's words: VALID clear is F, its marker is NG. */
#define INVALID " F     RW NX SHD AF NG         UXN    MEM/NORMAL-TAGGED\n"

static const char dump_invalid_page[] =
	START
	"0xffff000000000000-0xffff000000001000           4K PTE" PAGE
	"0xffff000000001000-0xffff000000002000           4K PTE" INVALID
	"0xffff000000002000-0xffff000000200000        2040K PTE" PAGE
	HOLES_AFTER("00200000", "1022M")
	END;

static const char dump_pte_2m[] =
	START
	"0xffff000000000000-0xffff000000200000           2M PTE" PAGE
	HOLES_AFTER("00200000", "1022M")
	END;

START_TEST(test_dump_present_invalid)
{
	struct bbm_map *map = new_map(M(2), true);

	ck_assert_int_eq(bbm_set_direct_map_invalid(map, VA(0x1000), 1), 0);
	assert_dump(map, dump_invalid_page);
	/* And valid again: the run is whole once more. */
	ck_assert_int_eq(bbm_set_direct_map_valid(map, VA(0x1000), 1), 0);
	assert_dump(map, dump_pte_2m);
	bbm_map_destroy(map);
}
END_TEST

static const char dump_ro_page[] =
	START
	"0xffff000000000000-0xffff000000200000           2M PMD" BLK
	"0xffff000000200000-0xffff000000201000           4K PTE" RO_PAGE
	"0xffff000000201000-0xffff000000210000          60K PTE" PAGE
	"0xffff000000210000-0xffff000000400000        1984K PTE" CON_PAGE
	HOLES_AFTER("00400000", "1020M")
	END;

/* A read-only page inside a 2M block: the block splits, the page says ro. */
START_TEST(test_dump_ro_page)
{
	struct bbm_map *map = new_map(M(4), false);

	ck_assert_int_eq(bbm_set_memory_ro(map, VA(0x200000), 1), 0);
	assert_dump(map, dump_ro_page);
	bbm_map_destroy(map);
}
END_TEST

static const char dump_5264452k[] =
	START
	"0xffff000000000000-0xffff000141511000     5264452K PTE" PAGE
	"0xffff000141511000-0xffff000141600000         956K PTE\n"
	"0xffff000141600000-0xffff000180000000        1002M PMD\n"
	"0xffff000180000000-0xffff008000000000         506G PUD\n"
	"0xffff008000000000-0xffff800000000000      130560G PGD\n"
	END;

/*
 * pt_dump_size() promotes only while the KiB count divides by 1024:
 * 5264452K (5 GiB + 21572K) stays in K; the PTE-level hole after it (956K)
 * too; 1002M and 506G promote once and twice.
 */
START_TEST(test_dump_size_promotion)
{
	struct bbm_map *map = new_map(K(5264452), true);

	assert_dump(map, dump_5264452k);
	bbm_map_destroy(map);
}
END_TEST

/*
 * The realm's shared bit is not in ptdump's mask, and neither is the
 * output address: a decrypted page leaves the PTE run whole.
 */
START_TEST(test_dump_ns_shared_not_printed)
{
	struct bbm_map *map = new_map(M(2), true);
	bbm_desc_t *ptep;
	int level;

	ck_assert_int_eq(bbm_set_memory_decrypted(map, VA(0x5000), 1), 0);
	ptep = leaf_of(map, VA(0x5000), &level);
	ck_assert_int_eq(level, BBM_PTE);
	ck_assert_msg(bbm_load_relaxed(ptep) & BBM_NS_SHARED,
		      "decrypted page lacks NS_SHARED: %#llx",
		      (unsigned long long)bbm_load_relaxed(ptep));
	assert_dump(map, dump_pte_2m);
	bbm_map_destroy(map);
}
END_TEST

/* Every word of the table, set and clear, on hand-written descriptors. */
START_TEST(test_dump_attribute_words)
{
	static const struct {
		uint64_t attrs;
		const char *words;
	} cases[] = {
		{ BBM_VALID | BBM_USER | BBM_AF | BBM_GP |
			  BBM_ATTRINDX(BBM_MT_DEVICE_nGnRE),
		  "   USR RW x      AF                GP DEVICE/nGnRE" },
		{ BBM_VALID | BBM_RDONLY | BBM_PXN | BBM_UXN |
			  BBM_ATTRINDX(BBM_MT_DEVICE_nGnRnE),
		  "       ro NX                   UXN    DEVICE/nGnRnE" },
		{ BBM_VALID | BBM_SH_INNER | BBM_NG |
			  BBM_ATTRINDX(BBM_MT_NORMAL_NC),
		  "       RW x  SHD    NG                MEM/NORMAL-NC" },
		{ BBM_VALID | BBM_ATTRINDX(BBM_MT_NORMAL),
		  "       RW x                           MEM/NORMAL" },
		/* Outer shareable is not SHD. */
		{ BBM_VALID | (2ull << 8) | BBM_ATTRINDX(BBM_MT_NORMAL),
		  "       RW x                           MEM/NORMAL" },
	};
	char want[256], *text;
	bbm_desc_t *ptep;
	size_t i;
	int level;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bbm_map *map = new_map(M(2), true);

		ptep = leaf_of(map, VA(0x1000), &level);
		ck_assert_int_eq(level, BBM_PTE);
		bbm_store_relaxed(ptep, bbm_mk_leaf(BBM_PTE, 0x1000,
						    cases[i].attrs) |
						BBM_TYPE_PAGE);
		snprintf(want, sizeof(want),
			 "0xffff000000001000-0xffff000000002000"
			 "           4K PTE%s", cases[i].words);
		text = dump(map);
		assert_has_line(text, want);
		free(text);
		bbm_map_destroy(map);
	}
}
END_TEST

static const char dump_invalid_block[] =
	START
	"0xffff000000000000-0xffff000000200000           2M PMD" BLK
	"0xffff000000200000-0xffff000000400000           2M PMD" INVALID
	HOLES_AFTER("00400000", "1020M")
	END;

/* A 2M block written at PMD level without VALID is F, and not BLK. */
START_TEST(test_dump_invalid_block)
{
	struct bbm_map *map = new_map(M(4), false);
	bbm_desc_t *pmdp;
	int level;

	pmdp = leaf_of(map, VA(M(2)), &level);
	ck_assert_int_eq(level, BBM_PMD);
	bbm_store_relaxed(pmdp, (bbm_load_relaxed(pmdp) & ~BBM_VALID) |
					BBM_PRESENT_INVALID);
	assert_dump(map, dump_invalid_block);
	bbm_map_destroy(map);
}
END_TEST

/* bbm_census and the arena's own accounting of table pages agree. */
static void assert_census_matches_arena(struct bbm_map *map,
					const struct bbm_census *c)
{
	uint64_t walked = 0;
	int level;

	for (level = 0; level < BBM_LEVELS; level++) {
		ck_assert_msg(c->tables[level] ==
				      bbm_arena_in_use(map->arena, level),
			      "level %d: census %llu tables, arena %llu",
			      level, (unsigned long long)c->tables[level],
			      (unsigned long long)bbm_arena_in_use(map->arena,
								   level));
		walked += c->tables[level];
	}
	ck_assert_uint_eq(c->table_bytes, walked * BBM_PAGE_SIZE);
	ck_assert_uint_eq(c->unlinked_tables, 0);
}

static void assert_census_line(const struct bbm_census *c, const char *want)
{
	char line[256];
	int n = bbm_census_format(c, line, sizeof(line));

	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert_str_eq(line, want);
}

START_TEST(test_census_12g_blocks)
{
	struct bbm_map *map = new_map(G(12), false);
	struct bbm_census c;

	bbm_census(map, &c);
	ck_assert_uint_eq(c.leaves_1g, 12);
	ck_assert_uint_eq(c.leaves_32m_cont + c.leaves_2m + c.leaves_64k_cont +
				  c.leaves_4k + c.invalid_leaves,
			  0);
	ck_assert_uint_eq(c.tables[BBM_PGD], 1);
	ck_assert_uint_eq(c.tables[BBM_PUD], 1);
	ck_assert_uint_eq(c.tables[BBM_PMD], 0);
	ck_assert_uint_eq(c.tables[BBM_PTE], 0);
	ck_assert_uint_eq(c.table_bytes, K(8));
	ck_assert_uint_eq(c.tlb_entries, 12);
	ck_assert_uint_eq(c.mapped_bytes, G(12));
	ck_assert_uint_eq(c.tlb_reach_bytes, G(1));
	assert_census_matches_arena(map, &c);
	assert_census_line(&c,
			   "census: 4K=0 64K-cont=0 2M=0 32M-cont=0 1G=12 "
			   "invalid=0 tables=2 (PGD=1 PUD=1 PMD=0 PTE=0) "
			   "table-KiB=8 reach-KiB=1048576 unlinked-tables=0");
	bbm_map_destroy(map);
}
END_TEST

/* 5000M = 4 x 1G + 28 x 32M CONT groups + 4 x 2M: one PMD table. */
START_TEST(test_census_5000m_blocks)
{
	struct bbm_map *map = new_map(M(5000), false);
	struct bbm_census c;

	bbm_census(map, &c);
	ck_assert_uint_eq(c.leaves_1g, 4);
	ck_assert_uint_eq(c.leaves_32m_cont, 28);
	ck_assert_uint_eq(c.leaves_2m, 4);
	ck_assert_uint_eq(c.leaves_64k_cont + c.leaves_4k, 0);
	ck_assert_uint_eq(c.tlb_entries, 36);
	ck_assert_uint_eq(c.mapped_bytes, M(5000));
	assert_census_matches_arena(map, &c);
	assert_census_line(&c,
			   "census: 4K=0 64K-cont=0 2M=4 32M-cont=28 1G=4 "
			   "invalid=0 tables=3 (PGD=1 PUD=1 PMD=1 PTE=0) "
			   "table-KiB=12 reach-KiB=142222 unlinked-tables=0");
	bbm_map_destroy(map);
}
END_TEST

/* CONT groups count once; split-off pages and invalid pages apart. */
START_TEST(test_census_after_splits)
{
	struct bbm_map *map = new_map(G(12), false);
	struct bbm_census c;

	ck_assert_int_eq(bbm_set_memory_ro(map, VA(0x210000), 1), 0);
	ck_assert_int_eq(bbm_set_memory_ro(map, VA(0x3000000), 1), 0);
	ck_assert_int_eq(bbm_set_direct_map_invalid(map, VA(0x140000000), 1),
			 0);
	bbm_census(map, &c);
	/* Three broken CONT_PTE groups; one of their pages is invalid. */
	ck_assert_uint_eq(c.leaves_4k, 47);
	ck_assert_uint_eq(c.invalid_leaves, 1);
	ck_assert_uint_eq(c.leaves_64k_cont, 3 * 31);
	/* 15 of each of three broken CONT_PMD groups, the rest CONT. */
	ck_assert_uint_eq(c.leaves_2m, 45);
	ck_assert_uint_eq(c.leaves_32m_cont, 30 + 31);
	ck_assert_uint_eq(c.leaves_1g, 10);
	ck_assert_uint_eq(c.mapped_bytes, G(12) - K(4));
	assert_census_matches_arena(map, &c);
	assert_census_line(&c,
			   "census: 4K=47 64K-cont=93 2M=45 32M-cont=61 1G=10 "
			   "invalid=1 tables=7 (PGD=1 PUD=1 PMD=2 PTE=3) "
			   "table-KiB=28 reach-KiB=49151 unlinked-tables=0");
	bbm_map_destroy(map);
}
END_TEST

/*
 * The headline figure of DOMAIN.md section 9.  256 GiB mapped with 4K PTEs
 * (force_pte_mapping) needs 131072 PTE tables + 256 PMD tables + 1 PUD +
 * 1 PGD = 131330 pages = 525320 KiB; with blocks, 1 PGD + 1 PUD = 8 KiB.
 * The blocks save 131328 pages = 525312 KiB = 537919488 bytes (513 MiB:
 * the "512 MiB per 256 GiB" of PTE tables plus 1 MiB of PMD tables), and
 * one TLB entry reaches 1 GiB instead of 4 KiB.
 */
START_TEST(test_census_256g_pte_vs_blocks)
{
	struct bbm_map *map;
	struct bbm_census pte, blk;

	map = new_map(G(256), true);
	bbm_census(map, &pte);
	assert_census_matches_arena(map, &pte);
	bbm_map_destroy(map);

	ck_assert_uint_eq(pte.leaves_4k, G(256) / K(4));
	ck_assert_uint_eq(pte.tables[BBM_PTE], 131072);
	ck_assert_uint_eq(pte.tables[BBM_PMD], 256);
	ck_assert_uint_eq(pte.tables[BBM_PUD], 1);
	ck_assert_uint_eq(pte.tables[BBM_PGD], 1);
	ck_assert_uint_eq(pte.table_bytes, K(525320));
	assert_census_line(&pte,
			   "census: 4K=67108864 64K-cont=0 2M=0 32M-cont=0 "
			   "1G=0 invalid=0 tables=131330 (PGD=1 PUD=1 "
			   "PMD=256 PTE=131072) table-KiB=525320 reach-KiB=4 "
			   "unlinked-tables=0");

	map = new_map(G(256), false);
	bbm_census(map, &blk);
	assert_census_matches_arena(map, &blk);
	bbm_map_destroy(map);

	ck_assert_uint_eq(blk.leaves_1g, 256);
	ck_assert_uint_eq(blk.table_bytes, K(8));
	ck_assert_uint_eq(pte.table_bytes - blk.table_bytes, 537919488);
	ck_assert_uint_eq(blk.tlb_reach_bytes / pte.tlb_reach_bytes, 262144);
}
END_TEST

Suite *make_ptdump_suite(void)
{
	Suite *s = suite_create("ptdump");
	TCase *tc = tcase_create("dump");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_dump_12g_blocks);
	tcase_add_test(tc, test_dump_pte_small);
	tcase_add_test(tc, test_dump_domain_example);
	tcase_add_test(tc, test_dump_present_invalid);
	tcase_add_test(tc, test_dump_ro_page);
	tcase_add_test(tc, test_dump_size_promotion);
	tcase_add_test(tc, test_dump_ns_shared_not_printed);
	tcase_add_test(tc, test_dump_attribute_words);
	tcase_add_test(tc, test_dump_invalid_block);
	suite_add_tcase(s, tc);

	tc = tcase_create("census");
	/* The 256 GiB PTE map: ~0.5 GiB of tables, slower under sanitizers. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_census_12g_blocks);
	tcase_add_test(tc, test_census_5000m_blocks);
	tcase_add_test(tc, test_census_after_splits);
	tcase_add_test(tc, test_census_256g_pte_vs_blocks);
	suite_add_tcase(s, tc);
	return s;
}
