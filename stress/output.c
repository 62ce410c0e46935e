// SPDX-License-Identifier: GPL-2.0
/*
 * What a run prints, rcutorture-style: a banner with every parameter, one
 * stats line per interval, an oops per failure, and one grep-able
 * "End of test: SUCCESS|FAILURE" line; and the same as JSON for tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/access.h"
#include "core/ptdump.h"
#include "stress/run.h"

/* --- counters ------------------------------------------------------------ */

void bbm_counters_sum(const struct bbm_run *run, struct bbm_counters *sum)
{
	const struct bbm_cpu_stats *s;
	uint64_t stop_ns;
	int i;

	memset(sum, 0, sizeof(*sum));
	if (!run->sys)
		return;
	/* Owners write their counters as they go: read each word once. */
	for (i = 0; i < run->sys->nr_cpus; i++) {
		s = &run->sys->cpus[i].stats;
		sum->accesses += bbm_load_relaxed(&s->accesses);
		sum->tlb_hits += bbm_load_relaxed(&s->tlb_hits);
		sum->walks += bbm_load_relaxed(&s->walks);
		sum->spec_fills += bbm_load_relaxed(&s->spec_fills);
		sum->skipped += bbm_load_relaxed(&s->skipped);
		sum->changes += bbm_load_relaxed(&s->changes);
		sum->splits += bbm_load_relaxed(&s->splits);
		sum->folds += bbm_load_relaxed(&s->folds);
		sum->tlbis += bbm_load_relaxed(&s->tlbis);
		sum->stop_machines += bbm_load_relaxed(&s->stop_machines);
		stop_ns = bbm_load_relaxed(&s->max_stop_ns);
		if (stop_ns > sum->max_stop_ns)
			sum->max_stop_ns = stop_ns;
		sum->parks += bbm_load_relaxed(&s->parks);
	}
	sum->table_pages = bbm_arena_total_in_use(run->sys->map->arena);
}

bool bbm_run_failed(const struct bbm_run *run)
{
	return run->sys && bbm_report_total(&run->sys->report) > 0;
}

/* --- a small string builder --------------------------------------------- */

struct strbuf {
	char *buf;
	size_t size;
	size_t len;	/* may exceed size - 1: then the text is cut */
};

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	size_t room = sb->len < sb->size ? sb->size - sb->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sb->buf + (room ? sb->len : 0), room, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len += n;
}

/* --- what the run is --------------------------------------------------- */

static const char *signal_name(int sig)
{
	static char buf[16];

	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	default:
		snprintf(buf, sizeof(buf), "SIG%d", sig);
		return buf;
	}
}

static const struct bbm_core_type *cpu_core(const struct bbm_run *run, int id)
{
	if (run->sys && id >= 0 && id < run->sys->nr_cpus)
		return run->sys->cpus[id].core;
	if (id >= 0 && id < run->opt.nr_mix)
		return run->opt.mix[id];
	return NULL;
}

/* Readers that run on a core without BBML2_NOABORT. */
static int nonbbml2_readers(const struct bbm_run *run)
{
	const struct bbm_core_type *core;
	int i, nr = 0;

	if (!run->sys)
		return run->opt.nonbbml2_readers;
	for (i = 0; i < run->nr_cpus; i++) {
		core = cpu_core(run, i);
		if (run->roles[i] == BBM_ROLE_READER && core &&
		    !core->bbml2_noabort)
			nr++;
	}
	return nr;
}

/* "cortex-x4:2,cortex-a520:2,cortex-x4:3": the cores in CPU order. */
static void cpu_mix_string(const struct bbm_run *run, struct strbuf *sb)
{
	const struct bbm_core_type *core, *prev = NULL;
	int i, count = 0;

	for (i = 0; i <= run->nr_cpus; i++) {
		core = i < run->nr_cpus ? cpu_core(run, i) : NULL;
		if (i && (core != prev || i == run->nr_cpus)) {
			sb_printf(sb, "%s%s:%d", sb->len ? "," : "",
				  prev ? prev->name : "?", count);
			count = 0;
		}
		prev = core;
		count++;
	}
}

static void op_mix_string(const struct bbm_options *opt, struct strbuf *sb)
{
	int op;

	for (op = 0; op < BBM_NR_OPS; op++)
		sb_printf(sb, "%s%s=%u", op ? "," : "", bbm_op_name(op),
			  opt->op_mix[op]);
}

/* "bbml2(auto)" when auto chose it, else the method asked for. */
static void split_method_string(const struct bbm_run *run, struct strbuf *sb)
{
	if (run->opt.split_method == BBM_SPLIT_AUTO)
		sb_printf(sb, "%s(auto)", bbm_split_method_name(run->method));
	else
		sb_printf(sb, "%s", bbm_split_method_name(run->method));
}

/* "cortex-a520,cortex-x4": the late CPUs. */
static void late_string(const struct bbm_options *opt, struct strbuf *sb)
{
	int i;

	if (!opt->nr_late)
		sb_printf(sb, "none");
	for (i = 0; i < opt->nr_late; i++)
		sb_printf(sb, "%s%s", i ? "," : "", opt->late[i]->name);
}

/* The boot scenario's own parameters. */
static void boot_params_string(const struct bbm_run *run, struct strbuf *sb)
{
	const struct bbm_options *opt = &run->opt;
	char delay[32];

	bbm_format_duration(delay, sizeof(delay), opt->online_delay_ns);
	sb_printf(sb, " policy=%s rodata=%s realm=%s early_decrypts=%d "
		  "decrypt_pages=%d window_ops=%d online_delay=%s late_cpus=",
		  bbm_policy_name(opt->policy),
		  opt->rodata_full ? "full" : "on", opt->realm ? "on" : "off",
		  opt->early_decrypts, opt->decrypt_pages, opt->window_ops,
		  delay);
	late_string(opt, sb);
}

/* The policy a report names: the boot policy, or the negative control. */
static const char *policy_string(const struct bbm_run *run)
{
	if (run->opt.scenario == BBM_SCENARIO_BOOT)
		return bbm_policy_name(run->opt.policy);
	if (run->opt.busted != BBM_BUSTED_NONE)
		return bbm_busted_name(run->opt.busted);
	return "none";
}

/* The banner's and the end line's "key=value ..." list. */
static void params_string(const struct bbm_run *run, struct strbuf *sb)
{
	const struct bbm_options *opt = &run->opt;
	char dur[32], mem[32], delay[32], mix[1024];
	struct strbuf mix_sb = { mix, sizeof(mix), 0 };

	bbm_format_duration(dur, sizeof(dur), opt->duration_ns);
	bbm_format_size(mem, sizeof(mem), opt->mem);
	bbm_format_duration(delay, sizeof(delay), opt->window_delay_ns);
	cpu_mix_string(run, &mix_sb);
	sb_printf(sb, "scenario=%s duration=%s seed=%" PRIu64 " mem=%s map=%s "
		  "cpus=%d readers=%d nonbbml2_readers=%d splitters=%d "
		  "collapsers=%d cpu_mix=%s split_method=",
		  bbm_scenario_name(opt->scenario), dur, opt->seed, mem,
		  bbm_map_name(opt->map_pte), run->nr_cpus, opt->readers,
		  nonbbml2_readers(run), opt->splitters, opt->collapsers,
		  mix);
	split_method_string(run, sb);
	sb_printf(sb, " park=%s tlb_entries=%u tlb_replace=%s spec_fill=%u "
		  "va_pattern=%s window_delay=%s op_mix=",
		  bbm_park_name(opt->park), opt->tlb_entries,
		  bbm_tlb_replace_name(opt->tlb_replace), opt->spec_fill,
		  bbm_va_pattern_name(opt->va_pattern), delay);
	op_mix_string(opt, sb);
	sb_printf(sb, " busted=%s", bbm_busted_name(opt->busted));
	if (opt->scenario == BBM_SCENARIO_BOOT)
		boot_params_string(run, sb);
}

/* --- text ---------------------------------------------------------------- */

#define LINE_MAX_LEN 4096

void bbm_print_banner(const struct bbm_run *run)
{
	const struct bbm_core_type *core;
	char line[LINE_MAX_LEN];
	struct strbuf sb = { line, sizeof(line), 0 };
	int i;

	if (run->opt.quiet)
		return;
	params_string(run, &sb);
	flockfile(run->out);
	fprintf(run->out, "bbmstress: %s\n", line);
	for (i = 0; i < run->nr_cpus; i++) {
		core = cpu_core(run, i);
		fprintf(run->out, "  CPU%d %s (%sBBML2_NOABORT) %s\n", i,
			core ? core->name : "?",
			core && core->bbml2_noabort ? "" : "no ",
			bbm_role_name(run->roles[i]));
	}
	fflush(run->out);
	funlockfile(run->out);
}

static double seconds(uint64_t ns)
{
	return ns / 1e9;
}

/* Time since the start: to the end if the run ended, else to now. */
static uint64_t elapsed_ns(const struct bbm_run *run)
{
	uint64_t end = run->end_ns ? run->end_ns : bbm_now_ns();

	return end > run->start_ns ? end - run->start_ns : 0;
}

void bbm_print_stats(const struct bbm_run *run)
{
	struct bbm_counters c;
	uint64_t failures;

	if (run->opt.quiet)
		return;
	bbm_counters_sum(run, &c);
	failures = run->sys ? bbm_report_total(&run->sys->report) : 0;
	fprintf(run->out,
		"[%5.1fs] walks=%" PRIu64 " tlb_hit=%.1f%% accesses=%" PRIu64
		" splits=%" PRIu64 " folds=%" PRIu64 " changes=%" PRIu64
		" tlbis=%" PRIu64 " stop_machines=%" PRIu64
		" table_pages=%" PRIu64 " failures=%" PRIu64 "\n",
		seconds(bbm_now_ns() - run->start_ns), c.walks,
		c.accesses ? 100.0 * c.tlb_hits / c.accesses : 0.0,
		c.accesses, c.splits, c.folds, c.changes, c.tlbis,
		c.stop_machines, c.table_pages, failures);
	fflush(run->out);
}

/* One CPU's ring event, read while its owner may be writing. */
struct seen_event {
	struct bbm_event ev;
	int cpu;
	int order;	/* in its ring, oldest first */
};

/* By time; equal stamps by CPU, then by position in the ring. */
static int seen_event_cmp(const void *a, const void *b)
{
	const struct seen_event *x = a, *y = b;

	if (x->ev.seq != y->ev.seq)
		return x->ev.seq < y->ev.seq ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Copy the events of @cpu's ring into @out; returns how many.  The owner
 * writes slot head % RING while it publishes head + 1: events whose slot
 * may have been rewritten during the copy (by the head read after it) are
 * dropped, as seqlock readers do.
 */
static int ring_copy(const struct bbm_cpu *cpu, struct seen_event *out)
{
	const struct bbm_event_ring *ring = &cpu->ring;
	const struct bbm_event *ev;
	uint64_t head, head2, first, i;
	int nr = 0;

	head = bbm_load_acquire(&ring->head);
	first = head > BBM_EVENT_RING ? head - BBM_EVENT_RING : 0;
	for (i = first; i < head; i++) {
		ev = &ring->ev[i & (BBM_EVENT_RING - 1)];
		out[nr].cpu = cpu->id;
		out[nr].order = nr;
		out[nr].ev.seq = bbm_load_relaxed(&ev->seq);
		out[nr].ev.va = bbm_load_relaxed(&ev->va);
		out[nr].ev.arg = bbm_load_relaxed(&ev->arg);
		out[nr].ev.type = bbm_load_relaxed(&ev->type);
		out[nr].ev.level = bbm_load_relaxed(&ev->level);
		nr++;
	}
	bbm_smp_mb();
	head2 = bbm_load_relaxed(&ring->head);
	/* Index i is safe while head2 - i < RING. */
	if (head2 - first >= BBM_EVENT_RING) {
		uint64_t drop = head2 - first - BBM_EVENT_RING + 1;

		if (drop > (uint64_t)nr)
			drop = nr;
		memmove(out, out + drop, (nr - drop) * sizeof(*out));
		nr -= drop;
	}
	return nr;
}

#define OOPS_EVENTS_PER_CPU 6	/* each CPU's last events in a report */

static void print_events(const struct bbm_run *run)
{
	const struct seen_event *s;
	struct seen_event *seen;
	int i, n, nr = 0;

	if (!run->sys || !run->sys->nr_cpus)
		return;
	seen = calloc((size_t)run->sys->nr_cpus * BBM_EVENT_RING,
		      sizeof(*seen));
	if (!seen) {
		fprintf(run->out, "Call trace: (no memory to gather events)\n");
		return;
	}
	/* Each CPU's newest events, so a busy reader cannot hide a writer. */
	for (i = 0; i < run->sys->nr_cpus; i++) {
		n = ring_copy(&run->sys->cpus[i], seen + nr);
		if (n > OOPS_EVENTS_PER_CPU) {
			memmove(seen + nr, seen + nr + n - OOPS_EVENTS_PER_CPU,
				OOPS_EVENTS_PER_CPU * sizeof(*seen));
			n = OOPS_EVENTS_PER_CPU;
		}
		nr += n;
	}
	qsort(seen, nr, sizeof(*seen), seen_event_cmp);
	fprintf(run->out, "Call trace (last %d events of each CPU, oldest "
			  "first):\n",
		OOPS_EVENTS_PER_CPU);
	/* Times relative to the last event: the report's moment is 0. */
	for (i = 0; i < nr; i++) {
		s = &seen[i];
		fprintf(run->out, "  %+10.3fus CPU%d %s va=0x%" PRIx64,
			((double)s->ev.seq - (double)seen[nr - 1].ev.seq) / 1e3,
			s->cpu, bbm_event_name(s->ev.type), s->ev.va);
		if (s->ev.type == BBM_EV_FAILURE)
			fprintf(run->out, " kind=%s",
				bbm_fail_kind_name(s->ev.arg));
		else
			fprintf(run->out, " arg=0x%" PRIx64, s->ev.arg);
		if (s->ev.level >= 0)
			fprintf(run->out, " level=%d", s->ev.level);
		fputc('\n', run->out);
	}
	if (!nr)
		fprintf(run->out, "  (no events)\n");
	free(seen);
}

/* "L1 0x... L2 0x...": top down, ending at the failing level if known. */
static void print_descs(FILE *out, const struct bbm_failure *f)
{
	int i, top = -1;

	if (f->nr_descs <= 0)
		return;
	if (f->level >= 0 && f->level - f->nr_descs + 1 >= 0)
		top = f->level - f->nr_descs + 1;
	fprintf(out, "descriptors:");
	for (i = 0; i < f->nr_descs && i < BBM_LEVELS; i++) {
		if (top >= 0)
			fprintf(out, " L%d 0x%016" PRIx64, top + i,
				f->descs[i]);
		else
			fprintf(out, " entry %d 0x%016" PRIx64, i,
				f->descs[i]);
	}
	fputc('\n', out);
}

void bbm_print_oops(const struct bbm_run *run, const struct bbm_failure *f)
{
	const struct bbm_core_type *core = NULL;
	const char *phase;
	char method[64];
	struct strbuf sb = { method, sizeof(method), 0 };
	FILE *out = run->out;

	if (run->opt.quiet)
		return;
	if (f->core)
		core = bbm_core_type_find(f->core);
	if (!core)
		core = cpu_core(run, f->cpu);
	phase = run->sys ? bbm_load_relaxed(&run->sys->phase) : NULL;
	split_method_string(run, &sb);

	flockfile(out);
	fprintf(out, "------------[ cut here ]------------\n");
	fprintf(out, "bbmstress: %s", bbm_fail_kind_name(f->kind));
	if (f->cpu >= 0 && core)
		fprintf(out, " on CPU%d (%s, %sBBML2_NOABORT)", f->cpu,
			core->name, core->bbml2_noabort ? "" : "no ");
	else if (f->cpu >= 0)
		fprintf(out, " on CPU%d", f->cpu);
	fputc('\n', out);
	fprintf(out, "VA 0x%016" PRIx64 " level ", f->va);
	if (f->level >= 0)
		fprintf(out, "%d", f->level);
	else
		fputc('-', out);
	fprintf(out, " phase %s split_method %s policy %s seed %" PRIu64 "\n",
		phase ? phase : "-", method, policy_string(run),
		run->opt.seed);
	if (f->msg[0])
		fprintf(out, "%.*s\n", (int)sizeof(f->msg), f->msg);
	print_descs(out, f);
	print_events(run);
	fprintf(out, "rerun: %s\n", run->opt.command);
	fprintf(out, "---[ end trace ]---\n");
	fflush(out);
	funlockfile(out);
}

void bbm_print_end(const struct bbm_run *run)
{
	char line[LINE_MAX_LEN];
	struct strbuf sb = { line, sizeof(line), 0 };
	uint64_t count;
	int kind;

	params_string(run, &sb);
	sb_printf(&sb, " elapsed=%.1fs failures=%" PRIu64,
		  seconds(elapsed_ns(run)),
		  run->sys ? bbm_report_total(&run->sys->report) : 0);
	for (kind = 0; run->sys && kind < BBM_FAIL_NR_KINDS; kind++) {
		count = bbm_report_count(&run->sys->report, kind);
		if (count)
			sb_printf(&sb, " %s=%" PRIu64,
				  bbm_fail_kind_name(kind), count);
	}
	if (run->interrupted)
		sb_printf(&sb, " interrupted=%s", signal_name(run->signal));
	fprintf(run->out, "End of test: %s %s\n",
		bbm_run_failed(run) ? "FAILURE" : "SUCCESS", line);
	fflush(run->out);
}

/* --- JSON ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s, or 0. */
static int utf8_len(const unsigned char *s)
{
	int len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* No overlongs, surrogates or code points past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int len;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*p) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(f, "\\u%04x", *p);
				break;
			}
			len = utf8_len(p);
			if (!len) {
				fputs("\\ufffd", f);
				break;
			}
			fwrite(p, 1, len, f);
			p += len;
			continue;
		}
		p++;
	}
	fputc('"', f);
}

static void json_key(FILE *f, const char *key, bool *first)
{
	fputs(*first ? "\n    " : ",\n    ", f);
	*first = false;
	json_string(f, key);
	fputs(": ", f);
}

static void json_key_string(FILE *f, const char *key, const char *val,
			    bool *first)
{
	json_key(f, key, first);
	json_string(f, val);
}

static void json_key_u64(FILE *f, const char *key, uint64_t val, bool *first)
{
	json_key(f, key, first);
	fprintf(f, "%" PRIu64, val);
}

static void json_params(FILE *f, const struct bbm_run *run)
{
	const struct bbm_options *opt = &run->opt;
	char buf[1024];
	struct strbuf sb = { buf, sizeof(buf), 0 };
	bool first = true;

	/* Values as on the command line, so a replay can feed them back. */
	fputs("{", f);
	json_key_string(f, "scenario", bbm_scenario_name(opt->scenario),
			&first);
	bbm_format_duration(buf, sizeof(buf), opt->duration_ns);
	json_key_string(f, "duration", buf, &first);
	json_key_u64(f, "seed", opt->seed, &first);
	bbm_format_size(buf, sizeof(buf), opt->mem);
	json_key_string(f, "mem", buf, &first);
	json_key_string(f, "map", bbm_map_name(opt->map_pte), &first);
	json_key_u64(f, "readers", opt->readers, &first);
	json_key(f, "nonbbml2-readers", &first);
	fprintf(f, "%d", nonbbml2_readers(run));
	json_key_u64(f, "splitters", opt->splitters, &first);
	json_key_u64(f, "collapsers", opt->collapsers, &first);
	cpu_mix_string(run, &sb);
	json_key_string(f, "cpu-mix", buf, &first);
	json_key_string(f, "split-method",
			bbm_split_method_name(opt->split_method), &first);
	json_key_string(f, "park", bbm_park_name(opt->park), &first);
	json_key_u64(f, "tlb-entries", opt->tlb_entries, &first);
	json_key_string(f, "tlb-replace",
			bbm_tlb_replace_name(opt->tlb_replace), &first);
	json_key_u64(f, "spec-fill", opt->spec_fill, &first);
	json_key_string(f, "va-pattern", bbm_va_pattern_name(opt->va_pattern),
			&first);
	bbm_format_duration(buf, sizeof(buf), opt->window_delay_ns);
	json_key_string(f, "window-delay", buf, &first);
	sb.len = 0;
	op_mix_string(opt, &sb);
	json_key_string(f, "op-mix", buf, &first);
	json_key_string(f, "busted", bbm_busted_name(opt->busted), &first);
	bbm_format_duration(buf, sizeof(buf), opt->stat_interval_ns);
	json_key_string(f, "stat-interval", buf, &first);
	json_key_string(f, "json", opt->json_path, &first);
	json_key(f, "keep-going", &first);
	fputs(opt->keep_going ? "true" : "false", f);
	json_key(f, "quiet", &first);
	fputs(opt->quiet ? "true" : "false", f);
	json_key_string(f, "replay", opt->replay_path, &first);
	if (opt->scenario == BBM_SCENARIO_BOOT) {
		json_key_string(f, "policy", bbm_policy_name(opt->policy),
				&first);
		json_key_string(f, "rodata", opt->rodata_full ? "full" : "on",
				&first);
		json_key(f, "realm", &first);
		fputs(opt->realm ? "true" : "false", f);
		json_key_u64(f, "early-decrypts", opt->early_decrypts, &first);
		json_key_u64(f, "decrypt-pages", opt->decrypt_pages, &first);
		json_key_u64(f, "window-ops", opt->window_ops, &first);
		bbm_format_duration(buf, sizeof(buf), opt->online_delay_ns);
		json_key_string(f, "online-delay", buf, &first);
		sb.len = 0;
		late_string(opt, &sb);
		json_key_string(f, "late-cpus", buf, &first);
	}
	fputs("\n  }", f);
}

/* The boot phases, each with its own failure counts. */
static void json_phases(FILE *f, const struct bbm_run *run)
{
	const struct bbm_phase_stats *ps;
	bool first_phase = true, first;
	int phase, kind;

	fputs("[", f);
	for (phase = 0; phase < BBM_NR_PHASES; phase++) {
		ps = &run->phases[phase];
		if (!ps->entered)
			continue;
		fputs(first_phase ? "\n    {" : ",\n    {", f);
		first_phase = false;
		first = true;
		json_key_string(f, "name", bbm_phase_name(phase), &first);
		json_key(f, "elapsed_s", &first);
		fprintf(f, "%.6f",
			seconds((ps->end_ns ? ps->end_ns : bbm_now_ns()) -
				ps->start_ns));
		json_key_u64(f, "ops", ps->ops, &first);
		json_key_u64(f, "ops_failed", ps->ops_failed, &first);
		json_key(f, "failures", &first);
		fputs("{", f);
		for (kind = 0, first = true; kind < BBM_FAIL_NR_KINDS; kind++)
			if (ps->end_ns && ps->failures[kind])
				json_key_u64(f, bbm_fail_kind_name(kind),
					     ps->failures[kind], &first);
		fputs("}}", f);
	}
	fputs(first_phase ? "]" : "\n  ]", f);
}

/* The map at the end: leaves per size and page-table memory. */
static void json_census(FILE *f, const struct bbm_run *run)
{
	struct bbm_census c;
	bool first = true;

	bbm_census(run->sys->map, &c);
	fputs("{", f);
	json_key_u64(f, "leaves_4k", c.leaves_4k, &first);
	json_key_u64(f, "leaves_64k_cont", c.leaves_64k_cont, &first);
	json_key_u64(f, "leaves_2m", c.leaves_2m, &first);
	json_key_u64(f, "leaves_32m_cont", c.leaves_32m_cont, &first);
	json_key_u64(f, "leaves_1g", c.leaves_1g, &first);
	json_key_u64(f, "invalid_leaves", c.invalid_leaves, &first);
	json_key_u64(f, "table_pages", c.tables[0] + c.tables[1] +
						c.tables[2] + c.tables[3],
		     &first);
	json_key_u64(f, "table_bytes", c.table_bytes, &first);
	json_key_u64(f, "tlb_reach_bytes", c.tlb_reach_bytes, &first);
	fputs("}", f);
}

static void json_cpus(FILE *f, const struct bbm_run *run)
{
	const struct bbm_core_type *core;
	int i;

	fputs("[", f);
	for (i = 0; i < run->nr_cpus; i++) {
		core = cpu_core(run, i);
		fprintf(f, "%s\n    {\"id\": %d, \"core\": ", i ? "," : "", i);
		json_string(f, core ? core->name : NULL);
		fprintf(f, ", \"bbml2_noabort\": %s, \"role\": ",
			core && core->bbml2_noabort ? "true" : "false");
		json_string(f, bbm_role_name(run->roles[i]));
		fputs("}", f);
	}
	fputs(run->nr_cpus ? "\n  ]" : "]", f);
}

static void json_counters(FILE *f, const struct bbm_run *run)
{
	struct bbm_counters c;
	bool first = true;

	bbm_counters_sum(run, &c);
	fputs("{", f);
	json_key_u64(f, "accesses", c.accesses, &first);
	json_key_u64(f, "tlb_hits", c.tlb_hits, &first);
	json_key_u64(f, "walks", c.walks, &first);
	json_key_u64(f, "spec_fills", c.spec_fills, &first);
	json_key_u64(f, "skipped", c.skipped, &first);
	json_key_u64(f, "changes", c.changes, &first);
	json_key_u64(f, "splits", c.splits, &first);
	json_key_u64(f, "folds", c.folds, &first);
	json_key_u64(f, "tlbis", c.tlbis, &first);
	json_key_u64(f, "stop_machines", c.stop_machines, &first);
	json_key_u64(f, "max_stop_ns", c.max_stop_ns, &first);
	json_key_u64(f, "parks", c.parks, &first);
	json_key_u64(f, "table_pages", c.table_pages, &first);
	fputs("\n  }", f);
}

static void json_failures(FILE *f, const struct bbm_run *run)
{
	bool first = true;
	int kind;

	fputs("{", f);
	for (kind = 0; kind < BBM_FAIL_NR_KINDS; kind++)
		json_key_u64(f, bbm_fail_kind_name(kind),
			     run->sys ? bbm_report_count(&run->sys->report,
							 kind) : 0,
			     &first);
	fputs("\n  }", f);
}

static void json_failure(FILE *f, const struct bbm_failure *fail)
{
	char msg[BBM_REPORT_MSG_LEN + 1];
	int i;

	fputs("{\"kind\": ", f);
	json_string(f, bbm_fail_kind_name(fail->kind));
	fputs(", \"cpu\": ", f);
	if (fail->cpu >= 0)
		fprintf(f, "%d", fail->cpu);
	else
		fputs("null", f);
	fputs(", \"core\": ", f);
	json_string(f, fail->core);
	/* 64-bit values as hex strings: JSON numbers lose them past 2^53. */
	fprintf(f, ", \"va\": \"0x%016" PRIx64 "\", \"level\": ", fail->va);
	if (fail->level >= 0)
		fprintf(f, "%d", fail->level);
	else
		fputs("null", f);
	fputs(", \"descs\": [", f);
	for (i = 0; i < fail->nr_descs && i < BBM_LEVELS; i++)
		fprintf(f, "%s\"0x%016" PRIx64 "\"", i ? ", " : "",
			fail->descs[i]);
	fprintf(f, "], \"seq\": %" PRIu64 ", \"msg\": ", fail->seq);
	/* msg is a fixed array: never read past it. */
	memcpy(msg, fail->msg, BBM_REPORT_MSG_LEN);
	msg[BBM_REPORT_MSG_LEN] = '\0';
	json_string(f, msg);
	fputs("}", f);
}

static void json_first_failures(FILE *f, const struct bbm_run *run)
{
	struct bbm_failure kept[BBM_REPORT_KEEP];
	struct bbm_report *report;
	int i, nr = 0;

	if (run->sys) {
		report = &run->sys->report;
		pthread_mutex_lock(&report->lock);
		nr = report->nr_kept;
		memcpy(kept, report->kept, nr * sizeof(*kept));
		pthread_mutex_unlock(&report->lock);
	}
	fputs("[", f);
	for (i = 0; i < nr; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		json_failure(f, &kept[i]);
	}
	fputs(nr ? "\n  ]" : "]", f);
}

static void json_write(FILE *f, const struct bbm_run *run)
{
	fprintf(f, "{\n  \"verdict\": \"%s\",\n  \"seed\": %" PRIu64 ",\n",
		bbm_run_failed(run) ? "FAILURE" : "SUCCESS", run->opt.seed);
	fputs("  \"command\": ", f);
	json_string(f, run->opt.command);
	fprintf(f, ",\n  \"interrupted\": %s,\n",
		run->interrupted ? "true" : "false");
	if (run->interrupted)
		fprintf(f, "  \"signal\": \"%s\",\n", signal_name(run->signal));
	fprintf(f, "  \"split_method_used\": \"%s\",\n",
		bbm_split_method_name(run->method));
	fprintf(f, "  \"elapsed_s\": %.3f,\n  \"first_failure_s\": ",
		seconds(elapsed_ns(run)));
	if (run->first_failure_ns)
		fprintf(f, "%.6f", seconds(run->first_failure_ns));
	else
		fputs("null", f);
	fputs(",\n  \"params\": ", f);
	json_params(f, run);
	fputs(",\n  \"cpus\": ", f);
	json_cpus(f, run);
	fputs(",\n  \"counters\": ", f);
	json_counters(f, run);
	fputs(",\n  \"failures\": ", f);
	json_failures(f, run);
	fprintf(f, ",\n  \"leaked_pages\": %" PRIu64 ",\n",
		run->sys ? bbm_load_relaxed(&run->sys->report.leaked_pages) :
			   0);
	if (run->opt.scenario == BBM_SCENARIO_BOOT) {
		fputs("  \"phases\": ", f);
		json_phases(f, run);
		fprintf(f, ",\n  \"repaints\": %" PRIu64
			   ",\n  \"folds_at_finalize\": %ld"
			   ",\n  \"table_pages_at_boot\": %" PRIu64 ",\n",
			run->repaints, run->folds_at_finalize,
			run->table_pages_at_boot);
	}
	if (run->sys) {
		fputs("  \"census\": ", f);
		json_census(f, run);
		fputs(",\n", f);
	}
	fputs("  \"first_failures\": ", f);
	json_first_failures(f, run);
	fputs("\n}\n", f);
}

int bbm_write_json(const struct bbm_run *run, const char *path)
{
	char *tmp = NULL;
	FILE *f;
	int fd, ret;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		ret = -errno;
		goto out_free;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto out_unlink;
	}
	errno = 0;
	json_write(f, run);
	/* Data on disk before the name: readers see the old or the new. */
	ret = 0;
	if (fflush(f) || ferror(f) || fsync(fd))
		ret = errno ? -errno : -EIO;
	if (fclose(f) && !ret)
		ret = errno ? -errno : -EIO;
	if (!ret && rename(tmp, path))
		ret = -errno;
out_unlink:
	if (ret)
		unlink(tmp);
out_free:
	free(tmp);
	return ret;
}
