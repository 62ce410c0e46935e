/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run the bbmstress binary from a Check test: fork/exec with a time limit,
 * all of stdout and stderr captured, the exit status, and the JSON file it
 * wrote read back; plus a tiny JSON field extractor for what the scenario
 * suites check ("failures.lost-update", "phases[2].ops",
 * "first_failures[0].msg", ...).
 *
 * The program is $BBM_STRESS (set by `scons test`), else ../stress/bbmstress
 * beside the test binary.
 *
 * Also the plain "run a program, capture stdout/stderr/exit status" helpers
 * (prog_*) that the tool suites share.
 */
#ifndef BBM_TESTS_STRESS_RUN_H
#define BBM_TESTS_STRESS_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/*
 * Any program, as the tool suites run it: stdin from a file, stdout and
 * stderr into files, waited for without a time limit.
 */
struct prog_io {
	const char *in; /* stdin's file; NULL: /dev/null */
	const char *out; /* stdout's file */
	const char *err; /* stderr's file */
	rlim_t as_limit; /* RLIMIT_AS in bytes; 0 = none */
	bool no_search; /* execv(), not execvp(): argv[0] not looked up */
};

struct prog_run {
	int status; /* exit status, or 128 + signal */
	char *out; /* all of stdout */
	char *err; /* all of stderr */
};

/* Make a fresh "$TMPDIR/@name.XXXXXX" (else under /tmp) in @dir. */
void prog_tmpdir(char *dir, size_t size, const char *name);
/* Remove @dir and all in it; a note on stderr if that fails. */
void prog_rmtree(const char *dir);
/* All of the file @path (malloc'ed); fails the test if unreadable. */
char *prog_slurp(const char *path);
/* The '\n' characters in @s. */
int prog_count_newlines(const char *s);
/* Fork and exec @argv (NULL-terminated) with the files of @io; its pid. */
pid_t prog_spawn(char *const *argv, const struct prog_io *io);
/* Wait for @pid, fail if @what could not run (126/127), read its output. */
void prog_wait(struct prog_run *r, pid_t pid, const char *what,
	       const struct prog_io *io);
/* Run @argv to its end with the files of @io: prog_spawn + prog_wait. */
void prog_run(struct prog_run *r, char *const *argv,
	      const struct prog_io *io);
/* Free the output that prog_wait read. */
void prog_run_free(struct prog_run *r);

#define STRESS_JSON 0x1 /* append --json <a file of a fresh temp dir> */

struct stress_opts {
	unsigned int flags; /* STRESS_* */
	double timeout_s; /* SIGKILL after this long; 0 = 60 s */
	int send_signal; /* a signal to send, 0 = none */
	double signal_after_s; /* ... this long after the start */
};

struct stress_run {
	char cmd[1024]; /* "bbmstress ARGS" as run, for messages */
	int status; /* exit status, or -1 if ended by a signal */
	int term_signal; /* the signal that ended it, else 0 */
	bool timed_out; /* killed at opts.timeout_s */
	double wall_s; /* start to exit */
	char *out; /* all of stdout */
	char *err; /* all of stderr */
	char *json; /* the JSON file's text, NULL if none written */
	char stray[256]; /* other files left in the JSON dir ("" if none) */
};

/*
 * Run bbmstress with the arguments of @fmt (printf-style, then split at
 * blanks; no quoting).  Fails the calling test only on a harness problem
 * (cannot fork, cannot make a temp dir); the program's own result is in @r.
 */
void stress_run(struct stress_run *r, const struct stress_opts *opts,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void stress_run_free(struct stress_run *r);

/*
 * Fail the test unless @r ended by itself (no timeout, no signal) with exit
 * status 0 or 1, wrote valid JSON whose "verdict" matches that status,
 * printed the "End of test:" line, and left no temporary file behind.
 */
void stress_check_ran(const struct stress_run *r);

/* Lines in @text (a last line without '\n' counts). */
int stress_count_lines(const char *text);
/* The line of @text starting with @prefix (malloc'ed, no '\n'), or NULL. */
char *stress_find_line(const char *text, const char *prefix);

/*
 * JSON, read-only.  @path: keys separated by '.', array elements as [N],
 * e.g. "phases[1].failures.pageattr-warn".  NULL/false when absent.
 */
bool stress_json_valid(const char *json);
const char *stress_json_at(const char *json, const char *path);
bool stress_json_num(const char *json, const char *path, double *val);
/* A number, or @dflt if absent (or null). */
double stress_json_num_or(const char *json, const char *path, double dflt);
/* A string's value, unescaped as far as this project needs (malloc'ed). */
char *stress_json_str(const char *json, const char *path);
/* true/false; -1 if absent or not a boolean. */
int stress_json_bool(const char *json, const char *path);
/* Elements of an array or members of an object; -1 if not one. */
int stress_json_len(const char *json, const char *path);
/* Index in "phases" of the phase named @name, -1 if none. */
int stress_json_phase(const char *json, const char *name);
/* A phase's count of failure @kind (0 if it has none). */
double stress_phase_failures(const char *json, const char *phase,
			     const char *kind);
/* "kind=N ..." of every non-zero kind of "failures" (malloc'ed). */
char *stress_json_failure_summary(const char *json, const char *object);

#endif /* BBM_TESTS_STRESS_RUN_H */
