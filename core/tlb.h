/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-CPU TLBs and the TLBI log.
 *
 * A TLB caches leaf translations of every size that exists: 4K, 64K (a CONT
 * PTE group), 2M, 32M (a CONT PMD group) and 1G, each size in its own small
 * array.  A lookup probes every size; several hits for one VA is a
 * multi-hit, which the caller judges by the CPU's BBML2_NOABORT status.
 *
 * TLBI: flush_tlb_kernel_range() appends [start, end) to a global log and
 * returns once the log up to it is applied to every CPU's TLB, by the CPU
 * itself before an access or by the flusher (core/system.c).  A walk that
 * began before the TLBI and fills after it replays the log over its entry,
 * so once a TLBI completes no TLB holds an entry it covers.
 */
#ifndef BBM_TLB_H
#define BBM_TLB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/access.h"
#include "core/pte.h"

enum bbm_tlb_class {
	BBM_TLB_4K,
	BBM_TLB_64K,
	BBM_TLB_2M,
	BBM_TLB_32M,
	BBM_TLB_1G,
	BBM_TLB_NR_CLASSES,
};

enum bbm_tlb_replace {
	BBM_TLB_REPLACE_INDEX,	/* direct-mapped: the slot the VA indexes */
	BBM_TLB_REPLACE_RANDOM,	/* fully associative, a random victim */
};

struct bbm_tlb_entry {
	uint64_t va;		/* base VA, aligned to the size; 0 = empty */
	uint64_t pa;		/* base output address */
	bbm_desc_t desc;	/* the leaf descriptor it was filled from */
};

struct bbm_tlb {
	struct bbm_tlb_entry *slots;	/* NR_CLASSES * per_class */
	unsigned int per_class;		/* a power of two */
	enum bbm_tlb_replace replace;
};

/* Bytes an entry of each class covers. */
extern const uint64_t bbm_tlb_class_size[BBM_TLB_NR_CLASSES];
extern const char *const bbm_tlb_class_name[BBM_TLB_NR_CLASSES];

/* @entries in all (rounded to a power of two per class, at least 1 each). */
int bbm_tlb_init(struct bbm_tlb *tlb, unsigned int entries,
		 enum bbm_tlb_replace replace);
void bbm_tlb_destroy(struct bbm_tlb *tlb);

/* The class a leaf at @level with descriptor @desc is cached in. */
static inline enum bbm_tlb_class bbm_tlb_class_of(int level, bbm_desc_t desc)
{
	bool cont = desc & BBM_CONT;

	switch (level) {
	case BBM_PTE:
		return cont ? BBM_TLB_64K : BBM_TLB_4K;
	case BBM_PMD:
		return cont ? BBM_TLB_32M : BBM_TLB_2M;
	default:
		return BBM_TLB_1G;
	}
}

static inline struct bbm_tlb_entry *bbm_tlb_class_slots(struct bbm_tlb *tlb,
							 int cls)
{
	return tlb->slots + (uint64_t)cls * tlb->per_class;
}

/*
 * Every entry that translates @va, at most one per class, into @hits.
 * Returns how many.  The hot path: one probe per class when direct-mapped.
 */
static inline int bbm_tlb_lookup(struct bbm_tlb *tlb, uint64_t va,
				 struct bbm_tlb_entry **hits)
{
	struct bbm_tlb_entry *slots, *e;
	uint64_t base;
	unsigned int i;
	int cls, nr = 0;

	for (cls = 0; cls < BBM_TLB_NR_CLASSES; cls++) {
		slots = bbm_tlb_class_slots(tlb, cls);
		base = va & ~(bbm_tlb_class_size[cls] - 1);
		if (tlb->replace == BBM_TLB_REPLACE_INDEX) {
			e = &slots[(base / bbm_tlb_class_size[cls]) &
				   (tlb->per_class - 1)];
			if (e->va == base)
				hits[nr++] = e;
			continue;
		}
		for (i = 0; i < tlb->per_class; i++) {
			if (slots[i].va == base) {
				hits[nr++] = &slots[i];
				break;
			}
		}
	}
	return nr;
}

/* The output address an entry gives @va. */
static inline uint64_t bbm_tlb_entry_pa(const struct bbm_tlb_entry *e,
					uint64_t va)
{
	return e->pa + (va - e->va);
}

/*
 * Cache the leaf @desc found at @level for @va, without looking for other
 * entries first (so a speculative fill can sit beside a stale larger one).
 * @rng picks the victim when replacement is random.
 */
void bbm_tlb_insert(struct bbm_tlb *tlb, uint64_t va, int level,
		    bbm_desc_t desc, uint64_t *rng);

/* Drop every entry that translates any VA of [start, end). */
void bbm_tlb_invalidate_range(struct bbm_tlb *tlb, uint64_t start,
			      uint64_t end);
void bbm_tlb_invalidate_all(struct bbm_tlb *tlb);

/* Entries held, for tests and stats. */
unsigned int bbm_tlb_count(const struct bbm_tlb *tlb);

#define BBM_TLBI_LOG 256	/* a power of two */

struct bbm_tlbi_log {
	uint64_t seq;			/* shared: entries published */
	pthread_mutex_t lock;		/* appenders */
	struct {
		uint64_t seq;		/* which entry this slot holds now */
		uint64_t start;
		uint64_t end;
	} ring[BBM_TLBI_LOG];
};

void bbm_tlbi_log_init(struct bbm_tlbi_log *log);
void bbm_tlbi_log_destroy(struct bbm_tlbi_log *log);

/* Append a TLBI of [start, end); returns its sequence number. */
uint64_t bbm_tlbi_log_append(struct bbm_tlbi_log *log, uint64_t start,
			     uint64_t end);

/*
 * Apply entries (*acked, log->seq] to @tlb and publish the new *acked.  An
 * entry overwritten before it was applied flushes the whole TLB instead.
 */
void bbm_tlbi_log_apply_slow(struct bbm_tlbi_log *log, struct bbm_tlb *tlb,
			     uint64_t *acked);

/*
 * Invalidate entries (@from, log->seq] again, whatever *acked says, and
 * bring *acked up to date: for an entry filled by a walk that began when
 * the log stood at @from.  Idempotent.
 */
void bbm_tlbi_log_replay(struct bbm_tlbi_log *log, struct bbm_tlb *tlb,
			 uint64_t from, uint64_t *acked);

/* The hot check before each access: nothing to do unless a TLBI came. */
static inline void bbm_tlbi_log_apply(struct bbm_tlbi_log *log,
				      struct bbm_tlb *tlb, uint64_t *acked)
{
	if (__builtin_expect(bbm_load_acquire(&log->seq) !=
				     bbm_load_relaxed(acked),
			     0))
		bbm_tlbi_log_apply_slow(log, tlb, acked);
}

#endif /* BBM_TLB_H */
