// SPDX-License-Identifier: GPL-2.0
/*
 * ptdump (arch/arm64/mm/ptdump.c, mm/ptdump.c) as a client of the range
 * walker: a run-length note_page() over leaves and holes, printed in the
 * kernel's format byte for byte; and a census of leaves and table pages.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/pagewalk.h"
#include "core/ptdump.h"

/* One attribute word: @set when (prot & @mask) == @val, else @clear. */
struct prot_bits {
	uint64_t mask;
	uint64_t val;
	const char *set;
	const char *clear;
};

/* pte_bits[], in the kernel's order and spelling (DOMAIN.md section 8). */
static const struct prot_bits pte_bits[] = {
	{
		.mask = BBM_VALID,
		.val = BBM_VALID,
		.set = " ",
		.clear = "F",
	}, {
		.mask = BBM_USER,
		.val = BBM_USER,
		.set = "USR",
		.clear = "   ",
	}, {
		.mask = BBM_RDONLY,
		.val = BBM_RDONLY,
		.set = "ro",
		.clear = "RW",
	}, {
		.mask = BBM_PXN,
		.val = BBM_PXN,
		.set = "NX",
		.clear = "x ",
	}, {
		.mask = BBM_SH_MASK,
		.val = BBM_SH_INNER,
		.set = "SHD",
		.clear = "   ",
	}, {
		.mask = BBM_AF,
		.val = BBM_AF,
		.set = "AF",
		.clear = "  ",
	}, {
		.mask = BBM_NG,
		.val = BBM_NG,
		.set = "NG",
		.clear = "  ",
	}, {
		.mask = BBM_CONT,
		.val = BBM_CONT,
		.set = "CON",
		.clear = "   ",
	}, {
		/* PTE_TABLE_BIT | PTE_VALID == PTE_VALID: a valid block. */
		.mask = BBM_TYPE_MASK,
		.val = BBM_TYPE_BLOCK,
		.set = "BLK",
		.clear = "   ",
	}, {
		.mask = BBM_UXN,
		.val = BBM_UXN,
		.set = "UXN",
		.clear = "   ",
	}, {
		.mask = BBM_GP,
		.val = BBM_GP,
		.set = "GP",
		.clear = "  ",
	}, {
		.mask = BBM_ATTRINDX_MASK,
		.val = BBM_ATTRINDX(BBM_MT_DEVICE_nGnRnE),
		.set = "DEVICE/nGnRnE",
	}, {
		.mask = BBM_ATTRINDX_MASK,
		.val = BBM_ATTRINDX(BBM_MT_DEVICE_nGnRE),
		.set = "DEVICE/nGnRE",
	}, {
		.mask = BBM_ATTRINDX_MASK,
		.val = BBM_ATTRINDX(BBM_MT_NORMAL_NC),
		.set = "MEM/NORMAL-NC",
	}, {
		.mask = BBM_ATTRINDX_MASK,
		.val = BBM_ATTRINDX(BBM_MT_NORMAL),
		.set = "MEM/NORMAL",
	}, {
		.mask = BBM_ATTRINDX_MASK,
		.val = BBM_ATTRINDX(BBM_MT_NORMAL_TAGGED),
		.set = "MEM/NORMAL-TAGGED",
	},
};

#define NR_PTE_BITS (sizeof(pte_bits) / sizeof(pte_bits[0]))

/* pg_level[].name; every level prints the same pte_bits[]. */
static const char *const level_names[BBM_LEVELS] = {
	[BBM_PGD] = "PGD",
	[BBM_PUD] = "PUD",
	[BBM_PMD] = "PMD",
	[BBM_PTE] = "PTE",
};

/* struct ptdump_pg_state, for the one region this model has. */
struct ptdump_state {
	FILE *out;
	uint64_t mask;		/* pg_level[].mask: OR of pte_bits[].mask */
	int level;		/* level of the current run; -1 before any */
	uint64_t start_address;	/* where the current run began */
	uint64_t current_prot;	/* masked prot of the current run */
};

/* pg_level[].mask: the bits note_page() compares; NS_SHARED is not one. */
static uint64_t ptdump_prot_mask(void)
{
	uint64_t mask = 0;
	size_t i;

	for (i = 0; i < NR_PTE_BITS; i++)
		mask |= pte_bits[i].mask;
	return mask;
}

static void dump_prot(struct ptdump_state *st)
{
	const struct prot_bits *bits = pte_bits;
	const char *s;
	size_t i;

	for (i = 0; i < NR_PTE_BITS; i++, bits++) {
		if ((st->current_prot & bits->mask) == bits->val)
			s = bits->set;
		else
			s = bits->clear;
		if (s)
			fprintf(st->out, " %s", s);
	}
}

/* Print the run [st->start_address, @addr): address, size, level, prot. */
static void print_run(struct ptdump_state *st, uint64_t addr)
{
	static const char units[] = "KMGTPE";
	const char *unit = units;
	uint64_t delta;

	fprintf(st->out, "0x%016" PRIx64 "-0x%016" PRIx64 "   ",
		st->start_address, addr);
	/* pt_dump_size(): KiB, promoted while it divides by 1024. */
	delta = (addr - st->start_address) >> 10;
	while (!(delta & 1023) && unit[1]) {
		delta >>= 10;
		unit++;
	}
	fprintf(st->out, "%9" PRIu64 "%c %s", delta, *unit,
		level_names[st->level]);
	if (st->current_prot)
		dump_prot(st);
	fputc('\n', st->out);
}

/*
 * note_page(): extend the current run with the entry at @addr, or print
 * it and start a new one when the level or the masked prot changes.
 */
static void note_page(struct ptdump_state *st, uint64_t addr, int level,
		      bbm_desc_t val)
{
	uint64_t prot = val & st->mask;

	if (st->level == -1) {
		fputs("---[ Linear Mapping start ]---\n", st->out);
	} else if (prot != st->current_prot || level != st->level) {
		print_run(st, addr);
	} else {
		return;
	}
	st->start_address = addr;
	st->current_prot = prot;
	st->level = level;
}

/* note_page_flush() at the region's end, then its end marker. */
static void note_page_flush(struct ptdump_state *st, uint64_t end)
{
	if (st->level != -1)
		print_run(st, end);
	fputs("---[ Linear Mapping end ]---\n", st->out);
}

/* ptdump_p?d_entry(): leaves (and garbage) are noted, tables descended. */
static int ptdump_entry(bbm_desc_t *ptep, uint64_t addr, struct bbm_walk *walk,
			int level)
{
	bbm_desc_t val = bbm_load_acquire(ptep);

	if (bbm_desc_table(val, level))
		return 0;
	note_page(walk->private, addr, level, val);
	/* What we noted is what we saw: never descend on a later reload. */
	walk->action = BBM_ACTION_CONTINUE;
	return 0;
}

static int ptdump_pgd_entry(bbm_desc_t *pgdp, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return ptdump_entry(pgdp, addr, walk, BBM_PGD);
}

static int ptdump_pud_entry(bbm_desc_t *pudp, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return ptdump_entry(pudp, addr, walk, BBM_PUD);
}

static int ptdump_pmd_entry(bbm_desc_t *pmdp, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return ptdump_entry(pmdp, addr, walk, BBM_PMD);
}

static int ptdump_pte_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return ptdump_entry(ptep, addr, walk, BBM_PTE);
}

/* ptdump_hole(): a run of empty entries, at the level it was found. */
static int ptdump_hole(uint64_t addr, uint64_t next, int level,
		       struct bbm_walk *walk)
{
	(void)next;
	note_page(walk->private, addr, level, 0);
	return 0;
}

static const struct bbm_walk_ops ptdump_ops = {
	.pgd_entry = ptdump_pgd_entry,
	.pud_entry = ptdump_pud_entry,
	.pmd_entry = ptdump_pmd_entry,
	.pte_entry = ptdump_pte_entry,
	.pte_hole = ptdump_hole,
};

int bbm_ptdump(struct bbm_map *map, FILE *out)
{
	struct ptdump_state st = {
		.out = out,
		.mask = ptdump_prot_mask(),
		.level = -1,
	};
	int ret;

	/* As the kernel's ptdump holds init_mm's lock: no table unlinked. */
	pthread_mutex_lock(&map->split_lock);
	ret = bbm_walk_range(map, BBM_PAGE_OFFSET, BBM_LINEAR_END, &ptdump_ops,
			     &st);
	pthread_mutex_unlock(&map->split_lock);
	if (ret)
		return ret;
	note_page_flush(&st, BBM_LINEAR_END);
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}

/* --- census ----------------------------------------------------------- */

struct census_state {
	struct bbm_census *census;
	uint64_t last_group[BBM_LEVELS];	/* CONT group last counted */
	uint64_t mapped_bytes;			/* by valid leaves */
};

/* A leaf as TLB entries: one per CONT group, else one per descriptor. */
static void census_leaf(struct census_state *cs, bbm_desc_t val,
			uint64_t addr, int level)
{
	struct bbm_census *c = cs->census;
	uint64_t group;

	if (!bbm_desc_valid(val)) {
		c->invalid_leaves++;
		return;
	}
	/* A level-0 block does not exist at 4K granule: no TLB entry. */
	if (level == BBM_PGD)
		return;
	cs->mapped_bytes += bbm_level_size(level);
	if (bbm_desc_cont(val) && bbm_cont_size(level)) {
		/* Counted at its first CONT member, even if misprogrammed. */
		group = addr & ~(bbm_cont_size(level) - 1);
		if (group == cs->last_group[level])
			return;
		cs->last_group[level] = group;
		if (level == BBM_PTE)
			c->leaves_64k_cont++;
		else
			c->leaves_32m_cont++;
	} else if (level == BBM_PTE) {
		c->leaves_4k++;
	} else if (level == BBM_PMD) {
		c->leaves_2m++;
	} else {
		c->leaves_1g++;
	}
}

static int census_entry(bbm_desc_t *ptep, uint64_t addr, struct bbm_walk *walk,
			int level)
{
	struct census_state *cs = walk->private;
	bbm_desc_t val = bbm_load_acquire(ptep);

	if (bbm_desc_table(val, level)) {
		cs->census->tables[level + 1]++;
		return 0;
	}
	if (bbm_desc_present(val))
		census_leaf(cs, val, addr, level);
	walk->action = BBM_ACTION_CONTINUE;
	return 0;
}

static int census_pgd_entry(bbm_desc_t *pgdp, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return census_entry(pgdp, addr, walk, BBM_PGD);
}

static int census_pud_entry(bbm_desc_t *pudp, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return census_entry(pudp, addr, walk, BBM_PUD);
}

static int census_pmd_entry(bbm_desc_t *pmdp, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return census_entry(pmdp, addr, walk, BBM_PMD);
}

static int census_pte_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
			    struct bbm_walk *walk)
{
	(void)next;
	return census_entry(ptep, addr, walk, BBM_PTE);
}

static const struct bbm_walk_ops census_ops = {
	.pgd_entry = census_pgd_entry,
	.pud_entry = census_pud_entry,
	.pmd_entry = census_pmd_entry,
	.pte_entry = census_pte_entry,
};

void bbm_census(struct bbm_map *map, struct bbm_census *census)
{
	struct census_state cs = { .census = census };
	uint64_t walked = 0, allocated;
	int level;

	memset(census, 0, sizeof(*census));
	/* No group starts at 1: "none counted yet" at every level. */
	for (level = 0; level < BBM_LEVELS; level++)
		cs.last_group[level] = 1;

	pthread_mutex_lock(&map->split_lock);
	census->tables[BBM_PGD] = 1;	/* the root */
	bbm_walk_range(map, BBM_PAGE_OFFSET, BBM_LINEAR_END, &census_ops, &cs);
	allocated = bbm_arena_total_in_use(map->arena);
	pthread_mutex_unlock(&map->split_lock);

	for (level = 0; level < BBM_LEVELS; level++)
		walked += census->tables[level];
	census->table_bytes = walked * BBM_PAGE_SIZE;
	census->tlb_entries = census->leaves_4k + census->leaves_64k_cont +
			      census->leaves_2m + census->leaves_32m_cont +
			      census->leaves_1g;
	census->mapped_bytes = cs.mapped_bytes;
	if (census->tlb_entries)
		census->tlb_reach_bytes = cs.mapped_bytes /
					  census->tlb_entries;
	/* Pages the arena holds that no descriptor reaches. */
	census->unlinked_tables = allocated > walked ? allocated - walked : 0;
}

int bbm_census_format(const struct bbm_census *c, char *buf, size_t len)
{
	uint64_t nr_tables = c->table_bytes / BBM_PAGE_SIZE;

	return snprintf(buf, len,
			"census: 4K=%" PRIu64 " 64K-cont=%" PRIu64
			" 2M=%" PRIu64 " 32M-cont=%" PRIu64 " 1G=%" PRIu64
			" invalid=%" PRIu64 " tables=%" PRIu64
			" (PGD=%" PRIu64 " PUD=%" PRIu64 " PMD=%" PRIu64
			" PTE=%" PRIu64 ") table-KiB=%" PRIu64
			" reach-KiB=%" PRIu64 " unlinked-tables=%" PRIu64,
			c->leaves_4k, c->leaves_64k_cont, c->leaves_2m,
			c->leaves_32m_cont, c->leaves_1g, c->invalid_leaves,
			nr_tables, c->tables[BBM_PGD], c->tables[BBM_PUD],
			c->tables[BBM_PMD], c->tables[BBM_PTE],
			c->table_bytes >> 10, c->tlb_reach_bytes >> 10,
			c->unlinked_tables);
}
