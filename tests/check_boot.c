// SPDX-License-Identifier: GPL-2.0
/*
 * The boot scenario's verdicts (DOMAIN.md sections 5-7): for each split
 * policy, what goes wrong in which boot phase, with which CPU mix.  Every
 * run is `bbmstress --scenario boot --quiet --json` for 300 ms of run time
 * or less; --keep-going where counts matter.  Deterministic verdicts are
 * asserted exactly; races are run over fixed seeds and asserted no more
 * strongly than measured (the rates are printed, and in the comments).
 *
 * A bbmstress bug found here (reported; a fix was in the working tree at
 * the time of writing): the "runtime" phase was never closed, so its
 * "failures" was always {}.  test_phase_counts_add_up checks it; tests
 * that need run-time counts derive them as total minus the closed phases,
 * so they do not depend on it.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress_run.h"

Suite *make_boot_suite(void);

/* Kinds that are never acceptable in a correct policy's run. */
static const char *const fatal_kinds[] = {
	"translation-fault",	"tlb-conflict-abort", "wrong-translation",
	"table-use-after-free", "lost-update",	      "stop-machine-timeout",
};
#define NR_FATAL (sizeof(fatal_kinds) / sizeof(fatal_kinds[0]))

static const char *const phase_names[] = { "map", "early", "smp", "finalize",
					   "runtime" };
#define NR_PHASES (sizeof(phase_names) / sizeof(phase_names[0]))

/* A boot run: @fmt's arguments after --scenario boot --quiet --json F. */
static void __attribute__((format(printf, 3, 4)))
boot_run(struct stress_run *r, double timeout_s, const char *fmt, ...)
{
	const struct stress_opts opts = { .flags = STRESS_JSON,
					  .timeout_s = timeout_s };
	char *args;
	va_list ap;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
	va_end(ap);
	stress_run(r, &opts, "--scenario boot --quiet %s", args);
	free(args);
	stress_check_ran(r);
}

static double num(const struct stress_run *r, const char *path)
{
	double v;

	ck_assert_msg(stress_json_num(r->json, path, &v),
		      "%s: no number at %s in the JSON", r->cmd, path);
	return v;
}

static double total(const struct stress_run *r, const char *kind)
{
	char path[96];

	snprintf(path, sizeof(path), "failures.%s", kind);
	return num(r, path);
}

static double phase_num(const struct stress_run *r, const char *phase,
			const char *field)
{
	char path[96];
	int i = stress_json_phase(r->json, phase);

	ck_assert_msg(i >= 0, "%s: no phase %s", r->cmd, phase);
	snprintf(path, sizeof(path), "phases[%d].%s", i, field);
	return num(r, path);
}

static double phase_fail(const struct stress_run *r, const char *phase,
			 const char *kind)
{
	return stress_phase_failures(r->json, phase, kind);
}

/*
 * Runtime count of @kind, as total minus the phases that were closed:
 * the runtime phase's own record is always empty (the bug above).
 */
static double runtime_fail(const struct stress_run *r, const char *kind)
{
	double n = total(r, kind);
	size_t i;

	for (i = 0; i < NR_PHASES - 1; i++)
		n -= phase_fail(r, phase_names[i], kind);
	return n;
}

/* "map(ops 0/0 failed){} early(ops 0/4 failed){a=1} ..." (malloc'ed). */
static char *phase_summary(const struct stress_run *r)
{
	char *out = strdup(""), *next, *name, *fails, path[64];
	int i, n = stress_json_len(r->json, "phases");
	double ops, failed;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "phases[%d].name", i);
		name = stress_json_str(r->json, path);
		snprintf(path, sizeof(path), "phases[%d].failures", i);
		fails = stress_json_failure_summary(r->json, path);
		snprintf(path, sizeof(path), "phases[%d].ops", i);
		ops = stress_json_num_or(r->json, path, -1);
		snprintf(path, sizeof(path), "phases[%d].ops_failed", i);
		failed = stress_json_num_or(r->json, path, -1);
		ck_assert_int_ge(asprintf(&next,
					  "%s%s%s(ops %.0f/%.0f failed)"
					  "{%s}",
					  out, i ? " " : "", name ? name : "?",
					  ops, failed, fails),
				 0);
		free(out);
		free(fails);
		free(name);
		out = next;
	}
	return out;
}

/* Print one line about @r: @what, failures, phases. */
static void report(const char *what, const struct stress_run *r)
{
	char *all = stress_json_failure_summary(r->json, "failures");
	char *phases = phase_summary(r);

	printf("boot: %s: exit %d, %.2f s, failures {%s}, leaked_pages %.0f, "
	       "repaints %.0f; phases %s\n",
	       what, r->status, r->wall_s, all,
	       stress_json_num_or(r->json, "leaked_pages", -1),
	       stress_json_num_or(r->json, "repaints", -1), phases);
	free(all);
	free(phases);
}

/* Some first_failures record of @kind has @text in its msg. */
static bool first_failure_says(const struct stress_run *r, const char *kind,
			       const char *text)
{
	int i, n = stress_json_len(r->json, "first_failures");
	char path[64];
	bool found = false;

	for (i = 0; i < n && !found; i++) {
		char *k, *msg;

		snprintf(path, sizeof(path), "first_failures[%d].kind", i);
		k = stress_json_str(r->json, path);
		snprintf(path, sizeof(path), "first_failures[%d].msg", i);
		msg = stress_json_str(r->json, path);
		found = k && msg && (!kind || !strcmp(k, kind)) &&
			strstr(msg, text);
		free(k);
		free(msg);
	}
	return found;
}

/* Every kept split_kernel_leaf_mapping() refusal says why, one of two. */
static void assert_refusal_reasons(const struct stress_run *r)
{
	int i, n = stress_json_len(r->json, "first_failures");
	char path[64];

	for (i = 0; i < n; i++) {
		char *msg;

		snprintf(path, sizeof(path), "first_failures[%d].msg", i);
		msg = stress_json_str(r->json, path);
		if (msg && strstr(msg, "mmu.c split_kernel_leaf_mapping"))
			ck_assert_msg(strstr(msg, "page allocator not "
						  "available") ||
					      strstr(msg,
						     "secondary CPUs online"),
				      "%s: refusal for another reason: %s",
				      r->cmd, msg);
		free(msg);
	}
}

/* No fatal kind at all, except @allowed (NULL: none). */
static void assert_no_fatal_but(const struct stress_run *r, const char *allowed)
{
	size_t i;

	for (i = 0; i < NR_FATAL; i++)
		ck_assert_msg((allowed && !strcmp(fatal_kinds[i], allowed)) ||
				      total(r, fatal_kinds[i]) == 0,
			      "%s: %s=%.0f; first: %.400s", r->cmd,
			      fatal_kinds[i], total(r, fatal_kinds[i]),
			      stress_json_at(r->json, "first_failures[0]"));
}

static void assert_no_fatal(const struct stress_run *r)
{
	assert_no_fatal_but(r, NULL);
}

/* --- 1. v6.18 in a realm: the March 2026 report --------------------------- */

/*
 * CPU0 (cortex-x4) maps with blocks; the 4 early decrypts (16 pages each,
 * top of RAM going down) find caps not final, v6.18 skips the split, and
 * pageattr WARNs on the partial block: 4 pageattr-warn and 4 "16 pages
 * will be leaked" in the early phase, all deterministic.  4032M's top is
 * in CONT PMD blocks (PMD level); 4G's top is in a 1G block (PUD level).
 */
START_TEST(test_v618_realm_early_warn)
{
	static const struct {
		const char *mem;
		const char *entry;
	} cases[] = {
		{ "", "pageattr_pmd_entry" }, /* boot default: 4032M */
		{ "--mem 4G", "pageattr_pud_entry" },
	};
	struct stress_run r;
	char what[128], *msg;
	int seed;

	for (seed = 1; seed <= 2; seed++) {
		boot_run(&r, 30,
			 "--realm --policy v6.18 --duration 200ms --keep-going "
			 "--seed %d %s",
			 seed, cases[_i].mem);
		snprintf(what, sizeof(what), "v6.18 realm %s seed %d",
			 cases[_i].mem[0] ? cases[_i].mem : "4032M", seed);
		report(what, &r);
		ck_assert_msg(
			phase_fail(&r, "early", "pageattr-warn") == 4 &&
				phase_fail(&r, "early", "pages-leaked") == 4 &&
				phase_num(&r, "early", "ops_failed") == 4 &&
				phase_num(&r, "early", "ops") == 0,
			"%s: early phase should have 4 failed decrypts, "
			"4 pageattr-warn, 4 pages-leaked",
			r.cmd);
		/* 16 pages per failed decrypt, in every phase: 64 in early. */
		ck_assert_msg(num(&r, "leaked_pages") ==
				      16 * total(&r, "pages-leaked"),
			      "%s: leaked_pages %.0f != 16 * %.0f notes", r.cmd,
			      num(&r, "leaked_pages"),
			      total(&r, "pages-leaked"));
		msg = stress_json_str(r.json, "first_failures[0].msg");
		ck_assert_msg(msg && strstr(msg, cases[_i].entry),
			      "%s: first failure should be the WARN in %s: %s",
			      r.cmd, cases[_i].entry, msg ? msg : "(none)");
		free(msg);
		msg = stress_json_str(r.json, "first_failures[1].msg");
		ck_assert_msg(msg && strstr(msg, "Failed to decrypt memory, 16 "
						 "pages will be leaked"),
			      "%s: second record should be the leak: %s", r.cmd,
			      msg ? msg : "(none)");
		free(msg);
		assert_no_fatal(&r);
		stress_run_free(&r);
	}
}
END_TEST

/* --- 2. option1-rfc ------------------------------------------------------- */

/*
 * Early (one CPU, BBML2 boot CPU): all 4 decrypts split and succeed.  In
 * the smp window, once a secondary is online, num_online_cpus() > 1 makes
 * the RFC skip the split: pageattr-warn in the smp phase.  The window is
 * widened (--online-delay 10ms --window-ops 20): with the defaults (2ms,
 * 8 ops) under load 3 of 20 seeds had no failed op in smp (ops late).
 * Before that first secondary is online the RFC splits live while the
 * a520s of the default mix may have their MMU on: tlb-conflict-abort is
 * allowed there (the gap of test_mmu_on_not_online_gap), nowhere else.
 */
START_TEST(test_option1_rfc_window)
{
	struct stress_run r;
	char what[64];
	double gap;
	int seed;

	for (seed = 1; seed <= 3; seed++) {
		boot_run(&r, 30,
			 "--realm --policy option1-rfc --online-delay 10ms "
			 "--window-ops 20 --duration 200ms --keep-going "
			 "--seed %d",
			 seed);
		snprintf(what, sizeof(what), "option1-rfc realm seed %d", seed);
		report(what, &r);
		ck_assert_msg(phase_num(&r, "early", "ops") == 4 &&
				      phase_num(&r, "early", "ops_failed") == 0,
			      "%s: early decrypts should all succeed (ops %.0f,"
			      " failed %.0f)",
			      r.cmd, phase_num(&r, "early", "ops"),
			      phase_num(&r, "early", "ops_failed"));
		ck_assert_msg(stress_json_len(r.json, "phases[1].failures") ==
				      0,
			      "%s: early phase has failures", r.cmd);
		ck_assert_msg(phase_fail(&r, "smp", "pageattr-warn") > 0,
			      "%s: no pageattr-warn in the smp phase", r.cmd);
		/* The MMU-on gap (test_mmu_on_not_online_gap): a520s here. */
		gap = phase_fail(&r, "smp", "tlb-conflict-abort") +
		      phase_fail(&r, "finalize", "tlb-conflict-abort");
		printf("boot: option1-rfc realm seed %d: tlb-conflict-abort=%.0f"
		       " (the MMU-on gap)\n",
		       seed, gap);
		ck_assert_msg(total(&r, "tlb-conflict-abort") == gap,
			      "%s: tlb-conflict-abort after the boot window",
			      r.cmd);
		assert_no_fatal_but(&r, "tlb-conflict-abort");
		stress_run_free(&r);
	}
}
END_TEST

/*
 * The finding: at run time, caps final and every CPU with BBML2_NOABORT,
 * the RFC's second test (num_online_cpus() > 1) still holds, so every
 * split is skipped and permission changes WARN.  As measured (300 ms,
 * seeds 1-2): 10000-42000 pageattr-warn at run time.  Printed, not
 * asserted: wrong-translation (0-400 per run: a change over part of a
 * CONT group, whose split the RFC skipped, leaves the group misprogrammed
 * and a TLB's CONT entry gives the other pages' attributes; no WARN at
 * PTE level) and lost-update (0-150 before 03f0c00, false positives on
 * ranges a failed, partly applied change had left; 0 since).
 */
START_TEST(test_option1_rfc_runtime_warn)
{
	struct stress_run r;
	double warn, wrong, lost;
	int seed;

	for (seed = 1; seed <= 2; seed++) {
		boot_run(&r, 30,
			 "--realm --policy option1-rfc --cpu-mix cortex-x4:4 "
			 "--splitters 2 --collapsers 0 --duration 300ms "
			 "--keep-going --seed %d",
			 seed);
		report("option1-rfc all-BBML2", &r);
		warn = runtime_fail(&r, "pageattr-warn");
		wrong = runtime_fail(&r, "wrong-translation");
		lost = runtime_fail(&r, "lost-update");
		printf("boot: option1-rfc all-BBML2 seed %d: run time "
		       "pageattr-warn=%.0f wrong-translation=%.0f "
		       "lost-update=%.0f (total minus closed phases)\n",
		       seed, warn, wrong, lost);
		ck_assert_msg(r.status == 1 && warn > 0,
			      "%s: no pageattr-warn at run time", r.cmd);
		stress_run_free(&r);
	}
}
END_TEST

/* --- 3. option1 (merged) -------------------------------------------------- */

/*
 * Early: the first 2 decrypts (before mem_init) are refused, -EBUSY with
 * the page allocator down: split-refused (2 WARNs each) and 16 pages
 * leaked each; the 2 after mem_init split and succeed.  In the smp window
 * (widened as for option1-rfc) with a CPU online: split-refused.
 *
 * With the default mix the MMU-on gap can abort (see
 * test_mmu_on_not_online_gap): tlb-conflict-abort is allowed in smp and
 * finalize only, and printed.  Nothing else fatal.  (Before 03f0c00 about
 * 1 run in 30 reported a false lost-update at run time: a decrypt whose
 * first step ran with one CPU online and whose second was refused after a
 * secondary came online leaves its pages present-invalid and NS, leaked;
 * a run-time splitter picked a range over them and its "before" check
 * ignored BBM_PS_LEAKED.  03f0c00 leaves leaked ranges alone.)
 */
START_TEST(test_option1_realm)
{
	struct stress_run r;
	char what[64];
	double gap;
	int seed;

	for (seed = 1; seed <= 2; seed++) {
		boot_run(&r, 30,
			 "--realm --policy option1 --online-delay 10ms "
			 "--window-ops 20 --duration 200ms --keep-going "
			 "--seed %d",
			 seed);
		snprintf(what, sizeof(what), "option1 realm seed %d", seed);
		report(what, &r);
		ck_assert_msg(phase_num(&r, "early", "ops") == 2 &&
				      phase_num(&r, "early", "ops_failed") == 2,
			      "%s: early should be 2 ok, 2 refused", r.cmd);
		ck_assert_msg(phase_fail(&r, "early", "split-refused") == 4 &&
				      phase_fail(&r, "early", "pages-leaked") ==
					      2,
			      "%s: early should have 4 split-refused WARNs and "
			      "2 leaks",
			      r.cmd);
		ck_assert_msg(phase_fail(&r, "early", "pageattr-warn") == 0,
			      "%s: pageattr-warn in early", r.cmd);
		ck_assert_msg(first_failure_says(&r, "split-refused",
						 "page allocator not "
						 "available"),
			      "%s: no 'page allocator not available' record",
			      r.cmd);
		ck_assert_msg(num(&r, "leaked_pages") ==
				      16 * total(&r, "pages-leaked"),
			      "%s: leaked_pages %.0f != 16 * %.0f", r.cmd,
			      num(&r, "leaked_pages"),
			      total(&r, "pages-leaked"));
		ck_assert_msg(phase_fail(&r, "smp", "split-refused") > 0,
			      "%s: no split-refused in the smp window", r.cmd);
		/*
		 * Each kept mmu.c WARN gives one of option1's two reasons.
		 * (The 8 kept records may all be early ones and gap aborts:
		 * the default mix has a520s, see test_mmu_on_not_online_gap.)
		 */
		assert_refusal_reasons(&r);
		gap = phase_fail(&r, "smp", "tlb-conflict-abort") +
		      phase_fail(&r, "finalize", "tlb-conflict-abort");
		printf("boot: option1 realm seed %d: tlb-conflict-abort=%.0f "
		       "(the MMU-on gap)\n",
		       seed, gap);
		ck_assert_msg(total(&r, "tlb-conflict-abort") == gap,
			      "%s: tlb-conflict-abort after the boot window",
			      r.cmd);
		assert_no_fatal_but(&r, "tlb-conflict-abort");
		stress_run_free(&r);
	}
}
END_TEST

/* --- 4. the gap: MMU on, not yet online ----------------------------------- */

/*
 * option1 and option1-rfc split live while num_online_cpus() == 1, but a
 * secondary without BBML2_NOABORT may already have its MMU on and fill
 * TLB entries: tlb-conflict-abort in the smp phase.  A race; measured on
 * 2 loaded cores (--rodata full, x4 boot CPU + 3 a520, --online-delay
 * 20ms --window-ops 40): with the default 64-entry TLBs option1 16/30,
 * 8/20, 4/10 and option1-rfc 20/30, 3/10 (--realm instead of rodata:
 * 17/30, 22/30); with --tlb-entries 512 (old block entries live longer)
 * option1 14/20, 20/20 and option1-rfc 20/20, 3/10, 9/20; with
 * --online-delay 50ms --window-ops 100 as well: option1 16/20,
 * option1-rfc 13/20.  The rate swings with the load (the not-yet-online
 * CPU must get CPU time inside the gap).  Runs use the last setting;
 * 10 seeds, 10 more if none caught; assert >= 1 (P(0 of 20) < 1e-3 at
 * the worst rate seen), and print the rate.
 */
static const char *const gap_policies[] = { "option1", "option1-rfc" };

START_TEST(test_mmu_on_not_online_gap)
{
	const char *policy = gap_policies[_i];
	char seeds[128] = "";
	struct stress_run r;
	int seed, caught = 0;
	double smp_aborts = 0, wall = 0;

	for (seed = 1; seed <= 10 || (!caught && seed <= 20); seed++) {
		boot_run(&r, 30,
			 "--policy %s --cpu-mix cortex-x4:1,cortex-a520:3 "
			 "--splitters 1 --collapsers 0 --online-delay 50ms "
			 "--window-ops 100 --tlb-entries 512 --rodata full "
			 "--duration 100ms --keep-going --seed %d",
			 policy, seed);
		wall += r.wall_s;
		if (total(&r, "tlb-conflict-abort") > 0) {
			caught++;
			snprintf(seeds + strlen(seeds),
				 sizeof(seeds) - strlen(seeds), " %d", seed);
			smp_aborts +=
				phase_fail(&r, "smp", "tlb-conflict-abort");
			/* Only the not-yet-online a520s can abort here. */
			ck_assert_msg(first_failure_says(&r,
							 "tlb-conflict-abort",
							 "without BBML2"),
				      "%s: abort record not on a non-BBML2 CPU",
				      r.cmd);
			ck_assert_msg(
				phase_fail(&r, "smp", "tlb-conflict-abort") ==
					total(&r, "tlb-conflict-abort"),
				"%s: tlb-conflict-abort outside smp", r.cmd);
		}
		/* After the repaint to PTEs nothing else may go wrong. */
		ck_assert_msg(total(&r, "translation-fault") == 0 &&
				      total(&r, "wrong-translation") == 0 &&
				      total(&r, "table-use-after-free") == 0 &&
				      total(&r, "lost-update") == 0,
			      "%s: unexpected failures: %s", r.cmd,
			      stress_json_failure_summary(r.json, "failures"));
		ck_assert_msg(num(&r, "repaints") == 1, "%s: repaints != 1",
			      r.cmd);
		stress_run_free(&r);
	}
	printf("boot: %s gap (x4 boot, 3x a520, online-delay 50ms, 100 window "
	       "ops, 512 TLB entries): tlb-conflict-abort in %d/%d seeds (%s),"
	       " %.0f aborts in smp, %.1f s\n",
	       policy, caught, seed - 1, seeds, smp_aborts, wall);
	ck_assert_msg(caught >= 1,
		      "%s: no tlb-conflict-abort in %d seeds (measured "
		      "30-100%% per seed)",
		      policy, seed - 1);
}
END_TEST

/* --- 5. option2 ----------------------------------------------------------- */

/*
 * option2, CPUs parked in idmap: nothing fatal in any phase, for an
 * all-BBML2 mix, big.LITTLE with a BBML2 boot CPU, a non-BBML2 boot CPU,
 * and one non-BBML2 secondary with a long bring-up.  split-refused is
 * allowed in the early phase only (before the page allocator).  (Window
 * ops wait for the hotplug lock, so few run inside the smp phase: 1-4.)
 */
static const char *const option2_mixes[] = {
	"cortex-x4:4",
	"cortex-x4:1,cortex-a720:3,cortex-a520:4",
	"cortex-a520:1,cortex-x4:3",
	/* test_busted_nohotplug's configuration, hotplug lock held */
	"cortex-x4:1,cortex-a520:3 --splitters 1 --collapsers 0 "
	"--online-delay 50ms --window-ops 80 --tlb-entries 512",
};

START_TEST(test_option2_idmap_safe)
{
	const char *mix = option2_mixes[_i];
	struct stress_run r;
	char what[160];
	int seed;

	for (seed = 1; seed <= 3; seed++) {
		boot_run(&r, 30,
			 "--realm --policy option2 --park idmap --online-delay "
			 "10ms --window-ops 20 --duration 200ms --keep-going "
			 "--seed %d --cpu-mix %s",
			 seed, mix);
		snprintf(what, sizeof(what), "option2 idmap [%s] seed %d", mix,
			 seed);
		report(what, &r);
		printf("boot: %s: stop_machines=%.0f parks=%.0f\n", what,
		       num(&r, "counters.stop_machines"),
		       num(&r, "counters.parks"));
		assert_no_fatal(&r);
		ck_assert_msg(total(&r, "split-refused") ==
				      phase_fail(&r, "early", "split-refused"),
			      "%s: split-refused outside the early phase",
			      r.cmd);
		ck_assert_msg(total(&r, "pageattr-warn") == 0,
			      "%s: pageattr-warn", r.cmd);
		/* A BBML2 boot CPU maps blocks: window splits stop CPUs. */
		if (stress_json_bool(r.json, "cpus[0].bbml2_noabort") == 1)
			ck_assert_msg(num(&r, "counters.stop_machines") > 0,
				      "%s: no stop_machine ran", r.cmd);
		stress_run_free(&r);
	}
}
END_TEST

/*
 * The negative control: option2 without the hotplug lock lets the
 * stop_machine() run while a non-BBML2 secondary has its MMU on but is not
 * online (so not parked).  Measured (--realm --online-delay 50ms
 * --window-ops 80): tlb-conflict-abort in 16/20, 17/20, 6/10 seeds with
 * 64-entry TLBs, 20/20 with --tlb-entries 512 (12/20 with 40 ops at
 * 64 entries, 6/20 without realm), 8/10 in a suite run with 512;
 * translation-fault never (the split is live, not BBM).  Runs use 512;
 * 10 seeds, 10 more if none caught; assert >= 1.  The same
 * configuration under option2 is clean (test_option2_idmap_safe).
 */
START_TEST(test_busted_nohotplug)
{
	char seeds[128] = "";
	struct stress_run r;
	double faults = 0, aborts = 0;
	int seed, caught = 0;

	for (seed = 1; seed <= 10 || (!caught && seed <= 20); seed++) {
		boot_run(&r, 30,
			 "--realm --policy busted-nohotplug --cpu-mix "
			 "cortex-x4:1,cortex-a520:3 --splitters 1 --collapsers "
			 "0 --online-delay 50ms --window-ops 80 --tlb-entries "
			 "512 --duration 100ms --keep-going --seed %d",
			 seed);
		faults += total(&r, "translation-fault");
		aborts += total(&r, "tlb-conflict-abort");
		if (total(&r, "translation-fault") +
			    total(&r, "tlb-conflict-abort") >
		    0) {
			caught++;
			snprintf(seeds + strlen(seeds),
				 sizeof(seeds) - strlen(seeds), " %d", seed);
		}
		stress_run_free(&r);
	}
	printf("boot: busted-nohotplug: caught in %d/%d seeds (%s); "
	       "translation-fault=%.0f tlb-conflict-abort=%.0f in all\n",
	       caught, seed - 1, seeds, faults, aborts);
	ck_assert_msg(caught >= 1,
		      "busted-nohotplug: no fault or abort in %d seeds "
		      "(measured 60-100%% per seed)",
		      seed - 1);
}
END_TEST

/*
 * option2 with CPUs spinning on linear-map data instead of idmap, one
 * non-BBML2 CPU: report what happens.  Measured: nothing in 30+10 seeds
 * (4032M and 64M): the spinning CPU only touches its own per-CPU page.
 * Asserted: the runs work and stop_machine() ran; the rest is printed.
 */
START_TEST(test_option2_park_spin)
{
	struct stress_run r;
	char what[64];
	int seed, clean = 0;

	for (seed = 1; seed <= 5; seed++) {
		boot_run(&r, 30,
			 "--realm --policy option2 --park spin --cpu-mix "
			 "cortex-x4:1,cortex-a520:3 --splitters 1 --collapsers "
			 "0 --online-delay 10ms --window-ops 40 --duration "
			 "100ms --keep-going --seed %d",
			 seed);
		snprintf(what, sizeof(what), "option2 park=spin seed %d", seed);
		report(what, &r);
		ck_assert_msg(num(&r, "counters.stop_machines") > 0,
			      "%s: no stop_machine ran", r.cmd);
		clean += total(&r, "translation-fault") +
				 total(&r, "tlb-conflict-abort") +
				 total(&r, "wrong-translation") ==
			 0;
		stress_run_free(&r);
	}
	printf("boot: option2 park=spin, one x4 + 3 a520: %d/5 seeds without "
	       "translation-fault, tlb-conflict-abort or wrong-translation\n",
	       clean);
}
END_TEST

/* --- 6. option3 ----------------------------------------------------------- */

/*
 * All-BBML2, no run-time permission changes (--rodata on): the PTE map
 * folds back at finalize to exactly what map_mem would have built for
 * 4032M: 3 x 1G and 30 x 32M CONT PMD groups in 3 table pages.
 */
START_TEST(test_option3_folds_at_finalize)
{
	struct stress_run r;

	boot_run(&r, 30,
		 "--policy option3 --cpu-mix cortex-x4:4 --collapsers 1 "
		 "--rodata on --duration 100ms --seed 1");
	report("option3 all-BBML2 rodata=on", &r);
	printf("boot: option3 rodata=on: folds_at_finalize=%.0f census 1G=%.0f "
	       "32M-cont=%.0f 2M=%.0f 4K=%.0f tables %.0f (boot %.0f)\n",
	       num(&r, "folds_at_finalize"), num(&r, "census.leaves_1g"),
	       num(&r, "census.leaves_32m_cont"), num(&r, "census.leaves_2m"),
	       num(&r, "census.leaves_4k"), num(&r, "census.table_pages"),
	       num(&r, "table_pages_at_boot"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(num(&r, "folds_at_finalize") > 0, "no folds");
	ck_assert_msg(num(&r, "census.leaves_1g") == 3 &&
			      num(&r, "census.leaves_32m_cont") == 30 &&
			      num(&r, "census.leaves_4k") == 0 &&
			      num(&r, "census.leaves_2m") == 0,
		      "census should be 3 x 1G + 30 x 32M-cont");
	ck_assert_msg(num(&r, "census.table_pages") == 3 &&
			      num(&r, "table_pages_at_boot") > 2000,
		      "tables should go from ~2022 to 3");
	stress_run_free(&r);
}
END_TEST

/*
 * All-BBML2 with rodata=full: folds at finalize, then splitters (CPU0 and
 * one more) against one collapser, no failures, fewer table pages than at
 * boot.  NOTE, expectation not met (reported to the lead): the census at
 * the end has no 1G and no 32M-cont leaves (0 in 8/8 runs at 200 ms,
 * 300 ms and 1 s: the splitters break them faster than the collapser
 * rebuilds, and the map drifts back towards all-PTE: 2016 of 2022 table
 * pages after 1 s).  So blocks are asserted as 2M or larger, and the
 * exact finalize result in test_option3_folds_at_finalize.
 */
START_TEST(test_option3_all_bbml2)
{
	struct stress_run r;
	double blocks;
	int seed;

	for (seed = 1; seed <= 2; seed++) {
		boot_run(
			&r, 30,
			"--policy option3 --cpu-mix cortex-x4:4 --collapsers 1 "
			"--duration 200ms --keep-going --seed %d",
			seed);
		report("option3 all-BBML2 rodata=full", &r);
		blocks = num(&r, "census.leaves_2m") +
			 num(&r, "census.leaves_32m_cont") +
			 num(&r, "census.leaves_1g");
		printf("boot: option3 rodata=full seed %d: "
		       "folds_at_finalize=%.0f run-time folds=%.0f "
		       "splits=%.0f; end census 1G=%.0f "
		       "32M-cont=%.0f 2M=%.0f 64K-cont=%.0f 4K=%.0f; tables "
		       "%.0f (boot %.0f)\n",
		       seed, num(&r, "folds_at_finalize"),
		       num(&r, "counters.folds"), num(&r, "counters.splits"),
		       num(&r, "census.leaves_1g"),
		       num(&r, "census.leaves_32m_cont"),
		       num(&r, "census.leaves_2m"),
		       num(&r, "census.leaves_64k_cont"),
		       num(&r, "census.leaves_4k"),
		       num(&r, "census.table_pages"),
		       num(&r, "table_pages_at_boot"));
		ck_assert_msg(r.status == 0, "%s: failures", r.cmd);
		ck_assert_msg(num(&r, "folds_at_finalize") > 0,
			      "%s: no folds at finalize", r.cmd);
		ck_assert_msg(blocks > 0, "%s: no block leaves at the end",
			      r.cmd);
		ck_assert_msg(num(&r, "census.table_pages") <
				      num(&r, "table_pages_at_boot"),
			      "%s: table pages did not fall", r.cmd);
		stress_run_free(&r);
	}
}
END_TEST

/* Mixed CPUs (default mix): option3 never folds; the map stays PTE. */
START_TEST(test_option3_mixed_stays_pte)
{
	struct stress_run r;

	boot_run(&r, 30, "--policy option3 --duration 200ms --seed 1");
	report("option3 mixed", &r);
	ck_assert_msg(r.status == 0, "%s: failures", r.cmd);
	ck_assert_msg(num(&r, "folds_at_finalize") == 0 &&
			      num(&r, "counters.folds") == 0,
		      "%s: folded on a mixed system", r.cmd);
	ck_assert_msg(num(&r, "census.leaves_2m") == 0 &&
			      num(&r, "census.leaves_1g") == 0 &&
			      num(&r, "census.leaves_32m_cont") == 0,
		      "%s: blocks in a mixed system's map", r.cmd);
	ck_assert_msg(num(&r, "census.leaves_4k") > 0, "%s: no PTEs", r.cmd);
	stress_run_free(&r);
}
END_TEST

/* --- 7. the repaint ------------------------------------------------------- */

/*
 * BBML2 boot CPU, non-BBML2 secondaries, option1, rodata=full, no realm:
 * one repaint at finalize, all 4K at the end, no failures.  --window-ops 0:
 * with changes in the smp window option1 refuses them (split-refused) and
 * can abort in the gap of test_mmu_on_not_online_gap.
 */
START_TEST(test_repaint_to_ptes)
{
	struct stress_run r;
	char what[64];
	int seed;

	for (seed = 1; seed <= 2; seed++) {
		boot_run(&r, 30,
			 "--policy option1 --cpu-mix cortex-x4:1,cortex-a520:3 "
			 "--rodata full --window-ops 0 --duration 200ms "
			 "--keep-going --seed %d",
			 seed);
		snprintf(what, sizeof(what), "option1 repaint seed %d", seed);
		report(what, &r);
		ck_assert_msg(r.status == 0, "%s: failures", r.cmd);
		ck_assert_msg(num(&r, "repaints") == 1, "%s: repaints %.0f",
			      r.cmd, num(&r, "repaints"));
		ck_assert_msg(num(&r, "census.leaves_2m") == 0 &&
				      num(&r, "census.leaves_1g") == 0 &&
				      num(&r, "census.leaves_32m_cont") == 0 &&
				      num(&r, "census.leaves_64k_cont") == 0 &&
				      num(&r, "census.leaves_4k") > 0,
			      "%s: not all 4K after the repaint", r.cmd);
		ck_assert_msg(num(&r, "counters.changes") > 0,
			      "%s: no changes at run time", r.cmd);
		stress_run_free(&r);
	}
}
END_TEST

/* --- 8. late CPUs --------------------------------------------------------- */

/*
 * A late cortex-a520 on a system using BBML2 (all early CPUs have it):
 * refused, "will not boot" (a note: the verdict stays SUCCESS).  With a
 * non-BBML2 CPU among the early ones the system does not use BBML2 and
 * the late a520 comes up.
 */
START_TEST(test_late_cpu)
{
	static const struct {
		const char *mix;
		double refused;
	} cases[] = {
		{ "cortex-x4:4", 1 },
		{ "cortex-x4:1,cortex-a520:3", 0 },
	};
	struct stress_run r;
	char what[96];

	boot_run(&r, 30,
		 "--policy option1 --cpu-mix %s --late-cpus cortex-a520 "
		 "--window-ops 0 --duration 300ms --keep-going --seed 1",
		 cases[_i].mix);
	snprintf(what, sizeof(what), "late a520 on [%s]", cases[_i].mix);
	report(what, &r);
	ck_assert_msg(r.status == 0, "%s: failures", r.cmd);
	ck_assert_msg(total(&r, "cpu-refused") == cases[_i].refused,
		      "%s: cpu-refused=%.0f, want %.0f", r.cmd,
		      total(&r, "cpu-refused"), cases[_i].refused);
	if (cases[_i].refused)
		ck_assert_msg(first_failure_says(&r, "cpu-refused",
						 "will not boot"),
			      "%s: no 'will not boot' record", r.cmd);
	stress_run_free(&r);
}
END_TEST

/* --- the phase records ---------------------------------------------------- */

/*
 * The per-phase failure counts add up to the totals.  Failed at commit
 * 1c8925a (the runtime phase was never closed: "failures": {} beside
 * 20000+ run-time pageattr-warn); passes with the fix.
 */
START_TEST(test_phase_counts_add_up)
{
	static const char *const kinds[] = { "pageattr-warn", "pages-leaked",
					     "wrong-translation",
					     "lost-update" };
	struct stress_run r;
	size_t k, p;

	boot_run(&r, 30,
		 "--realm --policy option1-rfc --cpu-mix cortex-x4:4 "
		 "--splitters 2 --collapsers 0 --duration 200ms --keep-going "
		 "--seed 1");
	report("phase sums", &r);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		double sum = 0;

		for (p = 0; p < NR_PHASES; p++)
			sum += phase_fail(&r, phase_names[p], kinds[k]);
		ck_assert_msg(sum == total(&r, kinds[k]),
			      "%s: phases sum to %s=%.0f, total %.0f "
			      "(runtime phase shows %.0f)",
			      r.cmd, kinds[k], sum, total(&r, kinds[k]),
			      phase_fail(&r, "runtime", kinds[k]));
	}
	stress_run_free(&r);
}
END_TEST

Suite *make_boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc_det = tcase_create("deterministic");
	TCase *tc_race = tcase_create("races");
	TCase *tc_phase = tcase_create("phase_records");

	tcase_add_loop_test(tc_det, test_v618_realm_early_warn, 0, 2);
	tcase_add_test(tc_det, test_option1_rfc_window);
	tcase_add_test(tc_det, test_option1_rfc_runtime_warn);
	tcase_add_test(tc_det, test_option1_realm);
	tcase_add_test(tc_det, test_option3_folds_at_finalize);
	tcase_add_test(tc_det, test_option3_all_bbml2);
	tcase_add_test(tc_det, test_option3_mixed_stays_pte);
	tcase_add_test(tc_det, test_repaint_to_ptes);
	tcase_add_loop_test(tc_det, test_late_cpu, 0, 2);
	tcase_set_timeout(tc_det, 60);
	suite_add_tcase(s, tc_det);

	/* 10 runs of ~0.3-0.6 s each per test. */
	tcase_add_loop_test(tc_race, test_mmu_on_not_online_gap, 0, 2);
	tcase_add_loop_test(tc_race, test_option2_idmap_safe, 0,
			    sizeof(option2_mixes) / sizeof(option2_mixes[0]));
	tcase_add_test(tc_race, test_busted_nohotplug);
	tcase_add_test(tc_race, test_option2_park_spin);
	tcase_set_timeout(tc_race, 120);
	suite_add_tcase(s, tc_race);

	tcase_add_test(tc_phase, test_phase_counts_add_up);
	tcase_set_timeout(tc_phase, 30);
	suite_add_tcase(s, tc_phase);
	return s;
}
