// SPDX-License-Identifier: GPL-2.0
/*
 * bbm-bench: how fast the model runs on this machine, against the bare
 * hardware limit.  One command, one run: a table on stdout (name, median,
 * min, max, unit, target, PASS/MISS) and, with --json FILE, every figure and
 * target, written atomically.
 *
 *   bbm-bench [--quick] [--json FILE] [--stress PATH] [--only SECTION]
 *
 * Sections, in the order they run and print:
 *   walks     the limit: a bare 4-load pointer chase through a real 4 GiB
 *             PTE map, 8 walks in flight (throughput bound) and one at a
 *             time (latency bound); and bbm_cpu_access() on one CPU over
 *             the same map, no writers: its miss and hit paths
 *   scaling   bbmstress readers only, 1/2/4/8 readers
 *   writers   bbmstress splitter + collapser, without and with readers;
 *             synchronize_rcu() and call_rcu() costs in-process
 *   tlbi      flush_tlb_kernel_range() and stop_machine() with 2/4/8 CPUs
 *   controls  time to detect each --busted control; a bare two-thread race
 *   memory    256 GiB PTE-mapped and 1 TiB block-mapped maps
 *
 * In-process figures are medians over repeats (or over single samples for
 * latencies); bbmstress figures are medians over runs.  --quick runs fewer
 * repeats and seeds and a smaller PTE map: a smoke test, under a minute.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "core/hwwalk.h"
#include "core/ptdump.h"
#include "core/system.h"

#define GiB ((uint64_t)1 << 30)
#define MiB ((uint64_t)1 << 20)

/* --- what the run measures ------------------------------------------------ */

/* Sizes of one run: full or --quick. */
struct plan {
	bool quick;
	int repeats;		/* in-process throughput repeats */
	uint64_t walks;		/* walks (accesses) per repeat */
	int samples;		/* single-call latency samples */
	int stress_runs;	/* bbmstress runs per configuration */
	const char *stress_duration;	/* scaling and writers runs */
	int seeds;		/* per negative control */
	int rate_runs;		/* --keep-going runs per control */
	const char *rate_duration;
	int races;		/* bare two-thread race repeats */
	int call_rcu_batch;	/* callbacks per call_rcu() repeat */
	uint64_t mem_pte;	/* the PTE-mapped memory map */
	uint64_t mem_blocks;	/* the block-mapped memory map */
};

static const struct plan full_plan = {
	.repeats = 11,
	.walks = 2000000,
	.samples = 201,
	.stress_runs = 3,
	.stress_duration = "2s",
	.seeds = 20,
	.rate_runs = 3,
	.rate_duration = "3s",
	.races = 20,
	.call_rcu_batch = 20000,
	.mem_pte = 256 * GiB,
	.mem_blocks = 1024 * GiB,
};

static const struct plan quick_plan = {
	.quick = true,
	.repeats = 3,
	.walks = 300000,
	.samples = 31,
	.stress_runs = 1,
	.stress_duration = "1s",
	.seeds = 3,
	.rate_runs = 1,
	.rate_duration = "1s",
	.races = 5,
	.call_rcu_batch = 5000,
	.mem_pte = 32 * GiB,
	.mem_blocks = 1024 * GiB,
};

static const struct plan *plan;

/* The model map readers walk: 4 GiB, PTEs only, so every walk is 4 deep. */
#define WALK_MEM (4 * GiB)
/* Random page VAs the reader cycles through: 512 KiB of them. */
#define NR_VAS (1u << 16)
/* Independent walks kept in flight by the throughput-bound chase. */
#define CHASE_WAYS 8
/* The negative controls of bbmstress, as --busted names them. */
static const char *const controls[] = {
	"live-bbm", "direct-nobbml2", "early-free", "no-tlbi", "collapse-race",
};
#define NR_CONTROLS (sizeof(controls) / sizeof(controls[0]))
#define CONTROL_DURATION_S 5.0	/* --duration of a detection run */

/* --- results -------------------------------------------------------------- */

enum target_op { T_NONE, T_LE, T_GE, T_EQ };

struct row {
	char key[64];		/* JSON name */
	char name[48];		/* table label */
	double med, min, max;
	int n;			/* repeats or samples behind the median */
	char unit[16];
	enum target_op op;
	double target;
	char note[96];		/* printed under the table */
	bool failed;		/* could not be measured */
};

#define MAX_ROWS 160
static struct row rows[MAX_ROWS];
static int nr_rows;

/* Extra figures for the JSON only: rates, counts, sizes. */
struct detail {
	char key[80];
	double val;
};

#define MAX_DETAILS 200
static struct detail details[MAX_DETAILS];
static int nr_details;

static int nr_errors;		/* measurements that could not be made */
static char tmpdir[PATH_MAX / 2];
static const char *stress_path;
static const char *only;	/* --only SECTION */
static int nr_online;		/* host CPUs */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("bbm-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* One line of progress on stderr: the table comes at the end. */
static void progress(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void progress(const char *fmt, ...)
{
	va_list ap;

	fputs("bbm-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A measurement that could not be made: counted, shown as FAILED. */
static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void error(const char *fmt, ...)
{
	va_list ap;

	nr_errors++;
	fputs("bbm-bench: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sort @v in place; its median (mean of the middle two if @n is even). */
static double median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of sorted @v. */
static double percentile(const double *v, int n, double p)
{
	int rank = (int)ceil(p / 100 * n);

	if (n <= 0)
		return NAN;
	return v[rank < 1 ? 0 : rank > n ? n - 1 : rank - 1];
}

static struct row *row_new(const char *key, const char *name,
			   const char *unit)
{
	struct row *r;

	if (nr_rows == MAX_ROWS)
		die("too many rows");
	r = &rows[nr_rows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	r->med = r->min = r->max = NAN;
	return r;
}

/* A row from @n values (sorted in place): median, min, max. */
static struct row *row_add(const char *key, const char *name,
			   const char *unit, double *v, int n)
{
	struct row *r = row_new(key, name, unit);

	r->n = n;
	if (n <= 0) {
		r->failed = true;
		return r;
	}
	r->med = median(v, n);
	r->min = v[0];
	r->max = v[n - 1];
	return r;
}

/* A row of one value. */
static struct row *row_one(const char *key, const char *name,
			   const char *unit, double val)
{
	return row_add(key, name, unit, &val, 1);
}

static void row_target(struct row *r, enum target_op op, double target)
{
	r->op = op;
	r->target = target;
}

static void row_note(struct row *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void row_note(struct row *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}

/* PASS or MISS by the median; NULL without a target. */
static const char *row_verdict(const struct row *r)
{
	bool ok;

	if (r->op == T_NONE)
		return NULL;
	if (r->failed || isnan(r->med))
		return "MISS";
	switch (r->op) {
	case T_LE:
		ok = r->med <= r->target;
		break;
	case T_GE:
		ok = r->med >= r->target;
		break;
	default:
		ok = r->med == r->target;
		break;
	}
	return ok ? "PASS" : "MISS";
}

static void detail(const char *fmt_key, double val, ...)
{
	va_list ap;

	if (nr_details == MAX_DETAILS)
		die("too many details");
	va_start(ap, val);
	vsnprintf(details[nr_details].key, sizeof(details[0].key), fmt_key,
		  ap);
	va_end(ap);
	details[nr_details++].val = val;
}

static bool section(const char *name)
{
	return !only || !strcmp(only, name);
}

/* --- small helpers -------------------------------------------------------- */

static double ns_since(uint64_t start)
{
	return (double)(bbm_now_ns() - start);
}

/* A number in [0, n) from the high bits of @h (n < 2^32 here). */
static inline uint64_t scale(uint64_t h, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)h * n) >> 64);
}

/* Fibonacci hashing: one multiply makes a well-spread 64-bit value. */
static inline uint64_t mix(uint64_t x)
{
	return x * 0x9e3779b97f4a7c15ull;
}

/* A random page VA of a map of @pages pages. */
static inline uint64_t page_va(uint64_t h, uint64_t pages)
{
	return BBM_PAGE_OFFSET + (scale(h, pages) << BBM_PAGE_SHIFT);
}

/* Failures the model reported, counted by the report sink. */
static void count_sink(void *priv, const struct bbm_failure *f)
{
	(void)f;
	__atomic_fetch_add((uint64_t *)priv, 1, __ATOMIC_RELAXED);
}

/* A machine of @nr_cpus cortex-x4 CPUs (BBML2_NOABORT) over @mem. */
static struct bbm_system *system_new(uint64_t mem, bool pte_only,
				     int nr_cpus, uint64_t *failures)
{
	const struct bbm_core_type *x4 = bbm_core_type_find("cortex-x4");
	struct bbm_system_config cfg;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mem = mem;
	cfg.pte_only = pte_only;
	cfg.nr_cpus = nr_cpus;
	for (i = 0; i < nr_cpus; i++)
		cfg.cores[i] = x4;
	cfg.replace = BBM_REPLACE_BBML2;
	cfg.park = BBM_PARK_IDMAP;
	cfg.tlb_entries = 64;		/* bbmstress's default */
	cfg.tlb_replace = BBM_TLB_REPLACE_INDEX;
	cfg.stop_timeout_ns = 1000000000ull;
	cfg.seed = 1;
	return bbm_system_create(&cfg, count_sink, failures);
}

/* All CPUs translate and are online, as bbmstress sets them up. */
static void system_online(struct bbm_system *sys)
{
	int i;

	for (i = 0; i < sys->nr_cpus; i++) {
		sys->cpus[i].translates = true;
		bbm_cpu_set_state(sys, &sys->cpus[i], BBM_CPU_ONLINE);
	}
}

/* Keep a result alive so the compiler cannot drop the work. */
static volatile uint64_t sink_word;	/* threads store it atomically */

/* --- 1-3. walks: the bare limit and the reader's paths ------------------ */

struct chase {
	const bbm_desc_t *words;	/* the arena's table pages */
	uint64_t pgd_pa;
	uint64_t pages;			/* pages of RAM mapped */
};

/* One level of a walk: a plain load, the next table's (or page's) PA. */
static inline uint64_t chase_step(const struct chase *c, uint64_t pa,
				  uint64_t va, int level)
{
	/* (pa - base) / 8: the table's first descriptor, as an index. */
	return c->words[((pa - BBM_ARENA_BASE_PA) >> 3) +
			bbm_index(va, level)] & BBM_OA_MASK;
}

/* One walk with plain loads: 4 dependent loads, nothing checked. */
static inline uint64_t chase_one(const struct chase *c, uint64_t va)
{
	uint64_t pa = c->pgd_pa;
	int level;

	for (level = BBM_PGD; level < BBM_LEVELS; level++)
		pa = chase_step(c, pa, va, level);
	return pa + (va & (BBM_PAGE_SIZE - 1));
}

/* @n walks, CHASE_WAYS independent ones in flight: the throughput bound. */
static uint64_t chase_independent(const struct chase *c, uint64_t n,
				  uint64_t seed)
{
	uint64_t pa[CHASE_WAYS], va[CHASE_WAYS], sum = 0, i;
	int level, k;

	for (i = 0; i < n; i += CHASE_WAYS) {
		for (k = 0; k < CHASE_WAYS; k++) {
			va[k] = page_va(mix(seed + i + k), c->pages);
			pa[k] = c->pgd_pa;
		}
		/* Level by level, so the 8 loads of a level overlap. */
		for (level = BBM_PGD; level < BBM_LEVELS; level++)
			for (k = 0; k < CHASE_WAYS; k++)
				pa[k] = chase_step(c, pa[k], va[k], level);
		for (k = 0; k < CHASE_WAYS; k++)
			sum += pa[k];
	}
	return sum;
}

/* @n walks, each VA made from the last result: the latency bound. */
static uint64_t chase_dependent(const struct chase *c, uint64_t n,
				uint64_t seed)
{
	uint64_t pa = seed, sum = 0, i;

	for (i = 0; i < n; i++) {
		pa = chase_one(c, page_va(mix(pa + i), c->pages));
		sum += pa;
	}
	return sum;
}

/* ns per bbm_cpu_access() over @vas (cycled); walks per access in *@miss. */
static double time_accesses(struct bbm_system *sys, const uint64_t *vas,
			    unsigned int mask, uint64_t n, double *miss)
{
	struct bbm_cpu *cpu = bbm_this_cpu;
	uint64_t walks = cpu->stats.walks, start, i;

	start = bbm_now_ns();
	for (i = 0; i < n; i++)
		bbm_cpu_access(sys, vas[i & mask], 0);
	*miss = (double)(cpu->stats.walks - walks) / n;
	return ns_since(start) / n;
}

/*
 * 1-3: the bare chase and the reader's miss and hit paths over one 4 GiB
 * PTE map, one after the other within each repeat, so that a host busy
 * with other work slows all of them alike; the ratios are per repeat.
 */
static void bench_walks(void)
{
	double tp[64], lat[64], miss[64], hit[64], pct[64], pct_lat[64];
	double speedup[64];
	double miss_rate[64], hit_rate[64];
	uint64_t failures = 0, rng = 42, hot[4], *vas, va, start;
	struct bbm_system *sys;
	struct chase c;
	struct row *r;
	unsigned int i;
	int rep, n = plan->repeats;

	progress("walks: bare chase and bbm_cpu_access() over 4 GiB of PTEs");
	sys = system_new(WALK_MEM, true, 1, &failures);
	vas = malloc(NR_VAS * sizeof(*vas));
	if (!sys || !vas) {
		error("cannot build a 1-CPU machine over 4 GiB of PTEs");
		goto out;
	}
	/* The chase reads the very table pages the reader walks. */
	c.words = sys->map->arena->words;
	c.pgd_pa = sys->map->pgd_pa;
	c.pages = WALK_MEM >> BBM_PAGE_SHIFT;
	for (i = 0; i < 64; i++) {
		va = page_va(mix(i + 1), c.pages) + 8 * i;
		if (chase_one(&c, va) != bbm_linear_pa(va)) {
			error("bare chase gives a wrong PA for 0x%" PRIx64, va);
			goto out;
		}
	}
	bbm_cpu_enter(sys, 0);
	system_online(sys);
	/* Random pages of 4 GiB: a 64-entry TLB almost never hits. */
	for (i = 0; i < NR_VAS; i++)
		vas[i] = page_va(bbm_rand(&rng), c.pages);
	/* Four neighbouring pages: four 4K TLB slots, always hit. */
	for (i = 0; i < 4; i++)
		hot[i] = BBM_PAGE_OFFSET + BBM_PUD_SIZE + i * BBM_PAGE_SIZE;

	/* Warm caches and TLB once, untimed. */
	sink_word = chase_independent(&c, plan->walks, 0);
	time_accesses(sys, vas, NR_VAS - 1, NR_VAS, &miss_rate[0]);
	for (rep = 0; rep < n; rep++) {
		sink_word = 0;
		start = bbm_now_ns();
		sink_word += chase_independent(&c, plan->walks,
					       rep * plan->walks);
		tp[rep] = ns_since(start) / plan->walks;
		start = bbm_now_ns();
		sink_word += chase_dependent(&c, plan->walks, rep);
		lat[rep] = ns_since(start) / plan->walks;
		miss[rep] = time_accesses(sys, vas, NR_VAS - 1, plan->walks,
					  &miss_rate[rep]);
		hit[rep] = time_accesses(sys, hot, 3, plan->walks,
					 &hit_rate[rep]);
		pct[rep] = 100 * tp[rep] / miss[rep];
		pct_lat[rep] = 100 * lat[rep] / miss[rep];
		speedup[rep] = miss[rep] / hit[rep];
	}
	bbm_cpu_set_state(sys, bbm_this_cpu, BBM_CPU_OFF);
	bbm_cpu_exit(sys);

	r = row_add("limit_throughput", "limit: 8 walks in flight", "ns/walk",
		    tp, n);
	row_note(r, "bare 4-load chase, %d independent walks in flight",
		 CHASE_WAYS);
	r = row_add("limit_latency", "limit: 1 walk at a time", "ns/walk",
		    lat, n);
	row_note(r, "bare chase, each VA made from the previous result");
	r = row_add("reader_miss", "reader: miss path (access+walk)",
		    "ns/walk", miss, n);
	row_note(r, "RCU read section, TLB fill, oracle check; "
		    "%.2f%% of accesses walked", 100 * median(miss_rate, n));
	r = row_add("reader_pct_of_bound", "reader: % of throughput bound",
		    "%", pct, n);
	row_target(r, T_GE, 25);
	row_note(r, "reader at %.1f%% of the throughput bound (per repeat)",
		 r->med);
	/* What a reader that finishes each walk before the next can reach. */
	r = row_add("reader_pct_of_latency", "reader: % of latency bound", "%",
		    pct_lat, n);
	row_note(r, "a walk at a time: 100%% would be the bare dependent "
		    "chase");
	r = row_add("reader_hit", "reader: hit path (lookup+check)",
		    "ns/access", hit, n);
	row_note(r, "%.2f%% of accesses walked", 100 * median(hit_rate, n));
	r = row_add("reader_hit_speedup", "reader: miss / hit", "x", speedup,
		    n);
	row_target(r, T_GE, 2);
	detail("walks.table_bytes", bbm_arena_total_in_use(sys->map->arena) *
					    (double)BBM_PAGE_SIZE);
	detail("walks.walks_per_repeat", plan->walks);
	detail("walks.reader_miss_walk_fraction", median(miss_rate, n));
	detail("walks.reader_hit_walk_fraction", median(hit_rate, n));
	detail("walks.model_failures", failures);
	if (failures)
		error("the model reported %" PRIu64 " failures with no writer",
		      failures);
out:
	free(vas);
	bbm_system_destroy(sys);
}

/* --- running bbmstress ---------------------------------------------------- */

/* Read all of @path; NULL if it cannot be read. */
static char *slurp(const char *path)
{
	char *buf = NULL;
	long len;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0) {
		rewind(f);
		buf = malloc(len + 1);
		if (buf && fread(buf, 1, len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/*
 * The value of "a.b.c" in bbmstress's JSON: each name looked up after the
 * previous one, which is enough for its fixed layout.  NAN if absent or
 * null.
 */
static double json_get(const char *text, const char *path)
{
	char name[64], *end;
	const char *p = text, *dot;
	size_t len;
	double val;

	for (;;) {
		dot = strchr(path, '.');
		len = dot ? (size_t)(dot - path) : strlen(path);
		snprintf(name, sizeof(name), "\"%.*s\":", (int)len, path);
		p = strstr(p, name);
		if (!p)
			return NAN;
		p += strlen(name);
		if (!dot)
			break;
		path = dot + 1;
	}
	while (*p == ' ' || *p == '\n')
		p++;
	val = strtod(p, &end);
	return end == p ? NAN : val;
}

/* Failures of every kind (notes excluded) in a run's JSON. */
static double json_failures(const char *text)
{
	char path[64];
	double sum = 0, n;
	int kind;

	for (kind = 0; kind < BBM_NR_FAILURE_KINDS; kind++) {
		snprintf(path, sizeof(path), "failures.%s",
			 bbm_fail_kind_name(kind));
		n = json_get(text, path);
		if (!isnan(n))
			sum += n;
	}
	return sum;
}

/* Seconds a run of @duration may take before it counts as hung. */
#define STRESS_GRACE_S 60

/*
 * Run bbmstress with @args (NULL-terminated) plus --quiet --json, and
 * return its JSON text (malloc'ed), or NULL after an error; its CPU
 * seconds (user + system) in *@cpu_s if not NULL.  Exit status 0
 * (SUCCESS) and 1 (FAILURE) are both results; anything else is an error.
 */
static char *run_stress(const char *const *args, double duration_s,
			double *cpu_s)
{
	struct rusage ru;
	static int nr_runs;
	char json[PATH_MAX], log[PATH_MAX];
	const char *argv[48];
	uint64_t deadline;
	int i, n = 0, status, fd;
	pid_t pid, got;
	char *text;

	snprintf(json, sizeof(json), "%s/run%d.json", tmpdir, nr_runs);
	snprintf(log, sizeof(log), "%s/run%d.log", tmpdir, nr_runs++);
	argv[n++] = stress_path;
	for (i = 0; args[i] && n < 44; i++)
		argv[n++] = args[i];
	argv[n++] = "--quiet";
	argv[n++] = "--json";
	argv[n++] = json;
	argv[n] = NULL;

	pid = fork();
	if (pid < 0) {
		error("fork: %s", strerror(errno));
		return NULL;
	}
	if (pid == 0) {
		/* Its End-of-test line and any warning go to the log. */
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(stress_path, (char *const *)argv);
		_exit(127);
	}
	/* Wait, but never for ever: kill the run we started if it hangs. */
	deadline = bbm_now_ns() + (uint64_t)((duration_s + STRESS_GRACE_S) *
					     1e9);
	while ((got = wait4(pid, &status, WNOHANG, &ru)) == 0) {
		if (bbm_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			error("%s %s ... did not end; killed (log: %s)",
			      stress_path, args[0], log);
			return NULL;
		}
		usleep(2000);
	}
	if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		error("%s %s ... exited with status %d (log: %s)", stress_path,
		      args[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		      log);
		return NULL;
	}
	/* CPU time it had: on a shared host, less than cores x elapsed. */
	if (cpu_s)
		*cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			 ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	text = slurp(json);
	if (!text)
		error("%s wrote no %s (log: %s)", stress_path, json, log);
	unlink(json);
	unlink(log);
	return text;
}

/* Seconds in the durations this file gives bbmstress: "2s", "500ms". */
static double duration_s(const char *d)
{
	char *end;
	double v = strtod(d, &end);

	return strcmp(end, "ms") ? v : v / 1000;
}

/* --- 4. scaling ----------------------------------------------------------- */

static void bench_scaling(void)
{
	static const int readers[] = { 1, 2, 4, 8 };
	const char *dur = plan->stress_duration;
	double wps[16], aps[16], wpc[16], cpu;
	char key[32], name[48], nstr[8];
	unsigned int i;
	struct row *r;
	char *text;
	int run, n;

	for (i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		progress("scaling: bbmstress --readers %d for %s", readers[i],
			 dur);
		snprintf(nstr, sizeof(nstr), "%d", readers[i]);
		for (run = n = 0; run < plan->stress_runs; run++) {
			const char *args[] = {
				"--readers", nstr, "--nonbbml2-readers", "0",
				"--splitters", "0", "--collapsers", "0",
				"--map", "pte", "--duration", dur,
				"--seed", "1", NULL,
			};

			text = run_stress(args, duration_s(dur), &cpu);
			if (!text)
				continue;
			wpc[n] = json_get(text, "counters.walks") / cpu;
			wps[n] = json_get(text, "counters.walks") /
				 json_get(text, "elapsed_s");
			aps[n++] = json_get(text, "counters.accesses") /
				   json_get(text, "elapsed_s");
			free(text);
		}
		snprintf(key, sizeof(key), "scaling_%d", readers[i]);
		snprintf(name, sizeof(name), "scaling: %d reader%s",
			 readers[i], readers[i] > 1 ? "s" : "");
		r = row_add(key, name, "walks/s", wps, n);
		if (readers[i] > nr_online)
			row_note(r, "%d threads oversubscribe the %d cores; "
				    "--map pte", readers[i], nr_online);
		else
			row_note(r, "--map pte (blocks: 4 1G entries fit the "
				    "TLB, no walks)");
		/* Per CPU-second: what sharing the cores does not explain. */
		snprintf(key, sizeof(key), "scaling_%d_per_cpu_s", readers[i]);
		snprintf(name, sizeof(name), "scaling: %d reader%s, per CPU-s",
			 readers[i], readers[i] > 1 ? "s" : "");
		r = row_add(key, name, "walks/CPU-s", wpc, n);
		row_note(r, "walks / (user + system seconds of bbmstress)");
		detail("scaling_%d.accesses_per_s", n ? median(aps, n) : NAN,
		       readers[i]);
	}
}

/* --- 5. writers and grace periods ----------------------------------------- */

static void bench_writers_stress(void)
{
	static const char *const readers[] = { "0", "4" };
	static const char *const what[] = { "splits", "folds", "changes" };
	const char *dur = plan->stress_duration;
	double v[3][16];
	char key[48], name[48], path[32];
	unsigned int i, k;
	int run, n;
	char *text;

	for (i = 0; i < 2; i++) {
		progress("writers: bbmstress 1 splitter, 1 collapser, "
			 "%s readers for %s", readers[i], dur);
		for (run = n = 0; run < plan->stress_runs; run++) {
			const char *args[] = {
				"--readers", readers[i], "--splitters", "1",
				"--collapsers", "1", "--nonbbml2-readers", "0",
				"--duration", dur, "--seed", "1", NULL,
			};

			text = run_stress(args, duration_s(dur), NULL);
			if (!text)
				continue;
			for (k = 0; k < 3; k++) {
				snprintf(path, sizeof(path), "counters.%s",
					 what[k]);
				v[k][n] = json_get(text, path) /
					  json_get(text, "elapsed_s");
			}
			n++;
			free(text);
		}
		for (k = 0; k < 3; k++) {
			snprintf(key, sizeof(key), "writers_%s_r%s", what[k],
				 readers[i]);
			snprintf(name, sizeof(name), "writers: %s, %s readers",
				 what[k], readers[i]);
			row_add(key, name, "/s", v[k], n);
		}
	}
}

/* An RCU reader thread: back-to-back read sections as long as a walk. */
struct rcu_reader {
	pthread_t thread;
	int *stop;
	uint64_t sections;
};

static void *rcu_reader_fn(void *arg)
{
	struct rcu_reader *rd = arg;
	uint64_t x = 0;
	int i;

	urcu_memb_register_thread();
	while (!__atomic_load_n(rd->stop, __ATOMIC_RELAXED)) {
		urcu_memb_read_lock();
		for (i = 0; i < 16; i++)
			x = mix(x + i);
		urcu_memb_read_unlock();
		rd->sections++;
	}
	__atomic_store_n(&sink_word, x, __ATOMIC_RELAXED);
	urcu_memb_unregister_thread();
	return NULL;
}

/* synchronize_rcu() latency in us with @nr readers running. */
static void bench_sync_rcu(int nr)
{
	struct rcu_reader rd[8];
	double *lat = calloc(plan->samples, sizeof(*lat));
	char key[32], name[48];
	uint64_t start;
	int stop = 0, i, started;
	struct row *r;

	if (!lat)
		die("out of memory");
	for (started = 0; started < nr; started++) {
		rd[started].stop = &stop;
		rd[started].sections = 0;
		if (pthread_create(&rd[started].thread, NULL, rcu_reader_fn,
				   &rd[started]))
			break;
	}
	/* Let them start and take a section or two. */
	usleep(10000);
	for (i = 0; i < plan->samples; i++) {
		start = bbm_now_ns();
		urcu_memb_synchronize_rcu();
		lat[i] = ns_since(start) / 1000;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < started; i++)
		pthread_join(rd[i].thread, NULL);
	if (started < nr)
		error("could start only %d of %d RCU readers", started, nr);
	snprintf(key, sizeof(key), "sync_rcu_%d", nr);
	snprintf(name, sizeof(name), "grace period: %d readers", nr);
	r = row_add(key, name, "us", lat, plan->samples);
	row_note(r, "urcu_memb_synchronize_rcu(), %d readers in read "
		    "sections", nr);
	free(lat);
}

static uint64_t callbacks_run;

static void count_cb(struct rcu_head *head)
{
	(void)head;
	__atomic_fetch_add(&callbacks_run, 1, __ATOMIC_RELAXED);
}

/*
 * call_rcu(): ns to enqueue one; callbacks per second from the first
 * enqueue of a batch to the end of the rcu_barrier() after it; and the
 * latency of an rcu_barrier() with a single callback pending.
 */
static void bench_call_rcu(void)
{
	int batch = plan->call_rcu_batch, rep, i;
	double enq[64], tput[64], *lat;
	struct rcu_head *heads;
	uint64_t start, mid, expect;
	struct row *r;

	heads = calloc(batch, sizeof(*heads));
	lat = calloc(plan->samples, sizeof(*lat));
	if (!heads || !lat)
		die("out of memory");
	/* call_rcu() takes a read lock: the caller must be registered. */
	urcu_memb_register_thread();
	for (rep = 0; rep < plan->repeats; rep++) {
		start = bbm_now_ns();
		for (i = 0; i < batch; i++)
			urcu_memb_call_rcu(&heads[i], count_cb);
		mid = bbm_now_ns();
		urcu_memb_barrier();
		enq[rep] = (double)(mid - start) / batch;
		tput[rep] = batch / (ns_since(start) / 1e9);
	}
	for (i = 0; i < plan->samples; i++) {
		start = bbm_now_ns();
		urcu_memb_call_rcu(&heads[0], count_cb);
		urcu_memb_barrier();
		lat[i] = ns_since(start) / 1000;
	}
	urcu_memb_unregister_thread();
	r = row_add("call_rcu_enqueue", "call_rcu: enqueue", "ns/call", enq,
		    plan->repeats);
	row_note(r, "urcu_memb_call_rcu() of a counting callback");
	r = row_add("call_rcu_throughput", "call_rcu: through rcu_barrier",
		    "callbacks/s", tput, plan->repeats);
	row_note(r, "%d call_rcu() then urcu_memb_barrier(), per second",
		 batch);
	r = row_add("rcu_barrier_latency", "call_rcu: barrier, 1 pending",
		    "us", lat, plan->samples);
	row_note(r, "one call_rcu() then urcu_memb_barrier()");
	detail("call_rcu.batch", batch);
	expect = (uint64_t)batch * plan->repeats + plan->samples;
	if (__atomic_load_n(&callbacks_run, __ATOMIC_RELAXED) != expect)
		error("call_rcu: %" PRIu64 " of %" PRIu64 " callbacks ran",
		      __atomic_load_n(&callbacks_run, __ATOMIC_RELAXED),
		      expect);
	free(heads);
	free(lat);
}

/* --- 6. TLBI and stop_machine() ------------------------------------------- */

/* A CPU thread of the TLBI machine: accesses and safe points, no end. */
struct access_cpu {
	pthread_t thread;
	struct bbm_system *sys;
	int id;
	int *stop;
	pthread_barrier_t *gate;
};

static void *access_cpu_fn(void *arg)
{
	struct access_cpu *t = arg;
	struct bbm_system *sys = t->sys;
	uint64_t pages = sys->map->mem_size >> BBM_PAGE_SHIFT;
	struct bbm_cpu *cpu;

	bbm_cpu_enter(sys, t->id);
	cpu = bbm_this_cpu;
	pthread_barrier_wait(t->gate);
	/* bbmstress's reader loop: a safe point, then an access. */
	while (!__atomic_load_n(t->stop, __ATOMIC_ACQUIRE)) {
		bbm_cpu_safe_point(sys);
		bbm_cpu_access(sys, page_va(bbm_rand(&cpu->rng), pages), 0);
	}
	bbm_cpu_set_state(sys, cpu, BBM_CPU_OFF);
	bbm_cpu_exit(sys);
	return NULL;
}

#define SAMPLE_PAUSE_US 1000	/* the others run between two samples */

static int empty_fn(void *arg)
{
	(void)arg;
	return 0;
}

/* flush_tlb_kernel_range() and stop_machine() latencies with @nr CPUs. */
static void bench_tlbi_cpus(int nr)
{
	double *tlbi = calloc(plan->samples, sizeof(double));
	double *sm = calloc(plan->samples, sizeof(double));
	struct access_cpu cpus[8];
	pthread_barrier_t gate;
	uint64_t failures = 0, start, va, rng = 7;
	struct bbm_system *sys;
	char key[32], name[48];
	int stop = 0, i;
	struct row *r;

	if (!tlbi || !sm)
		die("out of memory");
	progress("tlbi: flush_tlb_kernel_range() and stop_machine(), "
		 "%d CPUs", nr);
	sys = system_new(WALK_MEM, true, nr, &failures);
	if (!sys) {
		error("cannot build a %d-CPU machine", nr);
		goto out;
	}
	system_online(sys);
	bbm_cpu_enter(sys, 0);
	pthread_barrier_init(&gate, NULL, nr);
	for (i = 1; i < nr; i++) {
		cpus[i].sys = sys;
		cpus[i].id = i;
		cpus[i].stop = &stop;
		cpus[i].gate = &gate;
		if (pthread_create(&cpus[i].thread, NULL, access_cpu_fn,
				   &cpus[i]))
			die("cannot start CPU thread %d", i);
	}
	pthread_barrier_wait(&gate);
	/* Let the others fill their TLBs. */
	usleep(20000);
	/*
	 * Each sample from a running machine: a pause first, so the others
	 * are back in their loops (a CPU released by one stop_machine() and
	 * not yet run still counts as parked for the next one).
	 */
	for (i = 0; i < plan->samples; i++) {
		va = page_va(bbm_rand(&rng), WALK_MEM >> BBM_PAGE_SHIFT);
		usleep(SAMPLE_PAUSE_US);
		start = bbm_now_ns();
		bbm_flush_tlb_kernel_range(sys, va, va + BBM_PAGE_SIZE);
		tlbi[i] = ns_since(start) / 1000;
	}
	for (i = 0; i < plan->samples; i++) {
		usleep(SAMPLE_PAUSE_US);
		start = bbm_now_ns();
		bbm_stop_machine(sys, empty_fn, NULL);
		sm[i] = ns_since(start) / 1000;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 1; i < nr; i++)
		pthread_join(cpus[i].thread, NULL);
	pthread_barrier_destroy(&gate);
	bbm_cpu_set_state(sys, bbm_this_cpu, BBM_CPU_OFF);
	bbm_cpu_exit(sys);

	snprintf(key, sizeof(key), "tlbi_%d", nr);
	snprintf(name, sizeof(name), "TLBI completion: %d CPUs", nr);
	r = row_add(key, name, "us", tlbi, plan->samples);
	if (nr > nr_online)
		row_note(r, "%d CPU threads on %d cores", nr, nr_online);
	snprintf(key, sizeof(key), "stop_machine_%d", nr);
	snprintf(name, sizeof(name), "stop_machine round trip: %d CPUs", nr);
	r = row_add(key, name, "us", sm, plan->samples);
	if (nr == 8)
		row_target(r, T_LE, 100);
	if (nr > nr_online)
		row_note(r, "%d CPU threads on %d cores", nr, nr_online);
	detail("tlbi_%d.model_failures", failures, nr);
	if (failures)
		error("the model reported %" PRIu64 " failures (TLBI, %d CPUs)",
		      failures, nr);
out:
	bbm_system_destroy(sys);
	free(tlbi);
	free(sm);
}

/* --- 7. negative controls and the bare race ------------------------------- */

#define RACE_VALID 1ull
#define RACE_INVALID 0ull

struct race {
	uint64_t word;		/* shared: flips invalid/valid */
	int go;			/* shared: start gate */
	int stop;		/* shared: the writer should end */
	uint64_t start_ns;	/* set before the gate opens */
	uint64_t seen_ns;	/* when the reader saw invalid */
};

/* The writer: invalid then valid, over and over (a BBM with no window). */
static void *race_writer(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		;
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		__atomic_store_n(&r->word, RACE_INVALID, __ATOMIC_RELAXED);
		__atomic_store_n(&r->word, RACE_VALID, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* The reader: load until the invalid value shows. */
static void *race_reader(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		;
	while (__atomic_load_n(&r->word, __ATOMIC_RELAXED) != RACE_INVALID)
		;
	r->seen_ns = bbm_now_ns();
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* Seconds from gate to first observation, one repeat; NAN on error. */
static double race_once(void)
{
	struct race r = { .word = RACE_VALID };
	pthread_t w, rd;

	if (pthread_create(&w, NULL, race_writer, &r))
		return NAN;
	if (pthread_create(&rd, NULL, race_reader, &r)) {
		__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
		pthread_join(w, NULL);
		return NAN;
	}
	/* Both threads exist; time from the gate, as bbmstress does. */
	usleep(1000);
	r.start_ns = bbm_now_ns();
	__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);
	pthread_join(w, NULL);
	return (r.seen_ns - r.start_ns) / 1e9;
}

/* The bare race: median first observation in ms; its rows. */
static double bench_race(void)
{
	double t[64];
	struct row *r;
	int i, n = 0;

	progress("controls: bare two-thread race, %d repeats", plan->races);
	for (i = 0; i < plan->races; i++) {
		t[n] = race_once() * 1000;
		if (!isnan(t[n]))
			n++;
	}
	r = row_add("bare_race", "bare race: first observation", "ms", t, n);
	row_note(r, "one thread stores invalid then valid, one loads");
	row_one("bare_race_p90", "bare race: p90", "ms",
		percentile(t, n, 90))->n = n;
	return r->med;
}

/* Detection times of one control over the seeds, and its catch rate. */
static void bench_control(const char *control, double race_ms)
{
	double first[64], rate[16];
	char seed[16], key[64], name[48], dur[16];
	int i, n = 0, missed = 0, nr_rate = 0;
	struct row *r;
	char *text;

	progress("controls: --busted %s, %d seeds", control, plan->seeds);
	snprintf(dur, sizeof(dur), "%.0fs", CONTROL_DURATION_S);
	for (i = 0; i < plan->seeds; i++) {
		const char *args[] = {
			"--busted", control, "--duration", dur, "--seed",
			seed, NULL,
		};

		snprintf(seed, sizeof(seed), "%d", i + 1);
		text = run_stress(args, CONTROL_DURATION_S, NULL);
		if (!text)
			continue;
		first[n] = json_get(text, "first_failure_s") * 1000;
		/* Not caught in the run: count it as the whole run. */
		if (isnan(first[n])) {
			first[n] = CONTROL_DURATION_S * 1000;
			missed++;
		}
		n++;
		free(text);
	}
	snprintf(key, sizeof(key), "control_%s", control);
	snprintf(name, sizeof(name), "detect %s", control);
	r = row_add(key, name, "ms", first, n);
	row_target(r, T_LE, 50);
	if (missed)
		row_note(r, "%s: not caught by %d of %d seeds in %s", control,
			 missed, n, dur);
	snprintf(key, sizeof(key), "control_%s_p90", control);
	snprintf(name, sizeof(name), "detect %s p90", control);
	r = row_one(key, name, "ms", percentile(first, n, 90));
	r->n = n;
	if (!n)
		r->failed = true;
	row_target(r, T_LE, 1000);
	snprintf(key, sizeof(key), "control_%s_vs_race", control);
	snprintf(name, sizeof(name), "detect %s / bare race", control);
	r = row_one(key, name, "x", median(first, n) / race_ms);
	r->n = n;
	if (!n || isnan(race_ms))
		r->failed = true;
	row_target(r, T_LE, 20);
	detail("control_%s.missed_seeds", missed, control);

	for (i = 0; i < plan->rate_runs; i++) {
		const char *args[] = {
			"--busted", control, "--keep-going", "--duration",
			plan->rate_duration, "--seed", seed, NULL,
		};

		snprintf(seed, sizeof(seed), "%d", i + 1);
		text = run_stress(args, duration_s(plan->rate_duration),
				  NULL);
		if (!text)
			continue;
		rate[nr_rate++] = json_failures(text) /
				  json_get(text, "elapsed_s");
		free(text);
	}
	snprintf(key, sizeof(key), "control_%s_rate", control);
	snprintf(name, sizeof(name), "caught/s %s", control);
	r = row_add(key, name, "/s", rate, nr_rate);
	row_note(r, "%s: --keep-going --duration %s, failures / elapsed",
		 control, plan->rate_duration);
}

static void bench_controls(void)
{
	double race_ms = bench_race();
	unsigned int i;

	for (i = 0; i < NR_CONTROLS; i++)
		bench_control(controls[i], race_ms);
}

/* --- 8. memory ------------------------------------------------------------ */

/* Resident bytes of this process now. */
static double resident_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return NAN;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? (double)resident * sysconf(_SC_PAGESIZE) : NAN;
}

#define MEM_WALKS 500	/* hardware walks made over each big map */

/* Build a machine over @mem, walk it, account its bytes, destroy it. */
static void bench_memory_map(const char *tag, const char *label,
			     uint64_t mem, bool pte_only)
{
	uint64_t failures = 0, rng = 3, pages, table_bytes, va;
	double rss0 = resident_bytes(), rss, other, arena, oracle;
	struct bbm_census census;
	struct bbm_hw_walk w;
	struct bbm_system *sys;
	char key[64], name[48];
	uint64_t start;
	int i, bad = 0, level;
	struct row *r;

	progress("memory: %s (%" PRIu64 " GiB, %s)", tag, mem / GiB,
		 pte_only ? "PTEs" : "blocks");
	start = bbm_now_ns();
	sys = system_new(mem, pte_only, 1, &failures);
	if (!sys) {
		error("cannot build a machine over %" PRIu64 " GiB of %s",
		      mem / GiB, pte_only ? "PTEs" : "blocks");
		return;
	}
	detail("%s.create_ms", ns_since(start) / 1e6, tag);
	/* A few hundred hardware walks: the map must work, not only fit. */
	urcu_memb_register_thread();
	for (i = 0; i < MEM_WALKS; i++) {
		va = page_va(bbm_rand(&rng), mem >> BBM_PAGE_SHIFT) + 8 * i;
		urcu_memb_read_lock();
		if (bbm_hw_walk(sys->map, va, &w) != BBM_WALK_OK ||
		    w.pa != bbm_linear_pa(va) ||
		    w.level != (pte_only ? BBM_PTE : BBM_PUD))
			bad++;
		urcu_memb_read_unlock();
	}
	urcu_memb_unregister_thread();
	rss = resident_bytes() - rss0;
	bbm_census(sys->map, &census);

	pages = 0;
	for (level = 0; level < BBM_LEVELS; level++)
		pages += census.tables[level];
	table_bytes = census.table_bytes;
	arena = bbm_arena_overhead_bytes(sys->map->arena);
	oracle = (double)sys->oracle.nr_pages;	/* 1 byte per 4K page */
	/* The rest: the machine, the map, the CPUs and their TLBs. */
	other = sizeof(*sys) + sizeof(*sys->map) +
		sys->nr_cpus * (sizeof(struct bbm_cpu) +
				(double)sys->cpus[0].tlb.per_class *
					BBM_TLB_NR_CLASSES *
					sizeof(struct bbm_tlb_entry));

	snprintf(key, sizeof(key), "%s_table_pages", tag);
	snprintf(name, sizeof(name), "%s: table pages", label);
	r = row_one(key, name, "pages", pages);
	row_note(r, "%s: %" PRIu64 " walks, %d wrong; %.0f MiB resident",
		 label, (uint64_t)MEM_WALKS, bad, rss / MiB);
	snprintf(key, sizeof(key), "%s_bytes_per_table", tag);
	snprintf(name, sizeof(name), "%s: bytes per table page", label);
	r = row_one(key, name, "bytes", pages ? (double)table_bytes / pages :
						NAN);
	/* Exactly 4 KiB, and every page in use reachable (none leaked). */
	if (bbm_arena_total_in_use(sys->map->arena) != pages)
		r->failed = true;
	row_target(r, T_EQ, BBM_PAGE_SIZE);
	snprintf(key, sizeof(key), "%s_table_kib", tag);
	snprintf(name, sizeof(name), "%s: table memory", label);
	row_one(key, name, "KiB", table_bytes / 1024.0);
	/* The model's bookkeeping: the arena's, beside its table pages. */
	snprintf(key, sizeof(key), "%s_model_overhead_kib", tag);
	snprintf(name, sizeof(name), "%s: arena bookkeeping", label);
	r = row_one(key, name, "KiB", arena / 1024);
	row_note(r, "%s: arena gen/level/free-FIFO for %" PRIu64
		    " pages (sized for a PTE map, twice)",
		 label, sys->map->arena->nr_pages);
	snprintf(key, sizeof(key), "%s_model_overhead_pct", tag);
	snprintf(name, sizeof(name), "%s: arena / tables", label);
	row_one(key, name, "% tables", 100 * arena / table_bytes);
	/* The harness's: the oracle, the machine, the CPUs and TLBs. */
	snprintf(key, sizeof(key), "%s_harness_overhead_kib", tag);
	snprintf(name, sizeof(name), "%s: oracle + CPUs", label);
	r = row_one(key, name, "KiB", (oracle + other) / 1024);
	row_note(r, "%s: the oracle (1 byte/page of RAM) is the "
		    "harness's, not the model's tables", label);
	snprintf(key, sizeof(key), "%s_harness_overhead_pct", tag);
	snprintf(name, sizeof(name), "%s: oracle+CPUs / tables", label);
	row_one(key, name, "% tables", 100 * (oracle + other) / table_bytes);

	detail("%s.mem_bytes", mem, tag);
	detail("%s.table_pages", pages, tag);
	detail("%s.table_bytes", table_bytes, tag);
	detail("%s.arena_overhead_bytes", arena, tag);
	detail("%s.arena_reserved_bytes",
	       sys->map->arena->nr_pages * (double)BBM_PAGE_SIZE, tag);
	detail("%s.oracle_bytes", oracle, tag);
	detail("%s.other_bytes", other, tag);
	detail("%s.resident_bytes", rss, tag);
	detail("%s.walks", MEM_WALKS, tag);
	detail("%s.walks_wrong", bad, tag);
	if (bad || failures)
		error("%s: %d of %d walks wrong, %" PRIu64 " failures", tag,
		      bad, MEM_WALKS, failures);
	bbm_system_destroy(sys);
}

/* "256G", "1T": a size in its largest whole unit (static buffer). */
static const char *size_name(uint64_t bytes)
{
	static char buf[24];

	if (bytes % (1024 * GiB) == 0)
		snprintf(buf, sizeof(buf), "%" PRIu64 "T",
			 bytes / (1024 * GiB));
	else
		snprintf(buf, sizeof(buf), "%" PRIu64 "G", bytes / GiB);
	return buf;
}

static void bench_memory(void)
{
	char label[32];

	snprintf(label, sizeof(label), "%s PTE map",
		 size_name(plan->mem_pte));
	bench_memory_map("mem_pte", label, plan->mem_pte, true);
	snprintf(label, sizeof(label), "%s block map",
		 size_name(plan->mem_blocks));
	bench_memory_map("mem_blocks", label, plan->mem_blocks, false);
}

/* --- output --------------------------------------------------------------- */

/* A number in about 4 significant digits, or "-". */
static const char *fmt_num(char *buf, size_t len, double v)
{
	double a = fabs(v);

	if (isnan(v))
		snprintf(buf, len, "-");
	else if (a >= 1e7)
		snprintf(buf, len, "%.3e", v);
	else if (a >= 1000 || v == (double)(int64_t)v)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 100)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

static const char *op_name(enum target_op op)
{
	static const char *const names[] = { "", "<=", ">=", "==" };

	return names[op];
}

static void print_table(double elapsed_s)
{
	char med[24], min[24], max[24], target[32], num[24];
	const char *verdict;
	int i, pass = 0, miss = 0;
	const struct row *r;

	printf("bbm-bench: %d CPUs online, %s run, %.0f s\n\n", nr_online,
	       plan->quick ? "quick" : "full", elapsed_s);
	printf("%-36s %10s %10s %10s  %-11s %-9s %s\n", "measurement",
	       "median", "min", "max", "unit", "target", "verdict");
	for (i = 0; i < nr_rows; i++) {
		r = &rows[i];
		verdict = row_verdict(r);
		target[0] = '\0';
		if (r->op != T_NONE)
			snprintf(target, sizeof(target), "%s%s",
				 op_name(r->op),
				 fmt_num(num, sizeof(num), r->target));
		pass += verdict && !strcmp(verdict, "PASS");
		miss += verdict && !strcmp(verdict, "MISS");
		printf("%-36s %10s %10s %10s  %-11s %-9s %s\n", r->name,
		       r->failed ? "FAILED" : fmt_num(med, sizeof(med), r->med),
		       fmt_num(min, sizeof(min), r->min),
		       fmt_num(max, sizeof(max), r->max), r->unit,
		       target[0] ? target : "-", verdict ? verdict : "");
	}
	printf("\nnotes:\n");
	for (i = 0; i < nr_rows; i++)
		if (rows[i].note[0])
			printf("  %-36s %s\n", rows[i].name, rows[i].note);
	printf("\ntargets: %d PASS, %d MISS\n", pass, miss);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* JSON has no NaN or infinity: null instead. */
static void json_number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.9g", v);
	else
		fputs("null", f);
}

static void json_write(FILE *f, double elapsed_s)
{
	const char *verdict;
	const struct row *r;
	int i, pass = 0, miss = 0;
	bool first = true;

	fputs("{\n  \"tool\": \"bbm-bench\",\n", f);
	fprintf(f, "  \"quick\": %s,\n", plan->quick ? "true" : "false");
	fprintf(f, "  \"machine\": {\"cpus_online\": %d, \"mem_bytes\": ",
		nr_online);
	json_number(f, (double)sysconf(_SC_PHYS_PAGES) *
			       sysconf(_SC_PAGESIZE));
	fputs("},\n  \"stress\": ", f);
	json_string(f, stress_path ? stress_path : "");
	fputs(",\n  \"elapsed_s\": ", f);
	json_number(f, elapsed_s);
	fputs(",\n  \"results\": {", f);
	for (i = 0; i < nr_rows; i++) {
		r = &rows[i];
		verdict = row_verdict(r);
		fprintf(f, "%s\n    ", i ? "," : "");
		json_string(f, r->key);
		fputs(": {\"name\": ", f);
		json_string(f, r->name);
		fputs(", \"median\": ", f);
		json_number(f, r->failed ? NAN : r->med);
		fputs(", \"min\": ", f);
		json_number(f, r->min);
		fputs(", \"max\": ", f);
		json_number(f, r->max);
		fprintf(f, ", \"n\": %d, \"unit\": ", r->n);
		json_string(f, r->unit);
		fputs(", \"target\": ", f);
		if (r->op == T_NONE) {
			fputs("null", f);
		} else {
			fputs("{\"op\": ", f);
			json_string(f, op_name(r->op));
			fputs(", \"value\": ", f);
			json_number(f, r->target);
			fputs("}", f);
		}
		fputs(", \"verdict\": ", f);
		if (verdict)
			json_string(f, verdict);
		else
			fputs("null", f);
		fputs(", \"note\": ", f);
		json_string(f, r->note);
		fputs(", \"failed\": ", f);
		fputs(r->failed ? "true}" : "false}", f);
		pass += verdict && !strcmp(verdict, "PASS");
		miss += verdict && !strcmp(verdict, "MISS");
	}
	fputs("\n  },\n  \"details\": {", f);
	for (i = 0; i < nr_details; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		json_string(f, details[i].key);
		fputs(": ", f);
		json_number(f, details[i].val);
	}
	fprintf(f, "\n  },\n  \"targets\": {\"pass\": %d, \"miss\": %d, "
		   "\"missed\": [", pass, miss);
	for (i = 0; i < nr_rows; i++) {
		verdict = row_verdict(&rows[i]);
		if (!verdict || strcmp(verdict, "MISS"))
			continue;
		fputs(first ? "" : ", ", f);
		json_string(f, rows[i].key);
		first = false;
	}
	fprintf(f, "]},\n  \"errors\": %d\n}\n", nr_errors);
}

/* Write @path through a temporary file and a rename: old or new, whole. */
static int json_save(const char *path, double elapsed_s)
{
	char tmp[PATH_MAX];
	int fd, ret = 0;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	json_write(f, elapsed_s);
	if (fflush(f) || ferror(f) || fsync(fd))
		ret = -(errno ? errno : EIO);
	if (fclose(f) && !ret)
		ret = -(errno ? errno : EIO);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

/* --- main ----------------------------------------------------------------- */

/* bbmstress: --stress, $BBM_STRESS, beside us, or the variant's stress/. */
static const char *find_stress(const char *given)
{
	static char path[PATH_MAX + 32];
	char self[PATH_MAX], *dir;
	const char *env = getenv("BBM_STRESS");
	ssize_t n;

	if (given)
		return given;
	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	dir = dirname(self);
	snprintf(path, sizeof(path), "%s/bbmstress", dir);
	if (access(path, X_OK) == 0)
		return path;
	snprintf(path, sizeof(path), "%s/../stress/bbmstress", dir);
	if (access(path, X_OK) == 0)
		return path;
	return NULL;
}

static void usage(FILE *out)
{
	fputs("Usage: bbm-bench [--quick] [--json FILE] [--stress PATH] "
	      "[--only SECTION]\n"
	      "Measure the model against the bare limit; print a table.\n\n"
	      "  --quick          fewer repeats and seeds, smaller maps "
	      "(CI smoke test)\n"
	      "  --json FILE      write every figure and target as JSON\n"
	      "  --stress PATH    the bbmstress binary [$BBM_STRESS, else "
	      "beside bbm-bench]\n"
	      "  --only SECTION   one of walks, scaling, writers, tlbi, "
	      "controls, memory\n"
	      "  -h, --help       this text\n\n"
	      "Exit status: 0 when every measurement was made (targets may "
	      "be missed),\n1 when one could not be, 2 on bad usage.\n",
	      out);
}

static void remove_tmpdir(void)
{
	if (tmpdir[0])
		rmdir(tmpdir);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "stress", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const sections[] = {
		"walks", "scaling", "writers", "tlbi", "controls", "memory",
	};
	const char *json_path = NULL, *stress_given = NULL, *base;
	double elapsed;
	uint64_t start = bbm_now_ns();
	unsigned int i;
	int c, ret;

	plan = &full_plan;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			plan = &quick_plan;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 's':
			stress_given = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bbm-bench: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (only) {
		for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
			if (!strcmp(only, sections[i]))
				break;
		if (i == sizeof(sections) / sizeof(sections[0])) {
			fprintf(stderr, "bbm-bench: --only %s: no such "
					"section\n", only);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	nr_online = (int)sysconf(_SC_NPROCESSORS_ONLN);

	base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/bbm-bench.XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		die("mkdtemp(%s): %s", tmpdir, strerror(errno));
	atexit(remove_tmpdir);

	if (section("walks"))
		bench_walks();
	if (section("scaling") || section("writers") ||
	    section("controls")) {
		stress_path = find_stress(stress_given);
		if (!stress_path || access(stress_path, X_OK))
			die("bbmstress not found (%s): build it with scons, "
			    "or give --stress or $BBM_STRESS",
			    stress_path ? stress_path : "no path");
	}
	if (section("scaling"))
		bench_scaling();
	if (section("writers")) {
		bench_writers_stress();
		progress("writers: synchronize_rcu() and call_rcu()");
		bench_sync_rcu(0);
		bench_sync_rcu(2);
		bench_call_rcu();
	}
	if (section("tlbi")) {
		bench_tlbi_cpus(2);
		bench_tlbi_cpus(4);
		bench_tlbi_cpus(8);
	}
	if (section("controls"))
		bench_controls();
	if (section("memory"))
		bench_memory();

	elapsed = ns_since(start) / 1e9;
	print_table(elapsed);
	if (json_path) {
		ret = json_save(json_path, elapsed);
		if (ret) {
			fprintf(stderr, "bbm-bench: cannot write %s: %s\n",
				json_path, strerror(-ret));
			return 1;
		}
	}
	if (nr_errors)
		fprintf(stderr, "bbm-bench: %d measurement(s) could not be "
				"made\n", nr_errors);
	return nr_errors ? 1 : 0;
}
