// SPDX-License-Identifier: GPL-2.0
/*
 * bbm-bench as a program, as CI runs it: `bbm-bench --quick --json F` exits
 * 0, prints its table, and F is valid JSON with every expected figure (the
 * numbers themselves are not asserted: they belong to the machine).  The
 * program sits beside $BBM_PTDUMP (set by `scons test`), else in
 * ../tools/ beside this test binary; it finds bbmstress through
 * $BBM_STRESS or beside itself.
 */
#include <check.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stress_run.h"

Suite *make_bench_suite(void);

/* Made once per test (checked fixture): gone even if the test fails. */
static char tmpdir[256];

static void setup(void)
{
	prog_tmpdir(tmpdir, sizeof(tmpdir), "check_bench");
}

static void teardown(void)
{
	/* Only what this suite wrote: out, err, bench.json. */
	prog_rmtree(tmpdir);
}

/* bbm-bench beside $BBM_PTDUMP, or in ../tools/ beside this binary. */
static const char *bench_path(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("BBM_PTDUMP");
	char buf[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, sizeof(buf), "%s", env);
		snprintf(path, sizeof(path), "%s/bbm-bench", dirname(buf));
	} else {
		n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
		ck_assert_msg(n > 0, "BBM_PTDUMP unset, /proc/self/exe "
				     "unreadable");
		buf[n] = '\0';
		snprintf(path, sizeof(path), "%s/../tools/bbm-bench",
			 dirname(buf));
	}
	ck_assert_msg(access(path, X_OK) == 0,
		      "%s not found: build it with `scons` before "
		      "`scons test`", path);
	return path;
}

/* Run @argv (NULL-terminated, argv[0] the program) with output captured. */
static void run_prog(struct prog_run *r, char *const *argv)
{
	char out_path[PATH_MAX], err_path[PATH_MAX];
	const struct prog_io io = { .out = out_path, .err = err_path };

	snprintf(out_path, sizeof(out_path), "%s/out", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/err", tmpdir);
	prog_run(r, argv, &io);
}

/*
 * The JSON's shape, checked by Python's json module: the top-level keys,
 * every figure the issue asks for with median/min/max/unit/target/verdict,
 * numbers or null, and target counts that add up.
 */
static const char check_json_py[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1]))\n"
	"bad = []\n"
	"for k in ('tool', 'quick', 'machine', 'stress', 'elapsed_s',\n"
	"          'results', 'details', 'targets', 'errors'):\n"
	"    if k not in d: bad.append('top-level key ' + k)\n"
	"if d.get('tool') != 'bbm-bench': bad.append('tool')\n"
	"if d.get('quick') is not True: bad.append('quick is not true')\n"
	"if d.get('errors') != 0: bad.append('errors: %s' % d.get('errors'))\n"
	"res = d.get('results', {})\n"
	"want = ['limit_throughput', 'limit_latency', 'reader_miss',\n"
	"        'reader_pct_of_bound', 'reader_hit', 'reader_hit_speedup',\n"
	"        'sync_rcu_0', 'sync_rcu_2', 'call_rcu_enqueue',\n"
	"        'call_rcu_throughput', 'rcu_barrier_latency',\n"
	"        'bare_race', 'bare_race_p90']\n"
	"want += ['scaling_%d%s' % (n, s) for n in (1, 2, 4, 8)\n"
	"         for s in ('', '_per_cpu_s')]\n"
	"want += ['writers_%s_r%d' % (w, n) for w in\n"
	"         ('splits', 'folds', 'changes') for n in (0, 4)]\n"
	"want += ['%s_%d' % (w, n) for w in ('tlbi', 'stop_machine')\n"
	"         for n in (2, 4, 8)]\n"
	"want += ['control_%s%s' % (c, s) for c in\n"
	"         ('live-bbm', 'direct-nobbml2', 'early-free', 'no-tlbi',\n"
	"          'collapse-race')\n"
	"         for s in ('', '_p90', '_vs_race', '_rate')]\n"
	"want += ['%s_%s' % (m, s) for m in ('mem_pte', 'mem_blocks')\n"
	"         for s in ('table_pages', 'bytes_per_table', 'table_kib',\n"
	"                   'model_overhead_kib', 'model_overhead_pct',\n"
	"                   'harness_overhead_kib', 'harness_overhead_pct')]\n"
	"num = (int, float, type(None))\n"
	"for k in want:\n"
	"    r = res.get(k)\n"
	"    if r is None: bad.append('result ' + k); continue\n"
	"    for f in ('name', 'median', 'min', 'max', 'n', 'unit', 'target',\n"
	"              'verdict', 'note', 'failed'):\n"
	"        if f not in r: bad.append('%s.%s' % (k, f))\n"
	"    for f in ('median', 'min', 'max'):\n"
	"        if not isinstance(r.get(f), num): bad.append('%s.%s' % (k, f))\n"
	"    if r.get('median') is None: bad.append(k + ' has no median')\n"
	"for k in ('reader_pct_of_bound', 'reader_hit_speedup',\n"
	"          'stop_machine_8', 'control_live-bbm'):\n"
	"    t = res.get(k, {}).get('target')\n"
	"    if not t or 'op' not in t or 'value' not in t:\n"
	"        bad.append(k + ' has no target')\n"
	"    if res.get(k, {}).get('verdict') not in ('PASS', 'MISS'):\n"
	"        bad.append(k + ' has no verdict')\n"
	"t = d.get('targets', {})\n"
	"n = sum(1 for r in res.values() if r.get('target'))\n"
	"if t.get('pass', -1) + t.get('miss', -1) != n:\n"
	"    bad.append('targets: pass + miss != %d' % n)\n"
	"if len(t.get('missed', [])) != t.get('miss'):\n"
	"    bad.append('targets.missed')\n"
	"if bad:\n"
	"    sys.stderr.write('bad JSON: ' + ', '.join(bad) + '\\n')\n"
	"    sys.exit(1)\n";

/* The smoke test CI runs: the whole quick bench, JSON checked. */
START_TEST(test_quick_json)
{
	char json[PATH_MAX];
	struct prog_run r, py;

	snprintf(json, sizeof(json), "%s/bench.json", tmpdir);
	run_prog(&r, (char *const[]){ (char *)bench_path(), "--quick",
				      "--json", json, NULL });
	ck_assert_msg(r.status == 0, "bbm-bench --quick: exit %d; stderr:\n%s",
		      r.status, r.err);
	ck_assert_msg(strstr(r.out, "measurement") &&
			      strstr(r.out, "median") &&
			      strstr(r.out, "verdict"),
		      "no table header on stdout:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "reader at ") &&
			      strstr(r.out, "% of the throughput bound"),
		      "no 'reader at X%% of the throughput bound':\n%s",
		      r.out);
	ck_assert_msg(strstr(r.out, "\ntargets: "), "no targets line:\n%s",
		      r.out);
	prog_run_free(&r);

	/* Valid JSON first (the tool CI would use), then its shape. */
	run_prog(&py, (char *const[]){ "python3", "-m", "json.tool", json,
				       NULL });
	ck_assert_msg(py.status == 0, "%s is not valid JSON:\n%s", json,
		      py.err);
	prog_run_free(&py);
	run_prog(&py, (char *const[]){ "python3", "-c",
				       (char *)check_json_py, json, NULL });
	ck_assert_msg(py.status == 0, "%s", py.err);
	prog_run_free(&py);
}
END_TEST

/* Bad usage: status 2, nothing on stdout, the problem on stderr. */
START_TEST(test_bad_usage)
{
	static const char *const bad[][2] = {
		{ "--no-such-option", "no-such-option" },
		{ "--only", NULL },		/* missing argument */
		{ "stray", "stray" },
	};
	char *argv[5];
	struct prog_run r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		argv[0] = (char *)bench_path();
		argv[1] = (char *)bad[i][0];
		argv[2] = NULL;
		run_prog(&r, argv);
		ck_assert_msg(r.status == 2, "%s: exit %d, want 2", bad[i][0],
			      r.status);
		ck_assert_msg(!*r.out, "%s: stdout not empty:\n%s", bad[i][0],
			      r.out);
		ck_assert_msg(*r.err, "%s: nothing on stderr", bad[i][0]);
		if (bad[i][1])
			ck_assert_msg(strstr(r.err, bad[i][1]),
				      "%s: stderr lacks \"%s\":\n%s",
				      bad[i][0], bad[i][1], r.err);
		prog_run_free(&r);
	}
	/* An unknown section is bad usage too. */
	argv[1] = "--only";
	argv[2] = "no-such-section";
	argv[3] = NULL;
	run_prog(&r, argv);
	ck_assert_msg(r.status == 2 && !*r.out &&
			      strstr(r.err, "no-such-section"),
		      "--only no-such-section: exit %d, stderr:\n%s",
		      r.status, r.err);
	prog_run_free(&r);
}
END_TEST

Suite *make_bench_suite(void)
{
	Suite *s = suite_create("bench");
	TCase *tc_usage = tcase_create("usage");
	TCase *tc_quick = tcase_create("quick");

	tcase_add_checked_fixture(tc_usage, setup, teardown);
	tcase_add_test(tc_usage, test_bad_usage);
	tcase_set_timeout(tc_usage, 10);
	suite_add_tcase(s, tc_usage);

	/* Under a minute in release; sanitizers and a busy host need more. */
	tcase_add_checked_fixture(tc_quick, setup, teardown);
	tcase_add_test(tc_quick, test_quick_json);
	tcase_set_timeout(tc_quick, 600);
	suite_add_tcase(s, tc_quick);
	return s;
}
