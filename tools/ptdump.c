// SPDX-License-Identifier: GPL-2.0
/*
 * bbm-ptdump: build a model linear map, apply an ops script to it, and print
 * the map as the kernel's /sys/kernel/debug/kernel_page_tables would.
 *
 * stdout: exactly the Linear Mapping section.  stderr: warnings the model
 * reports while the ops run (prefixed FILE:LINE:), then one census line.
 * Exit: 0 done, 1 output error, 2 bad input (nothing on stdout; the whole
 * script is checked before anything is applied), 3 the map cannot be built.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fold.h"
#include "core/map.h"
#include "core/pageattr.h"
#include "core/ptdump.h"
#include "core/split.h"

#define PROG "bbm-ptdump"
#define DEFAULT_MEM (12ull << 30)
#define DEFAULT_MEM_TEXT "12G"

#define EXIT_OUTPUT 1
#define EXIT_INPUT 2
#define EXIT_MAP 3

enum op_kind {
	OP_RO,
	OP_RW,
	OP_NX,
	OP_X,
	OP_INVALID,
	OP_VALID,
	OP_DECRYPT,
	OP_ENCRYPT,
	OP_SPLIT,
	OP_REPAINT,
	OP_COLLAPSE,
	NR_OP_KINDS,
};

/* Script words and whether they take START SIZE. */
static const struct {
	const char *name;
	bool ranged;
} op_desc[NR_OP_KINDS] = {
	[OP_RO] = { "ro", true },
	[OP_RW] = { "rw", true },
	[OP_NX] = { "nx", true },
	[OP_X] = { "x", true },
	[OP_INVALID] = { "invalid", true },
	[OP_VALID] = { "valid", true },
	[OP_DECRYPT] = { "decrypt", true },
	[OP_ENCRYPT] = { "encrypt", true },
	[OP_SPLIT] = { "split", true },
	[OP_REPAINT] = { "repaint", false },
	[OP_COLLAPSE] = { "collapse", false },
};

struct op {
	enum op_kind kind;
	unsigned long line;
	uint64_t va;		/* START as a linear-map VA */
	uint64_t size;
};

struct script {
	const char *name;	/* as given, "<stdin>" for "-" */
	struct op *ops;
	size_t nr, cap;
};

/* Where warnings come from while ops run: the report sink's context. */
struct sink_ctx {
	const char *name;
	unsigned long line;	/* 0 outside any op */
};

static const char usage_text[] =
	"Usage: " PROG " [--mem SIZE] [--map blocks|pte] [--help] "
	"[OPS_FILE|-]\n"
	"\n"
	"Build a model arm64 linear map, apply OPS_FILE (\"-\": stdin;\n"
	"none: no ops) and print the map in the kernel's ptdump format\n"
	"on stdout; warnings and a census line go to stderr.\n"
	"\n"
	"Options:\n"
	"  --mem SIZE          RAM mapped from PA 0, a multiple of 4K,\n"
	"                      at least 2M (default " DEFAULT_MEM_TEXT
	"); K, M, G, T suffixes\n"
	"  --map blocks|pte    blocks: largest mappings alignment allows;\n"
	"                      pte: 4K pages only, force_pte_mapping\n"
	"                      (default blocks)\n"
	"  -h, --help          this text\n"
	"\n"
	"OPS_FILE: one op per line; '#' starts a comment:\n"
	"  ro|rw|nx|x|invalid|valid|decrypt|encrypt|split START SIZE\n"
	"  repaint             every block to PTEs (split_to_ptes)\n"
	"  collapse            fold the whole map back to blocks\n"
	"START is a VA (0xffff...) or an offset from 0xffff000000000000;\n"
	"numbers are C literals with an optional K, M, G or T suffix;\n"
	"ranges are 4K-aligned, non-empty and inside the mapped RAM.\n"
	"\n"
	"Exit status: 0 done (op errors are warnings), 1 output error,\n"
	"2 bad input (nothing printed on stdout), 3 map not built.\n";

/*
 * A C literal (0x.., 0.., decimal) with an optional K, M, G or T suffix.
 * 0, or -EINVAL if malformed, -ERANGE if it does not fit 64 bits.
 */
static int parse_number(const char *s, uint64_t *val)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	/* strtoull() would take a sign and blanks; a literal has none. */
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	case 'T':
	case 't':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift && end[1])
		return -EINVAL;
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*val = (uint64_t)v << shift;
	return 0;
}

/* "bad number 'x' for START (...)": the reason for a parse_number error. */
static const char *number_error(int err)
{
	return err == -ERANGE ? "too large" :
				"expected a C literal with an optional "
				"K, M, G or T suffix";
}

static int script_push(struct script *sc, const struct op *op)
{
	struct op *ops;
	size_t cap;

	if (sc->nr == sc->cap) {
		cap = sc->cap ? 2 * sc->cap : 64;
		ops = realloc(sc->ops, cap * sizeof(*ops));
		if (!ops)
			return -ENOMEM;
		sc->ops = ops;
		sc->cap = cap;
	}
	sc->ops[sc->nr++] = *op;
	return 0;
}

/* START SIZE of a ranged op: numbers, alignment, inside the mapped RAM. */
static int parse_range(const struct script *sc, unsigned long line,
		       char *const *args, uint64_t mem_size, struct op *op)
{
	uint64_t start, size, offset;
	int err;

	err = parse_number(args[0], &start);
	if (err) {
		fprintf(stderr, "%s:%lu: bad number '%s' for START: %s\n",
			sc->name, line, args[0], number_error(err));
		return -EINVAL;
	}
	err = parse_number(args[1], &size);
	if (err) {
		fprintf(stderr, "%s:%lu: bad number '%s' for SIZE: %s\n",
			sc->name, line, args[1], number_error(err));
		return -EINVAL;
	}
	if (start & (BBM_PAGE_SIZE - 1)) {
		fprintf(stderr, "%s:%lu: START %s is not 4K-aligned\n",
			sc->name, line, args[0]);
		return -EINVAL;
	}
	if (!size || size & (BBM_PAGE_SIZE - 1)) {
		fprintf(stderr, "%s:%lu: SIZE %s is %s\n", sc->name, line,
			args[1], size ? "not a multiple of 4K" : "zero");
		return -EINVAL;
	}
	/* A full VA, or an offset from PAGE_OFFSET. */
	offset = start >= BBM_PAGE_OFFSET ? start - BBM_PAGE_OFFSET : start;
	if (offset >= mem_size || size > mem_size - offset) {
		fprintf(stderr,
			"%s:%lu: range %s+%s is outside the mapped RAM "
			"[0x%016" PRIx64 "-0x%016" PRIx64 ")\n",
			sc->name, line, args[0], args[1],
			(uint64_t)BBM_PAGE_OFFSET,
			(uint64_t)BBM_PAGE_OFFSET + mem_size);
		return -EINVAL;
	}
	op->va = BBM_PAGE_OFFSET + offset;
	op->size = size;
	return 0;
}

/* One script line, its comment cut off.  0, or -EINVAL (reported). */
static int parse_line(struct script *sc, unsigned long line, char *text,
		      uint64_t mem_size)
{
	char *args[2], *arg, *word, *save, *hash;
	struct op op = { .line = line };
	int kind, nr_args = 0, want;

	hash = strchr(text, '#');
	if (hash)
		*hash = '\0';
	word = strtok_r(text, " \t\r\n\v\f", &save);
	if (!word)
		return 0;
	while ((arg = strtok_r(NULL, " \t\r\n\v\f", &save))) {
		if (nr_args < 2)
			args[nr_args] = arg;
		nr_args++;
	}

	for (kind = 0; kind < NR_OP_KINDS; kind++)
		if (!strcmp(word, op_desc[kind].name))
			break;
	if (kind == NR_OP_KINDS) {
		fprintf(stderr,
			"%s:%lu: unknown op '%s' (see " PROG " --help)\n",
			sc->name, line, word);
		return -EINVAL;
	}
	op.kind = kind;
	want = op_desc[kind].ranged ? 2 : 0;
	if (nr_args != want) {
		fprintf(stderr, "%s:%lu: '%s' takes %s, got %d argument%s\n",
			sc->name, line, word,
			want ? "START SIZE" : "no arguments", nr_args,
			nr_args == 1 ? "" : "s");
		return -EINVAL;
	}
	if (want && parse_range(sc, line, args, mem_size, &op))
		return -EINVAL;
	if (script_push(sc, &op)) {
		fprintf(stderr, PROG ": out of memory reading %s\n", sc->name);
		return -ENOMEM;
	}
	return 0;
}

/* Read and check the whole script.  0, or -errno (reported). */
static int parse_script(struct script *sc, const char *path,
			uint64_t mem_size)
{
	FILE *in = stdin;
	unsigned long line = 0;
	char *text = NULL;
	size_t text_len = 0;
	int ret = 0;

	sc->name = strcmp(path, "-") ? path : "<stdin>";
	if (strcmp(path, "-")) {
		in = fopen(path, "r");
		if (!in) {
			ret = -errno;
			fprintf(stderr,
				PROG ": cannot open ops file '%s': %s\n",
				path, strerror(errno));
			return ret;
		}
	}
	errno = 0;
	while (getline(&text, &text_len, in) != -1) {
		line++;
		ret = parse_line(sc, line, text, mem_size);
		if (ret)
			goto out_close;
		errno = 0;
	}
	if (ferror(in)) {
		ret = errno ? -errno : -EIO;
		fprintf(stderr, PROG ": cannot read ops file '%s': %s\n",
			sc->name, strerror(-ret));
	}
out_close:
	free(text);
	if (in != stdin)
		fclose(in);
	return ret;
}

/* --mem SIZE: a number, whole pages, within what the model can map. */
static int parse_mem(const char *arg, uint64_t *mem_size)
{
	uint64_t v;
	int err;

	err = parse_number(arg, &v);
	if (err) {
		fprintf(stderr, PROG ": bad --mem '%s': %s\n", arg,
			number_error(err));
		return -EINVAL;
	}
	if (v < BBM_PMD_SIZE || v & (BBM_PAGE_SIZE - 1) ||
	    v > BBM_LINEAR_END - BBM_PAGE_OFFSET) {
		fprintf(stderr,
			PROG ": bad --mem '%s': must be a multiple of 4K "
			"from 2M to 128T\n", arg);
		return -EINVAL;
	}
	*mem_size = v;
	return 0;
}

/*
 * True if the PTE tables of a PTE map of @mem_size (4 KiB per 2 MiB) fit
 * in free memory: the arena reserves without committing, so a map too big
 * would be OOM-killed half built instead of failing cleanly.
 */
static bool pte_map_fits(uint64_t mem_size)
{
	long pages = sysconf(_SC_AVPHYS_PAGES);
	long page_size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || page_size <= 0)
		return true;	/* unknown: let the allocation decide */
	return mem_size / (BBM_PMD_SIZE / BBM_PAGE_SIZE) <=
	       (uint64_t)pages * (uint64_t)page_size;
}

/* The report sink: every model warning, tagged with the op's line. */
static void warn_sink(void *priv, const struct bbm_failure *f)
{
	const struct sink_ctx *ctx = priv;

	if (ctx->line)
		fprintf(stderr, "%s:%lu: ", ctx->name, ctx->line);
	else
		fputs(PROG ": ", stderr);
	fprintf(stderr, "warning: %s: %s\n", bbm_fail_kind_name(f->kind),
		f->msg);
}

static int apply_op(struct bbm_map *map, const struct op *op)
{
	uint64_t pages = op->size / BBM_PAGE_SIZE;
	long folds;

	switch (op->kind) {
	case OP_RO:
		return bbm_set_memory_ro(map, op->va, pages);
	case OP_RW:
		return bbm_set_memory_rw(map, op->va, pages);
	case OP_NX:
		return bbm_set_memory_nx(map, op->va, pages);
	case OP_X:
		return bbm_set_memory_x(map, op->va, pages);
	case OP_INVALID:
		return bbm_set_direct_map_invalid(map, op->va, pages);
	case OP_VALID:
		return bbm_set_direct_map_valid(map, op->va, pages);
	case OP_DECRYPT:
		return bbm_set_memory_decrypted(map, op->va, pages);
	case OP_ENCRYPT:
		return bbm_set_memory_encrypted(map, op->va, pages);
	case OP_SPLIT:
		return bbm_split_kernel_leaf_mapping(map, op->va,
						     op->va + op->size);
	case OP_REPAINT:
		return bbm_split_to_ptes(map);
	case OP_COLLAPSE:
		folds = bbm_collapse_range(map, BBM_PAGE_OFFSET, map->end);
		return folds < 0 ? (int)folds : 0;
	default:
		return -EINVAL;
	}
}

/* Apply every op; an op's error is a warning and the run goes on. */
static void apply_script(struct bbm_map *map, const struct script *sc,
			 struct sink_ctx *ctx)
{
	const struct op *op;
	size_t i;
	int ret;

	for (i = 0; i < sc->nr; i++) {
		op = &sc->ops[i];
		ctx->line = op->line;
		ret = apply_op(map, op);
		if (ret < 0 && op_desc[op->kind].ranged)
			fprintf(stderr,
				"%s:%lu: warning: %s 0x%016" PRIx64
				" 0x%" PRIx64 " returned %d (%s)\n",
				sc->name, op->line, op_desc[op->kind].name,
				op->va, op->size, ret, strerror(-ret));
		else if (ret < 0)
			fprintf(stderr,
				"%s:%lu: warning: %s returned %d (%s)\n",
				sc->name, op->line, op_desc[op->kind].name,
				ret, strerror(-ret));
	}
	ctx->line = 0;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "map", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct script sc = { .name = NULL };
	struct sink_ctx ctx = { .line = 0 };
	uint64_t mem_size = DEFAULT_MEM;
	const char *mem_text = DEFAULT_MEM_TEXT;
	const char *path = NULL;
	struct bbm_report report;
	struct bbm_census census;
	struct bbm_map *map;
	bool pte_only = false;
	char line[256];
	int opt, status = EXIT_INPUT;

	opterr = 0;	/* one message of ours instead of getopt's */
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (parse_mem(optarg, &mem_size))
				goto out_free;
			mem_text = optarg;
			break;
		case 'p':
			if (!strcmp(optarg, "blocks")) {
				pte_only = false;
			} else if (!strcmp(optarg, "pte")) {
				pte_only = true;
			} else {
				fprintf(stderr,
					PROG ": bad --map '%s': use 'blocks' "
					"or 'pte'\n", optarg);
				goto out_free;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			status = EXIT_SUCCESS;
			goto out_free;
		case ':':
			fprintf(stderr, PROG ": option '%s' needs an argument "
				"(see --help)\n", argv[optind - 1]);
			goto out_free;
		default:
			/* optopt: a bad short option, maybe inside "-xy". */
			if (optopt)
				fprintf(stderr, PROG ": unknown option '-%c' "
					"(see --help)\n", optopt);
			else
				fprintf(stderr, PROG ": unknown option '%s' "
					"(see --help)\n", argv[optind - 1]);
			goto out_free;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, PROG ": more than one OPS_FILE ('%s', '%s')\n",
			argv[optind], argv[optind + 1]);
		goto out_free;
	}
	if (optind < argc)
		path = argv[optind];
	sc.name = "<none>";
	if (path && parse_script(&sc, path, mem_size))
		goto out_free;

	ctx.name = sc.name;
	bbm_report_init(&report, warn_sink, &ctx);
	map = NULL;
	if (!pte_only || pte_map_fits(mem_size))
		map = bbm_map_create(mem_size, pte_only, NULL, NULL, &report);
	if (!map) {
		fprintf(stderr, PROG ": cannot build a %s map of %s: out of "
			"memory\n", pte_only ? "pte" : "blocks", mem_text);
		status = EXIT_MAP;
		goto out_report;
	}
	apply_script(map, &sc, &ctx);

	status = EXIT_SUCCESS;
	if (bbm_ptdump(map, stdout)) {
		fprintf(stderr, PROG ": writing the dump to stdout failed\n");
		status = EXIT_OUTPUT;
	}
	bbm_census(map, &census);
	bbm_census_format(&census, line, sizeof(line));
	fprintf(stderr, "%s\n", line);

	bbm_map_destroy(map);
out_report:
	bbm_report_destroy(&report);
out_free:
	free(sc.ops);
	if (fclose(stdout) && status == EXIT_SUCCESS) {
		fprintf(stderr, PROG ": writing to stdout failed\n");
		status = EXIT_OUTPUT;
	}
	return status;
}
