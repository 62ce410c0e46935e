// SPDX-License-Identifier: GPL-2.0
/*
 * bbm-ptdump: build a model linear map, apply an ops script to it, and print
 * the map as the kernel's /sys/kernel/debug/kernel_page_tables would; or,
 * with --census, a table of what the map is made of (--compare: the blocks
 * map and the PTE map of the same RAM side by side); or, with --diff, two
 * maps line by line.
 *
 * stdout: exactly the Linear Mapping section, the census report or the
 * diff.  stderr: warnings the model reports while the ops run (prefixed
 * FILE:LINE:), and in the dump mode one census line after them.
 * Exit: 0 done, 1 output error, 2 bad input (nothing on stdout; every input
 * is checked before anything is applied), 3 a map cannot be built.  --diff
 * as diff(1): 0 the same, 1 different, 2 bad input or output error, 3 a map
 * cannot be built.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
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
#define EXIT_DIFFER 1	/* --diff */
#define EXIT_INPUT 2
#define EXIT_MAP 3

#define DUMP_START "---[ Linear Mapping start ]---"
#define DUMP_END "---[ Linear Mapping end ]---"

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
	const char *tag;	/* which map, when there are two; or NULL */
};

static const char usage_text[] =
	"Usage: " PROG " [--mem SIZE] [--map blocks|pte] [OPS_FILE|-]\n"
	"       " PROG " --census [--compare] [--mem SIZE] "
	"[--map blocks|pte]\n"
	"                  [OPS_FILE|-]\n"
	"       " PROG " --diff [--mem SIZE] [--map blocks|pte] A B\n"
	"       " PROG " --help\n"
	"\n"
	"Build a model arm64 linear map, apply OPS_FILE (\"-\": stdin;\n"
	"none: no ops) and print the map in the kernel's ptdump format\n"
	"on stdout; warnings and then a census line go to stderr.\n"
	"\n"
	"Options:\n"
	"  --mem SIZE          RAM mapped from PA 0, a multiple of 4K,\n"
	"                      at least 2M (default " DEFAULT_MEM_TEXT
	"); K, M, G, T suffixes\n"
	"  --map blocks|pte    blocks: largest mappings alignment allows;\n"
	"                      pte: 4K pages only, force_pte_mapping\n"
	"                      (default blocks)\n"
	"  --census            instead of the dump, a table of the map on\n"
	"                      stdout: leaves per size (a CONT group is one\n"
	"                      TLB entry), table pages per level, page-table\n"
	"                      bytes, TLB entries, TLB reach (bytes mapped\n"
	"                      per entry); stderr holds warnings only\n"
	"  --compare           with --census: build both the blocks and the\n"
	"                      pte map of SIZE, apply the ops to each, print\n"
	"                      them side by side and the difference (pte -\n"
	"                      blocks) in page-table bytes, MB (10^6) and\n"
	"                      MiB, and the ratio of TLB entries; no --map\n"
	"  --diff A B          build or read two maps and print both dumps\n"
	"                      merged, every line, diff -u style: \"  \"\n"
	"                      in both, \"- \" only in A, \"+ \" only in B\n"
	"                      (the - and + lines of a change cover the\n"
	"                      same VAs); stderr holds warnings only\n"
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
	"A and B of --diff are each one of:\n"
	"  FILE         a saved dump if its first line is\n"
	"               \"" DUMP_START "\" (compared up to\n"
	"               its \"" DUMP_END "\" line, so a whole\n"
	"               kernel_page_tables file will do); else an ops file\n"
	"               applied to a --map map of SIZE\n"
	"  blocks:FILE  an ops file applied to a blocks map of SIZE\n"
	"  pte:FILE     an ops file applied to a pte map of SIZE\n"
	"  blocks:      a blocks map of SIZE, no ops\n"
	"  pte:         a pte map of SIZE, no ops\n"
	"FILE may be \"-\" (stdin) on one side.  Letters before a first ':'\n"
	"are a map mode: write ./a:b for a file named a:b.\n"
	"\n"
	"Examples:\n"
	"  " PROG " --mem 12G ops.txt > map.txt\n"
	"      the dump after the ops in ops.txt\n"
	"  " PROG " --census --map pte --mem 12G ops.txt\n"
	"      what a 12G PTE map is made of after those ops\n"
	"  " PROG " --census --compare --mem 256G\n"
	"      page tables and TLB entries, blocks against PTEs\n"
	"  " PROG " --diff pte:collapse.ops blocks:\n"
	"      a PTE map after collapse (the one op \"collapse\") against\n"
	"      the block map: the same, exit status 0\n"
	"  " PROG " --diff map.txt ops.txt\n"
	"      a saved dump against the blocks map after ops.txt\n"
	"\n"
	"Exit status: 0 done (op errors are warnings), 1 output error,\n"
	"2 bad input (nothing printed on stdout), 3 map not built.\n"
	"--diff, as diff(1): 0 the same, 1 different, 2 bad input or\n"
	"output error, 3 map not built.\n";

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

/* "<stdin>" for "-", else @path: how messages name an input. */
static const char *input_name(const char *path)
{
	return strcmp(path, "-") ? path : "<stdin>";
}

/*
 * All of @path ("-": stdin) in *@bufp, NUL-terminated, its length without
 * the NUL in *@lenp.  0, or -errno, reported as "cannot open @what 'PATH'".
 */
static int read_input(const char *path, const char *what, char **bufp,
		      size_t *lenp)
{
	FILE *in = stdin;
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *grown;
	int ret = 0;

	if (strcmp(path, "-")) {
		in = fopen(path, "r");
		if (!in) {
			ret = -errno;
			fprintf(stderr, PROG ": cannot open %s '%s': %s\n",
				what, path, strerror(-ret));
			return ret;
		}
	}
	errno = 0;
	do {
		if (cap - len < 2) {
			cap = cap ? 2 * cap : 64 * 1024;
			grown = realloc(buf, cap);
			if (!grown) {
				ret = -ENOMEM;
				fprintf(stderr,
					PROG ": out of memory reading %s "
					"'%s'\n", what, input_name(path));
				goto out_close;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len - 1, in);
		len += n;
	} while (n);
	if (ferror(in)) {
		ret = errno ? -errno : -EIO;
		fprintf(stderr, PROG ": cannot read %s '%s': %s\n", what,
			input_name(path), strerror(-ret));
		goto out_close;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
out_close:
	free(buf);
	if (in != stdin)
		fclose(in);
	return ret;
}

/*
 * Check the whole script in @text (@len bytes, NUL-terminated; cut up in
 * place) into @sc.  0, or -errno (reported).
 */
static int parse_script(struct script *sc, const char *name, char *text,
			size_t len, uint64_t mem_size)
{
	char *end = text + len, *nl;
	unsigned long line = 0;
	int ret;

	sc->name = name;
	while (text < end) {
		nl = memchr(text, '\n', end - text);
		if (nl)
			*nl = '\0';
		ret = parse_line(sc, ++line, text, mem_size);
		if (ret)
			return ret;
		text = nl ? nl + 1 : end;
	}
	return 0;
}

/* Read and check the ops file @path into @sc.  0, or -errno (reported). */
static int load_script(struct script *sc, const char *path,
		       const char *what, uint64_t mem_size)
{
	size_t len;
	char *text;
	int ret;

	ret = read_input(path, what, &text, &len);
	if (ret)
		return ret;
	ret = parse_script(sc, input_name(path), text, len, mem_size);
	free(text);
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

/* "FILE:LINE: " or PROG ": ", then "TAG: " if the map has a tag. */
static void warn_prefix(const struct sink_ctx *ctx)
{
	if (ctx->line)
		fprintf(stderr, "%s:%lu: ", ctx->name, ctx->line);
	else
		fputs(PROG ": ", stderr);
	if (ctx->tag)
		fprintf(stderr, "%s: ", ctx->tag);
}

/* The report sink: every model warning, tagged with the op's line. */
static void warn_sink(void *priv, const struct bbm_failure *f)
{
	const struct sink_ctx *ctx = priv;

	warn_prefix(ctx);
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
		if (ret >= 0)
			continue;
		warn_prefix(ctx);
		if (op_desc[op->kind].ranged)
			fprintf(stderr,
				"warning: %s 0x%016" PRIx64 " 0x%" PRIx64
				" returned %d (%s)\n",
				op_desc[op->kind].name, op->va, op->size, ret,
				strerror(-ret));
		else
			fprintf(stderr, "warning: %s returned %d (%s)\n",
				op_desc[op->kind].name, ret, strerror(-ret));
	}
	ctx->line = 0;
}

/* A map with its report and the sink's context, which must not move. */
struct model {
	struct sink_ctx ctx;
	struct bbm_report report;
	struct bbm_map *map;
};

static const char *map_mode_name(bool pte_only)
{
	return pte_only ? "pte" : "blocks";
}

/*
 * Build a map of @mem_size (@mem_text as the user wrote it) and apply @sc;
 * @tag names the map in warnings when there are two.  0, or EXIT_MAP
 * (reported).
 */
static int model_build(struct model *m, uint64_t mem_size,
		       const char *mem_text, bool pte_only,
		       const struct script *sc, const char *tag)
{
	m->ctx.name = sc->name;
	m->ctx.line = 0;
	m->ctx.tag = tag;
	bbm_report_init(&m->report, warn_sink, &m->ctx);
	m->map = NULL;
	if (!pte_only || pte_map_fits(mem_size))
		m->map = bbm_map_create(mem_size, pte_only, NULL, NULL,
					&m->report);
	if (!m->map) {
		fprintf(stderr, PROG ": cannot build a %s map of %s: out of "
			"memory\n", map_mode_name(pte_only), mem_text);
		bbm_report_destroy(&m->report);
		return EXIT_MAP;
	}
	apply_script(m->map, sc, &m->ctx);
	return 0;
}

static void model_destroy(struct model *m)
{
	bbm_map_destroy(m->map);
	bbm_report_destroy(&m->report);
}

/* --- the dump ---------------------------------------------------------- */

static int run_dump(uint64_t mem_size, const char *mem_text, bool pte_only,
		    const struct script *sc)
{
	struct bbm_census census;
	struct model m;
	char line[256];
	int status;

	status = model_build(&m, mem_size, mem_text, pte_only, sc, NULL);
	if (status)
		return status;
	if (bbm_ptdump(m.map, stdout)) {
		fprintf(stderr, PROG ": writing the dump to stdout failed\n");
		status = EXIT_OUTPUT;
	}
	bbm_census(m.map, &census);
	bbm_census_format(&census, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	model_destroy(&m);
	return status;
}

/* --- --census [--compare] ---------------------------------------------- */

enum census_row {
	CR_LEAVES,
	CR_4K,
	CR_64K_CONT,
	CR_2M,
	CR_32M_CONT,
	CR_1G,
	CR_INVALID,
	CR_TABLES,
	CR_TABLES_PGD,
	CR_TABLES_PUD,
	CR_TABLES_PMD,
	CR_TABLES_PTE,
	CR_TABLES_ALL,
	CR_TABLE_BYTES,
	CR_TABLE_MIB,
	CR_TLB_ENTRIES,
	CR_MAPPED,
	CR_REACH,
	CR_REACH_IEC,
	CR_UNLINKED,
	NR_CENSUS_ROWS,
};

enum row_kind {
	ROW_HEADING,	/* a label, no values */
	ROW_COUNT,	/* the value as is */
	ROW_MIB,	/* bytes, printed in MiB */
	ROW_IEC,	/* bytes, printed in the largest binary unit */
	ROW_NONZERO,	/* a count, the row only if some value is not 0 */
};

static const struct {
	const char *label;
	enum row_kind kind;
} census_rows[NR_CENSUS_ROWS] = {
	[CR_LEAVES] = { "Leaves (a CONT group is one)", ROW_HEADING },
	[CR_4K] = { "  4K", ROW_COUNT },
	[CR_64K_CONT] = { "  64K-cont", ROW_COUNT },
	[CR_2M] = { "  2M", ROW_COUNT },
	[CR_32M_CONT] = { "  32M-cont", ROW_COUNT },
	[CR_1G] = { "  1G", ROW_COUNT },
	[CR_INVALID] = { "  present-invalid", ROW_COUNT },
	[CR_TABLES] = { "Table pages (4K each)", ROW_HEADING },
	[CR_TABLES_PGD] = { "  PGD", ROW_COUNT },
	[CR_TABLES_PUD] = { "  PUD", ROW_COUNT },
	[CR_TABLES_PMD] = { "  PMD", ROW_COUNT },
	[CR_TABLES_PTE] = { "  PTE", ROW_COUNT },
	[CR_TABLES_ALL] = { "  all", ROW_COUNT },
	[CR_TABLE_BYTES] = { "Page-table bytes", ROW_COUNT },
	[CR_TABLE_MIB] = { "Page-table MiB", ROW_MIB },
	[CR_TLB_ENTRIES] = { "TLB entries needed", ROW_COUNT },
	[CR_MAPPED] = { "Bytes mapped", ROW_COUNT },
	[CR_REACH] = { "TLB reach, bytes/entry", ROW_COUNT },
	[CR_REACH_IEC] = { "TLB reach", ROW_IEC },
	[CR_UNLINKED] = { "Unlinked table pages", ROW_NONZERO },
};

#define CENSUS_LABEL_WIDTH 24
#define CENSUS_VALUE_WIDTH 14

/* One census's value for each row (0 for headings). */
static void census_values(const struct bbm_census *c,
			  uint64_t v[NR_CENSUS_ROWS])
{
	memset(v, 0, NR_CENSUS_ROWS * sizeof(*v));
	v[CR_4K] = c->leaves_4k;
	v[CR_64K_CONT] = c->leaves_64k_cont;
	v[CR_2M] = c->leaves_2m;
	v[CR_32M_CONT] = c->leaves_32m_cont;
	v[CR_1G] = c->leaves_1g;
	v[CR_INVALID] = c->invalid_leaves;
	v[CR_TABLES_PGD] = c->tables[BBM_PGD];
	v[CR_TABLES_PUD] = c->tables[BBM_PUD];
	v[CR_TABLES_PMD] = c->tables[BBM_PMD];
	v[CR_TABLES_PTE] = c->tables[BBM_PTE];
	v[CR_TABLES_ALL] = c->table_bytes / BBM_PAGE_SIZE;
	v[CR_TABLE_BYTES] = c->table_bytes;
	v[CR_TABLE_MIB] = c->table_bytes;
	v[CR_TLB_ENTRIES] = c->tlb_entries;
	v[CR_MAPPED] = c->mapped_bytes;
	v[CR_REACH] = c->tlb_reach_bytes;
	v[CR_REACH_IEC] = c->tlb_reach_bytes;
	v[CR_UNLINKED] = c->unlinked_tables;
}

/* @bytes in the largest binary unit it reaches: "1 GiB", "1.50 MiB". */
static void format_iec(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	unsigned int u = 0;
	uint64_t scale;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	while (u < 5 && bytes >> (10 * (u + 2)))
		u++;
	scale = 1ull << (10 * (u + 1));
	if (bytes % scale)
		snprintf(buf, len, "%.2f %ciB", (double)bytes / scale,
			 units[u]);
	else
		snprintf(buf, len, "%" PRIu64 " %ciB", bytes / scale,
			 units[u]);
}

/* The table: a label column, then one column per census. */
static void print_census_table(FILE *out, const char *const *heads,
			       const struct bbm_census *censuses, int n)
{
	uint64_t v[2][NR_CENSUS_ROWS];
	char text[32];
	int row, k;

	for (k = 0; k < n; k++)
		census_values(&censuses[k], v[k]);
	fprintf(out, "%-*s", CENSUS_LABEL_WIDTH, "");
	for (k = 0; k < n; k++)
		fprintf(out, " %*s", CENSUS_VALUE_WIDTH, heads[k]);
	fputc('\n', out);
	for (row = 0; row < NR_CENSUS_ROWS; row++) {
		if (census_rows[row].kind == ROW_HEADING) {
			fprintf(out, "%s\n", census_rows[row].label);
			continue;
		}
		if (census_rows[row].kind == ROW_NONZERO) {
			for (k = 0; k < n && !v[k][row]; k++)
				;
			if (k == n)
				continue;
		}
		fprintf(out, "%-*s", CENSUS_LABEL_WIDTH,
			census_rows[row].label);
		for (k = 0; k < n; k++) {
			switch (census_rows[row].kind) {
			case ROW_MIB:
				snprintf(text, sizeof(text), "%.2f",
					 (double)v[k][row] / (1 << 20));
				break;
			case ROW_IEC:
				format_iec(text, sizeof(text), v[k][row]);
				break;
			default:
				snprintf(text, sizeof(text), "%" PRIu64,
					 v[k][row]);
				break;
			}
			fprintf(out, " %*s", CENSUS_VALUE_WIDTH, text);
		}
		fputc('\n', out);
	}
}

/* --compare's last lines: what the PTE map costs over the blocks map. */
static void print_census_difference(FILE *out, const struct bbm_census *blk,
				    const struct bbm_census *pte)
{
	int64_t bytes = (int64_t)(pte->table_bytes - blk->table_bytes);
	char text[32];

	fputs("\nDifference, pte - blocks\n", out);
	snprintf(text, sizeof(text), "%" PRId64, bytes);
	fprintf(out, "%-*s %*s = %.2f MB = %.2f MiB (%" PRId64 " pages)\n",
		CENSUS_LABEL_WIDTH, "  page-table bytes", CENSUS_VALUE_WIDTH,
		text, bytes / 1e6, bytes / (double)(1 << 20),
		bytes / (int64_t)BBM_PAGE_SIZE);
	if (blk->tlb_entries)
		snprintf(text, sizeof(text), "%.2f",
			 (double)pte->tlb_entries / blk->tlb_entries);
	else
		snprintf(text, sizeof(text), "n/a");
	fprintf(out, "%-*s %*s times as many (%" PRIu64 " / %" PRIu64 ")\n",
		CENSUS_LABEL_WIDTH, "  TLB entries needed", CENSUS_VALUE_WIDTH,
		text, pte->tlb_entries, blk->tlb_entries);
}

/*
 * --census: one map's table, or with @compare both maps' and the
 * difference.  Every map is built and counted before anything is printed.
 */
static int run_census(uint64_t mem_size, const char *mem_text, bool pte_only,
		      bool compare, const struct script *sc, const char *ops)
{
	static const char *const heads[2] = { "blocks", "pte" };
	struct bbm_census censuses[2];
	const char *head = map_mode_name(pte_only);
	struct model m;
	int status, k;

	for (k = 0; k < (compare ? 2 : 1); k++) {
		if (compare)
			pte_only = k == 1;
		status = model_build(&m, mem_size, mem_text, pte_only, sc,
				     compare ? (k ? "pte map" : "blocks map") :
					       NULL);
		if (status)
			return status;
		bbm_census(m.map, &censuses[k]);
		model_destroy(&m);
	}

	if (compare)
		printf("Census of the blocks map and the pte map of %s "
		       "(%" PRIu64 " bytes), ops: %s\n\n", mem_text, mem_size,
		       ops);
	else
		printf("Census of a %s map of %s (%" PRIu64 " bytes), "
		       "ops: %s\n\n", head, mem_text, mem_size, ops);
	print_census_table(stdout, compare ? heads : &head, censuses,
			   compare ? 2 : 1);
	if (compare)
		print_census_difference(stdout, &censuses[0], &censuses[1]);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": writing the census to stdout "
			"failed\n");
		return EXIT_OUTPUT;
	}
	return EXIT_SUCCESS;
}

/* --- --diff ------------------------------------------------------------ */

struct dump_line {
	const char *text;	/* without its newline (or CR) */
	int rank;		/* 0 the start marker, 1 a range, 2 the end */
	uint64_t start;		/* a range's first address */
};

/* A dump cut into lines, up to its end marker. */
struct dump {
	char *buf;		/* the text, lines cut in place */
	struct dump_line *lines;
	size_t nr, cap;
};

/* "0x" and exactly 16 hex digits at @s.  True if so. */
static bool parse_hex16(const char *s, uint64_t *val)
{
	uint64_t v = 0;
	int i, d;

	if (s[0] != '0' || s[1] != 'x')
		return false;
	for (i = 2; i < 18; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return false;
		v = v << 4 | d;
	}
	*val = v;
	return true;
}

/* "0x%016lx-0x%016lx" at the start of @s: a range line. */
static bool parse_range_line(const char *s, uint64_t *start, uint64_t *end)
{
	return parse_hex16(s, start) && s[18] == '-' &&
	       parse_hex16(s + 19, end);
}

/* True if @text starts with the line DUMP_START. */
static bool is_saved_dump(const char *text)
{
	size_t n = strlen(DUMP_START);

	if (strncmp(text, DUMP_START, n))
		return false;
	text += n;
	if (*text == '\r')
		text++;
	return *text == '\n' || !*text;
}

static int dump_push(struct dump *d, const struct dump_line *line)
{
	struct dump_line *lines;
	size_t cap;

	if (d->nr == d->cap) {
		cap = d->cap ? 2 * d->cap : 256;
		lines = realloc(d->lines, cap * sizeof(*lines));
		if (!lines)
			return -ENOMEM;
		d->lines = lines;
		d->cap = cap;
	}
	d->lines[d->nr++] = *line;
	return 0;
}

/*
 * Cut @text (@len bytes, NUL-terminated; @d owns it from now on, even on
 * error) into lines: the start marker, range lines in address order, the
 * end marker; anything after that is not read.  @name names it in
 * messages.  0, or -errno (reported).
 */
static int parse_dump(struct dump *d, const char *name, char *text,
		      size_t len)
{
	char *end = text + len, *nl;
	struct dump_line dl;
	unsigned long line = 0;
	uint64_t prev_end = 0, range_end;
	size_t n;

	d->buf = text;
	while (text < end) {
		nl = memchr(text, '\n', end - text);
		if (nl)
			*nl = '\0';
		n = strlen(text);
		if (n && text[n - 1] == '\r')
			text[n - 1] = '\0';
		line++;
		dl.text = text;
		dl.start = 0;
		if (line == 1 && !strcmp(text, DUMP_START)) {
			dl.rank = 0;
		} else if (line == 1) {
			fprintf(stderr, "%s:1: not a dump: the first line is "
				"not \"" DUMP_START "\"\n", name);
			return -EINVAL;
		} else if (!strcmp(text, DUMP_END)) {
			dl.rank = 2;
		} else if (parse_range_line(text, &dl.start, &range_end)) {
			if (dl.start < prev_end || range_end <= dl.start) {
				fprintf(stderr, "%s:%lu: range 0x%016" PRIx64
					"-0x%016" PRIx64 " is empty or "
					"overlaps the line before\n", name,
					line, dl.start, range_end);
				return -EINVAL;
			}
			prev_end = range_end;
			dl.rank = 1;
		} else {
			fprintf(stderr, "%s:%lu: not a Linear Mapping line: "
				"want 0x<16 hex digits>-0x<16 hex digits> or "
				"\"" DUMP_END "\"\n", name, line);
			return -EINVAL;
		}
		if (dump_push(d, &dl)) {
			fprintf(stderr, PROG ": out of memory reading %s\n",
				name);
			return -ENOMEM;
		}
		if (dl.rank == 2)
			return 0;
		text = nl ? nl + 1 : end;
	}
	fprintf(stderr, "%s: no \"" DUMP_END "\" line: a truncated dump?\n",
		name);
	return -EINVAL;
}

static void dump_free(struct dump *d)
{
	free(d->buf);
	free(d->lines);
}

/* Where a line sorts: markers first and last, ranges by address. */
static int dump_line_cmp(const struct dump_line *a, const struct dump_line *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

/*
 * Print @a and @b merged: "  " lines in both, "- " only in @a, "+ " only
 * in @b.  A line holds its address range, so a line in both is at the
 * same place in both, and both are in address order: walking them in that
 * order finds every common line (their longest common subsequence) in
 * linear time.  The - and + lines between two common lines cover the same
 * VA range.  True if any line differs.
 */
static bool print_diff(FILE *out, const struct dump *a, const struct dump *b)
{
	size_t i = 0, j = 0, i0, j0, k;
	bool differ = false;
	int cmp;

	while (i < a->nr || j < b->nr) {
		if (i < a->nr && j < b->nr &&
		    !strcmp(a->lines[i].text, b->lines[j].text)) {
			fprintf(out, "  %s\n", a->lines[i].text);
			i++;
			j++;
			continue;
		}
		/* A change: up to the next line both have. */
		i0 = i;
		j0 = j;
		while (i < a->nr || j < b->nr) {
			if (i == a->nr) {
				cmp = 1;
			} else if (j == b->nr) {
				cmp = -1;
			} else if (!strcmp(a->lines[i].text,
					   b->lines[j].text)) {
				break;
			} else {
				cmp = dump_line_cmp(&a->lines[i],
						    &b->lines[j]);
			}
			if (cmp <= 0)
				i++;
			if (cmp >= 0)
				j++;
		}
		for (k = i0; k < i; k++)
			fprintf(out, "- %s\n", a->lines[k].text);
		for (k = j0; k < j; k++)
			fprintf(out, "+ %s\n", b->lines[k].text);
		differ = true;
	}
	return differ;
}

enum side_kind {
	SIDE_MAP,	/* a map with no ops */
	SIDE_OPS,	/* a map after an ops file */
	SIDE_SAVED,	/* a saved dump */
};

/* One input of --diff: A or B. */
struct side {
	const char *label;	/* "A" or "B" */
	const char *arg;	/* as given */
	const char *path;	/* arg without its MODE: */
	bool has_mode;
	bool pte_only;
	enum side_kind kind;
	char tag[32];		/* "A, pte map": warnings' tag */
	struct script sc;
	struct dump dump;
};

/*
 * [MODE:]FILE.  MODE is the letters before a first ':', if there are
 * only letters: blocks or pte.  0, or -EINVAL (reported).
 */
static int parse_side_spec(struct side *s, const char *arg, bool pte_only)
{
	const char *colon = strchr(arg, ':'), *c;

	s->arg = arg;
	s->path = arg;
	s->pte_only = pte_only;
	s->has_mode = false;
	for (c = arg; colon && c < colon; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z'))
			break;
	if (colon && c == colon && c > arg) {
		if (!strncmp(arg, "blocks:", 7) && colon == arg + 6) {
			s->pte_only = false;
		} else if (!strncmp(arg, "pte:", 4) && colon == arg + 3) {
			s->pte_only = true;
		} else {
			fprintf(stderr, PROG ": bad map mode '%.*s' in %s "
				"'%s': use blocks:FILE or pte:FILE (./%s for "
				"a file of that name)\n", (int)(colon - arg),
				arg, s->label, arg, arg);
			return -EINVAL;
		}
		s->has_mode = true;
		s->path = colon + 1;
	}
	if (!*s->path && !s->has_mode) {
		fprintf(stderr, PROG ": %s is an empty file name\n", s->label);
		return -EINVAL;
	}
	s->kind = *s->path ? SIDE_OPS : SIDE_MAP;
	snprintf(s->tag, sizeof(s->tag), "%s, %s map", s->label,
		 map_mode_name(s->pte_only));
	return 0;
}

/* Read @s: a saved dump, else an ops file.  0, or -errno (reported). */
static int load_side(struct side *s, uint64_t mem_size)
{
	const char *name = input_name(s->path);
	size_t len;
	char *text;
	int ret;

	s->sc.name = "<none>";
	if (s->kind == SIDE_MAP)
		return 0;
	ret = read_input(s->path, s->label, &text, &len);
	if (ret)
		return ret;
	if (!is_saved_dump(text)) {
		ret = parse_script(&s->sc, name, text, len, mem_size);
		free(text);
		return ret;
	}
	if (s->has_mode) {
		fprintf(stderr, PROG ": %s '%s' is a saved dump: a map mode "
			"does not apply to it (drop the '%.*s')\n", s->label,
			s->arg, (int)(s->path - s->arg), s->arg);
		free(text);
		return -EINVAL;
	}
	s->kind = SIDE_SAVED;
	return parse_dump(&s->dump, name, text, len);
}

/* A map side's dump, cut into lines as a saved one would be. */
static int side_build_dump(struct side *s, uint64_t mem_size,
			   const char *mem_text)
{
	struct model m;
	size_t len = 0;
	char *text = NULL;
	FILE *f;
	int status, ret;

	status = model_build(&m, mem_size, mem_text, s->pte_only, &s->sc,
			     s->tag);
	if (status)
		return status;
	f = open_memstream(&text, &len);
	ret = f ? bbm_ptdump(m.map, f) : -ENOMEM;
	if (f && fclose(f))
		ret = -ENOMEM;
	model_destroy(&m);
	if (ret) {
		fprintf(stderr, PROG ": cannot hold the dump of %s: %s\n",
			s->label, strerror(-ret));
		free(text);
		return EXIT_INPUT;
	}
	if (parse_dump(&s->dump, s->tag, text, len))
		return EXIT_INPUT;
	return 0;
}

/* "--- A: ..." and "+++ B: ...": what was compared. */
static void print_side_head(FILE *out, const char *mark,
			    const struct side *s, const char *mem_text)
{
	const char *mode = map_mode_name(s->pte_only);

	fprintf(out, "%s %s: ", mark, s->label);
	switch (s->kind) {
	case SIDE_SAVED:
		fprintf(out, "saved dump %s\n", input_name(s->path));
		break;
	case SIDE_OPS:
		fprintf(out, "%s map of %s, ops %s\n", mode, mem_text,
			s->sc.name);
		break;
	default:
		fprintf(out, "%s map of %s, no ops\n", mode, mem_text);
		break;
	}
}

static int run_diff(uint64_t mem_size, const char *mem_text, bool pte_only,
		    char *const *args)
{
	struct side sides[2] = {
		{ .label = "A" },
		{ .label = "B" },
	};
	int k, status = EXIT_INPUT;
	bool differ;

	for (k = 0; k < 2; k++)
		if (parse_side_spec(&sides[k], args[k], pte_only))
			return EXIT_INPUT;
	if (!strcmp(sides[0].path, "-") && !strcmp(sides[1].path, "-")) {
		fprintf(stderr, PROG ": A and B cannot both be stdin ('-')\n");
		return EXIT_INPUT;
	}
	for (k = 0; k < 2; k++)
		if (load_side(&sides[k], mem_size))
			goto out_free;
	for (k = 0; k < 2; k++) {
		if (sides[k].kind == SIDE_SAVED)
			continue;
		status = side_build_dump(&sides[k], mem_size, mem_text);
		if (status)
			goto out_free;
	}

	print_side_head(stdout, "---", &sides[0], mem_text);
	print_side_head(stdout, "+++", &sides[1], mem_text);
	differ = print_diff(stdout, &sides[0].dump, &sides[1].dump);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": writing the diff to stdout failed\n");
		status = EXIT_INPUT;
	} else {
		status = differ ? EXIT_DIFFER : EXIT_SUCCESS;
	}
out_free:
	for (k = 0; k < 2; k++) {
		free(sides[k].sc.ops);
		dump_free(&sides[k].dump);
	}
	return status;
}

/* --- options ----------------------------------------------------------- */

enum {
	OPT_MEM = 256,
	OPT_MAP,
	OPT_CENSUS,
	OPT_COMPARE,
	OPT_DIFF,
};

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "map", required_argument, NULL, OPT_MAP },
		{ "census", no_argument, NULL, OPT_CENSUS },
		{ "compare", no_argument, NULL, OPT_COMPARE },
		{ "diff", no_argument, NULL, OPT_DIFF },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct script sc = { .name = "<none>" };
	uint64_t mem_size = DEFAULT_MEM;
	const char *mem_text = DEFAULT_MEM_TEXT;
	const char *path = NULL;
	bool pte_only = false, map_given = false;
	bool census = false, compare = false, diff = false;
	int opt, nr_args, status = EXIT_INPUT;

	opterr = 0;	/* one message of ours instead of getopt's */
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_MEM:
			if (parse_mem(optarg, &mem_size))
				goto out_free;
			mem_text = optarg;
			break;
		case OPT_MAP:
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
			map_given = true;
			break;
		case OPT_CENSUS:
			census = true;
			break;
		case OPT_COMPARE:
			compare = true;
			break;
		case OPT_DIFF:
			diff = true;
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
	nr_args = argc - optind;

	if (diff) {
		if (census || compare) {
			fprintf(stderr, PROG ": --diff cannot be combined "
				"with --%s\n", census ? "census" : "compare");
			goto out_free;
		}
		if (nr_args != 2) {
			fprintf(stderr, PROG ": --diff needs two inputs, A "
				"and B; got %d (see --help)\n", nr_args);
			goto out_free;
		}
		status = run_diff(mem_size, mem_text, pte_only, argv + optind);
		goto out_free;
	}
	if (compare && !census) {
		fprintf(stderr, PROG ": --compare needs --census\n");
		goto out_free;
	}
	if (compare && map_given) {
		fprintf(stderr, PROG ": --map does not apply to --compare, "
			"which builds both maps\n");
		goto out_free;
	}
	if (nr_args > 1) {
		fprintf(stderr, PROG ": more than one OPS_FILE ('%s', '%s')\n",
			argv[optind], argv[optind + 1]);
		goto out_free;
	}
	if (nr_args)
		path = argv[optind];
	if (path && load_script(&sc, path, "ops file", mem_size))
		goto out_free;

	if (census)
		status = run_census(mem_size, mem_text, pte_only, compare,
				    &sc, path ? sc.name : "none");
	else
		status = run_dump(mem_size, mem_text, pte_only, &sc);
out_free:
	free(sc.ops);
	if (fclose(stdout) && (status == EXIT_SUCCESS ||
			       (diff && status == EXIT_DIFFER))) {
		fprintf(stderr, PROG ": writing to stdout failed\n");
		status = diff ? EXIT_INPUT : EXIT_OUTPUT;
	}
	return status;
}
