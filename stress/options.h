/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bbmstress's command line: every parameter of a run, its default, and the
 * parser.  Names follow the kernel's (rcutorture-style) where there is one.
 */
#ifndef BBM_STRESS_OPTIONS_H
#define BBM_STRESS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cpu.h"
#include "core/policy.h"
#include "core/tlb.h"

#define BBM_MAX_CPUS 64

enum bbm_scenario {
	BBM_SCENARIO_STEADY,
	BBM_SCENARIO_BOOT,
};

enum bbm_split_method {
	BBM_SPLIT_AUTO,		/* bbml2 if every CPU has it, else below */
	BBM_SPLIT_BBML2,	/* direct replacement (the kernel's) */
	BBM_SPLIT_BBM,		/* invalid, TLBI, new */
	BBM_SPLIT_BBM_STOP_MACHINE,	/* bbm inside stop_machine() */
	BBM_SPLIT_NR_METHODS,
};

enum bbm_va_pattern {
	BBM_VA_UNIFORM,		/* any page of the map */
	BBM_VA_HOT,		/* near the ranges writers work on */
};

/* Negative controls: each must end in FAILURE with its kind. */
enum bbm_busted {
	BBM_BUSTED_NONE,
	BBM_BUSTED_LIVE_BBM,		/* translation-fault */
	BBM_BUSTED_DIRECT_NOBBML2,	/* tlb-conflict-abort */
	BBM_BUSTED_EARLY_FREE,		/* table-use-after-free */
	BBM_BUSTED_NO_TLBI,		/* wrong-translation */
	BBM_BUSTED_COLLAPSE_RACE,	/* lost-update */
	BBM_BUSTED_NR,
};

/* Permission-change operations a splitter draws from --op-mix. */
enum bbm_op {
	BBM_OP_RO,
	BBM_OP_RW,
	BBM_OP_NX,
	BBM_OP_X,
	BBM_OP_INVALID,
	BBM_OP_VALID,
	BBM_OP_DECRYPT,
	BBM_OP_ENCRYPT,
	BBM_NR_OPS,
};

struct bbm_options {
	enum bbm_scenario scenario;
	uint64_t duration_ns;		/* --duration 10s */
	uint64_t seed;			/* --seed, default from time */
	bool seed_given;
	uint64_t mem;			/* --mem 4G */
	bool map_pte;			/* --map blocks|pte */
	int readers;			/* --readers */
	bool readers_given;
	int nonbbml2_readers;		/* --nonbbml2-readers, -1 if unset */
	int splitters;			/* --splitters */
	int collapsers;			/* --collapsers */
	/* --cpu-mix cortex-x4:2,cortex-a520:2: core of each CPU, in order */
	int nr_mix;
	const struct bbm_core_type *mix[BBM_MAX_CPUS];
	enum bbm_split_method split_method;	/* --split-method */
	enum bbm_park_mode park;	/* --park idmap|spin */
	unsigned int tlb_entries;	/* --tlb-entries */
	bool tlb_entries_given;
	enum bbm_tlb_replace tlb_replace;	/* --tlb-replace index|random */
	unsigned int spec_fill;		/* --spec-fill N: 1 in N accesses, 0 off */
	enum bbm_va_pattern va_pattern;	/* --va-pattern */
	uint64_t window_delay_ns;	/* --window-delay */
	unsigned int op_mix[BBM_NR_OPS];	/* --op-mix ro=1,rw=1,... */
	enum bbm_busted busted;		/* --busted */
	uint64_t stat_interval_ns;	/* --stat-interval */
	const char *json_path;		/* --json FILE */
	bool keep_going;		/* --keep-going */
	bool quiet;			/* --quiet */
	const char *replay_path;	/* --replay FILE.json */
	bool mem_given;
	/* --scenario boot */
	int policy;			/* --policy, enum bbm_policy */
	int early_decrypts;		/* --early-decrypts N */
	int decrypt_pages;		/* --decrypt-pages N */
	int window_ops;			/* --window-ops N */
	uint64_t online_delay_ns;	/* --online-delay T */
	int nr_late;			/* --late-cpus core,core,... */
	const struct bbm_core_type *late[BBM_MAX_CPUS];
	bool rodata_full;		/* --rodata full|on */
	bool realm;			/* --realm */
	/* The exact command line, for reports and replay. */
	char command[1024];
};

/* Defaults; the machine's core count sizes the default run. */
void bbm_options_default(struct bbm_options *opt);

/*
 * Parse argv into @opt.  Returns 0, 1 when --help was printed (exit 0), or
 * -1 after printing one message naming the bad option to stderr (exit 2).
 */
int bbm_options_parse(struct bbm_options *opt, int argc, char **argv);

/*
 * Number of emulated CPUs a run starts with: readers + splitters +
 * collapsers (for boot, CPU0 is one of the splitters); late CPUs follow.
 */
int bbm_options_nr_cpus(const struct bbm_options *opt);

/* Names, for the banner, the JSON and the parser. */
const char *bbm_split_method_name(enum bbm_split_method method);
const char *bbm_busted_name(enum bbm_busted busted);
const char *bbm_op_name(enum bbm_op op);
const char *bbm_va_pattern_name(enum bbm_va_pattern pattern);
const char *bbm_park_name(enum bbm_park_mode park);
const char *bbm_scenario_name(enum bbm_scenario scenario);
const char *bbm_tlb_replace_name(enum bbm_tlb_replace replace);
const char *bbm_map_name(bool pte);	/* "blocks" or "pte" */

/*
 * Append " --seed N" (and " --readers N") to opt->command when the defaults
 * chose them, so the command reruns the same run on any machine.
 * bbm_options_parse() calls it; -1 if it does not fit.
 */
int bbm_options_add_seed(struct bbm_options *opt);

/* The boot scenario's default RAM: its top lies in CONT PMD blocks. */
#define BBM_BOOT_DEFAULT_MEM (4032ull << 20)

/* "10s", "1500ms", "2m": parse a duration; -1 on error. */
int bbm_parse_duration(const char *s, uint64_t *ns);
/* "4G", "5000M", "0x1000": parse a size with K/M/G/T suffix; -1 on error. */
int bbm_parse_size(const char *s, uint64_t *bytes);
/* The inverse, in the largest exact unit: "10s", "1500ms", "0"; "4G". */
int bbm_format_duration(char *buf, size_t size, uint64_t ns);
int bbm_format_size(char *buf, size_t size, uint64_t bytes);

#endif /* BBM_STRESS_OPTIONS_H */
