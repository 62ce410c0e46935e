// SPDX-License-Identifier: GPL-2.0
/*
 * Run bbmstress for the scenario suites and read back what it wrote
 * (see stress_run.h).  The JSON reader is purpose-built: it validates the
 * whole text and finds one value by path, nothing more.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress_run.h"

#define MAX_ARGS 80
#define JSON_MAX_DEPTH 64

/* --- running any program ------------------------------------------------- */

/* Make a fresh "$TMPDIR/@name.XXXXXX" (else under /tmp) in @dir. */
void prog_tmpdir(char *dir, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, size, "%s/%s.XXXXXX", base && *base ? base : "/tmp",
		 name);
	ck_assert_msg(mkdtemp(dir), "mkdtemp(%s) failed", dir);
}

/* Remove @dir and all in it; a note on stderr if that fails. */
void prog_rmtree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* All of the file @path (malloc'ed); fails the test if unreadable. */
char *prog_slurp(const char *path)
{
	char *buf;
	FILE *f;
	long len;

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

/* The '\n' characters in @s. */
int prog_count_newlines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Fork and exec @argv (NULL-terminated) with the files of @io; its pid. */
pid_t prog_spawn(char *const *argv, const struct prog_io *io)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { io->as_limit, io->as_limit };
		int in = open(io->in ? io->in : "/dev/null", O_RDONLY);
		int out = open(io->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(io->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 ||
		    dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		if (io->as_limit && setrlimit(RLIMIT_AS, &rl))
			_exit(126);
		if (io->no_search)
			execv(argv[0], argv);
		else
			execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for @pid, fail if @what could not run (126/127), read its output. */
void prog_wait(struct prog_run *r, pid_t pid, const char *what,
	       const struct prog_io *io)
{
	int wstatus;

	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
					 128 + WTERMSIG(wstatus);
	ck_assert_msg(r->status != 126 && r->status != 127,
		      "could not run %s (status %d)", what, r->status);
	r->out = prog_slurp(io->out);
	r->err = prog_slurp(io->err);
}

/* Run @argv to its end with the files of @io: prog_spawn + prog_wait. */
void prog_run(struct prog_run *r, char *const *argv, const struct prog_io *io)
{
	prog_wait(r, prog_spawn(argv, io), argv[0], io);
}

/* Free the output that prog_wait read. */
void prog_run_free(struct prog_run *r)
{
	free(r->out);
	free(r->err);
}

/* --- running bbmstress ---------------------------------------------------- */

/* $BBM_STRESS, or the program built beside this test binary. */
static const char *stress_path(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("BBM_STRESS");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		ck_assert_msg(access(env, X_OK) == 0,
			      "BBM_STRESS=%s is not an executable file", env);
		return env;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_msg(n > 0, "BBM_STRESS unset and /proc/self/exe unreadable");
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/../stress/bbmstress", dirname(self));
	ck_assert_msg(access(path, X_OK) == 0,
		      "BBM_STRESS unset and %s not found: run `scons test`",
		      path);
	return path;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct buf {
	char *data;
	size_t len, cap;
};

/* Read what @fd has into @b; false at EOF (or on an error). */
static bool buf_read(struct buf *b, int fd)
{
	ssize_t n;

	if (b->cap - b->len < 4096 + 1) {
		b->cap = b->cap ? 2 * b->cap : 16384;
		b->data = realloc(b->data, b->cap);
		ck_assert_ptr_nonnull(b->data);
	}
	n = read(fd, b->data + b->len, b->cap - b->len - 1);
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

static char *buf_take(struct buf *b)
{
	if (!b->data)
		return strdup("");
	return b->data;
}

static char *slurp_file(const char *path)
{
	struct buf b = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while (buf_read(&b, fd))
		;
	close(fd);
	return buf_take(&b);
}

/* Read the JSON file; note and remove everything else in @dir. */
static void collect_dir(struct stress_run *r, const char *dir,
			const char *json_path)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	r->json = slurp_file(json_path);
	d = opendir(dir);
	ck_assert_msg(d, "cannot list %s", dir);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strcmp(path, json_path) &&
		    strlen(r->stray) + strlen(de->d_name) + 2 <
			    sizeof(r->stray)) {
			if (r->stray[0])
				strcat(r->stray, " ");
			strcat(r->stray, de->d_name);
		}
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void child_exec(const char *prog, char **argv, int out_fd, int err_fd)
{
	/* Gone with the test: a Check timeout must not leave it running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execv(prog, argv);
	fprintf(stderr, "exec %s: %s\n", prog, strerror(errno));
	_exit(127);
}

void stress_run(struct stress_run *r, const struct stress_opts *opts,
		const char *fmt, ...)
{
	static const struct stress_opts no_opts;
	const char *prog = stress_path();
	char *args, *tok, *save, *argv[MAX_ARGS + 4];
	char dir[PATH_MAX] = "", json_path[PATH_MAX] = "";
	const char *base = getenv("TMPDIR");
	struct buf out = { 0 }, err = { 0 };
	int outp[2], errp[2], argc = 0, wstatus, open_fds;
	double start, deadline, signal_at;
	bool signalled = false;
	va_list ap;
	pid_t pid;

	if (!opts)
		opts = &no_opts;
	memset(r, 0, sizeof(*r));
	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
	va_end(ap);

	argv[argc++] = "bbmstress";
	for (tok = strtok_r(args, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		ck_assert_msg(argc < MAX_ARGS, "too many arguments: %s", fmt);
		argv[argc++] = tok;
	}
	if (opts->flags & STRESS_JSON) {
		snprintf(dir, sizeof(dir), "%s/check_stress.XXXXXX",
			 base && *base ? base : "/tmp");
		ck_assert_msg(mkdtemp(dir), "mkdtemp(%s): %s", dir,
			      strerror(errno));
		snprintf(json_path, sizeof(json_path), "%s/run.json", dir);
		argv[argc++] = "--json";
		argv[argc++] = json_path;
	}
	argv[argc] = NULL;
	for (int i = 0; i < argc; i++)
		snprintf(r->cmd + strlen(r->cmd),
			 sizeof(r->cmd) - strlen(r->cmd), "%s%s", i ? " " : "",
			 argv[i]);

	ck_assert_int_eq(pipe2(outp, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(errp, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	start = now_s();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid)
		child_exec(prog, argv, outp[1], errp[1]);
	close(outp[1]);
	close(errp[1]);

	deadline = start + (opts->timeout_s > 0 ? opts->timeout_s : 60);
	signal_at = opts->send_signal ? start + opts->signal_after_s : 0;
	open_fds = 2;
	while (open_fds) {
		struct pollfd fds[2] = {
			{ .fd = outp[0], .events = POLLIN },
			{ .fd = errp[0], .events = POLLIN },
		};
		double now = now_s(), wake = deadline;
		int i, ms;

		if (signal_at && !signalled && now >= signal_at) {
			kill(pid, opts->send_signal);
			signalled = true;
		}
		if (!r->timed_out && now >= deadline) {
			kill(pid, SIGKILL);
			r->timed_out = true;
		}
		if (signal_at && !signalled && signal_at < wake)
			wake = signal_at;
		ms = r->timed_out ? 1000 : (int)((wake - now) * 1000) + 1;
		if (poll(fds, 2, ms) < 0 && errno != EINTR)
			ck_abort_msg("poll: %s", strerror(errno));
		for (i = 0; i < 2; i++) {
			struct buf *b = i ? &err : &out;

			if (fds[i].fd < 0 ||
			    !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!buf_read(b, fds[i].fd)) {
				close(fds[i].fd);
				if (i)
					errp[0] = -1;
				else
					outp[0] = -1;
				open_fds--;
			}
		}
	}
	while (waitpid(pid, &wstatus, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	r->wall_s = now_s() - start;
	if (WIFEXITED(wstatus)) {
		r->status = WEXITSTATUS(wstatus);
	} else {
		r->status = -1;
		r->term_signal = WTERMSIG(wstatus);
	}
	r->out = buf_take(&out);
	r->err = buf_take(&err);
	if (dir[0])
		collect_dir(r, dir, json_path);
	free(args);
}

void stress_run_free(struct stress_run *r)
{
	free(r->out);
	free(r->err);
	free(r->json);
	memset(r, 0, sizeof(*r));
}

void stress_check_ran(const struct stress_run *r)
{
	char *verdict, *end;

	ck_assert_msg(!r->timed_out,
		      "%s: still running after its time "
		      "limit (killed after %.1f s)",
		      r->cmd, r->wall_s);
	ck_assert_msg(r->status == 0 || r->status == 1,
		      "%s: exit status %d (signal %d), stderr: %s", r->cmd,
		      r->status, r->term_signal, r->err);
	ck_assert_msg(stress_json_valid(r->json), "%s: no valid JSON written",
		      r->cmd);
	verdict = stress_json_str(r->json, "verdict");
	ck_assert_msg(verdict && !strcmp(verdict,
					 r->status ? "FAILURE" : "SUCCESS"),
		      "%s: exit status %d but verdict %s", r->cmd, r->status,
		      verdict ? verdict : "(none)");
	end = stress_find_line(r->out, "End of test: ");
	ck_assert_msg(end && !strncmp(end + 13, verdict, strlen(verdict)),
		      "%s: End line '%s' does not say %s", r->cmd,
		      end ? end : "(none)", verdict);
	ck_assert_msg(!r->stray[0], "%s: left files beside its JSON: %s",
		      r->cmd, r->stray);
	free(verdict);
	free(end);
}

int stress_count_lines(const char *text)
{
	int n = 0;

	for (; text && *text; text++)
		if (*text == '\n' || !text[1])
			n++;
	return n;
}

char *stress_find_line(const char *text, const char *prefix)
{
	const char *p = text, *eol;

	while (p && *p) {
		eol = strchr(p, '\n');
		if (!strncmp(p, prefix, strlen(prefix)))
			return eol ? strndup(p, eol - p) : strdup(p);
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* --- JSON ----------------------------------------------------------------- */

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* @p at '"': just past the closing quote, or NULL. */
static const char *json_skip_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && !*++p)
			return NULL;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_skip_number(const char *p)
{
	const char *q = p;

	if (*q == '-')
		q++;
	if (*q < '0' || *q > '9')
		return NULL;
	while (*q >= '0' && *q <= '9')
		q++;
	if (*q == '.') {
		if (*++q < '0' || *q > '9')
			return NULL;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (*q < '0' || *q > '9')
			return NULL;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	return q;
}

/* @p at a value: just past it, or NULL if it is not valid JSON. */
static const char *json_skip_value(const char *p, int depth)
{
	static const char *const words[] = { "true", "false", "null" };
	char close;
	size_t i;

	if (depth > JSON_MAX_DEPTH)
		return NULL;
	switch (*p) {
	case '"':
		return json_skip_string(p);
	case '{':
	case '[':
		close = *p == '{' ? '}' : ']';
		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = json_skip_string(p);
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
				p = json_ws(p);
			}
			p = json_skip_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
			p = json_ws(p);
		}
	default:
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (!strncmp(p, words[i], strlen(words[i])))
				return p + strlen(words[i]);
		return json_skip_number(p);
	}
}

bool stress_json_valid(const char *json)
{
	const char *p;

	if (!json)
		return false;
	p = json_skip_value(json_ws(json), 0);
	return p && !*json_ws(p);
}

/* The member @key (@len chars) of the object at @p, or NULL. */
static const char *json_member(const char *p, const char *key, size_t len)
{
	const char *k;

	if (*p != '{')
		return NULL;
	p = json_ws(p + 1);
	while (*p == '"') {
		k = p + 1;
		p = json_skip_string(p);
		if (!p)
			return NULL;
		bool match = (size_t)(p - 1 - k) == len &&
			     !strncmp(k, key, len);
		p = json_ws(p);
		if (*p++ != ':')
			return NULL;
		p = json_ws(p);
		if (match)
			return p;
		p = json_skip_value(p, 0);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == ',')
			p = json_ws(p + 1);
	}
	return NULL;
}

/* Element @n of the array at @p, or NULL. */
static const char *json_element(const char *p, long n)
{
	if (*p != '[')
		return NULL;
	p = json_ws(p + 1);
	if (*p == ']')
		return NULL;
	for (; n > 0; n--) {
		p = json_skip_value(p, 0);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p != ',')
			return NULL;
		p = json_ws(p + 1);
	}
	return p;
}

const char *stress_json_at(const char *json, const char *path)
{
	const char *p, *q = path;
	size_t len;
	char *end;

	if (!json)
		return NULL;
	p = json_ws(json);
	while (p && *q) {
		if (*q == '.') {
			q++;
		} else if (*q == '[') {
			long n = strtol(q + 1, &end, 10);

			if (*end != ']')
				return NULL;
			p = json_element(p, n);
			q = end + 1;
		} else {
			len = strcspn(q, ".[");
			p = json_member(p, q, len);
			q += len;
		}
	}
	return p;
}

bool stress_json_num(const char *json, const char *path, double *val)
{
	const char *p = stress_json_at(json, path);

	if (!p || !json_skip_number(p))
		return false;
	*val = strtod(p, NULL);
	return true;
}

double stress_json_num_or(const char *json, const char *path, double dflt)
{
	double val;

	return stress_json_num(json, path, &val) ? val : dflt;
}

char *stress_json_str(const char *json, const char *path)
{
	const char *p = stress_json_at(json, path), *end;
	char *s, *o;

	if (!p || *p != '"' || !(end = json_skip_string(p)))
		return NULL;
	s = o = malloc(end - p);
	ck_assert_ptr_nonnull(s);
	for (p++; p < end - 1; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u': {
			unsigned int c = 0;

			sscanf(p + 1, "%4x", &c);
			*o++ = c && c < 0x80 ? (char)c : '?';
			p += 4;
			break;
		}
		default: /* \" \\ \/ and the rest as themselves */
			*o++ = *p;
			break;
		}
	}
	*o = '\0';
	return s;
}

int stress_json_bool(const char *json, const char *path)
{
	const char *p = stress_json_at(json, path);

	if (p && !strncmp(p, "true", 4))
		return 1;
	if (p && !strncmp(p, "false", 5))
		return 0;
	return -1;
}

int stress_json_len(const char *json, const char *path)
{
	const char *p = stress_json_at(json, path);
	char close;
	int n = 0;

	if (!p || (*p != '{' && *p != '['))
		return -1;
	close = *p == '{' ? '}' : ']';
	p = json_ws(p + 1);
	while (p && *p && *p != close) {
		if (close == '}') {
			p = json_skip_string(p);
			if (!p)
				return -1;
			p = json_ws(json_ws(p) + 1);
		}
		p = json_skip_value(p, 0);
		if (!p)
			return -1;
		n++;
		p = json_ws(p);
		if (*p == ',')
			p = json_ws(p + 1);
	}
	return n;
}

int stress_json_phase(const char *json, const char *name)
{
	char path[64], *s;
	int i, n = stress_json_len(json, "phases");

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "phases[%d].name", i);
		s = stress_json_str(json, path);
		if (s && !strcmp(s, name)) {
			free(s);
			return i;
		}
		free(s);
	}
	return -1;
}

double stress_phase_failures(const char *json, const char *phase,
			     const char *kind)
{
	char path[128];
	int i = stress_json_phase(json, phase);

	ck_assert_msg(i >= 0, "no phase '%s' in the JSON", phase);
	snprintf(path, sizeof(path), "phases[%d].failures.%s", i, kind);
	return stress_json_num_or(json, path, 0);
}

char *stress_json_failure_summary(const char *json, const char *object)
{
	const char *p = stress_json_at(json, object), *k, *v;
	char *out = strdup(""), *next;
	size_t len;

	ck_assert_ptr_nonnull(out);
	if (!p || *p != '{')
		return out;
	p = json_ws(p + 1);
	while (*p == '"') {
		k = p + 1;
		p = json_skip_string(p);
		if (!p)
			break;
		len = p - 1 - k;
		v = json_ws(json_ws(p) + 1);
		p = json_skip_value(v, 0);
		if (!p)
			break;
		if (strtod(v, NULL) != 0) {
			ck_assert_int_ge(asprintf(&next, "%s%s%.*s=%.0f", out,
						  *out ? " " : "", (int)len, k,
						  strtod(v, NULL)),
					 0);
			free(out);
			out = next;
		}
		p = json_ws(p);
		if (*p == ',')
			p = json_ws(p + 1);
	}
	return out;
}
