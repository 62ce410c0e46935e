// SPDX-License-Identifier: GPL-2.0
/*
 * bbmstress's command line: defaults, getopt_long parsing, the names of
 * every enumerated value, and the duration and size syntaxes.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress/options.h"

#define MAX_READERS 60
#define MIN_MEM (2ull << 20)
#define MAX_MEM (1ull << 40)
#define MIN_TLB_ENTRIES 5
#define MAX_TLB_ENTRIES 4096
#define MAX_SPEC_FILL 1000000
#define MAX_OP_WEIGHT 1000000
#define MAX_WINDOW_DELAY_NS 1000000000ull	/* per step of every BBM */

/* --- names --------------------------------------------------------------- */

static const char *const scenario_names[] = {
	[BBM_SCENARIO_STEADY] = "steady",
	[BBM_SCENARIO_BOOT] = "boot",
};

static const char *const split_method_names[BBM_SPLIT_NR_METHODS] = {
	[BBM_SPLIT_AUTO] = "auto",
	[BBM_SPLIT_BBML2] = "bbml2",
	[BBM_SPLIT_BBM] = "bbm",
	[BBM_SPLIT_BBM_STOP_MACHINE] = "bbm-stop-machine",
};

static const char *const busted_names[BBM_BUSTED_NR] = {
	[BBM_BUSTED_NONE] = "none",
	[BBM_BUSTED_LIVE_BBM] = "live-bbm",
	[BBM_BUSTED_DIRECT_NOBBML2] = "direct-nobbml2",
	[BBM_BUSTED_EARLY_FREE] = "early-free",
	[BBM_BUSTED_NO_TLBI] = "no-tlbi",
	[BBM_BUSTED_COLLAPSE_RACE] = "collapse-race",
};

static const char *const op_names[BBM_NR_OPS] = {
	[BBM_OP_RO] = "ro",
	[BBM_OP_RW] = "rw",
	[BBM_OP_NX] = "nx",
	[BBM_OP_X] = "x",
	[BBM_OP_INVALID] = "invalid",
	[BBM_OP_VALID] = "valid",
	[BBM_OP_DECRYPT] = "decrypt",
	[BBM_OP_ENCRYPT] = "encrypt",
};

static const char *const va_pattern_names[] = {
	[BBM_VA_UNIFORM] = "uniform",
	[BBM_VA_HOT] = "hot",
};

static const char *const park_names[] = {
	[BBM_PARK_IDMAP] = "idmap",
	[BBM_PARK_SPIN] = "spin",
};

static const char *const tlb_replace_names[] = {
	[BBM_TLB_REPLACE_INDEX] = "index",
	[BBM_TLB_REPLACE_RANDOM] = "random",
};

static const char *const map_names[] = { "blocks", "pte" };

#define NR(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t nr,
			   unsigned int value)
{
	return value < nr && names[value] ? names[value] : "?";
}

const char *bbm_scenario_name(enum bbm_scenario scenario)
{
	return name_of(scenario_names, NR(scenario_names), scenario);
}

const char *bbm_split_method_name(enum bbm_split_method method)
{
	return name_of(split_method_names, NR(split_method_names), method);
}

const char *bbm_busted_name(enum bbm_busted busted)
{
	return name_of(busted_names, NR(busted_names), busted);
}

const char *bbm_op_name(enum bbm_op op)
{
	return name_of(op_names, NR(op_names), op);
}

const char *bbm_va_pattern_name(enum bbm_va_pattern pattern)
{
	return name_of(va_pattern_names, NR(va_pattern_names), pattern);
}

const char *bbm_park_name(enum bbm_park_mode park)
{
	return name_of(park_names, NR(park_names), park);
}

const char *bbm_tlb_replace_name(enum bbm_tlb_replace replace)
{
	return name_of(tlb_replace_names, NR(tlb_replace_names), replace);
}

const char *bbm_map_name(bool pte)
{
	return map_names[pte];
}

/* The index of @s in @names, or -1. */
static int name_find(const char *const *names, size_t nr, const char *s)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (names[i] && !strcmp(names[i], s))
			return i;
	return -1;
}

/* --- durations and sizes ----------------------------------------------- */

static const struct {
	const char *suffix;
	uint64_t ns;
} duration_units[] = {
	{ "h", 3600000000000ull },
	{ "m", 60000000000ull },
	{ "s", 1000000000ull },
	{ "ms", 1000000ull },
	{ "us", 1000ull },
	{ "ns", 1ull },
};

/* Decimal digits into *val; returns the end, or NULL on none or overflow. */
static const char *parse_digits(const char *s, uint64_t *val, int *nr)
{
	uint64_t v = 0;

	*nr = 0;
	for (; *s >= '0' && *s <= '9'; s++, (*nr)++) {
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (*s - '0');
	}
	*val = v;
	return s;
}

int bbm_parse_duration(const char *s, uint64_t *ns)
{
	uint64_t whole, frac = 0, unit = 1000000000ull, scale = 1;
	unsigned __int128 total;
	int nr_whole, nr_frac = 0;
	const char *p;
	size_t i;

	p = parse_digits(s, &whole, &nr_whole);
	if (!p)
		return -1;
	if (*p == '.') {
		p = parse_digits(p + 1, &frac, &nr_frac);
		/* Nanoseconds of an hour fit 13 digits; more is noise. */
		if (!p || nr_frac > 12)
			return -1;
	}
	if (!nr_whole && !nr_frac)
		return -1;
	if (*p) {
		for (i = 0; i < NR(duration_units); i++)
			if (!strcmp(p, duration_units[i].suffix))
				break;
		if (i == NR(duration_units))
			return -1;
		unit = duration_units[i].ns;
	}
	while (nr_frac--)
		scale *= 10;
	total = (unsigned __int128)whole * unit +
		(unsigned __int128)frac * unit / scale;
	if (total > UINT64_MAX)
		return -1;
	*ns = total;
	return 0;
}

/*
 * A non-negative integer, decimal or 0x hex, without sign or spaces (which
 * strtoull() would take).  Returns the end, or NULL.
 */
static const char *parse_number(const char *s, uint64_t *val)
{
	const char *digits = s;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	if (base == 10 ? !isdigit((unsigned char)*digits) :
			 !isxdigit((unsigned char)*digits))
		return NULL;
	errno = 0;
	*val = strtoull(digits, &end, base);
	if (errno)
		return NULL;
	return end;
}

int bbm_parse_size(const char *s, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	const char *end, *suffix;
	uint64_t val;
	int shift = 0;

	end = parse_number(s, &val);
	if (!end)
		return -1;
	if (*end) {
		suffix = strchr(suffixes, *end & ~0x20);
		if (!suffix || !*suffix)
			return -1;
		shift = 10 * (suffix - suffixes + 1);
		end++;
		/* "4G", "4GB", "4GiB" */
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -1;
	}
	if (shift && val > UINT64_MAX >> shift)
		return -1;
	*bytes = val << shift;
	return 0;
}

int bbm_format_duration(char *buf, size_t size, uint64_t ns)
{
	size_t i;

	if (!ns)
		return snprintf(buf, size, "0");
	for (i = 0; i < NR(duration_units); i++) {
		/* "ms" before "m" would never win: units go large to small. */
		if (!(ns % duration_units[i].ns))
			break;
	}
	return snprintf(buf, size, "%" PRIu64 "%s", ns / duration_units[i].ns,
			duration_units[i].suffix);
}

int bbm_format_size(char *buf, size_t size, uint64_t bytes)
{
	static const char suffixes[] = "TGMK";
	int i;

	for (i = 0; bytes && i < 4; i++) {
		int shift = 10 * (4 - i);

		if (!(bytes & ((1ull << shift) - 1)))
			return snprintf(buf, size, "%" PRIu64 "%c",
					bytes >> shift, suffixes[i]);
	}
	return snprintf(buf, size, "%" PRIu64, bytes);
}

/* --- defaults ------------------------------------------------------------ */

static uint64_t seed_from_time(void)
{
	struct timespec ts;
	uint64_t state;

	clock_gettime(CLOCK_REALTIME, &ts);
	state = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	state ^= (uint64_t)getpid() << 32;
	/* 32 bits: plenty of distinct runs, and short to type back. */
	return bbm_rand(&state) & 0xffffffffull;
}

static int readers_for_machine(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (cores < 1)
		cores = 1;
	return cores * 2 < 2 ? 2 : cores * 2 > 16 ? 16 : (int)cores * 2;
}

void bbm_options_default(struct bbm_options *opt)
{
	int op;

	memset(opt, 0, sizeof(*opt));
	opt->scenario = BBM_SCENARIO_STEADY;
	opt->duration_ns = 10 * 1000000000ull;
	opt->seed = seed_from_time();
	opt->seed_given = false;
	opt->mem = 4ull << 30;
	opt->map_pte = false;
	/*
	 * Sized to the machine: two readers per core, 2 to 16 (4 on the
	 * 2-core machines CI has); the rerun command then names the number,
	 * so a command line means the same run everywhere.
	 */
	opt->readers = readers_for_machine();
	opt->nonbbml2_readers = -1;
	opt->splitters = 2;
	opt->collapsers = 1;
	opt->nr_mix = 0;
	opt->split_method = BBM_SPLIT_AUTO;
	opt->park = BBM_PARK_IDMAP;
	opt->tlb_entries = 64;
	opt->tlb_replace = BBM_TLB_REPLACE_INDEX;
	opt->spec_fill = 16;
	opt->va_pattern = BBM_VA_HOT;
	opt->window_delay_ns = 0;
	for (op = 0; op < BBM_NR_OPS; op++)
		opt->op_mix[op] = 1;
	opt->busted = BBM_BUSTED_NONE;
	opt->policy = BBM_POLICY_OPTION1;
	opt->early_decrypts = 4;
	opt->decrypt_pages = 16;
	opt->window_ops = 8;
	opt->online_delay_ns = 2000000;
	opt->rodata_full = true;
	opt->realm = false;
	opt->stat_interval_ns = 1000000000ull;
	opt->json_path = NULL;
	opt->keep_going = false;
	opt->quiet = false;
	opt->replay_path = NULL;
	snprintf(opt->command, sizeof(opt->command), "bbmstress");
}

int bbm_options_nr_cpus(const struct bbm_options *opt)
{
	return opt->readers + opt->splitters + opt->collapsers;
}

/* --- the command line --------------------------------------------------- */

enum {
	OPT_HELP = 'h',
	OPT_SCENARIO = 256,
	OPT_DURATION,
	OPT_SEED,
	OPT_MEM,
	OPT_MAP,
	OPT_READERS,
	OPT_NONBBML2_READERS,
	OPT_CPU_MIX,
	OPT_SPLITTERS,
	OPT_COLLAPSERS,
	OPT_SPLIT_METHOD,
	OPT_PARK,
	OPT_TLB_ENTRIES,
	OPT_TLB_REPLACE,
	OPT_SPEC_FILL,
	OPT_VA_PATTERN,
	OPT_WINDOW_DELAY,
	OPT_OP_MIX,
	OPT_BUSTED,
	OPT_STAT_INTERVAL,
	OPT_JSON,
	OPT_KEEP_GOING,
	OPT_QUIET,
	OPT_REPLAY,
	OPT_POLICY,
	OPT_EARLY_DECRYPTS,
	OPT_DECRYPT_PAGES,
	OPT_WINDOW_OPS,
	OPT_ONLINE_DELAY,
	OPT_LATE_CPUS,
	OPT_RODATA,
	OPT_REALM,
};

static const struct option long_options[] = {
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "map", required_argument, NULL, OPT_MAP },
	{ "readers", required_argument, NULL, OPT_READERS },
	{ "nonbbml2-readers", required_argument, NULL, OPT_NONBBML2_READERS },
	{ "cpu-mix", required_argument, NULL, OPT_CPU_MIX },
	{ "splitters", required_argument, NULL, OPT_SPLITTERS },
	{ "collapsers", required_argument, NULL, OPT_COLLAPSERS },
	{ "split-method", required_argument, NULL, OPT_SPLIT_METHOD },
	{ "park", required_argument, NULL, OPT_PARK },
	{ "tlb-entries", required_argument, NULL, OPT_TLB_ENTRIES },
	{ "tlb-replace", required_argument, NULL, OPT_TLB_REPLACE },
	{ "spec-fill", required_argument, NULL, OPT_SPEC_FILL },
	{ "va-pattern", required_argument, NULL, OPT_VA_PATTERN },
	{ "window-delay", required_argument, NULL, OPT_WINDOW_DELAY },
	{ "op-mix", required_argument, NULL, OPT_OP_MIX },
	{ "busted", required_argument, NULL, OPT_BUSTED },
	{ "stat-interval", required_argument, NULL, OPT_STAT_INTERVAL },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "keep-going", no_argument, NULL, OPT_KEEP_GOING },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "early-decrypts", required_argument, NULL, OPT_EARLY_DECRYPTS },
	{ "decrypt-pages", required_argument, NULL, OPT_DECRYPT_PAGES },
	{ "window-ops", required_argument, NULL, OPT_WINDOW_OPS },
	{ "online-delay", required_argument, NULL, OPT_ONLINE_DELAY },
	{ "late-cpus", required_argument, NULL, OPT_LATE_CPUS },
	{ "rodata", required_argument, NULL, OPT_RODATA },
	{ "realm", no_argument, NULL, OPT_REALM },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char *option_name(int val)
{
	const struct option *o;

	for (o = long_options; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

/* The one error line: "bbmstress: <what> (see --help)". */
static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt,
							       ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bbmstress: %s (see --help)\n", msg);
	return -1;
}

/* A whole argument that is a number. */
static int parse_u64(const char *s, uint64_t *val)
{
	const char *end = parse_number(s, val);

	return end && !*end ? 0 : -1;
}

static int parse_count(const char *name, const char *s, uint64_t min,
		       uint64_t max, uint64_t *val)
{
	if (parse_u64(s, val))
		return usage_error("--%s %s: not a number", name, s);
	if (*val < min || *val > max)
		return usage_error("--%s %s: must be %" PRIu64 "..%" PRIu64,
				   name, s, min, max);
	return 0;
}

static int parse_int(const char *name, const char *s, int min, int max,
		     int *out)
{
	uint64_t val;

	if (parse_count(name, s, min, max, &val))
		return -1;
	*out = val;
	return 0;
}

static int parse_uint(const char *name, const char *s, unsigned int min,
		      unsigned int max, unsigned int *out)
{
	uint64_t val;

	if (parse_count(name, s, min, max, &val))
		return -1;
	*out = val;
	return 0;
}

/* "a, b or c" into @buf, for messages. */
static const char *name_list(const char *const *names, size_t nr,
			     char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < nr && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%s",
				!i ? "" : i + 1 < nr ? ", " : " or ",
				names[i]);
	return buf;
}

static int parse_name(const char *name, const char *s,
		      const char *const *names, size_t nr, int *out)
{
	char list[256];
	int i = name_find(names, nr, s);

	if (i < 0)
		return usage_error("--%s %s: use %s", name, s,
				   name_list(names, nr, list, sizeof(list)));
	*out = i;
	return 0;
}

static int parse_time(const char *name, const char *s, uint64_t max,
		      uint64_t *ns)
{
	char buf[32];

	if (bbm_parse_duration(s, ns))
		return usage_error("--%s %s: not a duration (10s, 1.5s, "
				   "500ms, 2m, 1h, 10us)", name, s);
	if (*ns > max) {
		bbm_format_duration(buf, sizeof(buf), max);
		return usage_error("--%s %s: at most %s", name, s, buf);
	}
	return 0;
}

static int parse_mem(const char *s, uint64_t *mem)
{
	if (bbm_parse_size(s, mem))
		return usage_error("--mem %s: not a size (4G, 512M, "
				   "0x80000000)", s);
	if (*mem < MIN_MEM || *mem > MAX_MEM || *mem % 4096)
		return usage_error("--mem %s: must be a multiple of 4K "
				   "from 2M to 1T", s);
	return 0;
}

/* "cortex-x4:2,cortex-a520:2" (a bare name counts 1). */
static int parse_cpu_mix(struct bbm_options *opt, const char *s)
{
	const struct bbm_core_type *core;
	char buf[1024], list[1024], *item, *save, *colon;
	uint64_t count;
	size_t len = 0;
	int nr = 0;

	if (strlen(s) >= sizeof(buf))
		return usage_error("--cpu-mix %.40s...: too long", s);
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		count = 1;
		colon = strchr(item, ':');
		if (colon) {
			*colon = '\0';
			if (parse_u64(colon + 1, &count) || !count)
				return usage_error("--cpu-mix %s: bad count "
						   "'%s' for %s", s, colon + 1,
						   item);
		}
		core = bbm_core_type_find(item);
		if (!core) {
			list[0] = '\0';
			for (core = bbm_core_types; core->name; core++)
				len += snprintf(list + len, sizeof(list) - len,
						"%s%s", len ? ", " : "",
						core->name);
			return usage_error("--cpu-mix %s: unknown core '%s'; "
					   "known: %s", s, item, list);
		}
		if (count > (uint64_t)(BBM_MAX_CPUS - nr))
			return usage_error("--cpu-mix %s: more than %d CPUs", s,
					   BBM_MAX_CPUS);
		while (count--)
			opt->mix[nr++] = core;
	}
	if (!nr)
		return usage_error("--cpu-mix '%s': no CPUs", s);
	opt->nr_mix = nr;
	return 0;
}

/* "cortex-a520,cortex-x4:2": the same syntax as --cpu-mix. */
static int parse_late_cpus(struct bbm_options *opt, const char *s)
{
	static struct bbm_options scratch;

	scratch.nr_mix = 0;
	if (parse_cpu_mix(&scratch, s))
		return -1;
	memcpy(opt->late, scratch.mix, sizeof(opt->late));
	opt->nr_late = scratch.nr_mix;
	return 0;
}

/* "ro=2,rw=1": the ops not named get 0. */
static int parse_op_mix(struct bbm_options *opt, const char *s)
{
	unsigned int mix[BBM_NR_OPS] = { 0 };
	char buf[512], list[256], *item, *save, *eq;
	uint64_t weight;
	int op;

	if (strlen(s) >= sizeof(buf))
		return usage_error("--op-mix %.40s...: too long", s);
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		eq = strchr(item, '=');
		if (!eq)
			return usage_error("--op-mix %s: '%s' is not op=weight",
					   s, item);
		*eq = '\0';
		op = name_find(op_names, BBM_NR_OPS, item);
		if (op < 0)
			return usage_error("--op-mix %s: unknown op '%s'; use "
					   "%s", s, item,
					   name_list(op_names, BBM_NR_OPS, list,
						     sizeof(list)));
		if (parse_u64(eq + 1, &weight) || weight > MAX_OP_WEIGHT)
			return usage_error("--op-mix %s: weight of %s must be "
					   "0..%d", s, item, MAX_OP_WEIGHT);
		mix[op] = weight;
	}
	for (op = 0; op < BBM_NR_OPS && !mix[op]; op++)
		;
	if (op == BBM_NR_OPS)
		return usage_error("--op-mix %s: every weight is 0", s);
	memcpy(opt->op_mix, mix, sizeof(mix));
	return 0;
}

/* Append @arg to @buf, single-quoted if the shell would change it. */
static int append_quoted(char *buf, size_t size, size_t *len, const char *arg)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_@%+=:,./-";
	bool plain = *arg && strspn(arg, safe) == strlen(arg);
	const char *p;
	size_t need;
	char *out;

	need = 1 + strlen(arg) + (plain ? 0 : 2);
	for (p = arg; !plain && *p; p++)
		if (*p == '\'')
			need += 3;	/* ' becomes '\'' */
	if (*len + need >= size)
		return -1;
	out = buf + *len;
	*out++ = ' ';
	if (plain) {
		out = stpcpy(out, arg);
	} else {
		*out++ = '\'';
		for (p = arg; *p; p++) {
			if (*p == '\'')
				out = stpcpy(out, "'\\''");
			else
				*out++ = *p;
		}
		*out++ = '\'';
		*out = '\0';
	}
	*len = out - buf;
	return 0;
}

static int build_command(struct bbm_options *opt, int argc, char **argv)
{
	size_t len;
	int i;

	len = snprintf(opt->command, sizeof(opt->command), "bbmstress");
	for (i = 1; i < argc; i++)
		if (append_quoted(opt->command, sizeof(opt->command), &len,
				  argv[i]))
			return usage_error("command line longer than %zu "
					   "characters",
					   sizeof(opt->command) - 1);
	return 0;
}

/* Append " --NAME VALUE" unless the command already has --NAME. */
static int append_option(struct bbm_options *opt, const char *name,
			 uint64_t value)
{
	size_t len = strlen(opt->command);
	char key[64];
	int n;

	snprintf(key, sizeof(key), " --%s ", name);
	if (strstr(opt->command, key))
		return 0;
	n = snprintf(opt->command + len, sizeof(opt->command) - len,
		     " --%s %" PRIu64, name, value);
	if (n < 0 || (size_t)n >= sizeof(opt->command) - len) {
		opt->command[len] = '\0';
		return -1;
	}
	return 0;
}

int bbm_options_add_seed(struct bbm_options *opt)
{
	/* What the defaults chose from the time and the machine, made fixed. */
	if (!opt->seed_given && append_option(opt, "seed", opt->seed))
		return -1;
	if (!opt->readers_given && !opt->nr_mix &&
	    append_option(opt, "readers", opt->readers))
		return -1;
	return 0;
}

static bool op_mix_uneven(const struct bbm_options *opt)
{
	int op;

	for (op = 1; op < BBM_NR_OPS; op++)
		if (opt->op_mix[op] != opt->op_mix[0])
			return true;
	return false;
}

static void print_help(const struct bbm_options *def)
{
	const struct bbm_core_type *core;
	char dur[32], mem[32], stat[32], delay[32], online[32];
	int op;

	bbm_format_duration(dur, sizeof(dur), def->duration_ns);
	bbm_format_size(mem, sizeof(mem), def->mem);
	bbm_format_duration(stat, sizeof(stat), def->stat_interval_ns);
	bbm_format_duration(delay, sizeof(delay), def->window_delay_ns);
	bbm_format_duration(online, sizeof(online), def->online_delay_ns);
	printf("Usage: bbmstress [OPTION]...\n"
	       "Stress the splitting of arm64's linear map on emulated CPUs.\n"
	       "Ends with 'End of test: SUCCESS' (exit 0) or 'FAILURE' "
	       "(exit 1); 2 on bad usage.\n\n");
	printf("Run:\n"
	       "  --scenario steady|boot    what the run does [%s]\n"
	       "  --duration T              how long: 10s, 1.5s, 500ms, 2m, "
	       "1h; bare = s [%s]\n"
	       "  --seed N                  seed of every PRNG stream "
	       "[from the time]\n"
	       "  --keep-going              run on after a failure [%s]\n"
	       "  --replay FILE.json        rerun the run a JSON describes\n\n",
	       bbm_scenario_name(def->scenario), dur,
	       def->keep_going ? "on" : "off");
	printf("Machine:\n"
	       "  --mem SIZE                linear map size, K/M/G/T, "
	       "2M..1T [%s]\n"
	       "  --map blocks|pte          map with blocks or PTEs only "
	       "[%s]\n"
	       "  --readers N               CPUs that only access, 0..%d "
	       "[2 per core: %d]\n"
	       "  --nonbbml2-readers N      of which without "
	       "BBML2_NOABORT [half of them]\n"
	       "  --splitters N             CPUs changing permissions "
	       "[%d]\n"
	       "  --collapsers N            CPUs folding tables back "
	       "[%d]\n"
	       "  --cpu-mix CORE:N,...      core of each CPU in order, "
	       "N in all = all CPUs\n"
	       "                            [mixed: --nonbbml2-readers on a "
	       "core without\n"
	       "                            BBML2_NOABORT, the others on one "
	       "with it]\n"
	       "  --park idmap|spin         where stop_machine() parks "
	       "CPUs [%s]\n"
	       "  --tlb-entries N           TLB entries per CPU, %d..%d "
	       "[%u]\n"
	       "  --tlb-replace R           TLB victim: index or random "
	       "[%s]\n"
	       "  --spec-fill N             speculative fill, 1 in N "
	       "accesses, 0 = off [%u]\n\n",
	       mem, bbm_map_name(def->map_pte), MAX_READERS, def->readers,
	       def->splitters, def->collapsers, bbm_park_name(def->park),
	       MIN_TLB_ENTRIES, MAX_TLB_ENTRIES, def->tlb_entries,
	       bbm_tlb_replace_name(def->tlb_replace), def->spec_fill);
	printf("Work:\n"
	       "  --split-method M          auto, bbml2, bbm or "
	       "bbm-stop-machine [%s]\n"
	       "                            (auto: bbml2 if every CPU has "
	       "BBML2_NOABORT)\n"
	       "  --va-pattern uniform|hot  where readers access [%s]\n"
	       "  --window-delay T          widen race windows, e.g. 10us, "
	       "up to 1s [%s]:\n"
	       "                            BBM invalid-to-new, split "
	       "store-to-TLBI, fold\n"
	       "                            check-to-store, pageattr walk, "
	       "and 1 in 256 walks\n"
	       "  --op-mix OP=W,...         weights of permission changes, "
	       "unnamed ops 0:\n"
	       "                            ro, rw, nx, x, invalid, valid, "
	       "decrypt, encrypt\n"
	       "                            [",
	       bbm_split_method_name(def->split_method),
	       bbm_va_pattern_name(def->va_pattern), delay);
	if (!op_mix_uneven(def))
		printf("%u each", def->op_mix[0]);
	for (op = 0; op < BBM_NR_OPS && op_mix_uneven(def); op++)
		printf("%s%s=%u", op ? "," : "", bbm_op_name(op),
		       def->op_mix[op]);
	printf("]\n"
	       "  --busted BUG              negative control that must "
	       "fail [%s]:\n"
	       "                            live-bbm (translation-fault),\n"
	       "                            direct-nobbml2 "
	       "(tlb-conflict-abort),\n"
	       "                            early-free "
	       "(table-use-after-free),\n"
	       "                            no-tlbi (wrong-translation),\n"
	       "                            collapse-race (lost-update)\n\n",
	       bbm_busted_name(def->busted));
	printf("Boot scenario (--scenario boot):\n"
	       "  --policy P                v6.18, option1-rfc, option1, "
	       "option2, option3,\n"
	       "                            busted-live, busted-nohotplug "
	       "[%s]\n"
	       "  --rodata full|on          rodata= on the command line "
	       "[%s]\n"
	       "  --realm                   a realm guest: decrypts happen "
	       "[%s]\n"
	       "  --early-decrypts N        decrypts in init_IRQ, half "
	       "before mem_init [%d]\n"
	       "  --decrypt-pages N         pages per decrypt [%d]\n"
	       "  --window-ops N            changes while secondaries come "
	       "up [%d]\n"
	       "  --online-delay T          MMU on to online, per "
	       "secondary [%s]\n"
	       "  --late-cpus CORE,...      CPUs hotplugged at run time "
	       "[none]\n"
	       "  (boot: --mem defaults to 4032M; CPU0 is the first of "
	       "--cpu-mix and a\n"
	       "   splitter; with --cpu-mix the readers are the CPUs left "
	       "over)\n\n",
	       bbm_policy_name(def->policy),
	       def->rodata_full ? "full" : "on", def->realm ? "on" : "off",
	       def->early_decrypts, def->decrypt_pages, def->window_ops,
	       online);
	printf("Output:\n"
	       "  --stat-interval T         stats line period, 0 = none "
	       "[%s]\n"
	       "  --json FILE               write the results as JSON "
	       "[none]\n"
	       "  --quiet                   only the 'End of test' line "
	       "[%s]\n"
	       "  -h, --help                this text\n\n",
	       stat, def->quiet ? "on" : "off");
	printf("Core types (--cpu-mix):\n"
	       "  %-16s %-22s %s\n", "name", "kernel MIDR", "BBML2_NOABORT");
	for (core = bbm_core_types; core->name; core++)
		printf("  %-16s %-22s %s\n", core->name, core->kernel,
		       core->bbml2_noabort ? "yes" : "no");
}

/* Checks that need every option: run after the loop. */
static int check_options(struct bbm_options *opt)
{
	int nr;

	if (opt->scenario == BBM_SCENARIO_BOOT) {
		if (!opt->mem_given)
			opt->mem = BBM_BOOT_DEFAULT_MEM;
		/* CPU0, the boot CPU, is a splitter at run time. */
		if (opt->splitters < 1)
			opt->splitters = 1;
		/* The mix names every early CPU: the readers are the rest. */
		if (opt->nr_mix) {
			opt->readers = opt->nr_mix - opt->splitters -
				       opt->collapsers;
			if (opt->readers < 0)
				return usage_error("--cpu-mix has %d CPUs, "
						   "fewer than --splitters %d "
						   "+ --collapsers %d",
						   opt->nr_mix, opt->splitters,
						   opt->collapsers);
		}
		if (bbm_options_nr_cpus(opt) + opt->nr_late > BBM_MAX_CPUS)
			return usage_error("%d CPUs and %d --late-cpus: at "
					   "most %d in all",
					   bbm_options_nr_cpus(opt),
					   opt->nr_late, BBM_MAX_CPUS);
		if ((uint64_t)opt->decrypt_pages * 4096 * 2 > opt->mem)
			return usage_error("--decrypt-pages %d: more than half "
					   "of --mem", opt->decrypt_pages);
	}
	nr = bbm_options_nr_cpus(opt);

	if (opt->nonbbml2_readers > opt->readers)
		return usage_error("--nonbbml2-readers %d: more than "
				   "--readers %d", opt->nonbbml2_readers,
				   opt->readers);
	if (nr < 1)
		return usage_error("--readers 0 --splitters 0 --collapsers 0: "
				   "no CPUs");
	if (nr > BBM_MAX_CPUS)
		return usage_error("--readers %d --splitters %d --collapsers "
				   "%d: %d CPUs, at most %d", opt->readers,
				   opt->splitters, opt->collapsers, nr,
				   BBM_MAX_CPUS);
	if (opt->nr_mix && opt->nr_mix != nr)
		return usage_error("--cpu-mix has %d CPUs but readers + "
				   "splitters + collapsers = %d",
				   opt->nr_mix, nr);
	return 0;
}

int bbm_options_parse(struct bbm_options *opt, int argc, char **argv)
{
	const char *arg, *name;
	int c, val;

	if (build_command(opt, argc, argv))
		return -1;
	opterr = 0;
	optind = 0;	/* glibc: start over, so tests may parse twice */
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		arg = optarg;
		name = option_name(c);
		switch (c) {
		case OPT_HELP:
			print_help(opt);
			fflush(stdout);
			return 1;
		case OPT_SCENARIO:
			if (parse_name(name, arg, scenario_names,
				       NR(scenario_names), &val))
				return -1;
			opt->scenario = val;
			break;
		case OPT_DURATION:
			if (parse_time(name, arg, UINT64_MAX,
				       &opt->duration_ns))
				return -1;
			if (!opt->duration_ns)
				return usage_error("--duration %s: must be "
						   "more than 0", arg);
			break;
		case OPT_SEED:
			if (parse_u64(arg, &opt->seed))
				return usage_error("--seed %s: not a number",
						   arg);
			opt->seed_given = true;
			break;
		case OPT_MEM:
			if (parse_mem(arg, &opt->mem))
				return -1;
			opt->mem_given = true;
			break;
		case OPT_MAP:
			if (parse_name(name, arg, map_names, NR(map_names),
				       &val))
				return -1;
			opt->map_pte = val;
			break;
		case OPT_READERS:
			if (parse_int(name, arg, 0, MAX_READERS,
				      &opt->readers))
				return -1;
			opt->readers_given = true;
			break;
		case OPT_NONBBML2_READERS:
			if (parse_int(name, arg, 0, MAX_READERS,
				      &opt->nonbbml2_readers))
				return -1;
			break;
		case OPT_CPU_MIX:
			if (parse_cpu_mix(opt, arg))
				return -1;
			break;
		case OPT_SPLITTERS:
			if (parse_int(name, arg, 0, BBM_MAX_CPUS,
				      &opt->splitters))
				return -1;
			break;
		case OPT_COLLAPSERS:
			if (parse_int(name, arg, 0, BBM_MAX_CPUS,
				      &opt->collapsers))
				return -1;
			break;
		case OPT_SPLIT_METHOD:
			if (parse_name(name, arg, split_method_names,
				       NR(split_method_names), &val))
				return -1;
			opt->split_method = val;
			break;
		case OPT_PARK:
			if (parse_name(name, arg, park_names, NR(park_names),
				       &val))
				return -1;
			opt->park = val;
			break;
		case OPT_TLB_ENTRIES:
			if (parse_uint(name, arg, MIN_TLB_ENTRIES,
				       MAX_TLB_ENTRIES, &opt->tlb_entries))
				return -1;
			opt->tlb_entries_given = true;
			break;
		case OPT_TLB_REPLACE:
			if (parse_name(name, arg, tlb_replace_names,
				       NR(tlb_replace_names), &val))
				return -1;
			opt->tlb_replace = val;
			break;
		case OPT_SPEC_FILL:
			if (parse_uint(name, arg, 0, MAX_SPEC_FILL,
				       &opt->spec_fill))
				return -1;
			break;
		case OPT_VA_PATTERN:
			if (parse_name(name, arg, va_pattern_names,
				       NR(va_pattern_names), &val))
				return -1;
			opt->va_pattern = val;
			break;
		case OPT_WINDOW_DELAY:
			if (parse_time(name, arg, MAX_WINDOW_DELAY_NS,
				       &opt->window_delay_ns))
				return -1;
			break;
		case OPT_OP_MIX:
			if (parse_op_mix(opt, arg))
				return -1;
			break;
		case OPT_BUSTED:
			if (parse_name(name, arg, busted_names,
				       NR(busted_names), &val))
				return -1;
			opt->busted = val;
			break;
		case OPT_STAT_INTERVAL:
			if (parse_time(name, arg, UINT64_MAX,
				       &opt->stat_interval_ns))
				return -1;
			break;
		case OPT_JSON:
			if (!*arg)
				return usage_error("--json '': empty file "
						   "name");
			opt->json_path = arg;
			break;
		case OPT_KEEP_GOING:
			opt->keep_going = true;
			break;
		case OPT_QUIET:
			opt->quiet = true;
			break;
		case OPT_REPLAY:
			if (!*arg)
				return usage_error("--replay '': empty file "
						   "name");
			opt->replay_path = arg;
			break;
		case OPT_POLICY:
			val = bbm_policy_parse(arg);
			if (val < 0 || val == BBM_POLICY_NONE)
				return usage_error("--policy %s: use v6.18, "
						   "option1-rfc, option1, "
						   "option2, option3, "
						   "busted-live or "
						   "busted-nohotplug", arg);
			opt->policy = val;
			break;
		case OPT_EARLY_DECRYPTS:
			if (parse_int(name, arg, 0, 1000, &opt->early_decrypts))
				return -1;
			break;
		case OPT_DECRYPT_PAGES:
			if (parse_int(name, arg, 1, 4096, &opt->decrypt_pages))
				return -1;
			break;
		case OPT_WINDOW_OPS:
			if (parse_int(name, arg, 0, 100000, &opt->window_ops))
				return -1;
			break;
		case OPT_ONLINE_DELAY:
			if (parse_time(name, arg, 10000000000ull,
				       &opt->online_delay_ns))
				return -1;
			break;
		case OPT_LATE_CPUS:
			if (parse_late_cpus(opt, arg))
				return -1;
			break;
		case OPT_RODATA:
			if (strcmp(arg, "full") && strcmp(arg, "on"))
				return usage_error("--rodata %s: use full or "
						   "on", arg);
			opt->rodata_full = !strcmp(arg, "full");
			break;
		case OPT_REALM:
			opt->realm = true;
			break;
		case ':':
			if (optopt)
				return usage_error("--%s needs a value",
						   option_name(optopt));
			return usage_error("%s needs a value",
					   argv[optind - 1]);
		case '?':
		default:
			if (optopt >= 256)
				return usage_error("--%s takes no value",
						   option_name(optopt));
			if (optopt)
				return usage_error("unknown option '-%c'",
						   optopt);
			return usage_error("unknown or ambiguous option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (check_options(opt))
		return -1;
	/* The seed is known now (given, or from the time): make it rerun. */
	if (bbm_options_add_seed(opt))
		return usage_error("command line longer than %zu characters",
				   sizeof(opt->command) - 1);
	return 0;
}
