// SPDX-License-Identifier: GPL-2.0
/* Per-CPU TLBs and the TLBI log. */
#include <errno.h>
#include <stdlib.h>

#include "core/tlb.h"

const uint64_t bbm_tlb_class_size[BBM_TLB_NR_CLASSES] = {
	[BBM_TLB_4K] = BBM_PTE_SIZE,
	[BBM_TLB_64K] = BBM_CONT_PTE_SIZE,
	[BBM_TLB_2M] = BBM_PMD_SIZE,
	[BBM_TLB_32M] = BBM_CONT_PMD_SIZE,
	[BBM_TLB_1G] = BBM_PUD_SIZE,
};

const char *const bbm_tlb_class_name[BBM_TLB_NR_CLASSES] = {
	[BBM_TLB_4K] = "4K",
	[BBM_TLB_64K] = "64K-cont",
	[BBM_TLB_2M] = "2M",
	[BBM_TLB_32M] = "32M-cont",
	[BBM_TLB_1G] = "1G",
};

int bbm_tlb_init(struct bbm_tlb *tlb, unsigned int entries,
		 enum bbm_tlb_replace replace)
{
	unsigned int per_class = 1;

	while (per_class * 2 * BBM_TLB_NR_CLASSES <= entries)
		per_class *= 2;
	tlb->slots = calloc((size_t)per_class * BBM_TLB_NR_CLASSES,
			    sizeof(*tlb->slots));
	if (!tlb->slots)
		return -ENOMEM;
	tlb->per_class = per_class;
	tlb->replace = replace;
	return 0;
}

void bbm_tlb_destroy(struct bbm_tlb *tlb)
{
	free(tlb->slots);
	tlb->slots = NULL;
}

void bbm_tlb_insert(struct bbm_tlb *tlb, uint64_t va, int level,
		    bbm_desc_t desc, uint64_t *rng)
{
	enum bbm_tlb_class cls = bbm_tlb_class_of(level, desc);
	uint64_t size = bbm_tlb_class_size[cls];
	uint64_t leaf_size = bbm_level_size(level);
	struct bbm_tlb_entry *slots = bbm_tlb_class_slots(tlb, cls);
	struct bbm_tlb_entry *e = NULL;
	uint64_t base = va & ~(size - 1);
	uint64_t x;
	unsigned int i;

	if (tlb->replace == BBM_TLB_REPLACE_INDEX) {
		e = &slots[(base / size) & (tlb->per_class - 1)];
	} else {
		for (i = 0; i < tlb->per_class && !e; i++)
			if (slots[i].va == base || !slots[i].va)
				e = &slots[i];
		if (!e) {
			/* splitmix64 step of the owner's stream */
			x = (*rng += 0x9e3779b97f4a7c15ull);
			x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
			x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
			e = &slots[(x ^ (x >> 31)) & (tlb->per_class - 1)];
		}
	}
	/*
	 * A CONT entry covers its whole group with the output of the entry
	 * that was walked, as if the group were uniform.
	 */
	e->pa = bbm_desc_oa(desc) - ((va & (size - 1)) & ~(leaf_size - 1));
	e->desc = desc;
	e->va = base;
}

void bbm_tlb_invalidate_range(struct bbm_tlb *tlb, uint64_t start,
			      uint64_t end)
{
	struct bbm_tlb_entry *e = tlb->slots;
	struct bbm_tlb_entry *last = e + tlb->per_class * BBM_TLB_NR_CLASSES;
	uint64_t size;
	int cls;

	for (cls = 0; e < last; e++) {
		cls = (e - tlb->slots) / tlb->per_class;
		size = bbm_tlb_class_size[cls];
		if (e->va && e->va < end && e->va + size > start)
			e->va = 0;
	}
}

void bbm_tlb_invalidate_all(struct bbm_tlb *tlb)
{
	unsigned int i;

	for (i = 0; i < tlb->per_class * BBM_TLB_NR_CLASSES; i++)
		tlb->slots[i].va = 0;
}

unsigned int bbm_tlb_count(const struct bbm_tlb *tlb)
{
	unsigned int i, n = 0;

	for (i = 0; i < tlb->per_class * BBM_TLB_NR_CLASSES; i++)
		n += !!tlb->slots[i].va;
	return n;
}

void bbm_tlbi_log_init(struct bbm_tlbi_log *log)
{
	unsigned int i;

	log->seq = 0;
	pthread_mutex_init(&log->lock, NULL);
	for (i = 0; i < BBM_TLBI_LOG; i++)
		log->ring[i].seq = UINT64_MAX;
}

void bbm_tlbi_log_destroy(struct bbm_tlbi_log *log)
{
	pthread_mutex_destroy(&log->lock);
}

uint64_t bbm_tlbi_log_append(struct bbm_tlbi_log *log, uint64_t start,
			     uint64_t end)
{
	uint64_t seq;
	unsigned int slot;

	pthread_mutex_lock(&log->lock);
	seq = log->seq + 1;
	slot = seq & (BBM_TLBI_LOG - 1);
	/* Invalidate the slot's tag first: a reader never mixes two entries. */
	bbm_store_release(&log->ring[slot].seq, UINT64_MAX);
	bbm_store_release(&log->ring[slot].start, start);
	bbm_store_release(&log->ring[slot].end, end);
	bbm_store_release(&log->ring[slot].seq, seq);
	bbm_store_release(&log->seq, seq);
	pthread_mutex_unlock(&log->lock);
	return seq;
}

void bbm_tlbi_log_apply_slow(struct bbm_tlbi_log *log, struct bbm_tlb *tlb,
			     uint64_t *acked)
{
	uint64_t target = bbm_load_acquire(&log->seq);
	uint64_t seq, start, end;
	unsigned int slot;

	for (seq = *acked + 1; seq <= target; seq++) {
		slot = seq & (BBM_TLBI_LOG - 1);
		if (bbm_load_acquire(&log->ring[slot].seq) != seq)
			goto out_flush_all;
		start = bbm_load_acquire(&log->ring[slot].start);
		end = bbm_load_acquire(&log->ring[slot].end);
		/* Re-check: the slot was not reused while we read it. */
		if (bbm_load_acquire(&log->ring[slot].seq) != seq)
			goto out_flush_all;
		bbm_tlb_invalidate_range(tlb, start, end);
	}
	bbm_store_release(acked, target);
	return;

out_flush_all:
	bbm_tlb_invalidate_all(tlb);
	bbm_store_release(acked, target);
}

void bbm_tlbi_log_replay(struct bbm_tlbi_log *log, struct bbm_tlb *tlb,
			 uint64_t from, uint64_t *acked)
{
	uint64_t applied = bbm_load_relaxed(acked);
	uint64_t pos = from < applied ? from : applied;

	/* Re-run the entries the walk may have missed, then any newer. */
	bbm_tlbi_log_apply_slow(log, tlb, &pos);
	if (pos > applied)
		bbm_store_release(acked, pos);
}
