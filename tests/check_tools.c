// SPDX-License-Identifier: GPL-2.0
/*
 * tools/sweep and tools/matrix as programs: the sweep's grid, its CSV from
 * real runs, resuming after SIGINT, --emit-jobs and --merge, the matrix on
 * one cell, and bad input to each (exit status 2, one stderr line, nothing
 * on stdout, no output file).  The scripts run as `python3 tools/NAME`;
 * tools/ is found from the current directory (`scons test` runs from the
 * top of the tree), else above $BBM_STRESS or this test binary.  The
 * scripts find bbmstress through $BBM_STRESS, which `scons test` sets.
 */
#include <check.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stress_run.h"

Suite *make_tools_suite(void);

/* Made once per TCase, in the runner: gone even if a test fails. */
static char tmpdir[256];

static void setup(void)
{
	prog_tmpdir(tmpdir, sizeof(tmpdir), "check_tools");
}

static void teardown(void)
{
	prog_rmtree(tmpdir);
}

/*
 * A path in the temp dir, in one of 8 static buffers used in turn: enough
 * for the paths of one command line.
 */
static char *tmp(const char *name)
{
	static char path[8][PATH_MAX];
	static int next;
	char *p = path[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return p;
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* @dir holds tools/sweep and SConstruct: the top of the source tree. */
static bool is_top(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/SConstruct", dir);
	if (!is_file(path))
		return false;
	snprintf(path, sizeof(path), "%s/tools/sweep", dir);
	return is_file(path);
}

/* Walk up from @start (a file or folder) to the top of the source tree. */
static bool find_top_above(const char *start, char *top)
{
	char dir[PATH_MAX];

	if (!start || !*start || !realpath(start, dir))
		return false;
	while (strcmp(dir, "/") != 0) {
		if (is_top(dir)) {
			strcpy(top, dir);
			return true;
		}
		strcpy(dir, dirname(dir));
	}
	return false;
}

/* The folder of the scripts: ./tools, else above BBM_STRESS or us. */
static const char *tools_dir(void)
{
	static char dir[PATH_MAX + 8];
	char top[PATH_MAX], self[PATH_MAX];
	ssize_t n;

	if (*dir)
		return dir;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if (getcwd(top, sizeof(top)) && is_top(top)) {
		/* found */
	} else if (!find_top_above(getenv("BBM_STRESS"), top) &&
		   !find_top_above(self, top)) {
		ck_abort_msg("cannot find tools/sweep: not in the current "
			     "folder, nor above $BBM_STRESS or %s", self);
	}
	snprintf(dir, sizeof(dir), "%s/tools", top);
	return dir;
}

/* How often @needle occurs in @s. */
static int count_of(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* Where spawn_script() sends the script's stdout and stderr. */
static const struct prog_io *script_io(void)
{
	static char out_path[PATH_MAX], err_path[PATH_MAX];
	static const struct prog_io io = { .out = out_path, .err = err_path };

	snprintf(out_path, sizeof(out_path), "%s/stdout", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);
	return &io;
}

/* Start `python3 tools/@script @args...` with stdout and stderr in files. */
static pid_t spawn_script(const char *script, char *const *args)
{
	char path[PATH_MAX + 16];
	char *argv[48];
	int i;

	snprintf(path, sizeof(path), "%s/%s", tools_dir(), script);
	argv[0] = "python3";
	argv[1] = path;
	for (i = 0; args[i]; i++) {
		ck_assert_int_lt(i + 3, 48);
		argv[i + 2] = args[i];
	}
	argv[i + 2] = NULL;
	return prog_spawn(argv, script_io());
}

static void wait_script(struct prog_run *r, pid_t pid)
{
	prog_wait(r, pid, "python3", script_io());
}

static void run_script(struct prog_run *r, const char *script,
		       char *const *args)
{
	wait_script(r, spawn_script(script, args));
}

/* Run, and insist on exit status 0. */
static void run_ok(struct prog_run *r, const char *script, char *const *args)
{
	run_script(r, script, args);
	ck_assert_msg(r->status == 0, "tools/%s: exit %d; stderr:\n%s", script,
		      r->status, r->err);
}

/*
 * Bad input: status 2, nothing on stdout, one stderr line starting with
 * "@script: " and holding each of the NULL-terminated fragments.
 */
static void assert_rejected(const char *script, char *const *args, ...)
{
	char prefix[64];
	struct prog_run r;
	const char *frag;
	va_list ap;

	run_script(&r, script, args);
	ck_assert_msg(r.status == 2, "exit status %d, want 2; stderr: %s",
		      r.status, r.err);
	ck_assert_msg(!*r.out, "stdout not empty on bad input:\n%s", r.out);
	snprintf(prefix, sizeof(prefix), "%s: ", script);
	ck_assert_msg(prog_count_newlines(r.err) == 1 &&
			      !strncmp(r.err, prefix, strlen(prefix)),
		      "want one '%s' stderr line, got:\n%s", prefix, r.err);
	va_start(ap, args);
	while ((frag = va_arg(ap, const char *)))
		ck_assert_msg(strstr(r.err, frag),
			      "stderr lacks \"%s\":\n%s", frag, r.err);
	va_end(ap);
	prog_run_free(&r);
}

#define ARGS(...) ((char *const[]){ __VA_ARGS__, NULL })

/* The line of @text that starts with @start, as a new string. */
static char *line_starting(const char *text, const char *start)
{
	const char *p = text, *end;

	while (p && *p) {
		end = strchr(p, '\n');
		if (!strncmp(p, start, strlen(start)))
			return strndup(p, end ? (size_t)(end - p) : strlen(p));
		p = end ? end + 1 : NULL;
	}
	ck_abort_msg("no line starting with \"%s\" in:\n%s", start, text);
	return NULL;
}

/* Index of @name among the comma-separated fields of @line, or -1. */
static int column_of(const char *line, const char *name)
{
	const char *p = line;
	size_t len = strlen(name);
	int i = 0;

	for (;;) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len] ||
					       p[len] == '\n'))
			return i;
		p += strcspn(p, ",\n");
		if (*p != ',')
			return -1;
		p++;
		i++;
	}
}

/* Field @index of a comma-separated line (no quoting in our rows). */
static double field(const char *line, int index)
{
	const char *p = line;
	char *end;
	double value;

	while (index-- > 0) {
		p = strchr(p, ',');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	value = strtod(p, &end);
	ck_assert_msg(end != p, "no number in field of: %s", line);
	return value;
}

static bool have_gnuplot(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static bool is_png(const char *path)
{
	unsigned char magic[8];
	FILE *f = fopen(path, "rb");
	bool ok;

	if (!f)
		return false;
	ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, "\x89PNG\r\n", 6);
	fclose(f);
	return ok;
}

/* --- sweep --------------------------------------------------------------- */

/* The cross product in order, the seeds of a point together; ';' lists. */
START_TEST(test_sweep_dry_run)
{
	struct prog_run r;

	run_ok(&r, "sweep",
	       ARGS("--dry-run", "--seeds", "2", "--seed-base", "7", "--",
		    "--readers", "1,2", "--duration", "300ms", "--cpu-mix",
		    "cortex-x4:2,cortex-a520:2;cortex-x4:4", "--realm"));
	ck_assert_str_eq(r.out,
			 "readers=1 cpu-mix=cortex-x4:2,cortex-a520:2 seed=7\n"
			 "readers=1 cpu-mix=cortex-x4:2,cortex-a520:2 seed=8\n"
			 "readers=1 cpu-mix=cortex-x4:4 seed=7\n"
			 "readers=1 cpu-mix=cortex-x4:4 seed=8\n"
			 "readers=2 cpu-mix=cortex-x4:2,cortex-a520:2 seed=7\n"
			 "readers=2 cpu-mix=cortex-x4:2,cortex-a520:2 seed=8\n"
			 "readers=2 cpu-mix=cortex-x4:4 seed=7\n"
			 "readers=2 cpu-mix=cortex-x4:4 seed=8\n");
	ck_assert_msg(strstr(r.err, "8 runs: 4 grid points x 2 seeds"),
		      "stderr: %s", r.err);
	prog_run_free(&r);

	/* A flag swept with on,off; nothing swept: one point. */
	run_ok(&r, "sweep", ARGS("--dry-run", "--", "--realm", "on,off",
				 "--scenario", "boot"));
	ck_assert_str_eq(r.out, "realm=on seed=1\nrealm=off seed=1\n");
	prog_run_free(&r);
	run_ok(&r, "sweep", ARGS("--dry-run", "--seeds", "2"));
	ck_assert_str_eq(r.out, "seed=1\nseed=2\n");
	prog_run_free(&r);
}
END_TEST

/* 2 values x 2 seeds of real runs: a negative control and a safe config. */
START_TEST(test_sweep_csv)
{
	bool plot = have_gnuplot();
	char *csv, *runs, *header, *none, *live;
	int det, runs_col, failed_col, fault_col;
	struct prog_run r;

	if (plot)
		run_ok(&r, "sweep",
		       ARGS("--out", tmp("out"), "--seeds", "2",
			    "--jobs", "2", "--plot", "--", "--duration",
			    "300ms", "--busted", "none,live-bbm"));
	else
		run_ok(&r, "sweep",
		       ARGS("--out", tmp("out"), "--seeds", "2",
			    "--jobs", "2", "--", "--duration", "300ms",
			    "--busted", "none,live-bbm"));
	prog_run_free(&r);
	runs = prog_slurp(tmp("out/runs.jsonl"));
	ck_assert_int_eq(prog_count_newlines(runs), 4);
	ck_assert_int_eq(count_of(runs, "{\"grid\": {\"busted\": \"none\"}, "
				  "\"seed\": "), 2);
	ck_assert_int_eq(count_of(runs, "\"wall_s\": "), 4);
	csv = prog_slurp(tmp("out/summary.csv"));
	ck_assert_int_eq(prog_count_newlines(csv), 3);
	header = line_starting(csv, "busted,runs,failed,errors,");
	det = column_of(header, "detection_rate");
	runs_col = column_of(header, "runs");
	failed_col = column_of(header, "failed");
	fault_col = column_of(header, "translation-fault");
	ck_assert_msg(det > 0 && fault_col > 0 &&
			      column_of(header, "ttd_median_s") > 0 &&
			      column_of(header, "ttd_p90_s") > 0 &&
			      column_of(header, "walks_per_s_median") > 0 &&
			      column_of(header, "pages-leaked") > 0,
		      "summary.csv header: %s", header);
	none = line_starting(csv, "none,");
	live = line_starting(csv, "live-bbm,");
	ck_assert_double_eq(field(none, runs_col), 2);
	ck_assert_double_eq(field(none, failed_col), 0);
	ck_assert_double_eq(field(none, det), 0.0);
	ck_assert_double_eq(field(live, runs_col), 2);
	ck_assert_double_eq(field(live, det), 1.0);
	ck_assert_double_ge(field(live, fault_col), 2);
	ck_assert_double_gt(field(live, column_of(header, "ttd_median_s")),
			    0);
	if (plot) {
		ck_assert(is_png(tmp("out/detection-busted.png")));
		ck_assert(is_png(tmp("out/ttd-busted.png")));
	}
	free(none);
	free(live);
	free(header);
	free(csv);
	free(runs);
}
END_TEST

/* SIGINT after the first run: it is kept; --resume runs the rest once. */
START_TEST(test_sweep_resume)
{
	const struct timespec tick = { .tv_nsec = 20 * 1000 * 1000 };
	char *before, *after, want[64];
	struct prog_run r;
	int readers, seed, i, lines = 0;
	pid_t pid;

	pid = spawn_script("sweep",
			   ARGS("--out", tmp("resume"), "--seeds", "3",
				"--jobs", "1", "--", "--duration", "300ms",
				"--readers", "1,2"));
	for (i = 0; i < 1500 && !lines; i++) {	/* 30 s */
		nanosleep(&tick, NULL);
		if (is_file(tmp("resume/runs.jsonl"))) {
			before = prog_slurp(tmp("resume/runs.jsonl"));
			lines = prog_count_newlines(before);
			free(before);
		}
	}
	ck_assert_msg(lines, "no run finished in 30 s");
	ck_assert_int_eq(kill(pid, SIGINT), 0);
	wait_script(&r, pid);
	ck_assert_msg(r.status == 130, "exit %d after SIGINT; stderr:\n%s",
		      r.status, r.err);
	ck_assert_msg(strstr(r.err, "--resume"), "stderr: %s", r.err);
	prog_run_free(&r);
	before = prog_slurp(tmp("resume/runs.jsonl"));
	ck_assert_int_ge(prog_count_newlines(before), 1);
	ck_assert_int_lt(prog_count_newlines(before), 6);
	ck_assert(is_file(tmp("resume/summary.csv")));

	run_ok(&r, "sweep", ARGS("--resume", tmp("resume")));
	prog_run_free(&r);
	after = prog_slurp(tmp("resume/runs.jsonl"));
	ck_assert_msg(!strncmp(after, before, strlen(before)),
		      "earlier lines changed:\n%s\nnow:\n%s", before, after);
	ck_assert_int_eq(prog_count_newlines(after), 6);
	for (readers = 1; readers <= 2; readers++) {
		for (seed = 1; seed <= 3; seed++) {
			snprintf(want, sizeof(want),
				 "{\"grid\": {\"readers\": \"%d\"}, "
				 "\"seed\": %d, ", readers, seed);
			ck_assert_msg(count_of(after, want) == 1,
				      "%s not once in:\n%s", want, after);
		}
	}
	free(before);
	free(after);

	/* Nothing left: --resume only rewrites the summary. */
	run_ok(&r, "sweep", ARGS("--resume", tmp("resume")));
	ck_assert_msg(strstr(r.err, "0 to do"), "stderr: %s", r.err);
	prog_run_free(&r);
}
END_TEST

/* A job list run by sh, merged with a sweep folder. */
START_TEST(test_sweep_emit_merge)
{
	char *jobs, *runs, *csv, cmd[PATH_MAX + 32];
	struct prog_run r;

	run_ok(&r, "sweep",
	       ARGS("--emit-jobs", tmp("jobs.txt"), "--out",
		    tmp("b"), "--seeds", "2", "--", "--duration",
		    "200ms", "--readers", "1,2"));
	prog_run_free(&r);
	jobs = prog_slurp(tmp("jobs.txt"));
	ck_assert_int_eq(prog_count_newlines(jobs), 4);
	ck_assert_int_eq(count_of(jobs, "--seed 2 --quiet --json "), 2);
	free(jobs);
	snprintf(cmd, sizeof(cmd), "sh '%s'", tmp("jobs.txt"));
	ck_assert_int_ne(system(cmd), -1);
	ck_assert(is_file(tmp("b/p0002-s2.json")));

	run_ok(&r, "sweep",
	       ARGS("--out", tmp("a"), "--seed-base", "5", "--",
		    "--duration", "200ms", "--readers", "1,2"));
	prog_run_free(&r);

	run_ok(&r, "sweep", ARGS("--merge", tmp("a"),
				 tmp("b"), "--out",
				 tmp("m")));
	ck_assert_msg(strstr(r.err, "merged 6 runs from 2 folders; swept: "
				    "readers;"), "stderr: %s", r.err);
	prog_run_free(&r);
	runs = prog_slurp(tmp("m/runs.jsonl"));
	ck_assert_int_eq(prog_count_newlines(runs), 6);
	ck_assert_int_eq(count_of(runs, "{\"grid\": {\"readers\": \"2\"}, "),
			 3);
	ck_assert_int_eq(count_of(runs, "}, \"seed\": 5, "), 2);
	csv = prog_slurp(tmp("m/summary.csv"));
	ck_assert_int_eq(prog_count_newlines(csv), 3);
	free(line_starting(csv, "readers,runs,failed,errors,"));
	free(line_starting(csv, "1,3,"));
	free(line_starting(csv, "2,3,"));
	free(csv);
	free(runs);
}
END_TEST

START_TEST(test_sweep_bad_input)
{
	char *made;

	assert_rejected("sweep", ARGS("--", "--frobnicate", "1"),
			"unknown bbmstress option '--frobnicate'", NULL);
	assert_rejected("sweep", ARGS("--", "--seed", "3"), "--seed", NULL);
	assert_rejected("sweep", ARGS("--", "--readers", "1,,2"),
			"empty value in --readers", NULL);
	assert_rejected("sweep", ARGS("--", "--realm", "maybe"),
			"--realm is a flag", NULL);
	assert_rejected("sweep", ARGS("--seeds", "0"), "--seeds", NULL);
	assert_rejected("sweep", ARGS("--resume", tmp("nowhere")),
			"not a sweep folder", NULL);
	assert_rejected("sweep", ARGS("--merge", tmp("nowhere")),
			"is not a folder", NULL);
	assert_rejected("sweep", ARGS("--dry-run", "--resume", "x"),
			"cannot be combined", NULL);
	/* Nothing is created for bad input. */
	assert_rejected("sweep", ARGS("--out", tmp("new"), "--",
				      "--readers", "1", "--bogus"),
			"'--bogus'", NULL);
	ck_assert_int_eq(access(tmp("new"), F_OK), -1);
	/* A non-empty --out is left alone. */
	ck_assert_int_eq(mkdir(tmp("full"), 0700), 0);
	fclose(fopen(tmp("full/keep"), "w"));
	assert_rejected("sweep", ARGS("--out", tmp("full"), "--",
				      "--readers", "1"),
			"is not empty", NULL);
	made = prog_slurp(tmp("full/keep"));
	ck_assert_str_eq(made, "");
	free(made);
}
END_TEST

/* bbmstress itself rejects a grid point: exit 2 with its message last. */
START_TEST(test_sweep_bbmstress_rejects)
{
	struct prog_run r;
	char *last;

	run_script(&r, "sweep", ARGS("--out", tmp("rej"), "--jobs",
				     "1", "--", "--readers", "999,1",
				     "--duration", "100ms"));
	ck_assert_msg(r.status == 2, "exit %d; stderr:\n%s", r.status, r.err);
	ck_assert_str_eq(r.out, "");
	last = strrchr(r.err, '\n');
	ck_assert_ptr_nonnull(last);
	while (last > r.err && last[-1] != '\n')
		last--;
	ck_assert_msg(!strncmp(last, "sweep: bbmstress rejected readers=999: ",
			       39) && strstr(last, "--readers"),
		      "stderr:\n%s", r.err);
	prog_run_free(&r);
}
END_TEST

/* --- matrix -------------------------------------------------------------- */

/* One cell: v6.18 skips the split and the realm decrypt WARNs. */
START_TEST(test_matrix_cell)
{
	char *row, *file;
	struct prog_run r;

	run_ok(&r, "matrix",
	       ARGS("--policies", "v6.18", "--mixes", "cortex-x4:4", "--realm",
		    "on", "--duration", "300ms", "--out",
		    tmp("matrix.md"), "--json-dir",
		    tmp("json")));
	free(line_starting(r.out, "| policy "));
	row = line_starting(r.out, "| v6.18 ");
	ck_assert_msg(strstr(row, "| cortex-x4:4 ") &&
			      strstr(row, "| on ") &&
			      strstr(row, "| FAILURE ") &&
			      strstr(row, "pageattr-warn "),
		      "row: %s", row);
	ck_assert_int_eq(count_of(r.out, "\n|"), 3);	/* head, rule, row */
	file = prog_slurp(tmp("matrix.md"));
	ck_assert_str_eq(file, r.out);
	ck_assert(is_file(tmp("json/v6.18_all-bbml2_realm-on_seed1.json")));
	ck_assert_msg(strstr(r.err, "matrix: cell 1/1 ") &&
			      strstr(r.err, "ETA"), "stderr: %s", r.err);
	free(file);
	free(row);
	prog_run_free(&r);
}
END_TEST

START_TEST(test_matrix_bad_input)
{
	assert_rejected("matrix", ARGS("--policies", "v6.18,option9"),
			"unknown policy 'option9'", NULL);
	assert_rejected("matrix", ARGS("--policies", "option2/somewhere"),
			"unknown park 'somewhere'", NULL);
	assert_rejected("matrix", ARGS("--realm", "maybe"), "--realm", NULL);
	assert_rejected("matrix", ARGS("--duration", "5x"),
			"bad duration '5x'", NULL);
	assert_rejected("matrix", ARGS("--mixes", "cortex-z9:4"),
			"unknown core 'cortex-z9'", NULL);
	assert_rejected("matrix", ARGS("--seeds", "0"), "--seeds", NULL);
	assert_rejected("matrix", ARGS("--out", tmp("no/such.md")),
			"does not exist", NULL);
}
END_TEST

START_TEST(test_help)
{
	struct prog_run r;

	run_ok(&r, "sweep", ARGS("--help"));
	ck_assert_msg(!strncmp(r.out, "usage: tools/sweep ", 19) &&
			      strstr(r.out, "';' separates") &&
			      strstr(r.out, "--sshloginfile") &&
			      strstr(r.out, "--resume DIR"),
		      "sweep --help:\n%s", r.out);
	ck_assert_str_eq(r.err, "");
	prog_run_free(&r);
	run_ok(&r, "matrix", ARGS("--help"));
	ck_assert_msg(!strncmp(r.out, "usage: tools/matrix ", 20) &&
			      strstr(r.out, "option2/idmap"),
		      "matrix --help:\n%s", r.out);
	prog_run_free(&r);
}
END_TEST

Suite *make_tools_suite(void)
{
	Suite *s = suite_create("tools");
	TCase *tc = tcase_create("sweep");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sweep_dry_run);
	tcase_add_test(tc, test_sweep_csv);
	tcase_add_test(tc, test_sweep_resume);
	tcase_add_test(tc, test_sweep_emit_merge);
	tcase_add_test(tc, test_sweep_bad_input);
	tcase_add_test(tc, test_sweep_bbmstress_rejects);
	suite_add_tcase(s, tc);

	tc = tcase_create("matrix");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_matrix_cell);
	tcase_add_test(tc, test_matrix_bad_input);
	tcase_add_test(tc, test_help);
	suite_add_tcase(s, tc);
	return s;
}
