// SPDX-License-Identifier: GPL-2.0
/* Failure and warning records: counted, kept, handed to one sink. */
#include <stdio.h>
#include <string.h>

#include "core/access.h"
#include "core/report.h"

static const char *const fail_kind_names[BBM_FAIL_NR_KINDS] = {
	[BBM_FAIL_TRANSLATION_FAULT] = "translation-fault",
	[BBM_FAIL_TLB_CONFLICT_ABORT] = "tlb-conflict-abort",
	[BBM_FAIL_WRONG_TRANSLATION] = "wrong-translation",
	[BBM_FAIL_TABLE_UAF] = "table-use-after-free",
	[BBM_FAIL_LOST_UPDATE] = "lost-update",
	[BBM_FAIL_PAGEATTR_WARN] = "pageattr-warn",
	[BBM_FAIL_SPLIT_REFUSED] = "split-refused",
	[BBM_FAIL_STOP_MACHINE_TIMEOUT] = "stop-machine-timeout",
	[BBM_NOTE_PAGES_LEAKED] = "pages-leaked",
	[BBM_NOTE_CPU_REFUSED] = "cpu-refused",
};

void bbm_report_init(struct bbm_report *report, bbm_report_sink_fn sink,
		     void *sink_priv)
{
	memset(report, 0, sizeof(*report));
	pthread_mutex_init(&report->lock, NULL);
	report->sink = sink;
	report->sink_priv = sink_priv;
}

void bbm_report_destroy(struct bbm_report *report)
{
	pthread_mutex_destroy(&report->lock);
}

const char *bbm_fail_kind_name(enum bbm_fail_kind kind)
{
	if ((unsigned int)kind >= BBM_FAIL_NR_KINDS)
		return "unknown";
	return fail_kind_names[kind];
}

int bbm_fail_kind_parse(const char *name)
{
	int kind;

	for (kind = 0; kind < BBM_FAIL_NR_KINDS; kind++)
		if (!strcmp(name, fail_kind_names[kind]))
			return kind;
	return -1;
}

void bbm_report_add(struct bbm_report *report, const struct bbm_failure *in)
{
	struct bbm_failure copy = *in, *f = &copy;

	if (report->annotate)
		report->annotate(report->annotate_priv, f);
	bbm_fetch_add(&report->counts[f->kind], 1);
	pthread_mutex_lock(&report->lock);
	if (report->nr_kept < BBM_REPORT_KEEP)
		report->kept[report->nr_kept++] = *f;
	if (report->sink)
		report->sink(report->sink_priv, f);
	pthread_mutex_unlock(&report->lock);
}

void bbm_report_warn(struct bbm_report *report, enum bbm_fail_kind kind,
		     uint64_t va, const char *fmt, ...)
{
	struct bbm_failure f = {
		.kind = kind,
		.cpu = -1,
		.va = va,
		.level = -1,
	};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f.msg, sizeof(f.msg), fmt, ap);
	va_end(ap);
	bbm_report_add(report, &f);
}

uint64_t bbm_report_count(const struct bbm_report *report,
			  enum bbm_fail_kind kind)
{
	return bbm_load_relaxed(&report->counts[kind]);
}

uint64_t bbm_report_total(const struct bbm_report *report)
{
	uint64_t total = 0;
	int kind;

	for (kind = 0; kind < BBM_NR_FAILURE_KINDS; kind++)
		total += bbm_load_relaxed(&report->counts[kind]);
	return total;
}
