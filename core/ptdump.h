/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ptdump in the kernel's format (arch/arm64/mm/ptdump.c,
 * /sys/kernel/debug/kernel_page_tables), byte for byte, over the whole
 * linear-mapping region, and a census of leaves and table pages.
 */
#ifndef BBM_PTDUMP_H
#define BBM_PTDUMP_H

#include <stdint.h>
#include <stdio.h>

#include "core/map.h"

/*
 * Print the whole linear-mapping region [PAGE_OFFSET, LINEAR_END) to @out
 * as /sys/kernel/debug/kernel_page_tables does, between the lines
 * "---[ Linear Mapping start ]---" and "---[ Linear Mapping end ]---": one
 * line per run of equal (level, masked attributes), holes at the level
 * where the walk found them empty.  Holds map->split_lock during the walk,
 * as the kernel's ptdump holds init_mm's lock, so that no table is unlinked
 * under it.  0, or -EIO if writing to @out failed.
 */
int bbm_ptdump(struct bbm_map *map, FILE *out);

struct bbm_census {
	/* Valid leaves, counted as TLB entries: a CONT group counts once. */
	uint64_t leaves_4k;
	uint64_t leaves_64k_cont;
	uint64_t leaves_2m;
	uint64_t leaves_32m_cont;
	uint64_t leaves_1g;
	uint64_t invalid_leaves;	/* present-invalid descriptors */
	uint64_t tables[BBM_LEVELS];	/* reachable table pages, by the
					 * level of the entries they hold */
	uint64_t table_bytes;		/* 4 KiB per reachable table page */
	uint64_t tlb_entries;		/* sum of the five leaf counts */
	uint64_t mapped_bytes;		/* mapped by valid leaves */
	uint64_t tlb_reach_bytes;	/* mapped_bytes / tlb_entries */
	uint64_t unlinked_tables;	/* arena pages in use but unreachable:
					 * waiting out a grace period, or
					 * leaked; 0 on a quiet map */
};

/* Count @map's leaves and table pages by walking it (under split_lock). */
void bbm_census(struct bbm_map *map, struct bbm_census *census);

/*
 * One line, no newline, as snprintf() returns:
 * "census: 4K=0 64K-cont=0 2M=0 32M-cont=0 1G=12 invalid=0 tables=2
 * (PGD=1 PUD=1 PMD=0 PTE=0) table-KiB=8 reach-KiB=1048576
 * unlinked-tables=0" (on one line).
 */
int bbm_census_format(const struct bbm_census *census, char *buf,
		      size_t len);

#endif /* BBM_PTDUMP_H */
