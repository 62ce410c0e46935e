// SPDX-License-Identifier: GPL-2.0
/*
 * --replay FILE.json: rerun a recorded run with the same parameters and
 * seed, and say whether its failure came back.  The JSON's "command" is the
 * exact command line; it is split as a shell would split what
 * bbm_options_parse() quoted, and parsed again from the defaults.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress/scenario.h"

#define REPLAY_MAX_JSON (16u << 20)
#define REPLAY_MAX_ARGS 256

/* The whole file, NUL-terminated; NULL with a message on error. */
static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0, got;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bbmstress: --replay %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(REPLAY_MAX_JSON + 1);
	if (!buf)
		goto out_close;
	while ((got = fread(buf + len, 1, REPLAY_MAX_JSON - len, f)) > 0)
		len += got;
	if (ferror(f) || len == REPLAY_MAX_JSON) {
		fprintf(stderr, "bbmstress: --replay %s: cannot read it whole\n",
			path);
		free(buf);
		buf = NULL;
		goto out_close;
	}
	buf[len] = '\0';
out_close:
	fclose(f);
	return buf;
}

/*
 * The JSON string value of the first "key":, unescaped
 * into @out.  Enough JSON for what output.c writes; -1 if absent or bad.
 */
static int json_string_field(const char *json, const char *key, char *out,
			     size_t size)
{
	char pattern[64];
	const char *p;
	size_t n = 0;

	snprintf(pattern, sizeof(pattern), "\"%s\": \"", key);
	p = strstr(json, pattern);
	if (!p)
		return -1;
	for (p += strlen(pattern); *p && *p != '"'; p++) {
		if (n + 1 >= size)
			return -1;
		if (*p == '\\') {
			p++;
			switch (*p) {
			case 'n':
				out[n++] = '\n';
				break;
			case 't':
				out[n++] = '\t';
				break;
			case '"':
			case '\\':
			case '/':
				out[n++] = *p;
				break;
			default:
				/* \u escapes: not in commands we write. */
				return -1;
			}
			continue;
		}
		out[n++] = *p;
	}
	if (*p != '"')
		return -1;
	out[n] = '\0';
	return 0;
}

/* Split @cmd in place as sh would: spaces, and '...' (with '\'' inside). */
static int split_command(char *cmd, char **argv, int max)
{
	char *in = cmd, *out;
	int argc = 0;

	while (*in) {
		while (*in == ' ')
			in++;
		if (!*in)
			break;
		if (argc == max - 1)
			return -1;
		argv[argc++] = out = in;
		while (*in && *in != ' ') {
			if (*in == '\'') {
				for (in++; *in && *in != '\''; )
					*out++ = *in++;
				if (*in != '\'')
					return -1;
				in++;
			} else if (*in == '\\' && in[1]) {
				*out++ = in[1];
				in += 2;
			} else {
				*out++ = *in++;
			}
		}
		if (*in)
			in++;
		*out = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

int bbm_replay_load(struct bbm_options *opt, struct bbm_replay *replay)
{
	const struct bbm_options outer = *opt;
	char *json, *argv[REPLAY_MAX_ARGS];
	char verdict[16], first[64];
	int argc, ret = -1;

	json = slurp(outer.replay_path);
	if (!json)
		return -1;
	memset(replay, 0, sizeof(*replay));
	if (json_string_field(json, "command", replay->command,
			      sizeof(replay->command)) ||
	    strncmp(replay->command, "bbmstress", 9) ||
	    json_string_field(json, "verdict", verdict, sizeof(verdict))) {
		fprintf(stderr,
			"bbmstress: --replay %s: not a bbmstress JSON (no "
			"\"command\" and \"verdict\")\n",
			outer.replay_path);
		goto out_free;
	}
	replay->failed = !strcmp(verdict, "FAILURE");
	if (!json_string_field(json, "kind", first, sizeof(first)))
		replay->kind = bbm_fail_kind_parse(first);
	else
		replay->kind = -1;
	sscanf(strstr(json, "\"first_failure_s\": ") ?
		       strstr(json, "\"first_failure_s\": ") + 19 :
		       "null",
	       "%lf", &replay->first_failure_s);

	/* The recorded command, parsed afresh, from its own defaults. */
	strcpy(replay->args, replay->command);
	argc = split_command(replay->args, argv, REPLAY_MAX_ARGS);
	if (argc < 1) {
		fprintf(stderr, "bbmstress: --replay %s: cannot split its "
				"command\n",
			outer.replay_path);
		goto out_free;
	}
	bbm_options_default(opt);
	if (bbm_options_parse(opt, argc, argv)) {
		fprintf(stderr, "bbmstress: --replay %s: its command does not "
				"parse (above)\n",
			outer.replay_path);
		goto out_free;
	}
	/* Output goes where this invocation says, never over the record. */
	opt->json_path = outer.json_path;
	opt->quiet = outer.quiet;
	opt->replay_path = outer.replay_path;
	ret = 0;
out_free:
	free(json);
	return ret;
}

void bbm_replay_report(const struct bbm_run *run,
		       const struct bbm_replay *replay)
{
	const struct bbm_failure *first = NULL;
	struct bbm_report *report = &run->sys->report;
	int i;

	for (i = 0; i < report->nr_kept && !first; i++)
		if (bbm_fail_kind_is_failure(report->kept[i].kind))
			first = &report->kept[i];
	fprintf(run->out, "replay: recorded %s", replay->failed ? "FAILURE" :
								  "SUCCESS");
	if (replay->failed && replay->kind >= 0)
		fprintf(run->out, " (%s after %.3f s)",
			bbm_fail_kind_name(replay->kind),
			replay->first_failure_s);
	if (!first) {
		fprintf(run->out, "; this run: no failure%s\n",
			replay->failed ? ": the failure did not come back" :
					 "");
		return;
	}
	fprintf(run->out, "; this run: %s after %.3f s: %s\n",
		bbm_fail_kind_name(first->kind),
		run->first_failure_ns / 1e9,
		!replay->failed ? "a new failure" :
		(int)first->kind == replay->kind ?
				  "the failure came back" :
				  "a different failure");
}
