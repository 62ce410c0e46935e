/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One bbmstress run: its options, its machine, its threads' roles, and what
 * it counted.  Shared by main.c (the driver), roles.c (what threads do),
 * and output.c (banner, stats, oops reports, verdict, JSON).
 */
#ifndef BBM_STRESS_RUN_H
#define BBM_STRESS_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/system.h"
#include "stress/options.h"

enum bbm_role {
	BBM_ROLE_READER,
	BBM_ROLE_SPLITTER,
	BBM_ROLE_COLLAPSER,
	BBM_ROLE_BOOT,		/* the boot CPU of --scenario boot */
	BBM_ROLE_NR,
};

const char *bbm_role_name(enum bbm_role role);

/* The phases of --scenario boot (the steady state has none). */
enum bbm_phase {
	BBM_PHASE_MAP,
	BBM_PHASE_EARLY,
	BBM_PHASE_SMP,
	BBM_PHASE_FINALIZE,
	BBM_PHASE_RUNTIME,
	BBM_NR_PHASES,
};

const char *bbm_phase_name(int phase);

struct bbm_phase_stats {
	const char *name;
	bool entered;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t failures[BBM_FAIL_NR_KINDS];	/* reported in this phase */
	uint64_t ops;			/* permission changes that succeeded */
	uint64_t ops_failed;		/* ... that returned an error */
};

/* Counters summed over all CPUs. */
struct bbm_counters {
	uint64_t accesses;
	uint64_t tlb_hits;
	uint64_t walks;
	uint64_t spec_fills;
	uint64_t skipped;
	uint64_t changes;
	uint64_t splits;
	uint64_t folds;
	uint64_t tlbis;
	uint64_t stop_machines;
	uint64_t max_stop_ns;
	uint64_t parks;
	uint64_t table_pages;	/* in use at the time of the sum */
};

struct bbm_run {
	struct bbm_options opt;
	enum bbm_split_method method;	/* --split-method, auto resolved */
	int nr_cpus;
	enum bbm_role roles[BBM_MAX_CPUS];
	struct bbm_system *sys;
	FILE *out;			/* progress, reports: stdout */
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t first_failure_ns;	/* since start; 0 if none */
	bool interrupted;		/* SIGINT or SIGTERM ended it */
	int signal;
	int stop;			/* shared: threads finish */

	/* --scenario boot */
	int phase;			/* shared: enum bbm_phase, -1 before */
	struct bbm_phase_stats phases[BBM_NR_PHASES];
	int nr_early_cpus;		/* CPUs of the boot; late ones follow */
	int smp_secondaries;		/* secondaries brought up in smp */
	int boot_step_done;		/* shared: last phase CPU0 finished */
	uint64_t repaints;		/* linear_map_split_to_ptes() runs */
	long folds_at_finalize;		/* option3's collapse after finalize */
	uint64_t table_pages_at_boot;	/* after map, for option3's saving */
};

void bbm_counters_sum(const struct bbm_run *run, struct bbm_counters *sum);

/*
 * The main thread's wait: stats lines every --stat-interval until @end_ns,
 * a signal, or a failure without --keep-going.  Sets run->stop.
 */
int bbm_run_wait_until(struct bbm_run *run, uint64_t end_ns);

/* "SUCCESS" or "FAILURE": any failure kind counted. */
bool bbm_run_failed(const struct bbm_run *run);

/* The banner: every parameter and the seed, one "key=value" list. */
void bbm_print_banner(const struct bbm_run *run);
/* A periodic stats line. */
void bbm_print_stats(const struct bbm_run *run);
/*
 * A failure in the kernel's oops style: kind, CPU and core type, VA, level,
 * descriptors, split method and policy, phase, seed, then the last events
 * of every CPU interleaved by sequence number.
 */
void bbm_print_oops(const struct bbm_run *run, const struct bbm_failure *f);
/* "End of test: SUCCESS|FAILURE" with the parameters and totals. */
void bbm_print_end(const struct bbm_run *run);

/*
 * Write the run's JSON to @path atomically (a temporary file in the same
 * folder, then rename).  Returns 0 or -errno.
 */
int bbm_write_json(const struct bbm_run *run, const char *path);

#endif /* BBM_STRESS_RUN_H */
