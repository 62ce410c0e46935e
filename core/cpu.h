/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Emulated CPUs: a table of real core types with their BBML2_NOABORT status
 * (the kernel's MIDR allow list), and the per-CPU state every thread that
 * touches the map carries: id, core type, online state, TLB, PRNG stream,
 * event ring, counters (DESIGN.md principle 3).
 */
#ifndef BBM_CPU_H
#define BBM_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tlb.h"

struct bbm_core_type {
	const char *name;	/* as on the command line: "cortex-x4" */
	const char *kernel;	/* the kernel's MIDR name */
	bool bbml2_noabort;	/* on the ARM64_HAS_BBML2_NOABORT allow list */
};

/* The core type named @name, or NULL. */
const struct bbm_core_type *bbm_core_type_find(const char *name);

/* The table, NULL-name terminated, for --help and the README. */
extern const struct bbm_core_type bbm_core_types[];

/* Where a CPU is in its life (DOMAIN.md section 5). */
enum bbm_cpu_state {
	BBM_CPU_OFF,		/* not started: no walks, empty TLB */
	BBM_CPU_MMU_ON,		/* walking, not yet in num_online_cpus() */
	BBM_CPU_ONLINE,
};

/* What a CPU does when parked by stop_machine(). */
enum bbm_park_mode {
	BBM_PARK_IDMAP,		/* TTBR1 on an empty table: no walks at all */
	BBM_PARK_SPIN,		/* keeps reading its per-CPU page */
};

enum bbm_event_type {
	BBM_EV_WALK,		/* TLB miss walk: arg = leaf descriptor */
	BBM_EV_SPEC_FILL,	/* speculative fill: arg = leaf descriptor */
	BBM_EV_FAULT,		/* walk faulted: arg = descriptor */
	BBM_EV_TLBI,		/* TLBI issued: va..arg */
	BBM_EV_TLBI_DONE,	/* TLBI completed on every CPU */
	BBM_EV_STORE,		/* descriptor store: arg = new value */
	BBM_EV_SPLIT,		/* split_kernel_leaf_mapping(va, arg) */
	BBM_EV_FOLD,		/* fold at va: arg = level */
	BBM_EV_CHANGE,		/* permission change begins: va, arg = size */
	BBM_EV_CHANGE_DONE,	/* permission change returned: arg = ret */
	BBM_EV_PARK,		/* parked in stop_machine */
	BBM_EV_UNPARK,
	BBM_EV_STOP_MACHINE,	/* ran a stop_machine() function */
	BBM_EV_ONLINE,		/* CPU va's state changed: arg = new state */
	BBM_EV_FAILURE,		/* detected a failure: arg = kind */
	BBM_EV_NR_TYPES,
};

const char *bbm_event_name(enum bbm_event_type type);

struct bbm_event {
	uint64_t seq;		/* global order across CPUs (ns) */
	uint64_t va;
	uint64_t arg;
	uint16_t type;
	int16_t level;
};

#define BBM_EVENT_RING 32	/* last events kept per CPU, a power of 2 */

struct bbm_event_ring {
	uint64_t head;		/* events ever recorded */
	struct bbm_event ev[BBM_EVENT_RING];
};

/* Per-CPU counters: written by the owner only, summed at the end. */
struct bbm_cpu_stats {
	uint64_t accesses;	/* translations checked */
	uint64_t tlb_hits;
	uint64_t walks;		/* TLB-miss walks */
	uint64_t spec_fills;
	uint64_t skipped;	/* accesses to pages owned-invalid */
	uint64_t changes;	/* permission changes made */
	uint64_t splits;	/* splits that changed the tables */
	uint64_t folds;
	uint64_t tlbis;		/* flush_tlb_kernel_range() issued */
	uint64_t stop_machines;	/* stop_machine() run as initiator */
	uint64_t max_stop_ns;	/* longest stop_machine() pause */
	uint64_t parks;
};

/* Whether a CPU is away from the map right now (shared). */
enum bbm_cpu_quiesce {
	BBM_CPU_RUNNING,
	BBM_CPU_PASSIVE,	/* blocked on a lock or asleep: no accesses */
	BBM_CPU_PARKED_IDMAP,	/* parked by stop_machine: no walks */
	BBM_CPU_PARKED_SPIN,	/* parked, still reading its per-CPU page */
};

struct bbm_cpu {
	int id;
	const struct bbm_core_type *core;
	int state;			/* enum bbm_cpu_state, shared */
	int quiesce;			/* enum bbm_cpu_quiesce, shared */
	bool translates;		/* its role accesses memory (has a TLB) */
	uint64_t percpu_va;		/* its per-CPU data page */
	uint64_t tlbi_acked;		/* shared: last TLBI log entry applied */
	int tlb_lock;			/* shared: owner's lookups vs TLBIs */
	struct bbm_tlb tlb;		/* under tlb_lock */
	uint64_t rng;			/* splitmix64 state, owner-only */
	uint64_t last_va;		/* recent access, for prefetch */
	struct bbm_event_ring ring;	/* owner writes, dumps read */
	struct bbm_cpu_stats stats;
} __attribute__((aligned(64)));

/* splitmix64: the per-CPU stream. */
static inline uint64_t bbm_rand(uint64_t *state)
{
	uint64_t x = (*state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A number in [0, n). */
static inline uint64_t bbm_rand_below(uint64_t *state, uint64_t n)
{
	return n ? bbm_rand(state) % n : 0;
}

/* The seed of CPU @id's stream, derived from the run's one seed. */
uint64_t bbm_cpu_seed(uint64_t run_seed, int id);

/* The global event order: a monotonic timestamp in nanoseconds. */
uint64_t bbm_event_seq_next(void);

/* Record an event in @cpu's ring with the next global sequence number. */
void bbm_cpu_event(struct bbm_cpu *cpu, enum bbm_event_type type,
		   uint64_t va, uint64_t arg, int level);

#endif /* BBM_CPU_H */
