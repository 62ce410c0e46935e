// SPDX-License-Identifier: GPL-2.0
/*
 * bbmstress: emulated arm64 CPUs race splitters and collapsers over a model
 * of the kernel's linear map; every violation is reported like an oops.
 *
 * Exit status: 0 no failure, 1 failure detected, 2 usage or input error,
 * 3 the harness could not run (or write its results), 128 + N a run with
 * no failure ended early by signal N.
 */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress/roles.h"
#include "stress/run.h"
#include "stress/scenario.h"

#define OOPS_PRINTED 3	/* full reports printed; later ones are counted */
#define BUSTED_WINDOW_NS 200000	/* --window-delay the controls get */
#define BUSTED_TLB_ENTRIES 512

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/*
 * The report sink: the first few failures as oopses, notes (leaked pages,
 * refused CPUs) as the kernel's one line; stop unless --keep-going.
 */
static void run_sink(void *priv, const struct bbm_failure *f)
{
	struct bbm_run *run = priv;
	static int printed;

	if (!bbm_fail_kind_is_failure(f->kind)) {
		if (!run->opt.quiet)
			fprintf(run->out, "bbmstress: %s: CPU%d: %s\n",
				bbm_fail_kind_name(f->kind), f->cpu, f->msg);
		return;
	}
	if (!run->first_failure_ns)
		run->first_failure_ns = bbm_now_ns() - run->start_ns;
	if (printed++ < OOPS_PRINTED)
		bbm_print_oops(run, f);
	if (!run->opt.keep_going)
		bbm_store_release(&run->stop, 1);
}

/* Core types in thread order: readers, splitters, collapsers. */
static void run_assign_cores(struct bbm_run *run,
			     struct bbm_system_config *cfg)
{
	const struct bbm_core_type *big = bbm_core_type_find("cortex-x4");
	const struct bbm_core_type *little = bbm_core_type_find("cortex-a520");
	const struct bbm_options *opt = &run->opt;
	int i, nonbbml2 = opt->nonbbml2_readers;

	/* Unset: a mixed machine, half the readers without BBML2_NOABORT. */
	if (nonbbml2 < 0)
		nonbbml2 = opt->readers / 2;
	for (i = 0; i < run->nr_cpus; i++) {
		if (opt->nr_mix) {
			cfg->cores[i] = opt->mix[i];
		} else if (run->roles[i] == BBM_ROLE_READER && nonbbml2) {
			cfg->cores[i] = little;
			nonbbml2--;
		} else {
			cfg->cores[i] = big;
		}
	}
}

/* What a negative control needs to show its bug (DOMAIN.md section 6). */
static void run_setup_busted(struct bbm_options *opt)
{
	switch (opt->busted) {
	case BBM_BUSTED_LIVE_BBM:
		opt->split_method = BBM_SPLIT_BBM;
		break;
	case BBM_BUSTED_DIRECT_NOBBML2:
		/*
		 * Every reader without BBML2_NOABORT, and TLBs big enough to
		 * keep old block entries: else a run that is not caught early
		 * drifts to an all-PTE map with nothing left to split.
		 */
		opt->split_method = BBM_SPLIT_BBML2;
		if (!opt->nr_mix && opt->nonbbml2_readers < 1)
			opt->nonbbml2_readers = opt->readers;
		if (!opt->tlb_entries_given)
			opt->tlb_entries = BUSTED_TLB_ENTRIES;
		/* Old large entries linger from a split to its TLBI. */
		if (!opt->window_delay_ns)
			opt->window_delay_ns = BUSTED_WINDOW_NS;
		break;
	case BBM_BUSTED_COLLAPSE_RACE:
		/*
		 * One splitter: a second one's split inside the folded table
		 * would be caught first, as a pageattr WARN.
		 */
		opt->splitters = 1;
		/* fall through */
	case BBM_BUSTED_EARLY_FREE:
		/* Live folds: inside stop_machine() nobody walks or writes. */
		if (!opt->collapsers)
			opt->collapsers = 1;
		if (opt->split_method == BBM_SPLIT_AUTO)
			opt->split_method = BBM_SPLIT_BBML2;
		if (!opt->nr_mix)
			opt->nonbbml2_readers = 0;
		/* Widen the fold's check-to-store window (KCSAN-style). */
		if (!opt->window_delay_ns)
			opt->window_delay_ns = BUSTED_WINDOW_NS;
		break;
	default:
		break;
	}
	if (opt->busted != BBM_BUSTED_NONE) {
		if (!opt->readers)
			opt->readers = 1;
		if (!opt->splitters)
			opt->splitters = 1;
	}
}

static unsigned int busted_bugs(enum bbm_busted busted)
{
	switch (busted) {
	case BBM_BUSTED_EARLY_FREE:
		return BBM_BUG_EARLY_FREE;
	case BBM_BUSTED_NO_TLBI:
		return BBM_BUG_NO_TLBI;
	case BBM_BUSTED_COLLAPSE_RACE:
		return BBM_BUG_FOLD_NO_OWN;
	default:
		return 0;
	}
}

/* auto: bbml2 if every CPU has BBML2_NOABORT, else BBM in stop_machine. */
static void run_resolve_method(struct bbm_run *run,
			       struct bbm_system_config *cfg)
{
	bool all_bbml2 = true;
	int i;

	for (i = 0; i < run->nr_cpus; i++)
		all_bbml2 &= cfg->cores[i]->bbml2_noabort;
	run->method = run->opt.split_method;
	if (run->method == BBM_SPLIT_AUTO) {
		run->method = all_bbml2 ? BBM_SPLIT_BBML2 :
					  BBM_SPLIT_BBM_STOP_MACHINE;
		if (!all_bbml2)
			run->opt.park = BBM_PARK_IDMAP;
	}
	switch (run->method) {
	case BBM_SPLIT_BBM:
		cfg->replace = BBM_REPLACE_BBM;
		break;
	case BBM_SPLIT_BBM_STOP_MACHINE:
		cfg->replace = BBM_REPLACE_BBM_STOP_MACHINE;
		break;
	default:
		cfg->replace = BBM_REPLACE_BBML2;
		break;
	}
}

static int run_setup(struct bbm_run *run)
{
	struct bbm_options *opt = &run->opt;
	struct bbm_system_config cfg;
	int i, n = 0, boot;

	run_setup_busted(opt);
	run->nr_cpus = bbm_options_nr_cpus(opt);
	run->nr_early_cpus = run->nr_cpus;
	run->phase = -1;
	/* Boot: CPU0 boots, then is one of the splitters. */
	boot = opt->scenario == BBM_SCENARIO_BOOT;
	if (boot)
		run->roles[n++] = BBM_ROLE_BOOT;
	for (i = 0; i < opt->readers; i++)
		run->roles[n++] = BBM_ROLE_READER;
	for (i = boot; i < opt->splitters; i++)
		run->roles[n++] = BBM_ROLE_SPLITTER;
	for (i = 0; i < opt->collapsers; i++)
		run->roles[n++] = BBM_ROLE_COLLAPSER;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mem = opt->mem;
	cfg.pte_only = opt->map_pte;
	cfg.nr_cpus = run->nr_cpus;
	run_assign_cores(run, &cfg);
	if (opt->scenario == BBM_SCENARIO_BOOT)
		bbm_boot_setup(run, &cfg);
	run_resolve_method(run, &cfg);
	cfg.park = opt->park;
	cfg.tlb_entries = opt->tlb_entries;
	cfg.tlb_replace = opt->tlb_replace;
	cfg.spec_fill = opt->spec_fill;
	cfg.window_delay_ns = opt->window_delay_ns;
	cfg.bugs = busted_bugs(opt->busted);
	cfg.stop_timeout_ns = 5000000000ull;
	cfg.seed = opt->seed;

	run->sys = bbm_system_create(&cfg, run_sink, run);
	if (!run->sys) {
		fprintf(stderr,
			"bbmstress: cannot build a machine of %llu bytes and "
			"%d CPUs: out of memory\n",
			(unsigned long long)opt->mem, run->nr_cpus);
		return -ENOMEM;
	}
	/* Every CPU runs kernel code that touches the linear map. */
	for (i = 0; i < run->nr_cpus; i++)
		run->sys->cpus[i].translates = true;
	if (opt->scenario == BBM_SCENARIO_BOOT) {
		bbm_boot_start(run);
		return 0;
	}
	for (i = 0; i < run->nr_cpus; i++)
		bbm_cpu_set_state(run->sys, &run->sys->cpus[i],
				  BBM_CPU_ONLINE);
	return 0;
}

struct cpu_thread {
	pthread_t thread;
	struct bbm_run *run;
	int id;
	pthread_barrier_t *gate;
};

static void *cpu_thread_fn(void *arg)
{
	struct cpu_thread *t = arg;
	struct bbm_run *run = t->run;

	bbm_cpu_enter(run->sys, t->id);
	/* All CPUs start together (liburcu's test_urcu start gate). */
	pthread_barrier_wait(t->gate);
	if (run->opt.scenario == BBM_SCENARIO_BOOT)
		bbm_boot_cpu_main(run, t->id);
	else
		switch (run->roles[t->id]) {
		case BBM_ROLE_READER:
			bbm_reader_loop(run);
			break;
		case BBM_ROLE_SPLITTER:
			bbm_splitter_loop(run);
			break;
		case BBM_ROLE_COLLAPSER:
			bbm_collapser_loop(run);
			break;
		default:
			break;
		}
	/* Gone from stop_machine()'s and TLBI's view. */
	bbm_cpu_set_state(run->sys, bbm_this_cpu, BBM_CPU_OFF);
	bbm_cpu_exit(run->sys);
	return NULL;
}

int bbm_run_wait_until(struct bbm_run *run, uint64_t end)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000000 };
	uint64_t next_stats = bbm_now_ns() + run->opt.stat_interval_ns;
	uint64_t now;

	for (;;) {
		nanosleep(&tick, NULL);
		now = bbm_now_ns();
		if (got_signal) {
			run->interrupted = true;
			run->signal = got_signal;
			break;
		}
		if (bbm_load_acquire(&run->stop) || now >= end)
			break;
		if (run->opt.stat_interval_ns && now >= next_stats) {
			if (!run->opt.quiet)
				bbm_print_stats(run);
			next_stats += run->opt.stat_interval_ns;
		}
	}
	bbm_store_release(&run->stop, 1);
	return 0;
}

/* Start one thread per CPU, run the scenario, join them. */
static int run_threads(struct bbm_run *run)
{
	struct cpu_thread threads[BBM_MAX_CPUS];
	pthread_barrier_t gate;
	int i, started = 0, ret = 0;

	pthread_barrier_init(&gate, NULL, run->nr_cpus + 1);
	for (i = 0; i < run->nr_cpus; i++) {
		threads[i].run = run;
		threads[i].id = i;
		threads[i].gate = &gate;
		if (pthread_create(&threads[i].thread, NULL, cpu_thread_fn,
				   &threads[i]))
			break;
		started++;
	}
	if (started < run->nr_cpus) {
		fprintf(stderr, "bbmstress: cannot start thread %d of %d\n",
			started, run->nr_cpus);
		/* Threads at the gate need everyone: release them and stop. */
		bbm_store_release(&run->stop, 1);
		ret = -EAGAIN;
		for (i = started; i < run->nr_cpus; i++)
			pthread_barrier_wait(&gate);
	}
	run->start_ns = bbm_now_ns();
	if (started == run->nr_cpus)
		pthread_barrier_wait(&gate);
	if (!ret && run->opt.scenario == BBM_SCENARIO_BOOT)
		bbm_boot_timeline(run);
	else if (!ret)
		bbm_run_wait_until(run,
				   run->start_ns + run->opt.duration_ns);
	for (i = 0; i < started; i++)
		pthread_join(threads[i].thread, NULL);
	run->end_ns = bbm_now_ns();
	pthread_barrier_destroy(&gate);
	return ret;
}

/* The results must be writable before an hour is spent on them. */
static bool json_path_unwritable(const char *path)
{
	char *copy = strdup(path);
	const char *dir;
	bool bad;

	if (!copy)
		return true;
	dir = dirname(copy);
	bad = access(dir, W_OK | X_OK);
	if (bad)
		fprintf(stderr, "bbmstress: --json %s: cannot write in %s: %s\n",
			path, dir, strerror(errno));
	free(copy);
	return bad;
}

int main(int argc, char **argv)
{
	static struct bbm_replay replay;
	static struct bbm_run run;
	int status;
	struct sigaction sa = { .sa_handler = on_signal };
	int ret;

	run.out = stdout;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bbm_options_default(&run.opt);
	ret = bbm_options_parse(&run.opt, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	if (run.opt.replay_path && bbm_replay_load(&run.opt, &replay))
		return 2;
	if (run.opt.json_path && json_path_unwritable(run.opt.json_path))
		return 2;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (run_setup(&run))
		return 3;
	if (!run.opt.quiet)
		bbm_print_banner(&run);
	ret = run_threads(&run);
	if (run.opt.scenario == BBM_SCENARIO_BOOT)
		bbm_boot_finish(&run);
	if (ret) {
		bbm_system_destroy(run.sys);
		return 3;
	}
	bbm_print_end(&run);
	if (run.opt.replay_path)
		bbm_replay_report(&run, &replay);
	/* A failure, else an interruption (128 + signal, as shells say). */
	status = bbm_run_failed(&run) ? 1 :
		 run.interrupted    ? 128 + run.signal :
				      0;
	if (run.opt.json_path) {
		ret = bbm_write_json(&run, run.opt.json_path);
		if (ret) {
			fprintf(stderr, "bbmstress: cannot write %s: %s\n",
				run.opt.json_path, strerror(-ret));
			status = 3;
		}
	}
	ret = status;
	bbm_system_destroy(run.sys);
	return ret;
}
