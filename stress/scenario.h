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

/* --replay FILE.json: rerun a recorded run; returns the exit status. */
int bbm_replay(const struct bbm_options *opt);

#endif /* BBM_STRESS_SCENARIO_H */
