// SPDX-License-Identifier: GPL-2.0
/*
 * The split policies of DOMAIN.md section 6: the top of
 * split_kernel_leaf_mapping() in each version of the kernel or the thread.
 */
#include <errno.h>
#include <string.h>

#include "core/policy.h"
#include "core/split.h"

static const char *const policy_names[BBM_POLICY_NR] = {
	[BBM_POLICY_NONE] = "none",
	[BBM_POLICY_V618] = "v6.18",
	[BBM_POLICY_OPTION1_RFC] = "option1-rfc",
	[BBM_POLICY_OPTION1] = "option1",
	[BBM_POLICY_OPTION2] = "option2",
	[BBM_POLICY_OPTION3] = "option3",
	[BBM_POLICY_BUSTED_LIVE] = "busted-live",
	[BBM_POLICY_BUSTED_NOHOTPLUG] = "busted-nohotplug",
};

const char *bbm_policy_name(enum bbm_policy policy)
{
	return (unsigned int)policy < BBM_POLICY_NR ? policy_names[policy] :
						       "?";
}

int bbm_policy_parse(const char *name)
{
	int policy;

	for (policy = 0; policy < BBM_POLICY_NR; policy++)
		if (!strcmp(name, policy_names[policy]))
			return policy;
	return -1;
}

bool bbm_policy_maps_pte_first(enum bbm_policy policy)
{
	return policy == BBM_POLICY_OPTION3;
}

bool bbm_policy_folds(enum bbm_policy policy)
{
	return policy == BBM_POLICY_OPTION3 || policy == BBM_POLICY_NONE;
}

bool bbm_cpu_supports_bbml2(struct bbm_system *sys)
{
	(void)sys;
	return bbm_this_cpu && bbm_this_cpu->core->bbml2_noabort;
}

bool bbm_system_supports_bbml2(struct bbm_system *sys)
{
	return bbm_load_acquire(&sys->caps_finalized) &&
	       bbm_load_acquire(&sys->early_cpus_bbml2);
}

static int num_online_cpus(struct bbm_system *sys)
{
	return bbm_load_acquire(&sys->num_online);
}

/* WARN_ON(...) in split_kernel_leaf_mapping(), then -EBUSY. */
static int refuse(struct bbm_system *sys, uint64_t start, uint64_t end,
		  const char *why)
{
	bbm_report_warn(&sys->report, BBM_FAIL_SPLIT_REFUSED, start,
			"WARNING: arch/arm64/mm/mmu.c split_kernel_leaf_mapping"
			"(0x%016llx, 0x%016llx): %s: -EBUSY",
			(unsigned long long)start, (unsigned long long)end,
			why);
	return -EBUSY;
}

/* a166563e7ec3: skip silently until the system is known to have it. */
static int gate_v618(struct bbm_system *sys, uint64_t start, uint64_t end)
{
	(void)start;
	(void)end;
	return bbm_system_supports_bbml2(sys) ? 1 : 0;
}

/*
 * The RFC as posted: its comment meant the second test for the
 * unfinalized window only, but as written it holds at run time too.
 */
static int gate_option1_rfc(struct bbm_system *sys, uint64_t start,
			    uint64_t end)
{
	(void)start;
	(void)end;
	if (bbm_load_acquire(&sys->caps_finalized) &&
	    !bbm_system_supports_bbml2(sys))
		return 0;
	if (num_online_cpus(sys) > 1 || !bbm_cpu_supports_bbml2(sys))
		return 0;
	return 1;
}

/* f12b435de2f2 (v7.1). */
static int gate_option1(struct bbm_system *sys, uint64_t start, uint64_t end)
{
	if (!sys->linear_map_requires_bbml2)
		return 0;
	if (!bbm_system_supports_bbml2(sys)) {
		if (bbm_load_acquire(&sys->caps_finalized))
			return 0;
		if (!bbm_load_acquire(&sys->page_alloc_available))
			return refuse(sys, start, end,
				      "page allocator not available");
		if (num_online_cpus(sys) > 1)
			return refuse(sys, start, end,
				      "secondary CPUs online before "
				      "capabilities are finalized");
	}
	return 1;
}

struct window_split {
	struct bbm_system *sys;
	uint64_t start;
	uint64_t end;
};

/*
 * The split, run by the boot CPU with every other online CPU parked; then,
 * as linear_map_split_to_ptes() does, a flush before they run again: a CPU
 * without BBML2_NOABORT must not come back to its old block entries.
 */
static int window_split_fn(void *arg)
{
	struct window_split *w = arg;
	int ret;

	ret = bbm_split_leaf_locked(w->sys->map, w->start);
	if (!ret)
		ret = bbm_split_leaf_locked(w->sys->map, w->end);
	bbm_flush_tlb_kernel_range(w->sys, BBM_PAGE_OFFSET, w->sys->map->end);
	return ret;
}

/* option2: in the window, split inside stop_machine(); else as option1. */
static int gate_option2(struct bbm_system *sys, uint64_t start, uint64_t end)
{
	struct window_split w = { sys, start, end };
	int ret;

	if (!sys->linear_map_requires_bbml2)
		return 0;
	if (bbm_system_supports_bbml2(sys))
		return 1;
	if (bbm_load_acquire(&sys->caps_finalized))
		return 0;
	if (!bbm_load_acquire(&sys->page_alloc_available))
		return refuse(sys, start, end, "page allocator not available");
	if (!bbm_load_acquire(&sys->secondaries_started))
		return 1;
	if ((start | end) & (BBM_PAGE_SIZE - 1))
		return -EINVAL;
	bbm_map_lock_split(sys->map);
	ret = bbm_stop_machine(sys, window_split_fn, &w);
	bbm_map_unlock_split(sys->map);
	return ret;
}

/* option3: PTEs until every CPU is known to have it; then live splits. */
static int gate_option3(struct bbm_system *sys, uint64_t start, uint64_t end)
{
	(void)start;
	(void)end;
	return bbm_system_supports_bbml2(sys) ? 1 : 0;
}

/* The negative control: split live whoever is running. */
static int gate_busted_live(struct bbm_system *sys, uint64_t start,
			    uint64_t end)
{
	(void)sys;
	(void)start;
	(void)end;
	return 1;
}

void bbm_policy_install(struct bbm_system *sys, enum bbm_policy policy)
{
	static int (*const gates[BBM_POLICY_NR])(struct bbm_system *,
						  uint64_t, uint64_t) = {
		[BBM_POLICY_V618] = gate_v618,
		[BBM_POLICY_OPTION1_RFC] = gate_option1_rfc,
		[BBM_POLICY_OPTION1] = gate_option1,
		[BBM_POLICY_OPTION2] = gate_option2,
		[BBM_POLICY_OPTION3] = gate_option3,
		[BBM_POLICY_BUSTED_LIVE] = gate_busted_live,
		[BBM_POLICY_BUSTED_NOHOTPLUG] = gate_option2,
	};

	sys->policy = policy;
	sys->split_gate = gates[policy];
	if (policy == BBM_POLICY_BUSTED_NOHOTPLUG)
		sys->cfg.bugs |= BBM_BUG_STOP_NO_HOTPLUG;
}
