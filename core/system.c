// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated machine: CPUs and their accesses, broadcast TLBI,
 * stop_machine(), the split methods, and deferred table frees.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "core/hwwalk.h"
#include "core/system.h"

__thread struct bbm_cpu *bbm_this_cpu;

uint64_t bbm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct bbm_system *map_system(struct bbm_map *map)
{
	return map->priv;
}

/* Sleep while *@word == @val, at most @ns: parked CPUs leave the cores. */
static void futex_wait(uint32_t *word, uint32_t val, long ns)
{
	struct timespec timeout = { .tv_nsec = ns };

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &timeout, NULL, 0);
}

static void futex_wake(uint32_t *word, int nr)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, nr, NULL, NULL, 0);
}

/* The report's annotate hook: the calling CPU saw it, now. */
static void system_annotate(void *priv, struct bbm_failure *f)
{
	struct bbm_cpu *cpu = bbm_this_cpu;

	(void)priv;
	if (!cpu)
		return;
	f->cpu = cpu->id;
	f->core = cpu->core->name;
	bbm_cpu_event(cpu, BBM_EV_FAILURE, f->va, f->kind, f->level);
	f->seq = cpu->ring.ev[(cpu->ring.head - 1) & (BBM_EVENT_RING - 1)].seq;
}

void bbm_system_fail(struct bbm_system *sys, struct bbm_failure *f)
{
	bbm_report_add(&sys->report, f);
}

/* --- passive CPUs and stop_machine() ------------------------------------ */

static void cpu_set_quiesce(struct bbm_cpu *cpu, int quiesce)
{
	/* Full barrier: pairs with stop_machine()'s and the flush's check. */
	__atomic_store_n(&cpu->quiesce, quiesce, __ATOMIC_SEQ_CST);
	bbm_smp_mb();
}

static void cpu_park(struct bbm_system *sys, struct bbm_cpu *cpu,
		     uint32_t gen)
{
	bool spin = bbm_load_acquire(&sys->sm.mode) == BBM_PARK_SPIN;

	bbm_stat_add(&cpu->stats.parks, 1);
	bbm_cpu_event(cpu, BBM_EV_PARK, 0, gen, -1);
	cpu_set_quiesce(cpu, spin ? BBM_CPU_PARKED_SPIN :
				    BBM_CPU_PARKED_IDMAP);
	bbm_add_return(&sys->sm.nr_parked, 1);
	futex_wake(&sys->sm.nr_parked, 1);
	while (bbm_load_acquire(&sys->sm.active) == gen) {
		if (!spin) {
			futex_wait(&sys->sm.active, gen, 1000000);
			continue;
		}
		/* Spinning on per-CPU data in the linear map: walks go on. */
		if (cpu->translates)
			bbm_cpu_access(sys, cpu->percpu_va, 0);
		sched_yield();
	}
	cpu_set_quiesce(cpu, BBM_CPU_RUNNING);
	bbm_cpu_event(cpu, BBM_EV_UNPARK, 0, gen, -1);
}

void bbm_cpu_safe_point(struct bbm_system *sys)
{
	struct bbm_cpu *cpu = bbm_this_cpu;
	uint32_t gen;

	/*
	 * Loop: released from one stop, we may find the next one already
	 * counting us as parked (our quiesce said so until just now).
	 */
	while ((gen = __atomic_load_n(&sys->sm.active, __ATOMIC_SEQ_CST))) {
		/* stop_machine() stops the other online CPUs only. */
		if (!cpu || bbm_load_acquire(&cpu->state) != BBM_CPU_ONLINE ||
		    bbm_load_acquire(&sys->stopper) == cpu)
			return;
		cpu_park(sys, cpu, gen);
	}
}

void bbm_cpu_passive_begin(struct bbm_system *sys)
{
	(void)sys;
	if (bbm_this_cpu)
		cpu_set_quiesce(bbm_this_cpu, BBM_CPU_PASSIVE);
}

void bbm_cpu_passive_end(struct bbm_system *sys)
{
	if (!bbm_this_cpu)
		return;
	cpu_set_quiesce(bbm_this_cpu, BBM_CPU_RUNNING);
	/* A stop_machine() that began meanwhile counted us: park now. */
	bbm_cpu_safe_point(sys);
}

void bbm_mutex_lock(struct bbm_system *sys, pthread_mutex_t *lock)
{
	if (!pthread_mutex_trylock(lock))
		return;
	bbm_cpu_passive_begin(sys);
	pthread_mutex_lock(lock);
	/*
	 * Woken during a stop_machine(), a CPU runs the stopper first: park
	 * holding @lock.  Stop functions take no sleeping lock, as in Linux.
	 */
	bbm_cpu_passive_end(sys);
}

void bbm_sleep_ns(struct bbm_system *sys, uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = ns / 1000000000ull,
		.tv_nsec = ns % 1000000000ull,
	};

	if (!ns)
		return;
	bbm_cpu_passive_begin(sys);
	nanosleep(&ts, NULL);
	bbm_cpu_passive_end(sys);
}

/* Every online CPU but @self is parked or passive. */
static bool stop_all_parked(struct bbm_system *sys, struct bbm_cpu *self,
			    int *laggard)
{
	struct bbm_cpu *cpu;
	int i;

	for (i = 0; i < sys->nr_cpus; i++) {
		cpu = &sys->cpus[i];
		if (cpu == self ||
		    bbm_load_acquire(&cpu->state) != BBM_CPU_ONLINE)
			continue;
		if (__atomic_load_n(&cpu->quiesce, __ATOMIC_SEQ_CST) ==
		    BBM_CPU_RUNNING) {
			*laggard = i;
			return false;
		}
	}
	return true;
}

int bbm_stop_machine(struct bbm_system *sys, int (*fn)(void *arg), void *arg)
{
	return bbm_stop_machine_park(sys, sys->cfg.park, fn, arg);
}

int bbm_stop_machine_park(struct bbm_system *sys, enum bbm_park_mode mode,
			  int (*fn)(void *arg), void *arg)
{
	struct bbm_stop_machine *sm = &sys->sm;
	struct bbm_cpu *self = bbm_this_cpu;
	bool hotplug = !(sys->cfg.bugs & BBM_BUG_STOP_NO_HOTPLUG);
	uint64_t start, deadline;
	uint32_t gen;
	struct bbm_failure f;
	int laggard = -1, ret;

	/* cpus_read_lock(): no CPU is half brought up while we run. */
	if (hotplug) {
		if (pthread_rwlock_tryrdlock(&sys->hotplug_lock)) {
			bbm_cpu_passive_begin(sys);
			pthread_rwlock_rdlock(&sys->hotplug_lock);
			bbm_cpu_passive_end(sys);
		}
	}
	bbm_mutex_lock(sys, &sm->lock);
	gen = ++sm->gen;
	bbm_store_relaxed(&sm->nr_parked, 0);
	bbm_store_relaxed(&sm->mode, mode);
	/* The initiator never parks, not even when it sleeps in @fn. */
	bbm_store_release(&sys->stopper, self);
	__atomic_store_n(&sm->active, gen, __ATOMIC_SEQ_CST);
	bbm_smp_mb();

	start = bbm_now_ns();
	deadline = start + sys->cfg.stop_timeout_ns;
	while (!stop_all_parked(sys, self, &laggard)) {
		if (bbm_now_ns() > deadline) {
			memset(&f, 0, sizeof(f));
			f.kind = BBM_FAIL_STOP_MACHINE_TIMEOUT;
			f.level = -1;
			snprintf(f.msg, sizeof(f.msg),
				 "stop_machine: CPU%d did not park within "
				 "%llu ms",
				 laggard,
				 (unsigned long long)(sys->cfg.stop_timeout_ns /
						      1000000));
			bbm_system_fail(sys, &f);
			/* Never a hang: go on, the run already failed. */
			break;
		}
		/*
		 * Sleep until a CPU parks (or briefly, for the passive ones):
		 * the cores go to the CPUs that still have to get there.
		 */
		futex_wait(&sm->nr_parked, bbm_load_acquire(&sm->nr_parked),
			   50000);
	}

	if (self)
		bbm_cpu_event(self, BBM_EV_STOP_MACHINE, 0, gen, -1);
	ret = fn(arg);

	__atomic_store_n(&sm->active, 0, __ATOMIC_SEQ_CST);
	bbm_store_release(&sys->stopper, NULL);
	futex_wake(&sm->active, INT32_MAX);
	start = bbm_now_ns() - start;
	if (start > sm->longest_ns)
		sm->longest_ns = start;
	sm->count++;
	if (self) {
		bbm_stat_add(&self->stats.stop_machines, 1);
		if (start > self->stats.max_stop_ns)
			bbm_store_relaxed(&self->stats.max_stop_ns, start);
	}
	pthread_mutex_unlock(&sm->lock);
	if (hotplug)
		pthread_rwlock_unlock(&sys->hotplug_lock);
	return ret;
}

/* --- TLBI --------------------------------------------------------------- */

/*
 * A CPU's TLB is its own, but a TLBI reaches it whatever the CPU is doing,
 * as DVM messages do: a flusher may apply the log to it under this lock.
 * The owner holds it only around lookups and fills, never across a walk.
 */
static bool cpu_tlb_trylock(struct bbm_cpu *cpu)
{
	return !__atomic_exchange_n(&cpu->tlb_lock, 1, __ATOMIC_ACQUIRE);
}

static void cpu_tlb_lock(struct bbm_cpu *cpu)
{
	while (!cpu_tlb_trylock(cpu))
		sched_yield();
}

static void cpu_tlb_unlock(struct bbm_cpu *cpu)
{
	__atomic_store_n(&cpu->tlb_lock, 0, __ATOMIC_RELEASE);
}

void bbm_flush_tlb_kernel_range(struct bbm_system *sys, uint64_t start,
				uint64_t end)
{
	struct bbm_cpu *self = bbm_this_cpu;
	struct bbm_cpu *cpu;
	uint64_t seq;
	int i;

	/* Table stores before the TLBI (dsb ishst); pairs with the walk. */
	bbm_smp_mb();
	seq = bbm_tlbi_log_append(&sys->tlbi, start, end);
	bbm_smp_mb();
	if (self) {
		bbm_stat_add(&self->stats.tlbis, 1);
		bbm_cpu_event(self, BBM_EV_TLBI, start, end, -1);
	}
	for (i = 0; i < sys->nr_cpus; i++) {
		cpu = &sys->cpus[i];
		/* An OFF CPU comes up with an empty TLB. */
		while (cpu->translates &&
		       bbm_load_acquire(&cpu->state) != BBM_CPU_OFF &&
		       bbm_load_acquire(&cpu->tlbi_acked) < seq) {
			if (cpu_tlb_trylock(cpu)) {
				bbm_tlbi_log_apply(&sys->tlbi, &cpu->tlb,
						   &cpu->tlbi_acked);
				cpu_tlb_unlock(cpu);
				break;
			}
			/* Its owner is mid-lookup; a moment. */
			sched_yield();
		}
	}
	if (self)
		bbm_cpu_event(self, BBM_EV_TLBI_DONE, start, end, -1);
}

/* --- accesses ----------------------------------------------------------- */

/* A stall inside a walk: the CPU is busy, not passive, and not parkable. */
static void walk_delay(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = ns / 1000000000ull,
		.tv_nsec = ns % 1000000000ull,
	};

	nanosleep(&ts, NULL);
}

static void walk_failure(struct bbm_failure *f, enum bbm_fail_kind kind,
			 uint64_t va, const struct bbm_hw_walk *w)
{
	int level;

	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->va = va;
	f->level = w->level;
	f->nr_descs = w->level + 1;
	for (level = 0; level <= w->level && level < BBM_LEVELS; level++)
		f->descs[level] = w->descs[level];
}

/* A table page on the walk's path that is free now (gen even). */
static bool walk_read_freed(struct bbm_system *sys,
			    const struct bbm_hw_walk *w)
{
	int level;

	for (level = 1; level <= w->level && level < BBM_LEVELS; level++)
		if (!(bbm_arena_gen(sys->map->arena, w->table_pa[level]) & 1))
			return true;
	return false;
}

/*
 * The walk, inside an RCU read-side section.  A TLBI may complete while it
 * runs (the flusher does not wait for walks): RCU, not the TLBI, keeps the
 * tables it reads from being freed, and cpu_fill() drops a stale result.
 */
static enum bbm_walk_status cpu_walk(struct bbm_system *sys, uint64_t va,
				     struct bbm_hw_walk *w, bool *freed)
{
	enum bbm_walk_status status;

	urcu_memb_read_lock();
	status = bbm_hw_walk(sys->map, va, w);
	/* Judge the pages while they cannot be freed under us. */
	*freed = status != BBM_WALK_OK && walk_read_freed(sys, w);
	urcu_memb_read_unlock();
	return status;
}

/*
 * Fill the TLB with a walk that began when the log stood at @walk_seq,
 * then replay any TLBI that came since: it may have completed without
 * seeing this entry.
 */
static void cpu_fill(struct bbm_system *sys, struct bbm_cpu *cpu, uint64_t va,
		     const struct bbm_hw_walk *w, uint64_t walk_seq)
{
	/*
	 * Under the lock: a flusher whose TLBI we miss here takes the lock
	 * after us and applies it itself, so no fence is needed.
	 */
	cpu_tlb_lock(cpu);
	bbm_tlb_insert(&cpu->tlb, va, w->level, w->desc, &cpu->rng);
	if (bbm_load_acquire(&sys->tlbi.seq) != walk_seq)
		bbm_tlbi_log_replay(&sys->tlbi, &cpu->tlb, walk_seq,
				    &cpu->tlbi_acked);
	cpu_tlb_unlock(cpu);
}

/* A speculative walk and fill at @va: never faults, never looks up. */
static void cpu_spec_fill(struct bbm_system *sys, struct bbm_cpu *cpu,
			  uint64_t va, uint64_t walk_seq)
{
	struct bbm_hw_walk w;
	bool freed;

	if (cpu_walk(sys, va, &w, &freed) != BBM_WALK_OK)
		return;
	bbm_stat_add(&cpu->stats.spec_fills, 1);
	bbm_cpu_event(cpu, BBM_EV_SPEC_FILL, va, w.desc, w.level);
	cpu_fill(sys, cpu, va, &w, walk_seq);
}

/*
 * A translation the oracle does not allow.  A wrong output address, or a
 * TLB entry while the tables are right now, is a wrong-translation (stale or
 * amalgamated).  Attributes the tables themselves gave, to a walk or to a
 * walk now, mean a change that completed is not in them: lost-update.
 */
static enum bbm_fail_kind classify_mismatch(struct bbm_system *sys,
					    uint64_t va,
					    const struct bbm_oracle_snap *snap,
					    uint64_t pa, bool from_tlb)
{
	struct bbm_hw_walk now;
	bool freed;

	if (pa != bbm_linear_pa(va))
		return BBM_FAIL_WRONG_TRANSLATION;
	if (!from_tlb)
		return BBM_FAIL_LOST_UPDATE;
	if (cpu_walk(sys, va, &now, &freed) == BBM_WALK_OK &&
	    bbm_oracle_allows(&sys->oracle, va, snap,
			      bbm_desc_attrs(now.desc)))
		return BBM_FAIL_WRONG_TRANSLATION;
	return BBM_FAIL_LOST_UPDATE;
}

static enum bbm_access_result
check_translation(struct bbm_system *sys, uint64_t va,
		  const struct bbm_oracle_snap *snap,
		  uint64_t pa, bbm_desc_t desc, int level, const char *via)
{
	struct bbm_failure f;

	if (pa == bbm_linear_pa(va) &&
	    bbm_oracle_allows(&sys->oracle, va, snap, bbm_desc_attrs(desc)))
		return BBM_ACCESS_OK;
	memset(&f, 0, sizeof(f));
	f.kind = classify_mismatch(sys, va, snap, pa, level < 0);
	f.va = va;
	f.level = level;
	f.nr_descs = 1;
	f.descs[0] = desc;
	snprintf(f.msg, sizeof(f.msg),
		 "%s gave PA 0x%llx attrs 0x%llx; expected PA 0x%llx attrs "
		 "0x%llx (state 0x%02x)",
		 via, (unsigned long long)pa,
		 (unsigned long long)bbm_desc_attrs(desc),
		 (unsigned long long)bbm_linear_pa(va),
		 (unsigned long long)bbm_ps_attrs(snap->ps), snap->ps);
	bbm_system_fail(sys, &f);
	return BBM_ACCESS_FAILED;
}

/* What a lookup found, copied out of the TLB under its lock. */
struct tlb_hits {
	int nr;
	int cls[BBM_TLB_NR_CLASSES];
	struct bbm_tlb_entry e[BBM_TLB_NR_CLASSES];
};

static enum bbm_access_result check_hits(struct bbm_system *sys,
					 struct bbm_cpu *cpu, uint64_t va,
					 const struct bbm_oracle_snap *snap,
					 const struct tlb_hits *hits)
{
	int nr = hits->nr;
	struct bbm_failure f;
	int i;

	if (nr > 1 && !cpu->core->bbml2_noabort) {
		memset(&f, 0, sizeof(f));
		f.kind = BBM_FAIL_TLB_CONFLICT_ABORT;
		f.va = va;
		f.level = -1;
		f.nr_descs = nr;
		for (i = 0; i < nr; i++)
			f.descs[i] = hits->e[i].desc;
		snprintf(f.msg, sizeof(f.msg),
			 "TLB conflict abort: %s and %s entries for one VA "
			 "on a CPU without BBML2_NOABORT",
			 bbm_tlb_class_name[hits->cls[0]],
			 bbm_tlb_class_name[hits->cls[1]]);
		bbm_system_fail(sys, &f);
		return BBM_ACCESS_FAILED;
	}
	/* NOABORT: any one may be used, so every one must be right. */
	for (i = 0; i < nr; i++)
		if (check_translation(sys, va, snap,
				      bbm_tlb_entry_pa(&hits->e[i], va),
				      hits->e[i].desc, -1,
				      "TLB entry") != BBM_ACCESS_OK)
			return BBM_ACCESS_FAILED;
	return BBM_ACCESS_OK;
}

/* Apply pending TLBIs and look @va up; the log's position then. */
static uint64_t cpu_lookup(struct bbm_system *sys, struct bbm_cpu *cpu,
			   uint64_t va, struct tlb_hits *hits)
{
	struct bbm_tlb_entry *found[BBM_TLB_NR_CLASSES];
	uint64_t seq;
	int i;

	cpu_tlb_lock(cpu);
	bbm_tlbi_log_apply(&sys->tlbi, &cpu->tlb, &cpu->tlbi_acked);
	seq = bbm_load_relaxed(&cpu->tlbi_acked);
	hits->nr = bbm_tlb_lookup(&cpu->tlb, va, found);
	for (i = 0; i < hits->nr; i++) {
		hits->e[i] = *found[i];
		hits->cls[i] = (found[i] - cpu->tlb.slots) /
			       cpu->tlb.per_class;
	}
	cpu_tlb_unlock(cpu);
	return seq;
}

enum bbm_access_result bbm_cpu_access(struct bbm_system *sys, uint64_t va,
				      uint64_t spec_va)
{
	struct bbm_cpu *cpu = bbm_this_cpu;
	struct bbm_oracle_snap snap;
	struct tlb_hits hits;
	struct bbm_failure f;
	struct bbm_hw_walk w;
	enum bbm_walk_status status;
	uint64_t walk_seq;
	bool freed;

	bbm_oracle_snap(&sys->oracle, va, &snap);
	/* Pages made invalid on purpose are touched by their owner only. */
	if (snap.ps & (BBM_PS_INVALID | BBM_PS_LEAKED)) {
		bbm_stat_add(&cpu->stats.skipped, 1);
		return BBM_ACCESS_SKIPPED;
	}
	bbm_stat_add(&cpu->stats.accesses, 1);
	walk_seq = cpu_lookup(sys, cpu, va, &hits);
	if (spec_va)
		cpu_spec_fill(sys, cpu, spec_va, walk_seq);
	cpu->last_va = va;
	if (hits.nr) {
		bbm_stat_add(&cpu->stats.tlb_hits, 1);
		return check_hits(sys, cpu, va, &snap, &hits);
	}

	bbm_stat_add(&cpu->stats.walks, 1);
	urcu_memb_read_lock();
	status = bbm_hw_walk(sys->map, va, &w);
	/*
	 * Now and then a slow walk (a stage-2 fault, a cache miss to DRAM):
	 * rcutorture's long read-side delays, with --window-delay.
	 */
	if (sys->cfg.window_delay_ns &&
	    !bbm_rand_below(&cpu->rng, BBM_SLOW_WALK_ONE_IN))
		walk_delay(sys->cfg.window_delay_ns);
	if (status == BBM_WALK_OK)
		cpu_fill(sys, cpu, va, &w, walk_seq);
	/* The walk lasts until its fill: were its tables freed meanwhile? */
	freed = status == BBM_WALK_POISON || walk_read_freed(sys, &w);
	urcu_memb_read_unlock();

	if (status == BBM_WALK_OK && !freed) {
		bbm_cpu_event(cpu, BBM_EV_WALK, va, w.desc, w.level);
		return check_translation(sys, va, &snap, w.pa, w.desc,
					 w.level, "walk");
	}
	if (status == BBM_WALK_FAULT && !freed) {
		bbm_cpu_event(cpu, BBM_EV_FAULT, va, w.desc, w.level);
		/* A fault on a page going invalid on purpose is its owner's. */
		if (bbm_oracle_allows(&sys->oracle, va, &snap, 0))
			return BBM_ACCESS_SKIPPED;
	}
	walk_failure(&f, freed ? BBM_FAIL_TABLE_UAF :
				 BBM_FAIL_TRANSLATION_FAULT,
		     va, &w);
	if (freed)
		snprintf(f.msg, sizeof(f.msg),
			 "walk used table page 0x%llx (level %d) that was "
			 "freed before the walk ended",
			 (unsigned long long)w.table_pa[w.level], w.level);
	else
		snprintf(f.msg, sizeof(f.msg),
			 "Unable to handle kernel paging request at virtual "
			 "address %016llx (page state 0x%02x, now 0x%02x)",
			 (unsigned long long)va, snap.ps,
			 bbm_oracle_state(&sys->oracle, va));
	bbm_system_fail(sys, &f);
	return BBM_ACCESS_FAILED;
}

/* --- CPUs ----------------------------------------------------------------- */

void bbm_cpu_enter(struct bbm_system *sys, int id)
{
	bbm_this_cpu = &sys->cpus[id];
	urcu_memb_register_thread();
}

void bbm_cpu_exit(struct bbm_system *sys)
{
	(void)sys;
	urcu_memb_unregister_thread();
	bbm_this_cpu = NULL;
}

void bbm_cpu_set_state(struct bbm_system *sys, struct bbm_cpu *cpu,
		       enum bbm_cpu_state state)
{
	int old = bbm_load_relaxed(&cpu->state);

	if (old == (int)state)
		return;
	if (old == BBM_CPU_OFF) {
		/* A CPU comes up with an empty TLB and the log applied. */
		cpu_tlb_lock(cpu);
		bbm_tlb_invalidate_all(&cpu->tlb);
		bbm_store_release(&cpu->tlbi_acked,
				  bbm_load_acquire(&sys->tlbi.seq));
		cpu_tlb_unlock(cpu);
	}
	if (state == BBM_CPU_ONLINE)
		bbm_add_return(&sys->num_online, 1);
	if (old == BBM_CPU_ONLINE)
		bbm_add_return(&sys->num_online, -1);
	__atomic_store_n(&cpu->state, state, __ATOMIC_SEQ_CST);
	bbm_smp_mb();
	/* Rings have one writer: the CPU itself, or whichever CPU did it. */
	if (bbm_this_cpu)
		bbm_cpu_event(bbm_this_cpu, BBM_EV_ONLINE, cpu->id, state, -1);
}

/* --- map hooks: split methods, flush, free, gate ------------------------ */

struct bbm_args {
	struct bbm_system *sys;
	bbm_desc_t *ptep;
	const bbm_desc_t *new;
	int nr;
	uint64_t va;
	int level;
};

/* Break-before-make: invalid, TLBI, (window), new. */
static int replace_bbm(void *arg)
{
	struct bbm_args *a = arg;
	uint64_t size = a->nr * bbm_level_size(a->level);
	int i;

	for (i = 0; i < a->nr; i++)
		bbm_store_release(&a->ptep[i], 0);
	bbm_flush_tlb_kernel_range(a->sys, a->va, a->va + size);
	bbm_sleep_ns(a->sys, a->sys->cfg.window_delay_ns);
	for (i = 0; i < a->nr; i++)
		bbm_store_release(&a->ptep[i], a->new[i]);
	return 0;
}

/* Does this replacement make mappings larger (a table to a block, CONT)? */
static bool replace_is_fold(const bbm_desc_t *ptep, const bbm_desc_t *new,
			    int nr, int level)
{
	bbm_desc_t old = bbm_load_relaxed(ptep);

	if (nr == 1)
		return bbm_desc_table(old, level) &&
		       !bbm_desc_table(new[0], level);
	return bbm_desc_cont(new[0]) && !bbm_desc_cont(old);
}

static void sys_replace_entries(struct bbm_map *map, bbm_desc_t *ptep,
				const bbm_desc_t *new, int nr, uint64_t va,
				int level)
{
	struct bbm_system *sys = map_system(map);
	struct bbm_args args = {
		.sys = sys,
		.ptep = ptep,
		.new = new,
		.nr = nr,
		.va = va,
		.level = level,
	};
	int i;

	if (bbm_this_cpu) {
		bbm_cpu_event(bbm_this_cpu, BBM_EV_STORE, va, new[0], level);
		/* A table published, or a CONT group broken: a split step. */
		if (bbm_desc_table(new[0], level) ||
		    (nr == BBM_CONT_ENTRIES && !bbm_desc_cont(new[0])))
			bbm_stat_add(&bbm_this_cpu->stats.splits, 1);
	}
	/*
	 * Inside a stop_machine() function the others are parked: store.
	 * The window after it is the one a CPU that did not park sees.
	 */
	if (bbm_this_cpu && bbm_load_acquire(&sys->stopper) == bbm_this_cpu) {
		for (i = 0; i < nr; i++)
			bbm_store_release(&ptep[i], new[i]);
		bbm_sleep_ns(sys, sys->cfg.window_delay_ns);
		return;
	}
	switch (sys->cfg.replace) {
	case BBM_REPLACE_BBML2:
		/* A fold's window is between its check and its store. */
		if (replace_is_fold(ptep, new, nr, level))
			bbm_sleep_ns(sys, sys->cfg.window_delay_ns);
		for (i = 0; i < nr; i++)
			bbm_store_release(&ptep[i], new[i]);
		/* A split's: old large entries linger in TLBs after it. */
		if (!replace_is_fold(ptep, new, nr, level))
			bbm_sleep_ns(sys, sys->cfg.window_delay_ns);
		break;
	case BBM_REPLACE_BBM:
		replace_bbm(&args);
		break;
	case BBM_REPLACE_BBM_STOP_MACHINE:
		bbm_stop_machine(sys, replace_bbm, &args);
		break;
	}
}

static void sys_flush_tlb_range(struct bbm_map *map, uint64_t start,
				uint64_t end)
{
	struct bbm_system *sys = map_system(map);

	if (sys->cfg.bugs & BBM_BUG_NO_TLBI)
		return;
	bbm_flush_tlb_kernel_range(sys, start, end);
}

struct deferred_free {
	struct rcu_head head;
	struct bbm_system *sys;
	uint64_t pa;
};

static void deferred_free_cb(struct rcu_head *head)
{
	struct deferred_free *df =
		caa_container_of(head, struct deferred_free, head);

	struct bbm_system *sys = df->sys;

	bbm_arena_free(sys->map->arena, df->pa);
	free(df);
	/* Release: bbm_system_destroy() acquires it before freeing. */
	bbm_add_return(&sys->frees_done, 1);
}

static void sys_free_table(struct bbm_map *map, uint64_t table_pa)
{
	struct bbm_system *sys = map_system(map);
	struct deferred_free *df;

	bbm_fetch_add(&sys->frees_deferred, 1);
	df = (sys->cfg.bugs & BBM_BUG_EARLY_FREE) ? NULL :
						     malloc(sizeof(*df));
	if (!df) {
		/* The early-free bug (or no memory): free under the walkers. */
		bbm_arena_free(map->arena, table_pa);
		bbm_fetch_add(&sys->frees_done, 1);
		return;
	}
	df->sys = sys;
	df->pa = table_pa;
	urcu_memb_call_rcu(&df->head, deferred_free_cb);
}

/* --window-delay between a lockless walk's read of a table and its writes. */
static void sys_walk_pause(struct bbm_map *map, uint64_t addr)
{
	struct bbm_system *sys = map_system(map);

	if (!sys->cfg.window_delay_ns)
		return;
	/* Where a walk holds a table pointer: what collapse-race goes for. */
	bbm_store_release(&sys->paused_walk_va, addr);
	bbm_sleep_ns(sys, sys->cfg.window_delay_ns);
	/* Only while it pauses: a later fold there is no longer a race. */
	bbm_cmpxchg(&sys->paused_walk_va, &addr, 0);
}

static void sys_lock_split(struct bbm_map *map)
{
	bbm_mutex_lock(map_system(map), &map->split_lock);
}

static int sys_split_gate(struct bbm_map *map, uint64_t start, uint64_t end)
{
	struct bbm_system *sys = map_system(map);

	if (!sys->split_gate)
		return 1;
	return sys->split_gate(sys, start, end);
}

/* --- the machine ------------------------------------------------------- */

struct bbm_system *bbm_system_create(const struct bbm_system_config *cfg,
				     bbm_report_sink_fn sink, void *sink_priv)
{
	static const struct bbm_map_ops ops = {
		.split_gate = sys_split_gate,
		.replace_entries = sys_replace_entries,
		.flush_tlb_range = sys_flush_tlb_range,
		.free_table = sys_free_table,
		.lock_split = sys_lock_split,
		.walk_pause = sys_walk_pause,
	};
	struct bbm_system *sys;
	struct bbm_cpu *cpu;
	int i;

	if (cfg->nr_cpus < 1 || cfg->nr_cpus > 64)
		return NULL;
	sys = calloc(1, sizeof(*sys));
	if (!sys)
		return NULL;
	sys->cfg = *cfg;
	sys->nr_cpus = cfg->nr_cpus;
	sys->phase = "run";
	/* The steady state: capabilities final, the map as built. */
	sys->caps_finalized = true;
	sys->page_alloc_available = true;
	sys->early_cpus_bbml2 = true;
	for (i = 0; i < cfg->nr_cpus; i++)
		sys->early_cpus_bbml2 &= cfg->cores[i]->bbml2_noabort;
	bbm_report_init(&sys->report, sink, sink_priv);
	sys->report.annotate = system_annotate;
	sys->report.annotate_priv = sys;
	bbm_tlbi_log_init(&sys->tlbi);
	pthread_mutex_init(&sys->sm.lock, NULL);
	pthread_rwlock_init(&sys->hotplug_lock, NULL);
	if (bbm_oracle_init(&sys->oracle, cfg->mem))
		goto out_destroy;
	sys->map = bbm_map_create(cfg->mem, cfg->pte_only, &ops, sys,
				  &sys->report);
	if (!sys->map)
		goto out_destroy;
	sys->cpus = calloc(sys->nr_cpus, sizeof(*sys->cpus));
	if (!sys->cpus)
		goto out_destroy;
	for (i = 0; i < sys->nr_cpus; i++) {
		cpu = &sys->cpus[i];
		cpu->id = i;
		cpu->core = cfg->cores[i];
		cpu->rng = bbm_cpu_seed(cfg->seed, i);
		/* Its per-CPU page: somewhere in RAM, its own. */
		cpu->percpu_va = BBM_PAGE_OFFSET +
				 ((bbm_cpu_seed(cfg->seed, 1000 + i) %
				   (cfg->mem >> BBM_PAGE_SHIFT))
				  << BBM_PAGE_SHIFT);
		if (bbm_tlb_init(&cpu->tlb, cfg->tlb_entries,
				 cfg->tlb_replace))
			goto out_destroy;
	}
	return sys;

out_destroy:
	bbm_system_destroy(sys);
	return NULL;
}

void bbm_system_destroy(struct bbm_system *sys)
{
	int i;

	if (!sys)
		return;
	/*
	 * Deferred frees touch the arena: let them all run first, and see
	 * them done through our own counter (liburcu's barrier is invisible
	 * to ThreadSanitizer).
	 */
	urcu_memb_barrier();
	while (bbm_load_acquire(&sys->frees_done) !=
	       bbm_load_acquire(&sys->frees_deferred))
		sched_yield();
	if (sys->cpus) {
		for (i = 0; i < sys->nr_cpus; i++)
			bbm_tlb_destroy(&sys->cpus[i].tlb);
		free(sys->cpus);
	}
	bbm_map_destroy(sys->map);
	bbm_oracle_destroy(&sys->oracle);
	pthread_rwlock_destroy(&sys->hotplug_lock);
	pthread_mutex_destroy(&sys->sm.lock);
	bbm_tlbi_log_destroy(&sys->tlbi);
	bbm_report_destroy(&sys->report);
	free(sys);
}
