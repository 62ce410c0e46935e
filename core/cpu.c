// SPDX-License-Identifier: GPL-2.0
/* Core types, per-CPU PRNG seeds and event rings. */
#include <string.h>
#include <time.h>

#include "core/access.h"
#include "core/cpu.h"

/*
 * BBML2_NOABORT per the kernel's MIDR allow list (has_bbml2_noabort(),
 * arch/arm64/kernel/cpufeature.c): Cortex-X4 r0-r3, Neoverse-V3/V3AE r0-r2,
 * NVIDIA Olympus, AmpereOne, AmpereOne-A.  The model takes the listed
 * revisions; the others are the little and older cores they ship beside.
 */
const struct bbm_core_type bbm_core_types[] = {
	{ "cortex-x4", "MIDR_CORTEX_X4", true },
	{ "neoverse-v3", "MIDR_NEOVERSE_V3", true },
	{ "neoverse-v3ae", "MIDR_NEOVERSE_V3AE", true },
	{ "nvidia-olympus", "MIDR_NVIDIA_OLYMPUS", true },
	{ "ampere1", "MIDR_AMPERE1", true },
	{ "ampere1a", "MIDR_AMPERE1A", true },
	{ "cortex-a720", "MIDR_CORTEX_A720", false },
	{ "cortex-a520", "MIDR_CORTEX_A520", false },
	{ "cortex-a78", "MIDR_CORTEX_A78", false },
	{ "cortex-x3", "MIDR_CORTEX_X3", false },
	{ "neoverse-n1", "MIDR_NEOVERSE_N1", false },
	{ "neoverse-n2", "MIDR_NEOVERSE_N2", false },
	{ "neoverse-v2", "MIDR_NEOVERSE_V2", false },
	{ NULL, NULL, false },
};

const struct bbm_core_type *bbm_core_type_find(const char *name)
{
	const struct bbm_core_type *core;

	for (core = bbm_core_types; core->name; core++)
		if (!strcmp(core->name, name))
			return core;
	return NULL;
}

static const char *const event_names[BBM_EV_NR_TYPES] = {
	[BBM_EV_WALK] = "walk",
	[BBM_EV_SPEC_FILL] = "spec-fill",
	[BBM_EV_FAULT] = "fault",
	[BBM_EV_TLBI] = "tlbi",
	[BBM_EV_TLBI_DONE] = "tlbi-done",
	[BBM_EV_STORE] = "store",
	[BBM_EV_SPLIT] = "split",
	[BBM_EV_FOLD] = "fold",
	[BBM_EV_CHANGE] = "change",
	[BBM_EV_CHANGE_DONE] = "change-done",
	[BBM_EV_PARK] = "park",
	[BBM_EV_UNPARK] = "unpark",
	[BBM_EV_STOP_MACHINE] = "stop-machine",
	[BBM_EV_ONLINE] = "state",
	[BBM_EV_FAILURE] = "failure",
};

const char *bbm_event_name(enum bbm_event_type type)
{
	if ((unsigned int)type >= BBM_EV_NR_TYPES || !event_names[type])
		return "?";
	return event_names[type];
}

uint64_t bbm_cpu_seed(uint64_t run_seed, int id)
{
	uint64_t state = run_seed ^ (0xa0761d6478bd642full * (id + 1));

	return bbm_rand(&state);
}

/*
 * The global order of events: the monotonic clock, which every core reads
 * without sharing a cache line (a shared counter cost a sixth of a
 * reader's time with two readers).  Equal stamps sort by CPU.
 */
uint64_t bbm_event_seq_next(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void bbm_cpu_event(struct bbm_cpu *cpu, enum bbm_event_type type,
		   uint64_t va, uint64_t arg, int level)
{
	uint64_t head = cpu->ring.head;
	struct bbm_event *ev = &cpu->ring.ev[head & (BBM_EVENT_RING - 1)];

	/* Relaxed stores: a dump taken while the CPU runs may be torn. */
	bbm_store_relaxed(&ev->seq, bbm_event_seq_next());
	bbm_store_relaxed(&ev->va, va);
	bbm_store_relaxed(&ev->arg, arg);
	bbm_store_relaxed(&ev->type, type);
	bbm_store_relaxed(&ev->level, level);
	bbm_store_release(&cpu->ring.head, head + 1);
}
