// SPDX-License-Identifier: GPL-2.0
/*
 * Permission changes on the linear map (arch/arm64/mm/pageattr.c) and the
 * realm's software break-before-make around the RSI call.
 */
#include <errno.h>

#include "core/pageattr.h"
#include "core/pagewalk.h"
#include "core/split.h"

/* set_pageattr_masks(): clear, then set. */
static bbm_desc_t set_pageattr_masks(bbm_desc_t val, struct bbm_walk *walk)
{
	const struct bbm_prot_change *change = walk->private;

	return (val & ~change->clear_mask) | change->set_mask;
}

/* pageattr_pud_entry()/pageattr_pmd_entry(): whole blocks only. */
static int pageattr_block_entry(bbm_desc_t *ptep, uint64_t addr,
				uint64_t next, struct bbm_walk *walk,
				int level)
{
	bbm_desc_t val = bbm_load_relaxed(ptep);

	if (!bbm_desc_leaf(val, level)) {
		/* Descending into a PTE table this walk will write. */
		if (level == BBM_PMD && bbm_desc_table(val, level) &&
		    walk->map->ops.walk_pause)
			walk->map->ops.walk_pause(walk->map, addr);
		return 0;
	}
	if (next - addr != bbm_level_size(level)) {
		/* WARN_ON_ONCE((next - addr) != PMD_SIZE), pageattr.c:56 */
		bbm_report_warn(walk->map->report, BBM_FAIL_PAGEATTR_WARN,
				addr,
				"WARNING: arch/arm64/mm/pageattr.c:56 "
				"pageattr_%s_entry: change of [0x%016llx-"
				"0x%016llx) covers part of a %s leaf",
				level == BBM_PUD ? "pud" : "pmd",
				(unsigned long long)addr,
				(unsigned long long)next,
				level == BBM_PUD ? "PUD" : "PMD");
		return -EINVAL;
	}
	bbm_store_release(ptep, set_pageattr_masks(val, walk));
	walk->action = BBM_ACTION_CONTINUE;
	return 0;
}

static int pageattr_pud_entry(bbm_desc_t *pudp, uint64_t addr, uint64_t next,
			      struct bbm_walk *walk)
{
	return pageattr_block_entry(pudp, addr, next, walk, BBM_PUD);
}

static int pageattr_pmd_entry(bbm_desc_t *pmdp, uint64_t addr, uint64_t next,
			      struct bbm_walk *walk)
{
	return pageattr_block_entry(pmdp, addr, next, walk, BBM_PMD);
}

static int pageattr_pte_entry(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
			      struct bbm_walk *walk)
{
	(void)addr;
	(void)next;
	bbm_store_release(ptep,
			  set_pageattr_masks(bbm_load_relaxed(ptep), walk));
	return 0;
}

static const struct bbm_walk_ops pageattr_ops = {
	.pud_entry = pageattr_pud_entry,
	.pmd_entry = pageattr_pmd_entry,
	.pte_entry = pageattr_pte_entry,
};

int bbm_update_range_prot(struct bbm_map *map, uint64_t start, uint64_t size,
			  uint64_t set_mask, uint64_t clear_mask)
{
	struct bbm_prot_change change = {
		.set_mask = set_mask,
		.clear_mask = clear_mask,
	};
	int ret;

	ret = bbm_split_kernel_leaf_mapping(map, start, start + size);
	if (ret) {
		/* WARN_ON_ONCE(ret): nothing is changed. */
		bbm_report_warn(map->report, BBM_FAIL_SPLIT_REFUSED, start,
				"WARNING: arch/arm64/mm/pageattr.c "
				"update_range_prot: split_kernel_leaf_mapping"
				"(0x%016llx, 0x%016llx) returned %d",
				(unsigned long long)start,
				(unsigned long long)(start + size), ret);
		return ret;
	}
	/* Lockless: the caller owns the range and has split its ends. */
	return bbm_walk_range(map, start, start + size, &pageattr_ops,
			      &change);
}

int bbm_change_memory_common(struct bbm_map *map, uint64_t start,
			     uint64_t size, uint64_t set_mask,
			     uint64_t clear_mask)
{
	int ret;

	ret = bbm_update_range_prot(map, start, size, set_mask, clear_mask);
	/*
	 * Making memory valid without changing anything else needs no TLBI:
	 * no TLB holds an invalid entry.  The present-invalid marker cleared
	 * with it is not a change a TLB can have cached.
	 */
	if (set_mask != BBM_VALID ||
	    (clear_mask & ~BBM_PRESENT_INVALID))
		bbm_map_flush_tlb_range(map, start, start + size);
	return ret;
}

/* change_memory_common(): whole pages of the mapped linear range only. */
static int change_memory(struct bbm_map *map, uint64_t addr,
			 uint64_t numpages, uint64_t set_mask,
			 uint64_t clear_mask)
{
	if (addr & (BBM_PAGE_SIZE - 1))
		return -EINVAL;
	if (!numpages)
		return 0;
	/* Compare page counts: numpages * 4K could wrap. */
	if (!bbm_map_contains(map, addr) ||
	    numpages > (map->end - addr) >> BBM_PAGE_SHIFT)
		return -EINVAL;
	return bbm_change_memory_common(map, addr, numpages * BBM_PAGE_SIZE,
					set_mask, clear_mask);
}

int bbm_set_memory_ro(struct bbm_map *map, uint64_t addr, uint64_t numpages)
{
	return change_memory(map, addr, numpages, BBM_RDONLY, 0);
}

int bbm_set_memory_rw(struct bbm_map *map, uint64_t addr, uint64_t numpages)
{
	return change_memory(map, addr, numpages, 0, BBM_RDONLY);
}

int bbm_set_memory_nx(struct bbm_map *map, uint64_t addr, uint64_t numpages)
{
	return change_memory(map, addr, numpages, BBM_PXN, 0);
}

int bbm_set_memory_x(struct bbm_map *map, uint64_t addr, uint64_t numpages)
{
	return change_memory(map, addr, numpages, 0, BBM_PXN);
}

int bbm_set_direct_map_invalid(struct bbm_map *map, uint64_t addr,
			       uint64_t numpages)
{
	return change_memory(map, addr, numpages, BBM_PRESENT_INVALID,
			     BBM_VALID);
}

int bbm_set_direct_map_valid(struct bbm_map *map, uint64_t addr,
			     uint64_t numpages)
{
	return change_memory(map, addr, numpages, BBM_VALID,
			     BBM_PRESENT_INVALID);
}

static int rsi_set_state(struct bbm_map *map, uint64_t start, uint64_t end,
			 bool shared)
{
	if (map->ops.rsi_set_state)
		return map->ops.rsi_set_state(map, start, end, shared);
	if (map->rsi_fail_next) {
		map->rsi_fail_next--;
		return -EIO;
	}
	return 0;
}

/*
 * __set_memory_enc_dec(): break (present-invalid, NS changed, flushed),
 * flip the pages' state in the realm monitor, make (valid again).
 */
static int set_memory_enc_dec(struct bbm_map *map, uint64_t addr,
			      uint64_t numpages, bool encrypt)
{
	uint64_t pa = bbm_linear_pa(addr);
	uint64_t size = numpages * BBM_PAGE_SIZE;
	uint64_t set_prot = encrypt ? 0 : BBM_NS_SHARED;
	uint64_t clear_prot = encrypt ? BBM_NS_SHARED : 0;
	int ret;

	ret = change_memory(map, addr, numpages,
			    set_prot | BBM_PRESENT_INVALID,
			    clear_prot | BBM_VALID);
	if (ret)
		return ret;
	ret = rsi_set_state(map, pa, pa + size, !encrypt);
	if (ret)
		return ret;
	return change_memory(map, addr, numpages, BBM_VALID,
			     BBM_PRESENT_INVALID);
}

static int realm_set_memory(struct bbm_map *map, uint64_t addr,
			    uint64_t numpages, bool encrypt)
{
	int ret = set_memory_enc_dec(map, addr, numpages, encrypt);

	/* The only sensible course for the caller is to leak the memory. */
	if (ret) {
		bbm_fetch_add(&map->report->leaked_pages, numpages);
		bbm_report_warn(map->report, BBM_NOTE_PAGES_LEAKED, addr,
				"Failed to %s memory, %llu pages will be "
				"leaked",
				encrypt ? "encrypt" : "decrypt",
				(unsigned long long)numpages);
	}
	return ret;
}

int bbm_set_memory_decrypted(struct bbm_map *map, uint64_t addr,
			     uint64_t numpages)
{
	return realm_set_memory(map, addr, numpages, false);
}

int bbm_set_memory_encrypted(struct bbm_map *map, uint64_t addr,
			     uint64_t numpages)
{
	return realm_set_memory(map, addr, numpages, true);
}
