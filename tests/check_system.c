// SPDX-License-Identifier: GPL-2.0
/* The emulated machine: stop_machine, TLBI completion, deferred frees. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#include "core/system.h"

Suite *make_system_suite(void);

static struct bbm_system *make_system(int nr_cpus, unsigned int bugs)
{
	struct bbm_system_config cfg = {
		.mem = 64ull << 20,
		.nr_cpus = nr_cpus,
		.replace = BBM_REPLACE_BBML2,
		.park = BBM_PARK_IDMAP,
		.tlb_entries = 64,
		.bugs = bugs,
		.stop_timeout_ns = 10000000000ull,
		.seed = 1,
	};
	struct bbm_system *sys;
	int i;

	for (i = 0; i < nr_cpus; i++)
		cfg.cores[i] = bbm_core_type_find("cortex-x4");
	sys = bbm_system_create(&cfg, NULL, NULL);
	ck_assert_ptr_nonnull(sys);
	for (i = 0; i < nr_cpus; i++)
		bbm_cpu_set_state(sys, &sys->cpus[i], BBM_CPU_ONLINE);
	return sys;
}

struct worker {
	pthread_t thread;
	struct bbm_system *sys;
	int id;
	int *stop;
	int *pause;		/* readers: stop accessing */
	int paused;		/* seen the pause: no access in flight */
	uint64_t loops;
	uint64_t va;
};

/* An online CPU that reaches safe points and, if a reader, accesses @va. */
static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct bbm_cpu *cpu;

	bbm_cpu_enter(w->sys, w->id);
	cpu = bbm_this_cpu;
	while (!bbm_load_acquire(w->stop)) {
		bbm_cpu_safe_point(w->sys);
		if (w->pause && bbm_load_acquire(w->pause)) {
			bbm_store_release(&w->paused, 1);
			sched_yield();
			continue;
		}
		if (cpu->translates)
			bbm_cpu_access(w->sys, w->va, 0);
		bbm_store_relaxed(&w->loops, w->loops + 1);
	}
	bbm_cpu_set_state(w->sys, cpu, BBM_CPU_OFF);
	bbm_cpu_exit(w->sys);
	return NULL;
}

static struct worker *stop_workers;
static int nr_moved_seen;

/* Inside the stop: no other online CPU makes progress for a while. */
static int check_nobody_moves(void *arg)
{
	const struct timespec wait = { .tv_nsec = 200000 };
	struct bbm_system *sys = arg;
	uint64_t before[64];
	int i;

	for (i = 1; i < sys->nr_cpus; i++)
		before[i] = bbm_load_acquire(&stop_workers[i].loops);
	nanosleep(&wait, NULL);
	for (i = 1; i < sys->nr_cpus; i++)
		nr_moved_seen += bbm_load_acquire(&stop_workers[i].loops) !=
				 before[i];
	return 42;
}

START_TEST(test_stop_machine_parks_all)
{
	const int nr = 8;
	struct bbm_system *sys = make_system(nr, 0);
	struct worker w[8];
	uint64_t before[8];
	int stop = 0, i, round;

	for (i = 1; i < nr; i++) {
		w[i] = (struct worker){ .sys = sys, .id = i, .stop = &stop,
					.va = BBM_PAGE_OFFSET + i * 4096 };
		sys->cpus[i].translates = i % 2;
		pthread_create(&w[i].thread, NULL, worker_fn, &w[i]);
	}
	stop_workers = w;
	bbm_cpu_enter(sys, 0);
	for (round = 0; round < 200; round++)
		ck_assert_int_eq(bbm_stop_machine(sys, check_nobody_moves,
						  sys),
				 42);
	ck_assert_int_eq(nr_moved_seen, 0);
	ck_assert_uint_eq(sys->sm.count, 200);
	ck_assert_uint_eq(bbm_report_total(&sys->report), 0);
	/* Released: every CPU makes progress again. */
	for (i = 1; i < nr; i++)
		before[i] = bbm_load_relaxed(&w[i].loops);
	for (i = 1; i < nr; i++)
		while (bbm_load_relaxed(&w[i].loops) == before[i])
			sched_yield();
	bbm_store_release(&stop, 1);
	for (i = 1; i < nr; i++)
		pthread_join(w[i].thread, NULL);
	bbm_cpu_exit(sys);
	bbm_system_destroy(sys);
}
END_TEST

static int ran_anyway(void *arg)
{
	*(int *)arg = 1;
	return 7;
}

START_TEST(test_stop_machine_timeout_reported)
{
	struct bbm_system *sys = make_system(2, 0);
	int ran = 0;

	/* CPU1 is online but has no thread: it never reaches a safe point. */
	sys->cfg.stop_timeout_ns = 50000000;
	bbm_cpu_enter(sys, 0);
	/* Reported, never a hang: the function still runs. */
	ck_assert_int_eq(bbm_stop_machine(sys, ran_anyway, &ran), 7);
	ck_assert_int_eq(ran, 1);
	ck_assert_uint_eq(bbm_report_count(&sys->report,
					   BBM_FAIL_STOP_MACHINE_TIMEOUT),
			  1);
	bbm_cpu_exit(sys);
	bbm_system_destroy(sys);
}
END_TEST

START_TEST(test_tlbi_completes_on_all_cpus)
{
	const int nr = 6;
	struct bbm_system *sys = make_system(nr, 0);
	struct bbm_tlb_entry *hits[BBM_TLB_NR_CLASSES];
	struct worker w[6];
	uint64_t va = BBM_PAGE_OFFSET + (8ull << 20);
	int stop = 0, pause = 0, i;

	for (i = 1; i < nr; i++) {
		w[i] = (struct worker){ .sys = sys, .id = i, .stop = &stop,
					.pause = &pause, .va = va };
		sys->cpus[i].translates = true;
		pthread_create(&w[i].thread, NULL, worker_fn, &w[i]);
	}
	/* Every reader has walked @va at least once. */
	for (i = 1; i < nr; i++)
		while (bbm_load_relaxed(&w[i].loops) < 100)
			sched_yield();
	/* No access in flight (a walk begun now could refill legitimately). */
	bbm_store_release(&pause, 1);
	for (i = 1; i < nr; i++)
		while (!bbm_load_acquire(&w[i].paused))
			sched_yield();
	bbm_cpu_enter(sys, 0);
	/* The readers do nothing now: the flusher itself must reach them. */
	bbm_flush_tlb_kernel_range(sys, va, va + BBM_PAGE_SIZE);
	/* Returned: no reader holds an entry for @va any more. */
	for (i = 1; i < nr; i++) {
		ck_assert_uint_ge(bbm_load_acquire(&sys->cpus[i].tlbi_acked),
				  bbm_load_acquire(&sys->tlbi.seq));
		ck_assert_int_eq(bbm_tlb_lookup(&sys->cpus[i].tlb, va, hits),
				 0);
	}
	bbm_store_release(&stop, 1);
	for (i = 1; i < nr; i++)
		pthread_join(w[i].thread, NULL);
	ck_assert_uint_eq(bbm_report_total(&sys->report), 0);
	bbm_cpu_exit(sys);
	bbm_system_destroy(sys);
}
END_TEST

struct holder {
	int *in_section;
	int *leave;
};

/* A walker inside an RCU read-side section until told to leave. */
static void *rcu_holder_fn(void *arg)
{
	struct holder *h = arg;

	urcu_memb_register_thread();
	urcu_memb_read_lock();
	bbm_store_release(h->in_section, 1);
	while (!bbm_load_acquire(h->leave))
		sched_yield();
	urcu_memb_read_unlock();
	urcu_memb_unregister_thread();
	return NULL;
}

static bool page_free(struct bbm_system *sys, uint64_t pa)
{
	return !(bbm_arena_gen(sys->map->arena, pa) & 1);
}

static void check_deferred_free(unsigned int bugs)
{
	struct bbm_system *sys = make_system(1, bugs);
	const struct timespec ms = { .tv_nsec = 1000000 };
	int in_section = 0, leave = 0, i;
	struct holder h = { &in_section, &leave };
	pthread_t holder;
	uint64_t pa;

	ck_assert_int_eq(bbm_map_alloc_table(sys->map, BBM_PTE, &pa), 0);
	pthread_create(&holder, NULL, rcu_holder_fn, &h);
	while (!bbm_load_acquire(&in_section))
		sched_yield();
	bbm_map_free_table(sys->map, pa);
	if (bugs & BBM_BUG_EARLY_FREE) {
		/* The negative control: freed under the reader at once. */
		ck_assert(page_free(sys, pa));
	} else {
		for (i = 0; i < 50; i++) {
			ck_assert_msg(!page_free(sys, pa),
				      "table freed during a read-side section");
			nanosleep(&ms, NULL);
		}
	}
	bbm_store_release(&leave, 1);
	pthread_join(holder, NULL);
	urcu_memb_barrier();
	ck_assert(page_free(sys, pa));
	ck_assert_uint_eq(bbm_load_acquire(&sys->frees_done), 1);
	bbm_system_destroy(sys);
}

START_TEST(test_deferred_free_waits_for_readers)
{
	check_deferred_free(0);
}
END_TEST

START_TEST(test_early_free_control_frees_at_once)
{
	check_deferred_free(BBM_BUG_EARLY_FREE);
}
END_TEST

Suite *make_system_suite(void)
{
	Suite *s = suite_create("system");
	TCase *tc = tcase_create("system");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stop_machine_parks_all);
	tcase_add_test(tc, test_stop_machine_timeout_reported);
	tcase_add_test(tc, test_tlbi_completes_on_all_cpus);
	tcase_add_test(tc, test_deferred_free_waits_for_readers);
	tcase_add_test(tc, test_early_free_control_frees_at_once);
	suite_add_tcase(s, tc);
	return s;
}
