// SPDX-License-Identifier: GPL-2.0
/*
 * bbmstress as a program (steady scenario): every negative control is
 * caught with its own failure kind, correct configurations report nothing
 * after doing real work, and the command line behaves (usage errors, JSON
 * write errors, SIGINT).  The program is $BBM_STRESS (see stress_run.h).
 *
 * Runs are one at a time: bbmstress uses every core.  What each test
 * measured (rates, detection times, counters) goes to stdout.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress_run.h"

Suite *make_stress_suite(void);

#define NR_SEEDS 20 /* seeds per negative control: 1..20 */
#define MIN_CAUGHT 19 /* ... of which must be caught */

/*
 * The negative controls and the kind each must report first.
 *
 * direct-nobbml2 sets itself up with every reader cortex-a520 and 512 TLB
 * entries: with 64-entry TLBs and 2 of 4 readers without BBML2 it was
 * caught in only 13 to 20 of 20 seeds per batch (a run not caught early
 * drifts to an all-PTE map); with that set-up 120/120.
 */
static const struct control {
	const char *busted;
	const char *kind;
	const char *extra;
} controls[] = {
	{ "live-bbm", "translation-fault", "" },
	{ "direct-nobbml2", "tlb-conflict-abort", "" },
	{ "early-free", "table-use-after-free", "" },
	{ "no-tlbi", "wrong-translation", "" },
	{ "collapse-race", "lost-update", "" },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v; the median of its @n values, -1 if none. */
static double median_of(double *v, int n)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Each control: caught, with its kind first, in >= 19 of seeds 1..20. */
START_TEST(test_negative_control)
{
	const struct control *c = &controls[_i];
	const struct stress_opts opts = { .flags = STRESS_JSON,
					  .timeout_s = 30 };
	char missed[4096] = "", line[512], kind_key[64];
	double times[NR_SEEDS], median, total_wall = 0;
	int seed, caught = 0;

	snprintf(kind_key, sizeof(kind_key), "failures.%s", c->kind);
	for (seed = 1; seed <= NR_SEEDS; seed++) {
		struct stress_run r;
		char *first, *all;

		stress_run(&r, &opts,
			   "--busted %s --duration 5s --seed %d --quiet %s",
			   c->busted, seed, c->extra);
		stress_check_ran(&r);
		total_wall += r.wall_s;
		first = stress_json_str(r.json, "first_failures[0].kind");
		all = stress_json_failure_summary(r.json, "failures");
		if (r.status == 1 && first && !strcmp(first, c->kind) &&
		    stress_json_num_or(r.json, kind_key, 0) > 0) {
			times[caught++] = stress_json_num_or(
				r.json, "first_failure_s", -1);
		} else {
			snprintf(
				line, sizeof(line),
				"\n  seed %d: exit %d, first %s, failures {%s}",
				seed, r.status, first ? first : "none", all);
			strncat(missed, line,
				sizeof(missed) - strlen(missed) - 1);
		}
		/* Several CPUs may trip at once: other kinds are told. */
		if (first && !strcmp(first, c->kind) && strchr(all, ' '))
			printf("stress: busted=%s seed %d also counted: %s\n",
			       c->busted, seed, all);
		free(first);
		free(all);
		stress_run_free(&r);
	}
	median = median_of(times, caught);
	printf("stress: busted=%s%s%s: %s caught in %d/%d seeds, median "
	       "detection %.1f ms (min %.1f, max %.1f), %.1f s of runs%s%s\n",
	       c->busted, c->extra[0] ? " " : "", c->extra, c->kind, caught,
	       NR_SEEDS, median * 1e3, caught ? times[0] * 1e3 : -1,
	       caught ? times[caught - 1] * 1e3 : -1, total_wall,
	       missed[0] ? "; missed:" : "", missed);
	ck_assert_msg(caught >= MIN_CAUGHT,
		      "busted=%s: %s caught in only %d of %d seeds (want >= "
		      "%d); missed:%s",
		      c->busted, c->kind, caught, NR_SEEDS, MIN_CAUGHT, missed);
}
END_TEST

/*
 * Correct configurations: SUCCESS, exit 0, no failure of any kind, and
 * counters showing the run did enough to have failed.
 */
static const char *const correct_configs[] = {
	"", /* mixed CPUs: BBM in stop_machine */
	"--nonbbml2-readers 0", /* all BBML2: live splits */
	"--map pte",
	"--window-delay 100us",
	"--tlb-replace random --va-pattern uniform",
	"--readers 5 --splitters 2 --collapsers 1",
};

#define CORRECT_SEEDS 2
#define CORRECT_DURATION "2500ms"

START_TEST(test_correct_config)
{
	const char *config = correct_configs[_i];
	const struct stress_opts opts = { .flags = STRESS_JSON,
					  .timeout_s = 40 };
	int seed;

	for (seed = 1; seed <= CORRECT_SEEDS; seed++) {
		struct stress_run r;
		double changes, accesses, folds, collapsers;
		const char *first;
		char *all, *method;

		stress_run(&r, &opts, "--duration %s --seed %d --quiet %s",
			   CORRECT_DURATION, seed, config);
		stress_check_ran(&r);
		all = stress_json_failure_summary(r.json, "failures");
		method = stress_json_str(r.json, "split_method_used");
		changes = stress_json_num_or(r.json, "counters.changes", -1);
		accesses = stress_json_num_or(r.json, "counters.accesses", -1);
		folds = stress_json_num_or(r.json, "counters.folds", -1);
		collapsers =
			stress_json_num_or(r.json, "params.collapsers", -1);
		printf("stress: correct [%s] seed %d: exit %d, %s, "
		       "changes=%.0f accesses=%.0f splits=%.0f folds=%.0f "
		       "stop_machines=%.0f, failures {%s}\n",
		       config, seed, r.status, method ? method : "?", changes,
		       accesses,
		       stress_json_num_or(r.json, "counters.splits", -1), folds,
		       stress_json_num_or(r.json, "counters.stop_machines", -1),
		       all);
		first = stress_json_at(r.json, "first_failures[0]");
		ck_assert_msg(r.status == 0 && !all[0],
			      "%s: exit %d, failures {%s}; first: %.400s",
			      r.cmd, r.status, all, first ? first : "");
		ck_assert_msg(changes > 0 && accesses > 0,
			      "%s: no work done (changes=%.0f accesses=%.0f)",
			      r.cmd, changes, accesses);
		ck_assert_msg(collapsers > 0,
			      "%s: params.collapsers missing or 0", r.cmd);
		ck_assert_msg(folds > 0, "%s: a collapser ran but folds=%.0f",
			      r.cmd, folds);
		free(all);
		free(method);
		stress_run_free(&r);
	}
}
END_TEST

/* --- the command line ----------------------------------------------------- */

/* Every long option of stress/options.c (keep in step with it). */
static const char *const all_options[] = {
	"--scenario",
	"--duration",
	"--seed",
	"--keep-going",
	"--replay",
	"--mem",
	"--map",
	"--readers",
	"--nonbbml2-readers",
	"--splitters",
	"--collapsers",
	"--cpu-mix",
	"--park",
	"--tlb-entries",
	"--tlb-replace",
	"--spec-fill",
	"--split-method",
	"--va-pattern",
	"--window-delay",
	"--op-mix",
	"--busted",
	"--policy",
	"--rodata",
	"--realm",
	"--early-decrypts",
	"--decrypt-pages",
	"--window-ops",
	"--online-delay",
	"--late-cpus",
	"--stat-interval",
	"--json",
	"--quiet",
	"--help",
};

START_TEST(test_help)
{
	static const char *const forms[] = { "--help", "-h" };
	struct stress_run r;
	size_t i;

	stress_run(&r, NULL, "%s", forms[_i]);
	ck_assert_msg(r.status == 0, "%s: exit %d", r.cmd, r.status);
	ck_assert_msg(!r.err[0], "%s: stderr not empty: %s", r.cmd, r.err);
	ck_assert_msg(!strncmp(r.out, "Usage: bbmstress", 16),
		      "%s: stdout does not start with Usage: %.80s", r.cmd,
		      r.out);
	for (i = 0; i < sizeof(all_options) / sizeof(all_options[0]); i++)
		ck_assert_msg(strstr(r.out, all_options[i]),
			      "%s does not list %s", r.cmd, all_options[i]);
	stress_run_free(&r);
}
END_TEST

static const char *const bad_usages[] = {
	"--bogus",	  "--readers x",
	"--mem 3",	  "--cpu-mix bogus:1",
	"--busted nope",  "--duration 0",
	"--readers",	  "--policy nope --scenario boot",
	"stray-argument",
};

/* Usage errors: exit 2, one line on stderr, nothing on stdout. */
START_TEST(test_bad_usage)
{
	struct stress_run r;

	stress_run(&r, &(struct stress_opts){ .timeout_s = 10 }, "%s",
		   bad_usages[_i]);
	printf("stress: usage [%s]: exit %d, stderr: %s", bad_usages[_i],
	       r.status, r.err);
	ck_assert_msg(r.status == 2, "%s: exit %d, want 2", r.cmd, r.status);
	ck_assert_msg(stress_count_lines(r.err) == 1,
		      "%s: %d lines on stderr, want 1: %s", r.cmd,
		      stress_count_lines(r.err), r.err);
	ck_assert_msg(!strncmp(r.err, "bbmstress: ", 11),
		      "%s: stderr line not prefixed 'bbmstress: ': %s", r.cmd,
		      r.err);
	ck_assert_msg(!r.out[0], "%s: stdout not empty: %s", r.cmd, r.out);
	stress_run_free(&r);
}
END_TEST

/*
 * --json into a missing directory is bad input, found before the run: exit
 * 2, one stderr line naming the file, nothing on stdout.
 */
START_TEST(test_json_write_error)
{
	const char *path = "/nonexistent-dir/x.json";
	struct stress_run r;

	stress_run(&r, &(struct stress_opts){ .timeout_s = 20 },
		   "--duration 300ms --seed 1 --quiet --json %s", path);
	printf("stress: --json %s: exit %d, stderr: %s", path, r.status, r.err);
	ck_assert_msg(r.status == 2, "%s: exit %d, want 2", r.cmd, r.status);
	ck_assert_msg(!r.out[0], "%s: stdout not empty: %s", r.cmd, r.out);
	ck_assert_msg(stress_count_lines(r.err) == 1 &&
			      strstr(r.err, "cannot write") &&
			      strstr(r.err, path),
		      "%s: stderr should be one line naming %s: %s", r.cmd,
		      path, r.err);
	stress_run_free(&r);
}
END_TEST

/*
 * SIGINT a 30 s run after 1 s: it stops within a few seconds, prints its
 * End line, and writes valid JSON saying "interrupted": true, atomically
 * (no *.tmp.* file left beside it).
 */
START_TEST(test_sigint)
{
	const struct stress_opts opts = { .flags = STRESS_JSON,
					  .timeout_s = 20,
					  .send_signal = SIGINT,
					  .signal_after_s = 1.0 };
	struct stress_run r;
	char *end;
	double elapsed;

	stress_run(&r, &opts, "--duration 30s --seed 7 --stat-interval 500ms");
	end = stress_find_line(r.out, "End of test: ");
	elapsed = stress_json_num_or(r.json, "elapsed_s", -1);
	printf("stress: SIGINT after 1 s of 30 s: exit %d after %.2f s "
	       "(elapsed_s %.3f), interrupted=%d, stray files '%s'\n",
	       r.status, r.wall_s, elapsed,
	       stress_json_bool(r.json, "interrupted"), r.stray);
	ck_assert_msg(!r.timed_out && r.wall_s < 6,
		      "%s: took %.1f s after SIGINT at 1 s", r.cmd, r.wall_s);
	/* 128 + SIGINT when nothing failed before the signal; else 1. */
	ck_assert_msg(r.status == 128 + SIGINT || r.status == 1,
		      "%s: exit %d (signal %d)", r.cmd, r.status,
		      r.term_signal);
	ck_assert_msg(end, "%s: no End of test line:\n%s", r.cmd, r.out);
	ck_assert_msg(strstr(end, "interrupted=SIGINT"),
		      "%s: End line does not say interrupted=SIGINT: %s", r.cmd,
		      end);
	ck_assert_msg(stress_json_valid(r.json), "%s: JSON missing or invalid",
		      r.cmd);
	ck_assert_msg(stress_json_bool(r.json, "interrupted") == 1,
		      "%s: JSON \"interrupted\" is not true", r.cmd);
	ck_assert_msg(elapsed > 0.5 && elapsed < 5,
		      "%s: elapsed_s %.3f, want about 1", r.cmd, elapsed);
	ck_assert_msg(!r.stray[0], "%s: left %s beside the JSON", r.cmd,
		      r.stray);
	free(end);
	stress_run_free(&r);
}
END_TEST

Suite *make_stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc_neg = tcase_create("negative_controls");
	TCase *tc_ok = tcase_create("correct_configs");
	TCase *tc_cli = tcase_create("cli");

	/* 20 runs, each caught in ms or, if missed, 5 s: 100 s worst. */
	tcase_add_loop_test(tc_neg, test_negative_control, 0,
			    sizeof(controls) / sizeof(controls[0]));
	tcase_set_timeout(tc_neg, 200);
	suite_add_tcase(s, tc_neg);

	tcase_add_loop_test(tc_ok, test_correct_config, 0,
			    sizeof(correct_configs) /
				    sizeof(correct_configs[0]));
	tcase_set_timeout(tc_ok, 60);
	suite_add_tcase(s, tc_ok);

	tcase_add_loop_test(tc_cli, test_help, 0, 2);
	tcase_add_loop_test(tc_cli, test_bad_usage, 0,
			    sizeof(bad_usages) / sizeof(bad_usages[0]));
	tcase_add_test(tc_cli, test_json_write_error);
	tcase_add_test(tc_cli, test_sigint);
	tcase_set_timeout(tc_cli, 30);
	suite_add_tcase(s, tc_cli);
	return s;
}
