// SPDX-License-Identifier: GPL-2.0
/* bbmstress --replay: a recorded failure reruns and is said to come back. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress_run.h"

Suite *make_replay_suite(void);

/* Record a no-tlbi failure, replay it: the same kind comes back. */
START_TEST(test_replay_failure_comes_back)
{
	char dir[PATH_MAX], json[PATH_MAX + 16], again[PATH_MAX + 16];
	struct stress_run rec, rep;
	char *line, *kind;

	prog_tmpdir(dir, sizeof(dir), "replay");
	snprintf(json, sizeof(json), "%s/rec.json", dir);
	snprintf(again, sizeof(again), "%s/again.json", dir);
	stress_run(&rec, &(struct stress_opts){ .timeout_s = 30 },
		   "--busted no-tlbi --duration 5s --seed 2 --quiet --json %s",
		   json);
	ck_assert_msg(rec.status == 1, "%s: exit %d, want 1", rec.cmd,
		      rec.status);
	stress_run(&rep, &(struct stress_opts){ .timeout_s = 30 },
		   "--replay %s --quiet --json %s", json, again);
	line = stress_find_line(rep.out, "replay: ");
	printf("%s\n", line ? line : "replay: (no replay line)");
	ck_assert_msg(line, "%s: no replay line:\n%s", rep.cmd, rep.out);
	ck_assert_msg(strstr(line, "recorded FAILURE (wrong-translation"),
		      "%s: %s", rep.cmd, line);
	/* A race: it comes back nearly always; say what it did if not. */
	ck_assert_msg(rep.status == 1 &&
			      strstr(line, "the failure came back"),
		      "%s: exit %d: %s", rep.cmd, rep.status, line);
	/* The rerun wrote its own JSON; the record was not overwritten. */
	kind = prog_slurp(again);
	ck_assert_msg(kind && strstr(kind, "--busted no-tlbi"),
		      "%s: no JSON of the rerun", rep.cmd);
	free(kind);
	free(line);
	stress_run_free(&rec);
	stress_run_free(&rep);
	prog_rmtree(dir);
}
END_TEST

/* A file that is not a bbmstress JSON: exit 2, one line, nothing run. */
START_TEST(test_replay_bad_input)
{
	struct stress_run r;

	stress_run(&r, &(struct stress_opts){ .timeout_s = 30 },
		   "--replay /nonexistent/run.json");
	ck_assert_msg(r.status == 2 && !r.out[0] &&
			      stress_count_lines(r.err) == 1,
		      "%s: exit %d, out '%s', err '%s'", r.cmd, r.status, r.out,
		      r.err);
	stress_run_free(&r);
}
END_TEST

Suite *make_replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("replay");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_replay_failure_comes_back);
	tcase_add_test(tc, test_replay_bad_input);
	suite_add_tcase(s, tc);
	return s;
}
