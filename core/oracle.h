/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The oracle: what every translation must be, kept apart from the page
 * tables so that a broken table cannot fool its own check (DESIGN.md
 * principle 4).  The output address is always va - PAGE_OFFSET; the
 * attributes come from a byte per page of intended state, plus the changes
 * in flight, whose pages may show the state before or after.
 *
 * Writers own ranges: in-flight ranges never overlap (as the kernel's
 * callers own what they change), and the owner registry is also the
 * exclusion that makes a live fold safe (see bbm_oracle_own()).
 */
#ifndef BBM_ORACLE_H
#define BBM_ORACLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pte.h"

/* Per-page intended state: differences from PAGE_KERNEL. */
#define BBM_PS_RDONLY (1u << 0)
#define BBM_PS_EXEC (1u << 1)		/* PXN clear */
#define BBM_PS_INVALID (1u << 2)	/* present-invalid */
#define BBM_PS_SHARED (1u << 3)		/* realm-decrypted */
#define BBM_PS_LEAKED (1u << 7)		/* a failed change: unknown, untouched */

/* The attributes a page in state @ps has. */
static inline uint64_t bbm_ps_attrs(uint8_t ps)
{
	uint64_t attrs = BBM_PROT_KERNEL;

	if (ps & BBM_PS_RDONLY)
		attrs |= BBM_RDONLY;
	if (ps & BBM_PS_EXEC)
		attrs &= ~BBM_PXN;
	if (ps & BBM_PS_INVALID)
		attrs = (attrs & ~BBM_VALID) | BBM_PRESENT_INVALID;
	if (ps & BBM_PS_SHARED)
		attrs |= BBM_NS_SHARED;
	return attrs;
}

/* A change of state: clear bits, then set bits. */
struct bbm_ps_change {
	uint8_t set;
	uint8_t clear;
	bool invalid_window;	/* pages may be invalid while it runs */
};

static inline uint8_t bbm_ps_apply(uint8_t ps, const struct bbm_ps_change *c)
{
	return (ps & ~c->clear) | c->set;
}

#define BBM_ORACLE_SLOTS 64
#define BBM_ORACLE_RECENT 16

struct bbm_owner_slot {
	uint32_t seq;		/* seqcount: odd while being written */
	uint64_t start;		/* [start, end) owned; start 0 = free */
	uint64_t end;
	struct bbm_ps_change change;	/* the change in flight, if any */
	bool changing;
};

#define BBM_ORACLE_DONE 256	/* completed changes remembered */

struct bbm_oracle {
	uint8_t *page_state;	/* one byte per 4 KiB page of RAM */
	uint64_t nr_pages;
	pthread_mutex_t lock;	/* owners' acquire and release */
	struct bbm_owner_slot slots[BBM_ORACLE_SLOTS];
	uint64_t recent_seq;	/* shared: recent ranges written */
	uint64_t recent[BBM_ORACLE_RECENT][2];
	/*
	 * Changes that completed, in order: a translation taken before one
	 * completed may be checked after it, and after the next change of
	 * the same pages, when neither is in flight any more.
	 */
	uint64_t done_seq;	/* shared: changes completed so far */
	struct {
		uint64_t seq;	/* tag: which change this entry holds */
		uint64_t start;
		uint64_t end;
		struct bbm_ps_change change;
		bool ok;
	} done[BBM_ORACLE_DONE];
};

int bbm_oracle_init(struct bbm_oracle *oracle, uint64_t mem);
void bbm_oracle_destroy(struct bbm_oracle *oracle);

static inline uint8_t bbm_oracle_state(const struct bbm_oracle *oracle,
				       uint64_t va)
{
	return __atomic_load_n(
		&oracle->page_state[(va - BBM_PAGE_OFFSET) >> BBM_PAGE_SHIFT],
		__ATOMIC_ACQUIRE);
}

/*
 * Own [start, end) in slot @slot if no other owned range overlaps it.
 * Returns true if owned.  Callers own before they change or fold a range;
 * a fold owns the whole table it replaces, so it cannot race a permission
 * change writing into that table.
 */
bool bbm_oracle_own(struct bbm_oracle *oracle, int slot, uint64_t start,
		    uint64_t end);
void bbm_oracle_release(struct bbm_oracle *oracle, int slot);

/* Announce the change about to be made to the owned range of @slot. */
void bbm_oracle_begin_change(struct bbm_oracle *oracle, int slot,
			     const struct bbm_ps_change *change);
/*
 * The change completed (returned, TLB flushed): record the pages' new state,
 * or, if it failed (@ok false), mark them leaked.  Ends the in-flight state.
 */
void bbm_oracle_end_change(struct bbm_oracle *oracle, int slot, bool ok);

/* Read before a translation: what bbm_oracle_allows() compares against. */
struct bbm_oracle_snap {
	uint8_t ps;		/* the page's state */
	uint64_t done_seq;	/* changes completed so far */
};

static inline void bbm_oracle_snap(const struct bbm_oracle *oracle,
				   uint64_t va, struct bbm_oracle_snap *snap)
{
	/* The log first: a change it misses is then replayed (idempotent). */
	snap->done_seq = __atomic_load_n(&oracle->done_seq,
					 __ATOMIC_ACQUIRE);
	snap->ps = bbm_oracle_state(oracle, va);
}

/*
 * Is @attrs (or a fault, when @attrs has no VALID) a translation @va may
 * have given since @snap was taken?  Looks at the state then and now, the
 * changes in flight over @va, and the changes that completed meanwhile.
 */
bool bbm_oracle_allows(struct bbm_oracle *oracle, uint64_t va,
		       const struct bbm_oracle_snap *snap, uint64_t attrs);

/* Writers work on [start, end): readers with --va-pattern hot go there. */
void bbm_oracle_note_hot(struct bbm_oracle *oracle, uint64_t start,
			 uint64_t end);

/* A VA near a range written recently, for --va-pattern hot; 0 if none. */
uint64_t bbm_oracle_hot_va(struct bbm_oracle *oracle, uint64_t *rng);

#endif /* BBM_ORACLE_H */
