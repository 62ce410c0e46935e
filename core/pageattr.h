/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Permission changes on the linear map (arch/arm64/mm/pageattr.c):
 * update_range_prot(), __change_memory_common(), set_memory_*(),
 * set_direct_map_*() and the realm's set_memory_{de,en}crypted().
 * Addresses are linear-map VAs; sizes are whole pages.
 */
#ifndef BBM_PAGEATTR_H
#define BBM_PAGEATTR_H

#include "core/map.h"

/*
 * Split at both ends (a failed split WARNs and changes nothing), then clear
 * @clear_mask and set @set_mask on every leaf of [start, start + size).
 * A PUD/PMD leaf not entirely inside the range WARNs and gives -EINVAL.
 */
int bbm_update_range_prot(struct bbm_map *map, uint64_t start, uint64_t size,
			  uint64_t set_mask, uint64_t clear_mask);

/* update_range_prot(), then flush_tlb_kernel_range() unless only validating */
int bbm_change_memory_common(struct bbm_map *map, uint64_t start,
			     uint64_t size, uint64_t set_mask,
			     uint64_t clear_mask);

int bbm_set_memory_ro(struct bbm_map *map, uint64_t addr, uint64_t numpages);
int bbm_set_memory_rw(struct bbm_map *map, uint64_t addr, uint64_t numpages);
int bbm_set_memory_nx(struct bbm_map *map, uint64_t addr, uint64_t numpages);
int bbm_set_memory_x(struct bbm_map *map, uint64_t addr, uint64_t numpages);

/* Present-invalid (VALID clear, nG set) and back; flushed as by callers. */
int bbm_set_direct_map_invalid(struct bbm_map *map, uint64_t addr,
			       uint64_t numpages);
int bbm_set_direct_map_valid(struct bbm_map *map, uint64_t addr,
			     uint64_t numpages);

/*
 * Realm: break (present-invalid + NS change, flush), ask the RSI stub to
 * flip the pages, make (valid).  On error WARN "Failed to decrypt memory, N
 * pages will be leaked" (a BBM_NOTE_PAGES_LEAKED note) and return it.
 */
int bbm_set_memory_decrypted(struct bbm_map *map, uint64_t addr,
			     uint64_t numpages);
int bbm_set_memory_encrypted(struct bbm_map *map, uint64_t addr,
			     uint64_t numpages);

/* The attribute masks each set_memory_*() applies, for oracles. */
struct bbm_prot_change {
	uint64_t set_mask;
	uint64_t clear_mask;
};

#endif /* BBM_PAGEATTR_H */
