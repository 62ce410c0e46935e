// SPDX-License-Identifier: GPL-2.0
/* The oracle: intended per-page state, owned ranges, changes in flight. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/access.h"
#include "core/cpu.h"
#include "core/oracle.h"

int bbm_oracle_init(struct bbm_oracle *oracle, uint64_t mem)
{
	memset(oracle, 0, sizeof(*oracle));
	oracle->nr_pages = mem >> BBM_PAGE_SHIFT;
	oracle->page_state = calloc(oracle->nr_pages, 1);
	if (!oracle->page_state)
		return -ENOMEM;
	pthread_mutex_init(&oracle->lock, NULL);
	return 0;
}

void bbm_oracle_destroy(struct bbm_oracle *oracle)
{
	free(oracle->page_state);
	oracle->page_state = NULL;
	pthread_mutex_destroy(&oracle->lock);
}

/*
 * Open a slot for writing: readers retry while its count is odd.  The
 * fields are written with release stores and read with acquire loads, so
 * the seqcount needs no standalone fence (which ThreadSanitizer ignores).
 */
static void slot_write_begin(struct bbm_owner_slot *slot)
{
	bbm_store_release(&slot->seq, slot->seq + 1);
}

static void slot_write_end(struct bbm_owner_slot *slot)
{
	bbm_store_release(&slot->seq, slot->seq + 1);
}

bool bbm_oracle_own(struct bbm_oracle *oracle, int slot, uint64_t start,
		    uint64_t end)
{
	struct bbm_owner_slot *s;
	int i;

	pthread_mutex_lock(&oracle->lock);
	for (i = 0; i < BBM_ORACLE_SLOTS; i++) {
		s = &oracle->slots[i];
		if (s->start && s->start < end && start < s->end) {
			pthread_mutex_unlock(&oracle->lock);
			return false;
		}
	}
	s = &oracle->slots[slot];
	slot_write_begin(s);
	bbm_store_release(&s->start, start);
	bbm_store_release(&s->end, end);
	bbm_store_release(&s->changing, false);
	slot_write_end(s);
	pthread_mutex_unlock(&oracle->lock);
	return true;
}

void bbm_oracle_release(struct bbm_oracle *oracle, int slot)
{
	struct bbm_owner_slot *s = &oracle->slots[slot];

	pthread_mutex_lock(&oracle->lock);
	slot_write_begin(s);
	bbm_store_release(&s->start, 0);
	bbm_store_release(&s->end, 0);
	bbm_store_release(&s->changing, false);
	slot_write_end(s);
	pthread_mutex_unlock(&oracle->lock);
}

void bbm_oracle_begin_change(struct bbm_oracle *oracle, int slot,
			     const struct bbm_ps_change *change)
{
	struct bbm_owner_slot *s = &oracle->slots[slot];

	slot_write_begin(s);
	bbm_store_release(&s->change.set, change->set);
	bbm_store_release(&s->change.clear, change->clear);
	bbm_store_release(&s->change.invalid_window, change->invalid_window);
	bbm_store_release(&s->changing, true);
	slot_write_end(s);

	bbm_oracle_note_hot(oracle, s->start, s->end);
}

void bbm_oracle_note_hot(struct bbm_oracle *oracle, uint64_t start,
			 uint64_t end)
{
	uint64_t seq = bbm_add_return(&oracle->recent_seq, 1);
	unsigned int i = seq % BBM_ORACLE_RECENT;

	bbm_store_relaxed(&oracle->recent[i][0], start);
	bbm_store_relaxed(&oracle->recent[i][1], end);
}

/* Log a completed change (under the slot's ownership, before release). */
static void oracle_log_done(struct bbm_oracle *oracle,
			    const struct bbm_owner_slot *s, bool ok)
{
	uint64_t seq;
	unsigned int i;

	pthread_mutex_lock(&oracle->lock);
	seq = oracle->done_seq + 1;
	i = seq % BBM_ORACLE_DONE;
	bbm_store_release(&oracle->done[i].seq, 0);
	bbm_store_release(&oracle->done[i].start, s->start);
	bbm_store_release(&oracle->done[i].end, s->end);
	bbm_store_release(&oracle->done[i].change.set, s->change.set);
	bbm_store_release(&oracle->done[i].change.clear, s->change.clear);
	bbm_store_release(&oracle->done[i].change.invalid_window,
			  s->change.invalid_window);
	bbm_store_release(&oracle->done[i].ok, ok);
	bbm_store_release(&oracle->done[i].seq, seq);
	bbm_store_release(&oracle->done_seq, seq);
	pthread_mutex_unlock(&oracle->lock);
}

void bbm_oracle_end_change(struct bbm_oracle *oracle, int slot, bool ok)
{
	struct bbm_owner_slot *s = &oracle->slots[slot];
	uint64_t first = (s->start - BBM_PAGE_OFFSET) >> BBM_PAGE_SHIFT;
	uint64_t last = (s->end - BBM_PAGE_OFFSET) >> BBM_PAGE_SHIFT;
	uint8_t *ps;
	uint64_t pfn;

	/* The pages' new state is visible before the change stops being so. */
	for (pfn = first; pfn < last; pfn++) {
		ps = &oracle->page_state[pfn];
		bbm_store_release(ps, ok ? bbm_ps_apply(*ps, &s->change) :
					   *ps | BBM_PS_LEAKED);
	}
	oracle_log_done(oracle, s, ok);
	slot_write_begin(s);
	bbm_store_release(&s->changing, false);
	slot_write_end(s);
}

/* Does a page that was in state @ps allow @attrs (no VALID: a fault)? */
static bool ps_allows(uint8_t ps, uint64_t attrs)
{
	if (ps & BBM_PS_LEAKED)
		return true;
	if (!(attrs & BBM_VALID))
		return ps & BBM_PS_INVALID;
	return attrs == bbm_ps_attrs(ps);
}

/* Does the change in flight in @s, if it covers @va, allow @attrs? */
static bool slot_allows(struct bbm_owner_slot *s, uint64_t va, uint8_t ps,
			uint64_t attrs)
{
	struct bbm_ps_change change;
	uint64_t start, end;
	uint32_t seq;
	bool changing;

	do {
		seq = bbm_load_acquire(&s->seq);
		start = bbm_load_acquire(&s->start);
		end = bbm_load_acquire(&s->end);
		changing = bbm_load_acquire(&s->changing);
		change.set = bbm_load_acquire(&s->change.set);
		change.clear = bbm_load_acquire(&s->change.clear);
		change.invalid_window =
			bbm_load_acquire(&s->change.invalid_window);
	} while ((seq & 1) || seq != bbm_load_acquire(&s->seq));

	if (!changing || va < start || va >= end)
		return false;
	if (!(attrs & BBM_VALID))
		return change.invalid_window;
	return ps_allows(bbm_ps_apply(ps, &change), attrs);
}

/* Does a change in flight over @va allow @attrs from state @ps? */
static bool slots_allow(struct bbm_oracle *oracle, uint64_t va, uint8_t ps,
			uint64_t attrs)
{
	int i;

	for (i = 0; i < BBM_ORACLE_SLOTS; i++)
		if (slot_allows(&oracle->slots[i], va, ps, attrs))
			return true;
	return false;
}

/*
 * Replay the changes over @va that completed since @since, from @ps: is
 * @attrs one of the states the page went through, or a fault inside one
 * of their invalid windows?  Pages are owned by one writer at a time, so
 * the changes of a page are in log order.
 */
static bool history_allows(struct bbm_oracle *oracle, uint64_t va,
			   uint8_t ps, uint64_t since, uint64_t attrs)
{
	uint64_t now = bbm_load_acquire(&oracle->done_seq);
	struct bbm_ps_change change;
	uint64_t seq, start, end;
	unsigned int i;
	bool ok;

	/* More than remembered: cannot tell, so do not cry wolf. */
	if (now - since >= BBM_ORACLE_DONE)
		return true;
	for (seq = since + 1; seq <= now; seq++) {
		i = seq % BBM_ORACLE_DONE;
		start = bbm_load_acquire(&oracle->done[i].start);
		end = bbm_load_acquire(&oracle->done[i].end);
		change.set = bbm_load_acquire(&oracle->done[i].change.set);
		change.clear = bbm_load_acquire(&oracle->done[i].change.clear);
		change.invalid_window =
			bbm_load_acquire(&oracle->done[i].change.invalid_window);
		ok = bbm_load_acquire(&oracle->done[i].ok);
		/* Still the same entry: it was not reused while we read it. */
		if (bbm_load_acquire(&oracle->done[i].seq) != seq)
			return true;
		if (va < start || va >= end)
			continue;
		if (!ok || (!(attrs & BBM_VALID) && change.invalid_window))
			return true;
		ps = bbm_ps_apply(ps, &change);
		if (ps_allows(ps, attrs) || slots_allow(oracle, va, ps, attrs))
			return true;
	}
	return false;
}

bool bbm_oracle_allows(struct bbm_oracle *oracle, uint64_t va,
		       const struct bbm_oracle_snap *snap, uint64_t attrs)
{
	uint8_t ps_now;

	if (ps_allows(snap->ps, attrs) ||
	    slots_allow(oracle, va, snap->ps, attrs))
		return true;
	/*
	 * Then what completed since: a change that has ended by the time we
	 * look at its slot has already logged itself and stored its state.
	 */
	if (history_allows(oracle, va, snap->ps, snap->done_seq, attrs))
		return true;
	ps_now = bbm_oracle_state(oracle, va);
	return ps_allows(ps_now, attrs) || slots_allow(oracle, va, ps_now, attrs);
}

uint64_t bbm_oracle_hot_va(struct bbm_oracle *oracle, uint64_t *rng)
{
	uint64_t seq = bbm_load_acquire(&oracle->recent_seq);
	uint64_t start, end, span;
	unsigned int i;

	if (!seq)
		return 0;
	/* Half the time the newest range: where a writer is right now. */
	i = (seq - (bbm_rand_below(rng, 2) ?
			    0 :
			    bbm_rand_below(rng, seq < BBM_ORACLE_RECENT ?
							seq :
							BBM_ORACLE_RECENT))) %
	    BBM_ORACLE_RECENT;
	start = bbm_load_relaxed(&oracle->recent[i][0]);
	end = bbm_load_relaxed(&oracle->recent[i][1]);
	if (!start || end <= start)
		return 0;
	/* The range, and the 2 MiB around it that its splits touch. */
	start = (start & ~(BBM_PMD_SIZE - 1));
	end = (end + BBM_PMD_SIZE - 1) & ~(BBM_PMD_SIZE - 1);
	span = (end - start) >> BBM_PAGE_SHIFT;
	return start + (bbm_rand_below(rng, span) << BBM_PAGE_SHIFT);
}
