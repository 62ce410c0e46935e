/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Split policies: what split_kernel_leaf_mapping() does before and after
 * the CPUs' capabilities are final (DOMAIN.md section 6), as a gate on the
 * system, with the kernel's return values and warnings.
 */
#ifndef BBM_POLICY_H
#define BBM_POLICY_H

#include <stdbool.h>

#include "core/system.h"

enum bbm_policy {
	BBM_POLICY_NONE,	/* steady state: always split */
	BBM_POLICY_V618,	/* a166563e7ec3 as first merged */
	BBM_POLICY_OPTION1_RFC,	/* the RFC in the March 2026 thread */
	BBM_POLICY_OPTION1,	/* f12b435de2f2, merged in v7.1 */
	BBM_POLICY_OPTION2,	/* split in stop_machine() in the window */
	BBM_POLICY_OPTION3,	/* PTEs at boot, collapse once all have it */
	/* Negative controls: never safe. */
	BBM_POLICY_BUSTED_LIVE,		/* always split live, any CPU mix */
	BBM_POLICY_BUSTED_NOHOTPLUG,	/* option2 without the hotplug lock */
	BBM_POLICY_NR,
};

const char *bbm_policy_name(enum bbm_policy policy);
/* The policy named @name, or -1. */
int bbm_policy_parse(const char *name);

/* Does this policy map with PTEs at boot whatever the boot CPU? */
bool bbm_policy_maps_pte_first(enum bbm_policy policy);
/* May this policy fold the map (option3 only)? */
bool bbm_policy_folds(enum bbm_policy policy);

/* cpu_supports_bbml2_noabort(): the calling CPU is on the allow list. */
bool bbm_cpu_supports_bbml2(struct bbm_system *sys);
/* system_supports_bbml2_noabort(): false until caps are final. */
bool bbm_system_supports_bbml2(struct bbm_system *sys);

/* Install @policy as @sys's split gate. */
void bbm_policy_install(struct bbm_system *sys, enum bbm_policy policy);

#endif /* BBM_POLICY_H */
