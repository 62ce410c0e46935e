/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The emulated machine: a map, its CPUs, the TLBI log, stop_machine(), the
 * oracle, the boot-time capability state, and the report.  Everything a
 * scenario drives; nothing about command lines or printing.
 */
#ifndef BBM_SYSTEM_H
#define BBM_SYSTEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cpu.h"
#include "core/map.h"
#include "core/oracle.h"
#include "core/report.h"
#include "core/tlb.h"

/* How a split or a fold replaces a live entry by one of another size. */
enum bbm_replace_method {
	BBM_REPLACE_BBML2,		/* one store per entry, no TLBI */
	BBM_REPLACE_BBM,		/* invalid, TLBI, window, new */
	BBM_REPLACE_BBM_STOP_MACHINE,	/* the same inside stop_machine() */
};

/* Deliberate bugs of the negative controls, as flags. */
#define BBM_BUG_NO_TLBI (1u << 0)	/* flush_tlb_kernel_range() is a no-op */
#define BBM_BUG_EARLY_FREE (1u << 1)	/* free tables without a grace period */
#define BBM_BUG_FOLD_NO_OWN (1u << 2)	/* fold without owning the range */
#define BBM_BUG_STOP_NO_HOTPLUG (1u << 3) /* stop_machine ignores bring-up */

/* With --window-delay, one walk in this many stalls that long. */
#define BBM_SLOW_WALK_ONE_IN 256

struct bbm_system_config {
	uint64_t mem;
	bool pte_only;
	int nr_cpus;
	const struct bbm_core_type *cores[64];	/* core type of each CPU */
	enum bbm_replace_method replace;
	enum bbm_park_mode park;
	unsigned int tlb_entries;
	enum bbm_tlb_replace tlb_replace;
	unsigned int spec_fill;		/* 1 in N accesses also prefetches */
	uint64_t window_delay_ns;	/* pause between the steps of a BBM */
	unsigned int bugs;		/* BBM_BUG_* */
	uint64_t stop_timeout_ns;	/* a CPU that does not park by then */
	uint64_t seed;
};

struct bbm_stop_machine {
	pthread_mutex_t lock;		/* one stop_machine() at a time */
	uint32_t active;		/* shared: generation while active */
	uint32_t gen;			/* last generation used */
	uint32_t nr_parked;		/* shared: CPUs parked this time */
	int mode;			/* shared: enum bbm_park_mode this time */
	uint64_t longest_ns;
	uint64_t count;
};

/* What one access by a CPU found; see bbm_cpu_access(). */
enum bbm_access_result {
	BBM_ACCESS_OK,
	BBM_ACCESS_SKIPPED,	/* page owned-invalid or leaked: not touched */
	BBM_ACCESS_FAILED,	/* a failure was reported */
};

struct bbm_system {
	struct bbm_system_config cfg;
	struct bbm_map *map;
	struct bbm_report report;
	int nr_cpus;
	struct bbm_cpu *cpus;
	struct bbm_tlbi_log tlbi;
	struct bbm_stop_machine sm;
	struct bbm_oracle oracle;
	int stop;			/* shared: threads should finish */
	const char *phase;		/* shared: for reports */

	/* Boot state (DOMAIN.md section 5). */
	pthread_rwlock_t hotplug_lock;	/* bring-up: write; stop_machine: read */
	int num_online;			/* shared: num_online_cpus() */
	bool caps_finalized;		/* shared */
	bool early_cpus_bbml2;		/* shared: every CPU so far has it */
	bool page_alloc_available;	/* shared */
	bool secondaries_started;	/* shared: smp_init() has begun */
	bool linear_map_requires_bbml2;
	int policy;			/* enum bbm_policy */
	struct bbm_cpu *stopper;	/* shared: runs a stop_machine() fn */
	/* The policy gate (core/policy.h), called with the calling CPU. */
	int (*split_gate)(struct bbm_system *sys, uint64_t start, uint64_t end);
	void *policy_priv;

	/* The last table a lockless walk paused in (--window-delay), or 0. */
	uint64_t paused_walk_va;

	/* Pending deferred frees (call_rcu), for tests and clean exit. */
	uint64_t frees_deferred;	/* shared */
	uint64_t frees_done;		/* shared */
};

/* The CPU the calling thread emulates (the kernel's smp_processor_id()). */
extern __thread struct bbm_cpu *bbm_this_cpu;

/*
 * Build a machine: the map (blocks or PTEs), CPUs with their core types and
 * TLBs (all BBM_CPU_OFF), the oracle, and map hooks that route splits,
 * folds, flushes and frees through this system.  NULL on no memory.
 * @sink receives every failure (may be NULL).
 */
struct bbm_system *bbm_system_create(const struct bbm_system_config *cfg,
				     bbm_report_sink_fn sink, void *sink_priv);
void bbm_system_destroy(struct bbm_system *sys);

/* Bind the calling thread to CPU @id; registers it with RCU. */
void bbm_cpu_enter(struct bbm_system *sys, int id);
/* Unbind at thread exit. */
void bbm_cpu_exit(struct bbm_system *sys);

/* Move @cpu to @state (OFF, MMU_ON, ONLINE), keeping num_online right. */
void bbm_cpu_set_state(struct bbm_system *sys, struct bbm_cpu *cpu,
		       enum bbm_cpu_state state);

/*
 * One memory access by the calling CPU at @va, as a reader does: apply
 * pending TLBIs, look the VA up in the TLB, walk on a miss (inside an RCU
 * read-side section) and fill, then check the translation against the
 * oracle.  Faults, conflicts, wrong translations and use-after-free are
 * reported here.  @spec_va, if non-zero, is also walked and filled
 * speculatively first, without a TLB lookup.
 */
enum bbm_access_result bbm_cpu_access(struct bbm_system *sys, uint64_t va,
				      uint64_t spec_va);

/*
 * flush_tlb_kernel_range(): broadcast; returns once every CPU that may
 * translate has dropped the entries covering [start, end).
 */
void bbm_flush_tlb_kernel_range(struct bbm_system *sys, uint64_t start,
				uint64_t end);

/*
 * stop_machine(): park every other online CPU at its next safe point, run
 * @fn on the calling CPU, release them.  Takes the hotplug lock for read
 * (unless BBM_BUG_STOP_NO_HOTPLUG).  Returns @fn's value.  A CPU that does
 * not park in time is a stop-machine-timeout report, and @fn runs anyway.
 */
int bbm_stop_machine(struct bbm_system *sys, int (*fn)(void *arg), void *arg);
/* The same with the others parked in @mode rather than the run's --park. */
int bbm_stop_machine_park(struct bbm_system *sys, enum bbm_park_mode mode,
			  int (*fn)(void *arg), void *arg);

/* A safe point: park here if a stop_machine() is under way. */
void bbm_cpu_safe_point(struct bbm_system *sys);

/*
 * Blocking without touching the map (a sleeping lock, a pause): the CPU
 * counts as parked for stop_machine() while it waits.
 */
void bbm_cpu_passive_begin(struct bbm_system *sys);
void bbm_cpu_passive_end(struct bbm_system *sys);
void bbm_mutex_lock(struct bbm_system *sys, pthread_mutex_t *lock);
void bbm_sleep_ns(struct bbm_system *sys, uint64_t ns);

/* Report a failure seen by the calling CPU, with its identity and phase. */
void bbm_system_fail(struct bbm_system *sys, struct bbm_failure *f);

/* Monotonic nanoseconds. */
uint64_t bbm_now_ns(void);

#endif /* BBM_SYSTEM_H */
