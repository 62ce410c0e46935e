/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one report module: every violation and kernel-style warning the model
 * detects is a record here, counted by kind and passed to a sink.  core/
 * never prints; the sink (a program in stress/ or tools/) decides.
 */
#ifndef BBM_REPORT_H
#define BBM_REPORT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include "core/pte.h"

/* DOMAIN.md section 7, in that order. */
enum bbm_fail_kind {
	BBM_FAIL_TRANSLATION_FAULT,
	BBM_FAIL_TLB_CONFLICT_ABORT,
	BBM_FAIL_WRONG_TRANSLATION,
	BBM_FAIL_TABLE_UAF,
	BBM_FAIL_LOST_UPDATE,
	BBM_FAIL_PAGEATTR_WARN,
	BBM_FAIL_SPLIT_REFUSED,
	BBM_FAIL_STOP_MACHINE_TIMEOUT,
	/* Notes: consequences worth counting that are not failures. */
	BBM_NOTE_PAGES_LEAKED,	/* "Failed to decrypt memory ..." */
	BBM_NOTE_CPU_REFUSED,	/* "CPU%d: will not boot" */
	BBM_FAIL_NR_KINDS,
};

#define BBM_NR_FAILURE_KINDS BBM_NOTE_PAGES_LEAKED

#define BBM_REPORT_MSG_LEN 192
#define BBM_REPORT_KEEP 8	/* full records kept; later ones only counted */

struct bbm_failure {
	enum bbm_fail_kind kind;
	int cpu;		/* emulated CPU id, -1 when not known */
	const char *core;	/* its core type name, or NULL */
	uint64_t va;
	int level;		/* level of the descriptor at fault, or -1 */
	int nr_descs;
	bbm_desc_t descs[BBM_LEVELS];	/* descriptors read, top down */
	uint64_t seq;		/* global event sequence number, 0 if none */
	char msg[BBM_REPORT_MSG_LEN];	/* the kernel's words, one line */
};

typedef void (*bbm_report_sink_fn)(void *priv, const struct bbm_failure *f);

struct bbm_report {
	uint64_t counts[BBM_FAIL_NR_KINDS];
	uint64_t leaked_pages;	/* summed over BBM_NOTE_PAGES_LEAKED */
	pthread_mutex_t lock;	/* kept[] and the sink's calls */
	int nr_kept;
	struct bbm_failure kept[BBM_REPORT_KEEP];
	bbm_report_sink_fn sink;
	void *sink_priv;
	/* Fills in who saw it (CPU, core, event sequence), if anyone knows. */
	void (*annotate)(void *priv, struct bbm_failure *f);
	void *annotate_priv;
};

void bbm_report_init(struct bbm_report *report, bbm_report_sink_fn sink,
		     void *sink_priv);
void bbm_report_destroy(struct bbm_report *report);

const char *bbm_fail_kind_name(enum bbm_fail_kind kind);
/* The kind named @name (as printed), or -1. */
int bbm_fail_kind_parse(const char *name);

/* Count @f, keep it if there is room, and hand it to the sink. */
void bbm_report_add(struct bbm_report *report, const struct bbm_failure *f);

/* Shorthand for warnings without walk context: kind, VA, printf message. */
void bbm_report_warn(struct bbm_report *report, enum bbm_fail_kind kind,
		     uint64_t va, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

uint64_t bbm_report_count(const struct bbm_report *report,
			  enum bbm_fail_kind kind);
/* Failures only (section 7 kinds), notes not counted. */
uint64_t bbm_report_total(const struct bbm_report *report);

static inline int bbm_fail_kind_is_failure(enum bbm_fail_kind kind)
{
	return kind < BBM_NR_FAILURE_KINDS;
}

#endif /* BBM_REPORT_H */
