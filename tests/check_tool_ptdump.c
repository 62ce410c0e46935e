// SPDX-License-Identifier: GPL-2.0
/*
 * bbm-ptdump as a program: stdout holds exactly the Linear Mapping section,
 * stderr the census; bad input gets exit status 2, one stderr line naming
 * the problem and nothing on stdout.  The program is $BBM_PTDUMP (set by
 * `scons test`), else ../tools/bbm-ptdump beside this test binary.
 */
#include <check.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

struct run {
	int status;	/* exit status, or 128 + signal */
	char *out;	/* all of stdout */
	char *err;	/* all of stderr */
};

/* Made once per TCase, in the runner: gone even if a test fails. */
static char tmpdir[256];

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_tool_ptdump.XXXXXX",
		 base && *base ? base : "/tmp");
	ck_assert_msg(mkdtemp(tmpdir), "mkdtemp(%s) failed", tmpdir);
}

static void remove_tmpdir(void)
{
	char cmd[sizeof(tmpdir) + 16];

	/* Only the files this suite wrote: ops, stdin, out, err. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
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

static char *slurp(const char *name)
{
	char path[PATH_MAX], *buf;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "r");
	ck_assert_msg(f, "cannot read %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, len, f), len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/*
 * Run the tool with @argv (NULL-terminated, without argv[0]), stdin from
 * @stdin_text (NULL: /dev/null), and an address-space limit of @as_limit
 * bytes if non-zero.
 */
static void run_tool(struct run *r, const char *stdin_text,
		     rlim_t as_limit, char *const *args)
{
	const char *tool = tool_path();
	char out_path[PATH_MAX], err_path[PATH_MAX];
	char *in_path;
	char *argv[16];
	int i, wstatus;
	pid_t pid;

	argv[0] = (char *)tool;
	for (i = 0; args[i]; i++) {
		ck_assert_int_lt(i + 2, 16);
		argv[i + 1] = args[i];
	}
	argv[i + 1] = NULL;

	in_path = stdin_text ? write_file("stdin", stdin_text) :
			       strdup("/dev/null");
	ck_assert_ptr_nonnull(in_path);
	snprintf(out_path, sizeof(out_path), "%s/out", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/err", tmpdir);

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { as_limit, as_limit };
		int in = open(in_path, O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 ||
		    dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		if (as_limit && setrlimit(RLIMIT_AS, &rl))
			_exit(126);
		execv(tool, argv);
		_exit(127);
	}
	free(in_path);
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
					 128 + WTERMSIG(wstatus);
	ck_assert_msg(r->status != 126 && r->status != 127,
		      "could not run %s (status %d)", tool, r->status);
	r->out = slurp("out");
	r->err = slurp("err");
}

static void free_run(struct run *r)
{
	free(r->out);
	free(r->err);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * Bad input: status 2, nothing on stdout, one stderr line holding each of
 * the NULL-terminated fragments that follow @args.
 */
static void assert_rejected(const char *stdin_text, char *const *args, ...)
{
	struct run r;
	const char *frag;
	va_list ap;

	run_tool(&r, stdin_text, 0, args);
	ck_assert_msg(r.status == 2, "exit status %d, want 2; stderr: %s",
		      r.status, r.err);
	ck_assert_msg(!*r.out, "stdout not empty on bad input:\n%s", r.out);
	ck_assert_msg(count_lines(r.err) == 1 &&
			      r.err[strlen(r.err) - 1] == '\n',
		      "want one stderr line, got:\n%s", r.err);
	va_start(ap, args);
	while ((frag = va_arg(ap, const char *)))
		ck_assert_msg(strstr(r.err, frag),
			      "stderr lacks \"%s\":\n%s", frag, r.err);
	va_end(ap);
	free_run(&r);
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
	struct run r;
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
	free_run(&r);
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
	struct run r;

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
	ck_assert_msg(!strncmp(r.err, "census: ", 8) && count_lines(r.err) == 1,
		      "stderr is not one census line:\n%s", r.err);
	free_run(&r);
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
	struct run r;

	run_tool(&r, "ro 0x1000 4K\n", 0,
		 ARGS("--mem=4M", "--map", "pte", "-"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, dump_pte_4m_ro);
	ck_assert_str_eq(r.err,
			 "census: 4K=1024 64K-cont=0 2M=0 32M-cont=0 1G=0 "
			 "invalid=0 tables=5 (PGD=1 PUD=1 PMD=1 PTE=2) "
			 "table-KiB=20 reach-KiB=4 unlinked-tables=0\n");
	free_run(&r);
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
	struct run r;

	run_tool(&r, "repaint\ncollapse\n", 0, ARGS("--mem", "2G", "-"));
	ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.out, dump_2g);
	ck_assert_str_eq(r.err,
			 "census: 4K=0 64K-cont=0 2M=0 32M-cont=0 1G=2 "
			 "invalid=0 tables=2 (PGD=1 PUD=1 PMD=0 PTE=0) "
			 "table-KiB=8 reach-KiB=1048576 unlinked-tables=0\n");
	free_run(&r);
}
END_TEST

START_TEST(test_help)
{
	struct run r;

	run_tool(&r, NULL, 0, ARGS("--help"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(!strncmp(r.out, "Usage: bbm-ptdump ", 18),
		      "--help output:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "default 12G") &&
			      strstr(r.out, "default blocks"),
		      "--help does not give the defaults:\n%s", r.out);
	ck_assert_str_eq(r.err, "");
	free_run(&r);
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

/* A map that cannot be built: exit 3, a message, nothing on stdout. */
START_TEST(test_map_create_fails)
{
#if SANITIZER_SHADOW
	return;	/* their shadow needs far more address space than 1 GiB */
#else
	struct run r;

	/* 64 TiB of blocks needs a 256 GiB arena reservation: over 1 GiB. */
	run_tool(&r, NULL, 1ull << 30, ARGS("--mem", "64T"));
	ck_assert_msg(r.status == 3, "exit %d, want 3; stderr: %s", r.status,
		      r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err,
			 "bbm-ptdump: cannot build a blocks map of 64T: out "
			 "of memory\n");
	free_run(&r);
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
	suite_add_tcase(s, tc);
	return s;
}
