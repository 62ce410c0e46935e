/* SPDX-License-Identifier: GPL-2.0 */
/* Scenarios beyond the steady state, and replay of a recorded run. */
#ifndef BBM_STRESS_SCENARIO_H
#define BBM_STRESS_SCENARIO_H

#include "stress/run.h"

/* --scenario boot: set up the machine as the boot CPU would map it. */
int bbm_boot_setup(struct bbm_run *run, struct bbm_system_config *cfg);
/* After the machine exists: policy, capability state, CPU states. */
void bbm_boot_start(struct bbm_run *run);
/* What CPU @id's thread does in a boot run. */
void bbm_boot_cpu_main(struct bbm_run *run, int id);
/* The main thread: drive the timeline (init's side), then wait. */
int bbm_boot_timeline(struct bbm_run *run);
/* After the threads are joined: close the last phase's counts. */
void bbm_boot_finish(struct bbm_run *run);

/* What a recorded run said, for --replay. */
struct bbm_replay {
	char command[1024];		/* the recorded command line */
	char args[1024];		/* its words, split in place */
	bool failed;			/* its verdict */
	int kind;			/* its first failure's kind, or -1 */
	double first_failure_s;
};

/*
 * --replay FILE.json: replace @opt by the recorded run's options (keeping
 * this invocation's --json and --quiet).  0, or -1 after one message.
 */
int bbm_replay_load(struct bbm_options *opt, struct bbm_replay *replay);

/* After the rerun: did the recorded failure come back, and when? */
void bbm_replay_report(const struct bbm_run *run,
		       const struct bbm_replay *replay);

#endif /* BBM_STRESS_SCENARIO_H */
