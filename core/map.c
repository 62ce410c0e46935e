// SPDX-License-Identifier: GPL-2.0
/* The map object, its default hooks, and map_mem (arch/arm64/mm/mmu.c). */
#include <errno.h>
#include <stdlib.h>

#include "core/map.h"

uint64_t bbm_map_arena_pages(uint64_t mem_size)
{
	uint64_t pte_tables = (mem_size + BBM_PMD_SIZE - 1) / BBM_PMD_SIZE;
	uint64_t pmd_tables = (mem_size + BBM_PUD_SIZE - 1) / BBM_PUD_SIZE;
	uint64_t pud_tables = (mem_size + BBM_PGD_SIZE - 1) / BBM_PGD_SIZE;

	/* Room for a full PTE map twice: tables waiting out a grace period. */
	return 2 * (pte_tables + pmd_tables + pud_tables + 1) + 64;
}

int bbm_map_alloc_table(struct bbm_map *map, int level, uint64_t *pa)
{
	return bbm_arena_alloc(map->arena, level, pa);
}

void bbm_map_replace_entries(struct bbm_map *map, bbm_desc_t *ptep,
			     const bbm_desc_t *new, int nr, uint64_t va,
			     int level)
{
	int i;

	if (map->ops.replace_entries) {
		map->ops.replace_entries(map, ptep, new, nr, va, level);
		return;
	}
	for (i = 0; i < nr; i++)
		bbm_store_release(&ptep[i], new[i]);
}

void bbm_map_flush_tlb_range(struct bbm_map *map, uint64_t start,
			     uint64_t end)
{
	if (map->ops.flush_tlb_range)
		map->ops.flush_tlb_range(map, start, end);
}

void bbm_map_free_table(struct bbm_map *map, uint64_t table_pa)
{
	if (map->ops.free_table)
		map->ops.free_table(map, table_pa);
	else
		bbm_arena_free(map->arena, table_pa);
}

void bbm_map_lock_split(struct bbm_map *map)
{
	if (map->ops.lock_split)
		map->ops.lock_split(map);
	else
		pthread_mutex_lock(&map->split_lock);
}

void bbm_map_unlock_split(struct bbm_map *map)
{
	pthread_mutex_unlock(&map->split_lock);
}

/* The table under *@ptep, allocated and published if the entry is empty. */
static int map_table_of(struct bbm_map *map, bbm_desc_t *ptep, int level,
			bbm_desc_t **table)
{
	bbm_desc_t entry = bbm_load_relaxed(ptep);
	uint64_t pa;
	int ret;

	if (!entry) {
		ret = bbm_map_alloc_table(map, level + 1, &pa);
		if (ret)
			return ret;
		entry = bbm_mk_table(pa, BBM_TABLE_HINTS(BBM_PROT_KERNEL));
		bbm_publish(ptep, entry);
	}
	*table = bbm_map_table(map, entry);
	return 0;
}

/* init_pte + alloc_init_cont_pte: CONT on each aligned 64 KiB run. */
static int map_ptes(struct bbm_map *map, bbm_desc_t *pmdp, uint64_t addr,
		    uint64_t end)
{
	bbm_desc_t *ptes, cont;
	uint64_t next;
	int ret;

	ret = map_table_of(map, pmdp, BBM_PMD, &ptes);
	if (ret)
		return ret;
	for (; addr != end; addr = next) {
		next = (addr + BBM_CONT_PTE_SIZE) & ~(BBM_CONT_PTE_SIZE - 1);
		next = next < end ? next : end;
		cont = !map->pte_only &&
				       !((addr | next) &
					 (BBM_CONT_PTE_SIZE - 1)) ?
			       BBM_CONT :
			       0;
		for (; addr != next; addr += BBM_PTE_SIZE)
			bbm_store_relaxed(&ptes[bbm_index(addr, BBM_PTE)],
					  bbm_mk_leaf(BBM_PTE,
						      bbm_linear_pa(addr),
						      BBM_PROT_KERNEL) |
						  cont);
	}
	return 0;
}

/* init_pmd + alloc_init_cont_pmd: CONT on each aligned 32 MiB run. */
static int map_pmds(struct bbm_map *map, bbm_desc_t *pudp, uint64_t addr,
		    uint64_t end)
{
	bbm_desc_t *pmds, *pmdp, cont;
	uint64_t next, cont_next;
	int ret;

	ret = map_table_of(map, pudp, BBM_PUD, &pmds);
	if (ret)
		return ret;
	for (; addr != end; addr = cont_next) {
		cont_next = (addr + BBM_CONT_PMD_SIZE) &
			    ~(BBM_CONT_PMD_SIZE - 1);
		cont_next = cont_next < end ? cont_next : end;
		cont = !map->pte_only &&
				       !((addr | cont_next) &
					 (BBM_CONT_PMD_SIZE - 1)) ?
			       BBM_CONT :
			       0;
		for (; addr != cont_next; addr = next) {
			next = bbm_addr_end(addr, cont_next, BBM_PMD);
			pmdp = &pmds[bbm_index(addr, BBM_PMD)];
			if (!map->pte_only &&
			    !((addr | next) & (BBM_PMD_SIZE - 1))) {
				bbm_store_relaxed(
					pmdp, bbm_mk_leaf(BBM_PMD,
							  bbm_linear_pa(addr),
							  BBM_PROT_KERNEL) |
						      cont);
				continue;
			}
			ret = map_ptes(map, pmdp, addr, next);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* alloc_init_pud: 1 GiB blocks where aligned, else a PMD table. */
static int map_puds(struct bbm_map *map, bbm_desc_t *pgdp, uint64_t addr,
		    uint64_t end)
{
	bbm_desc_t *puds, *pudp;
	uint64_t next;
	int ret;

	ret = map_table_of(map, pgdp, BBM_PGD, &puds);
	if (ret)
		return ret;
	for (; addr != end; addr = next) {
		next = bbm_addr_end(addr, end, BBM_PUD);
		pudp = &puds[bbm_index(addr, BBM_PUD)];
		if (!map->pte_only && !((addr | next) & (BBM_PUD_SIZE - 1))) {
			bbm_store_relaxed(pudp,
					  bbm_mk_leaf(BBM_PUD,
						      bbm_linear_pa(addr),
						      BBM_PROT_KERNEL));
			continue;
		}
		ret = map_pmds(map, pudp, addr, next);
		if (ret)
			return ret;
	}
	return 0;
}

/* map_mem: VA and PA share alignment, since VA = PAGE_OFFSET + PA. */
static int map_mem(struct bbm_map *map)
{
	bbm_desc_t *pgd = bbm_map_pgd(map);
	uint64_t addr, next;
	int ret;

	for (addr = BBM_PAGE_OFFSET; addr != map->end; addr = next) {
		next = bbm_addr_end(addr, map->end, BBM_PGD);
		ret = map_puds(map, &pgd[bbm_index(addr, BBM_PGD)], addr,
			       next);
		if (ret)
			return ret;
	}
	/* The map is complete before any other CPU may walk it. */
	bbm_smp_mb();
	return 0;
}

struct bbm_map *bbm_map_create(uint64_t mem_size, bool pte_only,
			       const struct bbm_map_ops *ops, void *priv,
			       struct bbm_report *report)
{
	struct bbm_map *map;

	if (mem_size < BBM_PMD_SIZE || mem_size % BBM_PAGE_SIZE ||
	    mem_size > BBM_LINEAR_END - BBM_PAGE_OFFSET)
		return NULL;
	map = calloc(1, sizeof(*map));
	if (!map)
		return NULL;
	map->mem_size = mem_size;
	map->end = BBM_PAGE_OFFSET + mem_size;
	map->pte_only = pte_only;
	if (ops)
		map->ops = *ops;
	map->priv = priv;
	if (report) {
		map->report = report;
	} else {
		bbm_report_init(&map->default_report, NULL, NULL);
		map->report = &map->default_report;
		map->own_report = true;
	}
	pthread_mutex_init(&map->split_lock, NULL);
	map->arena = bbm_arena_create(bbm_map_arena_pages(mem_size));
	if (!map->arena)
		goto out_free_map;
	if (bbm_map_alloc_table(map, BBM_PGD, &map->pgd_pa))
		goto out_free_arena;
	if (map_mem(map))
		goto out_free_arena;
	return map;

out_free_arena:
	bbm_arena_destroy(map->arena);
out_free_map:
	pthread_mutex_destroy(&map->split_lock);
	if (map->own_report)
		bbm_report_destroy(&map->default_report);
	free(map);
	return NULL;
}

void bbm_map_destroy(struct bbm_map *map)
{
	if (!map)
		return;
	bbm_arena_destroy(map->arena);
	pthread_mutex_destroy(&map->split_lock);
	if (map->own_report)
		bbm_report_destroy(&map->default_report);
	free(map);
}
