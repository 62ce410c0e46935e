// SPDX-License-Identifier: GPL-2.0
/*
 * --scenario boot: the boot timeline of DOMAIN.md section 5 under a split
 * policy of section 6.
 *
 *   map       CPU0 builds the map with its own capability (map_mem)
 *   early     CPU0 alone: realm decrypts before and after mem_init
 *   smp       secondaries come up one by one; each walks with its MMU on
 *             for --online-delay before it is online; CPU0 keeps changing
 *             permissions meanwhile (a kworker while init waits in cpu_up)
 *   finalize  capabilities final; the repaint to PTEs if needed
 *   runtime   the steady-state roles; --late-cpus come online
 *
 * The main thread plays init's bring-up (cpu_up() holding the hotplug lock
 * for write); every emulated CPU is its own thread.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/fold.h"
#include "core/policy.h"
#include "core/split.h"
#include "stress/roles.h"
#include "stress/scenario.h"

#define BOOT_BUSTED_WINDOW_NS 200000	/* the busted policies' --window-delay */

static const char *const phase_names[BBM_NR_PHASES] = {
	[BBM_PHASE_MAP] = "map",
	[BBM_PHASE_EARLY] = "early",
	[BBM_PHASE_SMP] = "smp",
	[BBM_PHASE_FINALIZE] = "finalize",
	[BBM_PHASE_RUNTIME] = "runtime",
};

const char *bbm_phase_name(int phase)
{
	return (unsigned int)phase < BBM_NR_PHASES ? phase_names[phase] : "?";
}

/* The kernel may change the linear map at all (can_set_direct_map()). */
static bool boot_can_set_direct_map(const struct bbm_options *opt)
{
	return opt->rodata_full || opt->realm;
}

static int boot_phase(const struct bbm_run *run)
{
	return bbm_load_acquire(&run->phase);
}

/* Close the current phase's counts and open @phase's. */
static void boot_enter_phase(struct bbm_run *run, int phase)
{
	struct bbm_report *report = &run->sys->report;
	struct bbm_phase_stats *ps;
	uint64_t now = bbm_now_ns();
	int kind, cur = boot_phase(run);

	if (cur >= 0) {
		ps = &run->phases[cur];
		ps->end_ns = now;
		for (kind = 0; kind < BBM_FAIL_NR_KINDS; kind++)
			ps->failures[kind] = bbm_report_count(report, kind) -
					     ps->failures[kind];
	}
	if (phase >= BBM_NR_PHASES) {
		bbm_store_release(&run->phase, phase);
		return;
	}
	ps = &run->phases[phase];
	ps->name = phase_names[phase];
	ps->start_ns = now;
	ps->entered = true;
	for (kind = 0; kind < BBM_FAIL_NR_KINDS; kind++)
		ps->failures[kind] = bbm_report_count(report, kind);
	run->sys->phase = phase_names[phase];
	bbm_store_release(&run->phase, phase);
	if (!run->opt.quiet)
		fprintf(run->out, "bbmstress: phase %s\n", phase_names[phase]);
}

/* Wait, without touching the map, until the run reaches @phase. */
static void boot_wait_phase(struct bbm_run *run, int phase)
{
	const struct timespec tick = { .tv_nsec = 100000 };

	bbm_cpu_passive_begin(run->sys);
	while (boot_phase(run) < phase && !bbm_load_acquire(&run->stop))
		nanosleep(&tick, NULL);
	bbm_cpu_passive_end(run->sys);
}

/* An allocation of --decrypt-pages pages, 64 KiB aligned, as the ITS's. */
static uint64_t boot_pick_range(struct bbm_run *run, struct bbm_cpu *cpu,
				uint64_t pages)
{
	uint64_t slots = (run->opt.mem - pages * BBM_PAGE_SIZE) /
			 BBM_CONT_PTE_SIZE;

	return BBM_PAGE_OFFSET +
	       bbm_rand_below(&cpu->rng, slots + 1) * BBM_CONT_PTE_SIZE;
}

/*
 * One permission change by the boot CPU, owned and checked like a
 * splitter's: a decrypt in a realm, else a read-only round trip.  Its
 * range is announced first and --window-delay later changed, so that CPUs
 * walking near the writers hold its large TLB entries when it splits.
 */
static void boot_change(struct bbm_run *run, uint64_t start)
{
	uint64_t pages = run->opt.decrypt_pages;
	struct bbm_system *sys = run->sys;

	if (!boot_can_set_direct_map(&run->opt))
		return;
	bbm_oracle_note_hot(&sys->oracle, start,
			    start + pages * BBM_PAGE_SIZE);
	bbm_sleep_ns(sys, sys->cfg.window_delay_ns);
	if (run->opt.realm) {
		bbm_splitter_change(run, start, pages, BBM_OP_DECRYPT);
	} else if (!bbm_splitter_change(run, start, pages, BBM_OP_RO)) {
		bbm_splitter_change(run, start, pages, BBM_OP_RW);
	}
}

/* init_IRQ(): GIC ITS tables decrypted, half of them before mem_init. */
static void boot_early(struct bbm_run *run)
{
	struct bbm_system *sys = run->sys;
	struct bbm_cpu *cpu = bbm_this_cpu;
	uint64_t pages = run->opt.decrypt_pages;
	uint64_t start;
	int i, n = run->opt.early_decrypts;

	/* The first allocations come from the top of RAM, going down. */
	start = BBM_PAGE_OFFSET +
		((run->opt.mem - pages * BBM_PAGE_SIZE) &
		 ~(BBM_CONT_PTE_SIZE - 1));
	for (i = 0; i < n; i++) {
		if (i == n / 2)
			bbm_store_release(&sys->page_alloc_available, true);
		if (run->opt.realm)
			boot_change(run, start);
		bbm_run_access(run);
		if (start - BBM_PAGE_OFFSET < 2 * pages * BBM_PAGE_SIZE)
			break;
		start -= (pages * BBM_PAGE_SIZE + BBM_CONT_PTE_SIZE - 1) &
			 ~(BBM_CONT_PTE_SIZE - 1);
	}
	bbm_store_release(&sys->page_alloc_available, true);
	(void)cpu;
}

/* While secondaries come up: --window-ops changes at random moments. */
static void boot_window(struct bbm_run *run)
{
	struct bbm_cpu *cpu = bbm_this_cpu;
	uint64_t span = run->opt.online_delay_ns * run->smp_secondaries;
	uint64_t start = bbm_now_ns(), due, now;
	int i;

	for (i = 0; i < run->opt.window_ops; i++) {
		due = start + (span ? bbm_rand_below(&cpu->rng, span) *
					      (i + 1) / run->opt.window_ops :
				      0);
		/* Keep touching memory until the op is due. */
		while ((now = bbm_now_ns()) < due &&
		       boot_phase(run) == BBM_PHASE_SMP &&
		       !bbm_load_acquire(&run->stop)) {
			bbm_cpu_safe_point(run->sys);
			bbm_run_access(run);
		}
		if (boot_phase(run) != BBM_PHASE_SMP ||
		    bbm_load_acquire(&run->stop))
			break;
		bbm_cpu_safe_point(run->sys);
		boot_change(run,
			    boot_pick_range(run, cpu, run->opt.decrypt_pages));
	}
	while (boot_phase(run) == BBM_PHASE_SMP &&
	       !bbm_load_acquire(&run->stop)) {
		bbm_cpu_safe_point(run->sys);
		bbm_run_access(run);
	}
}

/* linear_map_split_to_ptes()'s function: split, flush, then release. */
static int repaint_fn(void *arg)
{
	struct bbm_system *sys = arg;
	int ret;

	ret = bbm_split_to_ptes_locked(sys->map);
	bbm_flush_tlb_kernel_range(sys, BBM_PAGE_OFFSET, sys->map->end);
	return ret;
}

/*
 * setup_system_features(): capabilities final; then
 * linear_map_split_to_ptes() if the map needs BBML2 and the system lacks it,
 * with the others parked in idmap.
 */
static void boot_finalize(struct bbm_run *run)
{
	struct bbm_system *sys = run->sys;
	int ret;

	bbm_store_release(&sys->caps_finalized, true);
	if (sys->linear_map_requires_bbml2 &&
	    !bbm_system_supports_bbml2(sys)) {
		bbm_map_lock_split(sys->map);
		ret = bbm_stop_machine_park(sys, BBM_PARK_IDMAP, repaint_fn,
					    sys);
		bbm_map_unlock_split(sys->map);
		run->repaints++;
		if (ret)
			bbm_report_warn(&sys->report, BBM_FAIL_SPLIT_REFUSED,
					BBM_PAGE_OFFSET,
					"Kernel panic: linear_map_split_to_ptes "
					"failed: %d",
					ret);
	}
	/* option3: every CPU has it, fold the PTE map back to blocks. */
	if (bbm_policy_folds(sys->policy) && bbm_system_supports_bbml2(sys))
		run->folds_at_finalize = bbm_collapse_range(
			sys->map, BBM_PAGE_OFFSET, sys->map->end);
}

/* The boot CPU: early, window, finalize, then a splitter at run time. */
static void boot_cpu_loop(struct bbm_run *run)
{
	boot_wait_phase(run, BBM_PHASE_EARLY);
	boot_early(run);
	bbm_store_release(&run->boot_step_done, BBM_PHASE_EARLY);
	boot_wait_phase(run, BBM_PHASE_SMP);
	boot_window(run);
	boot_wait_phase(run, BBM_PHASE_FINALIZE);
	boot_finalize(run);
	bbm_store_release(&run->boot_step_done, BBM_PHASE_FINALIZE);
	boot_wait_phase(run, BBM_PHASE_RUNTIME);
	if (boot_can_set_direct_map(&run->opt))
		bbm_splitter_loop(run);
	else
		bbm_reader_loop(run);
}

/* A secondary: off until brought up, then walks; its role at run time. */
static void secondary_loop(struct bbm_run *run, enum bbm_role role)
{
	struct bbm_cpu *cpu = bbm_this_cpu;
	const struct timespec tick = { .tv_nsec = 100000 };

	bbm_cpu_passive_begin(run->sys);
	while (bbm_load_acquire(&cpu->state) == BBM_CPU_OFF &&
	       !bbm_load_acquire(&run->stop))
		nanosleep(&tick, NULL);
	bbm_cpu_passive_end(run->sys);
	while (boot_phase(run) < BBM_PHASE_RUNTIME &&
	       !bbm_load_acquire(&run->stop)) {
		bbm_cpu_safe_point(run->sys);
		bbm_run_access(run);
	}
	if (role == BBM_ROLE_SPLITTER && boot_can_set_direct_map(&run->opt))
		bbm_splitter_loop(run);
	else if (role == BBM_ROLE_COLLAPSER &&
		 bbm_system_supports_bbml2(run->sys))
		bbm_collapser_loop(run);
	else
		bbm_reader_loop(run);
}

void bbm_boot_cpu_main(struct bbm_run *run, int id)
{
	if (run->roles[id] == BBM_ROLE_BOOT)
		boot_cpu_loop(run);
	else
		secondary_loop(run, run->roles[id]);
}

/* cpu_up(): MMU on, caps checked, --online-delay later online. */
static void boot_bring_up(struct bbm_run *run, struct bbm_cpu *cpu)
{
	struct bbm_system *sys = run->sys;
	const struct timespec tick = { .tv_nsec = 100000 };
	uint64_t online_at;

	pthread_rwlock_wrlock(&sys->hotplug_lock);
	bbm_cpu_set_state(sys, cpu, BBM_CPU_MMU_ON);
	/* A match-all-early-CPUs capability is cleared by one that lacks it. */
	if (!cpu->core->bbml2_noabort)
		bbm_store_release(&sys->early_cpus_bbml2, false);
	online_at = bbm_now_ns() + run->opt.online_delay_ns;
	while (bbm_now_ns() < online_at && !bbm_load_acquire(&run->stop))
		nanosleep(&tick, NULL);
	bbm_cpu_set_state(sys, cpu, BBM_CPU_ONLINE);
	pthread_rwlock_unlock(&sys->hotplug_lock);
}

/* A hotplugged CPU at run time: refused if it lacks a system capability. */
static void boot_late_cpu(struct bbm_run *run, struct bbm_cpu *cpu)
{
	struct bbm_system *sys = run->sys;

	if (bbm_system_supports_bbml2(sys) && !cpu->core->bbml2_noabort) {
		bbm_report_warn(&sys->report, BBM_NOTE_CPU_REFUSED, 0,
				"CPU%d: will not boot (%s lacks "
				"BBML2_NOABORT, which the system uses)",
				cpu->id, cpu->core->name);
		return;
	}
	boot_bring_up(run, cpu);
}

/* Wait until the boot CPU has finished @step, or the run stops. */
static void boot_wait_step(struct bbm_run *run, int step)
{
	const struct timespec tick = { .tv_nsec = 100000 };

	while (bbm_load_acquire(&run->boot_step_done) < step &&
	       !bbm_load_acquire(&run->stop))
		nanosleep(&tick, NULL);
}

int bbm_boot_timeline(struct bbm_run *run)
{
	struct bbm_system *sys = run->sys;
	uint64_t runtime_end, late_at;
	int i, late = 0;

	boot_enter_phase(run, BBM_PHASE_MAP);
	boot_enter_phase(run, BBM_PHASE_EARLY);
	boot_wait_step(run, BBM_PHASE_EARLY);

	boot_enter_phase(run, BBM_PHASE_SMP);
	bbm_store_release(&sys->secondaries_started, true);
	for (i = 1; i < run->nr_early_cpus && !bbm_load_acquire(&run->stop);
	     i++)
		boot_bring_up(run, &sys->cpus[i]);

	boot_enter_phase(run, BBM_PHASE_FINALIZE);
	boot_wait_step(run, BBM_PHASE_FINALIZE);

	boot_enter_phase(run, BBM_PHASE_RUNTIME);
	runtime_end = bbm_now_ns() + run->opt.duration_ns;
	/* Late CPUs come up spread over the first half of the run time. */
	for (i = run->nr_early_cpus; i < run->nr_cpus; i++, late++) {
		late_at = bbm_now_ns() + run->opt.duration_ns / 2 /
						 (run->nr_cpus -
						  run->nr_early_cpus);
		while (bbm_now_ns() < late_at && !bbm_load_acquire(&run->stop))
			sched_yield();
		if (bbm_load_acquire(&run->stop))
			break;
		boot_late_cpu(run, &sys->cpus[i]);
	}
	(void)late;
	return bbm_run_wait_until(run, runtime_end);
}

int bbm_boot_setup(struct bbm_run *run, struct bbm_system_config *cfg)
{
	struct bbm_options *opt = &run->opt;
	bool cpu0_bbml2;
	int i;

	/* Collapsers exist only where the policy folds. */
	for (i = 1; i < run->nr_cpus; i++)
		if (run->roles[i] == BBM_ROLE_COLLAPSER &&
		    !bbm_policy_folds(opt->policy))
			run->roles[i] = BBM_ROLE_READER;
	for (i = 0; i < opt->nr_late; i++) {
		run->roles[run->nr_cpus] = BBM_ROLE_READER;
		cfg->cores[run->nr_cpus++] = opt->late[i];
	}
	cfg->nr_cpus = run->nr_cpus;

	/* map_mem(): force_pte_mapping() on the boot CPU's own capability. */
	cpu0_bbml2 = cfg->cores[0]->bbml2_noabort;
	cfg->pte_only = bbm_policy_maps_pte_first(opt->policy) ||
			(!cpu0_bbml2 && boot_can_set_direct_map(opt));
	/* busted-live needs blocks to split, whatever the boot CPU. */
	if (opt->policy == BBM_POLICY_BUSTED_LIVE)
		cfg->pte_only = false;
	opt->map_pte = cfg->pte_only;
	/*
	 * The kernel's splits are live; option2 parks CPUs itself.  The
	 * busted-live control splits by break-before-make with everyone
	 * running: never safe, whatever the mix.
	 */
	if (opt->policy == BBM_POLICY_BUSTED_LIVE)
		opt->split_method = BBM_SPLIT_BBM;
	else if (opt->split_method == BBM_SPLIT_AUTO)
		opt->split_method = BBM_SPLIT_BBML2;
	/* The controls' bugs show in windows wider than a few stores. */
	if ((opt->policy == BBM_POLICY_BUSTED_LIVE ||
	     opt->policy == BBM_POLICY_BUSTED_NOHOTPLUG) &&
	    !opt->window_delay_ns)
		opt->window_delay_ns = BOOT_BUSTED_WINDOW_NS;
	/* Outside a realm, set_memory_{de,en}crypted() do nothing. */
	if (!opt->realm) {
		opt->op_mix[BBM_OP_DECRYPT] = 0;
		opt->op_mix[BBM_OP_ENCRYPT] = 0;
		for (i = 0; i < BBM_NR_OPS && !opt->op_mix[i]; i++)
			;
		if (i == BBM_NR_OPS)
			opt->op_mix[BBM_OP_RO] = opt->op_mix[BBM_OP_RW] = 1;
	}
	run->smp_secondaries = run->nr_early_cpus - 1;
	return 0;
}

void bbm_boot_start(struct bbm_run *run)
{
	struct bbm_system *sys = run->sys;

	bbm_policy_install(sys, run->opt.policy);
	sys->caps_finalized = false;
	sys->early_cpus_bbml2 = sys->cpus[0].core->bbml2_noabort;
	sys->page_alloc_available = false;
	sys->secondaries_started = false;
	/* linear_map_requires_bbml2 = !force_pte_mapping() && can_set_... */
	sys->linear_map_requires_bbml2 = !sys->map->pte_only &&
					 boot_can_set_direct_map(&run->opt);
	run->table_pages_at_boot = bbm_arena_total_in_use(sys->map->arena);
	bbm_cpu_set_state(sys, &sys->cpus[0], BBM_CPU_ONLINE);
}

void bbm_boot_finish(struct bbm_run *run)
{
	/* Close the run-time phase's counts once every CPU has stopped. */
	if (bbm_load_acquire(&run->phase) >= 0)
		boot_enter_phase(run, BBM_NR_PHASES);
}
