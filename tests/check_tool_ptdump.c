// SPDX-License-Identifier: GPL-2.0
/*
 * bbm-ptdump as a program: stdout holds exactly the Linear Mapping section,
 * stderr the census; --census puts a table on stdout (--compare: the blocks
 * and the PTE map side by side), --diff two dumps merged, diff -u style,
 * with diff(1)'s exit status; stderr then holds warnings only.  Bad input
 * gets exit status 2, one stderr line naming the problem and nothing on
 * stdout.  The program is $BBM_PTDUMP (set by
 * `scons test`), else ../tools/bbm-ptdump beside this test binary.
 */
#include <check.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stress_run.h"

Suite *make_tool_ptdump_suite(void);

/* ASan and TSan reserve shadow memory: no address-space limit for them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_SHADOW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_SHADOW 1
#endif
#endif
#ifndef SANITIZER_SHADOW
#define SANITIZER_SHADOW 0
#endif

#define START "---[ Linear Mapping start ]---\n"
#define END "---[ Linear Mapping end ]---\n"
/* PAGE_KERNEL's words for a block, a CONT block, a page, a CONT page. */
#define BLK "       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED\n"
#define CON_BLK "       RW NX SHD AF    CON BLK UXN    MEM/NORMAL-TAGGED\n"
#define PAGE "       RW NX SHD AF            UXN    MEM/NORMAL-TAGGED\n"
#define CON_PAGE "       RW NX SHD AF    CON     UXN    MEM/NORMAL-TAGGED\n"
#define RO_PAGE "       ro NX SHD AF            UXN    MEM/NORMAL-TAGGED\n"
#define CENSUS_12G                                                       \
	"census: 4K=0 64K-cont=0 2M=0 32M-cont=0 1G=12 invalid=0 tables=2 " \
	"(PGD=1 PUD=1 PMD=0 PTE=0) table-KiB=8 reach-KiB=1048576 "          \
	"unlinked-tables=0\n"

/* Made once per TCase, in the runner: gone even if a test fails. */
static char tmpdir[256];

static void make_tmpdir(void)
{
	prog_tmpdir(tmpdir, sizeof(tmpdir), "check_tool_ptdump");
}

static void remove_tmpdir(void)
{
	/* Only the files this suite wrote: ops, stdin, out, err. */
	prog_rmtree(tmpdir);
}

/* $BBM_PTDUMP, or the program built beside this test binary. */
static const char *tool_path(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("BBM_PTDUMP");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_msg(n > 0, "BBM_PTDUMP unset and /proc/self/exe unreadable");
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/../tools/bbm-ptdump", dirname(self));
	ck_assert_msg(access(path, X_OK) == 0,
		      "BBM_PTDUMP unset and %s not found: run `scons test`",
		      path);
	return path;
}

/* A file in the temp dir with @text; its path (malloc'ed). */
static char *write_file(const char *name, const char *text)
{
	char *path;
	FILE *f;

	ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
	f = fopen(path, "w");
	ck_assert_msg(f, "cannot write %s", path);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/*
 * Run the tool with @argv (NULL-terminated, without argv[0]), stdin from
 * @stdin_text (NULL: /dev/null), and an address-space limit of @as_limit
 * bytes if non-zero.
 */
static void run_tool(struct prog_run *r, const char *stdin_text,
		     rlim_t as_limit, char *const *args)
{
	const char *tool = tool_path();
	char out_path[PATH_MAX], err_path[PATH_MAX];
	char *in_path;
	char *argv[16];
	struct prog_io io = { .out = out_path, .err = err_path,
			      .as_limit = as_limit, .no_search = true };
	int i;

	argv[0] = (char *)tool;
	for (i = 0; args[i]; i++) {
		ck_assert_int_lt(i + 2, 16);
		argv[i + 1] = args[i];
	}
	argv[i + 1] = NULL;

	in_path = stdin_text ? write_file("stdin", stdin_text) :
			       strdup("/dev/null");
	ck_assert_ptr_nonnull(in_path);
	io.in = in_path;
	snprintf(out_path, sizeof(out_path), "%s/out", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/err", tmpdir);

	prog_run(r, argv, &io);
	free(in_path);
}

/*
 * Bad input: status 2, nothing on stdout, one stderr line holding each of
 * the NULL-terminated fragments that follow @args.
 */
static void assert_rejected(const char *stdin_text, char *const *args, ...)
{
	struct prog_run r;
	const char *frag;
	va_list ap;

	run_tool(&r, stdin_text, 0, args);
	ck_assert_msg(r.status == 2, "exit status %d, want 2; stderr: %s",
		      r.status, r.err);
	ck_assert_msg(!*r.out, "stdout not empty on bad input:\n%s", r.out);
	ck_assert_msg(prog_count_newlines(r.err) == 1 &&
			      r.err[strlen(r.err) - 1] == '\n',
		      "want one stderr line, got:\n%s", r.err);
	va_start(ap, args);
	while ((frag = va_arg(ap, const char *)))
		ck_assert_msg(strstr(r.err, frag),
			      "stderr lacks \"%s\":\n%s", frag, r.err);
	va_end(ap);
	prog_run_free(&r);
}

#define ARGS(...) ((char *const[]){ __VA_ARGS__, NULL })
#define NO_ARGS ((char *const[]){ NULL })

static void setup(void)
{
	make_tmpdir();
}

static void teardown(void)
{
	remove_tmpdir();
}

static const char dump_12g[] =
	START
	"0xffff000000000000-0xffff000300000000          12G PUD" BLK
	"0xffff000300000000-0xffff008000000000         500G PUD\n"
	"0xffff008000000000-0xffff800000000000      130560G PGD\n"
	END;

/* No options, no ops: the 12 GiB blocks map, census on stderr. */
START_TEST(test_default_run)
{
	struct prog_run r;
	size_t n;

	run_tool(&r, NULL, 0, NO_ARGS);
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_msg(!strncmp(r.out, START, strlen(START)),
		      "stdout does not start with the start marker:\n%s",
		      r.out);
	n = strlen(r.out);
	ck_assert_msg(n >= strlen(END) &&
			      !strcmp(r.out + n - strlen(END), END),
		      "stdout does not end with the end marker line:\n%s",
		      r.out);
	ck_assert_str_eq(r.out, dump_12g);
	ck_assert_str_eq(r.err, CENSUS_12G);
	prog_run_free(&r);
}
END_TEST

static const char script_ops[] =
	"# DOMAIN.md's example lines\n"
	"\n"
	"ro 0x210000 4K   # offset from PAGE_OFFSET\n"
	"  ro\t0xffff000003000000 0x1000\n"
	"ro 5G 4096\n"
	"invalid 0x140014000 4K\n"
	"valid 0x140014000 4K\n";

static const char script_first_lines[] =
	START
	"0xffff000000000000-0xffff000000200000           2M PMD" BLK
	"0xffff000000200000-0xffff000000210000          64K PTE" CON_PAGE
	"0xffff000000210000-0xffff000000211000           4K PTE" RO_PAGE;

static const char script_960m_4g[] =
	"\n0xffff000004000000-0xffff000040000000         960M PMD" CON_BLK
	"0xffff000040000000-0xffff000140000000           4G PUD" BLK;

/* invalid, valid again: only the CONT group around the page is broken. */
static const char script_revalidated[] =
	"\n0xffff000140001000-0xffff000140020000         124K PTE" PAGE;

/* A script with comments and blanks, VA and offset STARTs, K/M suffixes. */
START_TEST(test_script_run)
{
	char *path = write_file("ops", script_ops);
	struct prog_run r;

	run_tool(&r, NULL, 0, ARGS("--mem", "12G", path));
	free(path);
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_msg(!strncmp(r.out, script_first_lines,
			       strlen(script_first_lines)),
		      "dump does not start with the 2M/64K/ro lines:\n%s",
		      r.out);
	ck_assert_msg(strstr(r.out, script_960m_4g),
		      "dump lacks the 960M/4G lines:\n%s", r.out);
	ck_assert_msg(strstr(r.out, script_revalidated),
		      "dump lacks the re-validated run:\n%s", r.out);
	ck_assert_msg(!strncmp(r.err, "census: ", 8) && prog_count_newlines(r.err) == 1,
		      "stderr is not one census line:\n%s", r.err);
	prog_run_free(&r);
}
END_TEST

static const char dump_pte_4m_ro[] =
	START
	"0xffff000000000000-0xffff000000001000           4K PTE" PAGE
	"0xffff000000001000-0xffff000000002000           4K PTE" RO_PAGE
	"0xffff000000002000-0xffff000000400000        4088K PTE" PAGE
	"0xffff000000400000-0xffff000040000000        1020M PMD\n"
	"0xffff000040000000-0xffff008000000000         511G PUD\n"
	"0xffff008000000000-0xffff800000000000      130560G PGD\n"
	END;

/* "-" reads stdin; --map pte and --mem=SIZE. */
START_TEST(test_stdin_pte_map)
{
	struct prog_run r;

	run_tool(&r, "ro 0x1000 4K\n", 0,
		 ARGS("--mem=4M", "--map", "pte", "-"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, dump_pte_4m_ro);
	ck_assert_str_eq(r.err,
			 "census: 4K=1024 64K-cont=0 2M=0 32M-cont=0 1G=0 "
			 "invalid=0 tables=5 (PGD=1 PUD=1 PMD=1 PTE=2) "
			 "table-KiB=20 reach-KiB=4 unlinked-tables=0\n");
	prog_run_free(&r);
}
END_TEST

static const char dump_2g[] =
	START
	"0xffff000000000000-0xffff000080000000           2G PUD" BLK
	"0xffff000080000000-0xffff008000000000         510G PUD\n"
	"0xffff008000000000-0xffff800000000000      130560G PGD\n"
	END;

/* repaint to PTEs, then collapse back: the blocks map again. */
START_TEST(test_repaint_collapse)
{
	struct prog_run r;

	run_tool(&r, "repaint\ncollapse\n", 0, ARGS("--mem", "2G", "-"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, dump_2g);
	ck_assert_str_eq(r.err,
			 "census: 4K=0 64K-cont=0 2M=0 32M-cont=0 1G=2 "
			 "invalid=0 tables=2 (PGD=1 PUD=1 PMD=0 PTE=0) "
			 "table-KiB=8 reach-KiB=1048576 unlinked-tables=0\n");
	prog_run_free(&r);
}
END_TEST

/* --- --census ---------------------------------------------------------- */

#define CENSUS_LEAVES "Leaves (a CONT group is one)\n"
#define CENSUS_TABLES "Table pages (4K each)\n"

static const char census_12g[] =
	"Census of a blocks map of 12G (12884901888 bytes), ops: none\n"
	"\n"
	"                                 blocks\n"
	CENSUS_LEAVES
	"  4K                                  0\n"
	"  64K-cont                            0\n"
	"  2M                                  0\n"
	"  32M-cont                            0\n"
	"  1G                                 12\n"
	"  present-invalid                     0\n"
	CENSUS_TABLES
	"  PGD                                 1\n"
	"  PUD                                 1\n"
	"  PMD                                 0\n"
	"  PTE                                 0\n"
	"  all                                 2\n"
	"Page-table bytes                   8192\n"
	"Page-table MiB                     0.01\n"
	"TLB entries needed                   12\n"
	"Bytes mapped                12884901888\n"
	"TLB reach, bytes/entry       1073741824\n"
	"TLB reach                         1 GiB\n";

/* The 12 GiB blocks map: twelve 1G leaves, a PGD and a PUD page. */
START_TEST(test_census_12g_blocks)
{
	struct prog_run r;

	run_tool(&r, NULL, 0, ARGS("--census", "--mem", "12G"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, census_12g);
	ck_assert_str_eq(r.err, "");
	prog_run_free(&r);
}
END_TEST

/*
 * DOMAIN.md's example script: the same counts as the dump mode's census
 * line on stderr (checked here too), as a table; stderr stays empty.
 */
static const char census_12g_script[] =
	CENSUS_LEAVES
	"  4K                                 64\n"
	"  64K-cont                           92\n"
	"  2M                                 45\n"
	"  32M-cont                           61\n"
	"  1G                                 10\n"
	"  present-invalid                     0\n"
	CENSUS_TABLES
	"  PGD                                 1\n"
	"  PUD                                 1\n"
	"  PMD                                 2\n"
	"  PTE                                 3\n"
	"  all                                 7\n"
	"Page-table bytes                  28672\n"
	"Page-table MiB                     0.03\n"
	"TLB entries needed                  272\n"
	"Bytes mapped                12884901888\n"
	"TLB reach, bytes/entry         47370962\n"
	"TLB reach                     45.18 MiB\n";

START_TEST(test_census_script)
{
	char *path = write_file("ops", script_ops);
	char head[PATH_MAX + 128];
	struct prog_run r;

	run_tool(&r, NULL, 0, ARGS("--mem", "12G", path));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.err,
			 "census: 4K=64 64K-cont=92 2M=45 32M-cont=61 1G=10 "
			 "invalid=0 tables=7 (PGD=1 PUD=1 PMD=2 PTE=3) "
			 "table-KiB=28 reach-KiB=46260 unlinked-tables=0\n");
	prog_run_free(&r);

	run_tool(&r, NULL, 0, ARGS("--census", "--mem", "12G", path));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	snprintf(head, sizeof(head),
		 "Census of a blocks map of 12G (12884901888 bytes), ops: "
		 "%s\n\n                                 blocks\n", path);
	ck_assert_msg(!strncmp(r.out, head, strlen(head)),
		      "census header:\n%s", r.out);
	ck_assert_str_eq(r.out + strlen(head), census_12g_script);
	ck_assert_str_eq(r.err, "");
	free(path);
	prog_run_free(&r);
}
END_TEST

/* --map pte, ops on stdin, a present-invalid page: no TLB entry for it. */
START_TEST(test_census_pte_invalid)
{
	struct prog_run r;

	run_tool(&r, "invalid 0x1000 4K\n", 0,
		 ARGS("--census", "--map", "pte", "--mem", "4M", "-"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out,
		"Census of a pte map of 4M (4194304 bytes), ops: <stdin>\n"
		"\n"
		"                                    pte\n"
		CENSUS_LEAVES
		"  4K                               1023\n"
		"  64K-cont                            0\n"
		"  2M                                  0\n"
		"  32M-cont                            0\n"
		"  1G                                  0\n"
		"  present-invalid                     1\n"
		CENSUS_TABLES
		"  PGD                                 1\n"
		"  PUD                                 1\n"
		"  PMD                                 1\n"
		"  PTE                                 2\n"
		"  all                                 5\n"
		"Page-table bytes                  20480\n"
		"Page-table MiB                     0.02\n"
		"TLB entries needed                 1023\n"
		"Bytes mapped                    4190208\n"
		"TLB reach, bytes/entry             4096\n"
		"TLB reach                         4 KiB\n");
	ck_assert_str_eq(r.err, "");
	prog_run_free(&r);
}
END_TEST

/*
 * DOMAIN.md section 9's "about 500 MB more free" on 256 GiB, exactly: the
 * PTE map needs 131072 PTE pages + 256 PMD pages + a PUD + a PGD = 131330
 * pages, the blocks map a PUD and a PGD: 131328 pages, 537919488 bytes,
 * 537.92 MB, 513 MiB more; and 262144 times the TLB entries.
 */
static const char census_compare_256g[] =
	"Census of the blocks map and the pte map of 256G (274877906944 "
	"bytes), ops: none\n"
	"\n"
	"                                 blocks            pte\n"
	CENSUS_LEAVES
	"  4K                                  0       67108864\n"
	"  64K-cont                            0              0\n"
	"  2M                                  0              0\n"
	"  32M-cont                            0              0\n"
	"  1G                                256              0\n"
	"  present-invalid                     0              0\n"
	CENSUS_TABLES
	"  PGD                                 1              1\n"
	"  PUD                                 1              1\n"
	"  PMD                                 0            256\n"
	"  PTE                                 0         131072\n"
	"  all                                 2         131330\n"
	"Page-table bytes                   8192      537927680\n"
	"Page-table MiB                     0.01         513.01\n"
	"TLB entries needed                  256       67108864\n"
	"Bytes mapped               274877906944   274877906944\n"
	"TLB reach, bytes/entry       1073741824           4096\n"
	"TLB reach                         1 GiB          4 KiB\n"
	"\n"
	"Difference, pte - blocks\n"
	"  page-table bytes            537919488 = 537.92 MB = 513.00 MiB "
	"(131328 pages)\n"
	"  TLB entries needed          262144.00 times as many "
	"(67108864 / 256)\n";

START_TEST(test_census_compare_256g)
{
	struct prog_run r;

	run_tool(&r, NULL, 0,
		 ARGS("--census", "--compare", "--mem", "256G"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, census_compare_256g);
	ck_assert_str_eq(r.err, "");
	/* The figure itself, independent of the table's layout. */
	ck_assert_uint_eq((131330ull - 2) * 4096, 537919488ull);
	ck_assert_ptr_nonnull(strstr(r.out, " 537919488 = 537.92 MB = "
					    "513.00 MiB (131328 pages)\n"));
	prog_run_free(&r);
}
END_TEST

/* The ops apply to both maps: repaint makes the blocks map a PTE map. */
START_TEST(test_census_compare_ops)
{
	struct prog_run r;

	run_tool(&r, "repaint\n", 0,
		 ARGS("--census", "--compare", "--mem", "2G", "-"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "  all                              1028"
				    "           1028\n"),
		      "both maps should have 1028 table pages:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "\n  page-table bytes                    0"
				    " = 0.00 MB = 0.00 MiB (0 pages)\n"
				    "  TLB entries needed               1.00"
				    " times as many (524288 / 524288)\n"),
		      "no difference expected:\n%s", r.out);
	ck_assert_str_eq(r.err, "");
	prog_run_free(&r);
}
END_TEST

/* --- --diff ------------------------------------------------------------ */

/* True if a line of @out starts with "- " or "+ ": a changed line. */
static bool has_marks(const char *out)
{
	const char *line;

	for (line = out; *line; line = strchr(line, '\n') + 1) {
		if (!strncmp(line, "- ", 2) || !strncmp(line, "+ ", 2))
			return true;
		if (!strchr(line, '\n'))
			break;
	}
	return false;
}

/* dump_12g's lines with "  " before each: both sides the same. */
#define SAME_12G                                                         \
	"  " START                                                       \
	"  0xffff000000000000-0xffff000300000000          12G PUD" BLK   \
	"  0xffff000300000000-0xffff008000000000         500G PUD\n"     \
	"  0xffff008000000000-0xffff800000000000      130560G PGD\n"     \
	"  " END

/* The example: option 3 after collapse is the v6.18 block map. */
START_TEST(test_diff_equal)
{
	char *collapse = write_file("collapse.ops", "collapse\n");
	char *empty = write_file("empty.ops", "");
	char spec_a[PATH_MAX + 8], spec_b[PATH_MAX + 8], *want;
	struct prog_run r;

	snprintf(spec_a, sizeof(spec_a), "pte:%s", collapse);
	snprintf(spec_b, sizeof(spec_b), "blocks:%s", empty);
	run_tool(&r, NULL, 0, ARGS("--diff", spec_a, spec_b));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_int_ge(asprintf(&want,
				  "--- A: pte map of 12G, ops %s\n"
				  "+++ B: blocks map of 12G, ops %s\n"
				  SAME_12G, collapse, empty), 0);
	ck_assert_str_eq(r.out, want);
	ck_assert_msg(!has_marks(r.out), "marks in:\n%s", r.out);
	ck_assert_str_eq(r.err, "");
	free(want);
	prog_run_free(&r);

	/* "blocks:" alone is the map with no ops. */
	run_tool(&r, NULL, 0, ARGS("--diff", spec_a, "blocks:"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "+++ B: blocks map of 12G, no ops\n"
				    SAME_12G),
		      "diff against blocks: alone:\n%s", r.out);
	prog_run_free(&r);
	free(collapse);
	free(empty);
}
END_TEST

static const char diff_ro_page[] =
	"--- A: blocks map of 12G, no ops\n"
	"+++ B: blocks map of 12G, ops <stdin>\n"
	"  " START
	"- 0xffff000000000000-0xffff000300000000          12G PUD" BLK
	"+ 0xffff000000000000-0xffff000000200000           2M PMD" BLK
	"+ 0xffff000000200000-0xffff000000210000          64K PTE" CON_PAGE
	"+ 0xffff000000210000-0xffff000000211000           4K PTE" RO_PAGE
	"+ 0xffff000000211000-0xffff000000220000          60K PTE" PAGE
	"+ 0xffff000000220000-0xffff000000400000        1920K PTE" CON_PAGE
	"+ 0xffff000000400000-0xffff000002000000          28M PMD" BLK
	"+ 0xffff000002000000-0xffff000040000000         992M PMD" CON_BLK
	"+ 0xffff000040000000-0xffff000300000000          11G PUD" BLK
	"  0xffff000300000000-0xffff008000000000         500G PUD\n"
	"  0xffff008000000000-0xffff800000000000      130560G PGD\n"
	"  " END;

/* One ro page: its 1G leaf against the split, marked; the rest common. */
START_TEST(test_diff_differ)
{
	struct prog_run r;

	run_tool(&r, "ro 0x210000 4K\n", 0, ARGS("--diff", "blocks:", "-"));
	ck_assert_msg(r.status == 1, "exit %d, want 1; stderr: %s", r.status,
		      r.err);
	ck_assert_str_eq(r.out, diff_ro_page);
	ck_assert_str_eq(r.err, "");
	prog_run_free(&r);
}
END_TEST

/* A change between common lines: only the changed VAs are marked. */
START_TEST(test_diff_middle)
{
	struct prog_run r;

	/* --map pte: the unprefixed side; the whole-map line is split. */
	run_tool(&r, "ro 0x1000 4K\n", 0,
		 ARGS("--mem", "4M", "--map", "pte", "--diff", "-",
		      "pte:"));
	ck_assert_msg(r.status == 1, "exit %d, want 1; stderr: %s", r.status,
		      r.err);
	ck_assert_str_eq(r.out,
		"--- A: pte map of 4M, ops <stdin>\n"
		"+++ B: pte map of 4M, no ops\n"
		"  " START
		"- 0xffff000000000000-0xffff000000001000           4K PTE" PAGE
		"- 0xffff000000001000-0xffff000000002000           4K PTE"
		RO_PAGE
		"- 0xffff000000002000-0xffff000000400000        4088K PTE" PAGE
		"+ 0xffff000000000000-0xffff000000400000           4M PTE" PAGE
		"  0xffff000000400000-0xffff000040000000        1020M PMD\n"
		"  0xffff000040000000-0xffff008000000000         511G PUD\n"
		"  0xffff008000000000-0xffff800000000000      130560G PGD\n"
		"  " END);
	prog_run_free(&r);
}
END_TEST

/*
 * A saved dump is used as it is: the tool's own output, or a whole
 * kernel_page_tables file (CRLF, later sections) up to the end marker.
 */
START_TEST(test_diff_saved_dump)
{
	char *saved = write_file("saved.txt", dump_12g);
	char *kernel = write_file("kernel.txt",
		"---[ Linear Mapping start ]---\r\n"
		"0xffff000000000000-0xffff000300000000          12G PUD"
		"       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED\r\n"
		"0xffff000300000000-0xffff008000000000         500G PUD\r\n"
		"0xffff008000000000-0xffff800000000000      130560G PGD\r\n"
		"---[ Linear Mapping end ]---\r\n"
		"---[ Modules start ]---\r\n"
		"0xffff800000000000-0xffff800008000000         128M PGD\r\n");
	char *want;
	struct prog_run r;

	run_tool(&r, NULL, 0, ARGS("--diff", saved, "blocks:"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_int_ge(asprintf(&want,
				  "--- A: saved dump %s\n"
				  "+++ B: blocks map of 12G, no ops\n"
				  SAME_12G, saved), 0);
	ck_assert_str_eq(r.out, want);
	ck_assert_str_eq(r.err, "");
	free(want);
	prog_run_free(&r);

	run_tool(&r, NULL, 0, ARGS("--diff", kernel, saved));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_msg(!has_marks(r.out), "marks in:\n%s", r.out);
	prog_run_free(&r);

	/* Against the PTE map: the one 12G line differs. */
	run_tool(&r, NULL, 0, ARGS("--diff", saved, "pte:"));
	ck_assert_msg(r.status == 1, "exit %d, want 1; stderr: %s", r.status,
		      r.err);
	ck_assert_msg(strstr(r.out,
		"  " START
		"- 0xffff000000000000-0xffff000300000000          12G PUD" BLK
		"+ 0xffff000000000000-0xffff000300000000          12G PTE" PAGE
		"  0xffff000300000000-0xffff008000000000         500G PUD\n"),
		"the 12G line is not marked:\n%s", r.out);
	prog_run_free(&r);

	/* A saved dump on stdin. */
	run_tool(&r, dump_12g, 0, ARGS("--diff", "blocks:", "-"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "+++ B: saved dump <stdin>\n"),
		      "stdin dump:\n%s", r.out);
	prog_run_free(&r);
	free(saved);
	free(kernel);
}
END_TEST

START_TEST(test_help)
{
	struct prog_run r;

	run_tool(&r, NULL, 0, ARGS("--help"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(!strncmp(r.out, "Usage: bbm-ptdump ", 18),
		      "--help output:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "default 12G") &&
			      strstr(r.out, "default blocks"),
		      "--help does not give the defaults:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "--census --compare --mem 256G\n") &&
			      strstr(r.out,
				     "--diff pte:collapse.ops blocks:\n") &&
			      strstr(r.out, "  pte:FILE ") &&
			      strstr(r.out, "--diff, as diff(1)"),
		      "--help does not describe --census and --diff:\n%s",
		      r.out);
	ck_assert_str_eq(r.err, "");
	prog_run_free(&r);
}
END_TEST

START_TEST(test_bad_unknown_op)
{
	char *ops = write_file("ops", "ro 0x1000 4K\n# ok\nfrob 0 4K\n");
	char want[PATH_MAX + 16];

	snprintf(want, sizeof(want), "%s:3: ", ops);
	assert_rejected(NULL, ARGS(ops), want, "unknown op 'frob'", NULL);
	free(ops);
}
END_TEST

START_TEST(test_bad_arg_count)
{
	assert_rejected("ro 0x1000\n", ARGS("-"), "<stdin>:1: ",
			"'ro' takes START SIZE, got 1 argument", NULL);
	assert_rejected("collapse now\n", ARGS("-"), "<stdin>:1: ",
			"'collapse' takes no arguments", NULL);
}
END_TEST

START_TEST(test_bad_number)
{
	assert_rejected("\nro 0x1000 4Q\n", ARGS("-"), "<stdin>:2: ",
			"bad number '4Q' for SIZE", NULL);
	assert_rejected("ro 0xzz 4K\n", ARGS("-"), "<stdin>:1: ",
			"bad number '0xzz' for START", NULL);
	assert_rejected("ro 0x1000 99999999999999999999\n", ARGS("-"),
			"<stdin>:1: ", "too large", NULL);
}
END_TEST

START_TEST(test_bad_unaligned)
{
	assert_rejected("ro 0x1800 4K\n", ARGS("-"), "<stdin>:1: ",
			"START 0x1800 is not 4K-aligned", NULL);
	assert_rejected("nx 0x1000 6K\n", ARGS("-"), "<stdin>:1: ",
			"SIZE 6K is not a multiple of 4K", NULL);
	assert_rejected("nx 0x1000 0\n", ARGS("-"), "<stdin>:1: ",
			"SIZE 0 is zero", NULL);
}
END_TEST

START_TEST(test_bad_range)
{
	/* 12G is the first byte past the map; 11G + 2G runs past its end. */
	assert_rejected("ro 12G 4K\n", ARGS("-"), "<stdin>:1: ",
			"outside the mapped RAM", NULL);
	assert_rejected("ro 0xffff0002c0000000 2G\n", ARGS("-"),
			"<stdin>:1: ", "outside the mapped RAM", NULL);
	assert_rejected("split 4M 4K\n", ARGS("--mem", "4M", "-"),
			"<stdin>:1: ", "outside the mapped RAM", NULL);
}
END_TEST

START_TEST(test_bad_missing_file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/no-such-ops", tmpdir);
	assert_rejected(NULL, ARGS(path), "cannot open ops file",
			"no-such-ops", "No such file or directory", NULL);
}
END_TEST

START_TEST(test_bad_option)
{
	assert_rejected(NULL, ARGS("--frobnicate"),
			"unknown option '--frobnicate'", NULL);
	assert_rejected(NULL, ARGS("--map", "huge"), "bad --map 'huge'",
			NULL);
	assert_rejected(NULL, ARGS("--mem"), "'--mem' needs an argument",
			NULL);
	assert_rejected(NULL, ARGS("a", "b"), "more than one OPS_FILE", NULL);
}
END_TEST

START_TEST(test_bad_mem)
{
	assert_rejected(NULL, ARGS("--mem", "12X"), "bad --mem '12X'", NULL);
	assert_rejected(NULL, ARGS("--mem", "1M"), "bad --mem '1M'",
			"from 2M", NULL);
	assert_rejected(NULL, ARGS("--mem", "6145K"), "bad --mem '6145K'",
			"multiple of 4K", NULL);
	assert_rejected(NULL, ARGS("--mem", "256T"), "bad --mem '256T'",
			NULL);
}
END_TEST

START_TEST(test_bad_diff_args)
{
	char *ops = write_file("ops", "ro 0x1000 4K\n");

	assert_rejected(NULL, ARGS("--diff", ops),
			"--diff needs two inputs, A and B; got 1", NULL);
	assert_rejected(NULL, ARGS("--diff"),
			"--diff needs two inputs, A and B; got 0", NULL);
	assert_rejected(NULL, ARGS("--diff", ops, ops, ops),
			"--diff needs two inputs, A and B; got 3", NULL);
	assert_rejected(NULL, ARGS("--diff", "-", "pte:-"),
			"A and B cannot both be stdin", NULL);
	assert_rejected(NULL, ARGS("--census", "--diff", ops, ops),
			"--diff cannot be combined with --census", NULL);
	assert_rejected(NULL, ARGS("--diff", ops, ""),
			"B is an empty file name", NULL);
	free(ops);
}
END_TEST

START_TEST(test_bad_diff_missing_file)
{
	char path[PATH_MAX], spec[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/no-such-ops", tmpdir);
	assert_rejected(NULL, ARGS("--diff", "blocks:", path),
			"cannot open B '", "no-such-ops",
			"No such file or directory", NULL);
	snprintf(spec, sizeof(spec), "pte:%s", path);
	assert_rejected(NULL, ARGS("--diff", spec, "blocks:"),
			"cannot open A '", "no-such-ops", NULL);
}
END_TEST

START_TEST(test_bad_diff_mode)
{
	char *saved = write_file("saved.txt", dump_12g);
	char spec[PATH_MAX + 8];

	assert_rejected(NULL, ARGS("--diff", "huge:x.ops", "blocks:"),
			"bad map mode 'huge' in A 'huge:x.ops'",
			"use blocks:FILE or pte:FILE", "./huge:x.ops", NULL);
	assert_rejected(NULL, ARGS("--diff", "pte:", "PTE:x"),
			"bad map mode 'PTE' in B", NULL);
	/* A map mode on a saved dump means nothing: refused. */
	snprintf(spec, sizeof(spec), "pte:%s", saved);
	assert_rejected(NULL, ARGS("--diff", spec, "blocks:"),
			"is a saved dump: a map mode does not apply", NULL);
	/* An ops file is checked as in the dump mode. */
	assert_rejected("ro 0x1000\n", ARGS("--diff", "blocks:", "pte:-"),
			"<stdin>:1: ", "'ro' takes START SIZE", NULL);
	free(saved);
}
END_TEST

START_TEST(test_bad_saved_dump)
{
	char *cut = write_file("cut.txt", START
		"0xffff000000000000-0xffff000300000000          12G PUD" BLK);
	char *junk = write_file("junk.txt", START "hello\n" END);
	char *order = write_file("order.txt", START
		"0xffff000300000000-0xffff008000000000         500G PUD\n"
		"0xffff000000000000-0xffff000300000000          12G PUD" BLK
		END);
	char want[PATH_MAX + 8];

	snprintf(want, sizeof(want), "%s: ", cut);
	assert_rejected(NULL, ARGS("--diff", cut, "blocks:"), want,
			"no \"---[ Linear Mapping end ]---\" line", NULL);
	snprintf(want, sizeof(want), "%s:2: ", junk);
	assert_rejected(NULL, ARGS("--diff", "blocks:", junk), want,
			"not a Linear Mapping line", NULL);
	snprintf(want, sizeof(want), "%s:3: ", order);
	assert_rejected(NULL, ARGS("--diff", "blocks:", order), want,
			"overlaps the line before", NULL);
	free(cut);
	free(junk);
	free(order);
}
END_TEST

START_TEST(test_bad_census)
{
	char path[PATH_MAX];

	assert_rejected(NULL, ARGS("--compare"), "--compare needs --census",
			NULL);
	assert_rejected(NULL, ARGS("--census", "--compare", "--map", "pte"),
			"--map does not apply to --compare", NULL);
	snprintf(path, sizeof(path), "%s/no-such-ops", tmpdir);
	assert_rejected(NULL, ARGS("--census", path), "cannot open ops file",
			"no-such-ops", NULL);
	assert_rejected("frob\n", ARGS("--census", "--compare", "-"),
			"<stdin>:1: ", "unknown op 'frob'", NULL);
}
END_TEST

/* A map that cannot be built: exit 3, a message, nothing on stdout. */
START_TEST(test_map_create_fails)
{
#if SANITIZER_SHADOW
	return;	/* their shadow needs far more address space than 1 GiB */
#else
	struct prog_run r;

	/* 64 TiB of blocks needs a 256 GiB arena reservation: over 1 GiB. */
	run_tool(&r, NULL, 1ull << 30, ARGS("--mem", "64T"));
	ck_assert_msg(r.status == 3, "exit %d, want 3; stderr: %s", r.status,
		      r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err,
			 "bbm-ptdump: cannot build a blocks map of 64T: out "
			 "of memory\n");
	prog_run_free(&r);
#endif
}
END_TEST

Suite *make_tool_ptdump_suite(void)
{
	Suite *s = suite_create("tool_ptdump");
	TCase *tc = tcase_create("run");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_default_run);
	tcase_add_test(tc, test_script_run);
	tcase_add_test(tc, test_stdin_pte_map);
	tcase_add_test(tc, test_repaint_collapse);
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_map_create_fails);
	tcase_add_test(tc, test_census_12g_blocks);
	tcase_add_test(tc, test_census_script);
	tcase_add_test(tc, test_census_pte_invalid);
	tcase_add_test(tc, test_census_compare_ops);
	tcase_add_test(tc, test_diff_equal);
	tcase_add_test(tc, test_diff_differ);
	tcase_add_test(tc, test_diff_middle);
	tcase_add_test(tc, test_diff_saved_dump);
	suite_add_tcase(s, tc);

	/* Two maps of 256 GiB, one of 4K pages: ~45 s under TSan. */
	tc = tcase_create("census_256g");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_census_compare_256g);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_input");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_bad_unknown_op);
	tcase_add_test(tc, test_bad_arg_count);
	tcase_add_test(tc, test_bad_number);
	tcase_add_test(tc, test_bad_unaligned);
	tcase_add_test(tc, test_bad_range);
	tcase_add_test(tc, test_bad_missing_file);
	tcase_add_test(tc, test_bad_option);
	tcase_add_test(tc, test_bad_mem);
	tcase_add_test(tc, test_bad_diff_args);
	tcase_add_test(tc, test_bad_diff_missing_file);
	tcase_add_test(tc, test_bad_diff_mode);
	tcase_add_test(tc, test_bad_saved_dump);
	tcase_add_test(tc, test_bad_census);
	suite_add_tcase(s, tc);
	return s;
}
