// SPDX-License-Identifier: GPL-2.0
/*
 * What the emulated CPUs of a steady-state run do: readers walk and check,
 * splitters change permissions and later restore them, collapsers fold.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "core/fold.h"
#include "core/pageattr.h"
#include "core/pagewalk.h"
#include "stress/roles.h"

static const char *const role_names[BBM_ROLE_NR] = {
	[BBM_ROLE_READER] = "reader",
	[BBM_ROLE_SPLITTER] = "splitter",
	[BBM_ROLE_COLLAPSER] = "collapser",
	[BBM_ROLE_BOOT] = "boot",
};

const char *bbm_role_name(enum bbm_role role)
{
	return (unsigned int)role < BBM_ROLE_NR ? role_names[role] : "?";
}

static bool run_stopping(struct bbm_run *run)
{
	return bbm_load_acquire(&run->stop);
}

#define WRITER_ACCESSES 8	/* accesses a writer makes between operations */

/* --- readers ------------------------------------------------------------ */

/* A page to access: near the writers' ranges (hot), or anywhere. */
static uint64_t reader_pick_va(struct bbm_run *run, struct bbm_cpu *cpu)
{
	struct bbm_system *sys = run->sys;
	uint64_t va;

	if (run->opt.va_pattern == BBM_VA_HOT &&
	    bbm_rand_below(&cpu->rng, 8)) {
		va = bbm_oracle_hot_va(&sys->oracle, &cpu->rng);
		if (bbm_map_contains(sys->map, va))
			return va;
	}
	return BBM_PAGE_OFFSET +
	       (bbm_rand_below(&cpu->rng, run->opt.mem >> BBM_PAGE_SHIFT)
		<< BBM_PAGE_SHIFT);
}

/* A prefetch target near the last access: same 2 MiB region. */
static uint64_t reader_spec_va(struct bbm_run *run, struct bbm_cpu *cpu)
{
	uint64_t va;

	if (!run->opt.spec_fill || !cpu->last_va ||
	    bbm_rand_below(&cpu->rng, run->opt.spec_fill))
		return 0;
	va = (cpu->last_va & ~(BBM_PMD_SIZE - 1)) +
	     (bbm_rand_below(&cpu->rng, BBM_PTRS_PER_TABLE) << BBM_PAGE_SHIFT);
	return bbm_map_contains(run->sys->map, va) ? va : 0;
}

/* One access, as any CPU running kernel code makes them. */
void bbm_run_access(struct bbm_run *run)
{
	struct bbm_cpu *cpu = bbm_this_cpu;
	uint64_t va = reader_pick_va(run, cpu);

	bbm_cpu_access(run->sys, va, reader_spec_va(run, cpu));
}

void bbm_reader_loop(struct bbm_run *run)
{
	while (!run_stopping(run)) {
		bbm_cpu_safe_point(run->sys);
		bbm_run_access(run);
	}
}

/* Writers touch memory between their operations too. */
static void writer_accesses(struct bbm_run *run)
{
	int i;

	for (i = 0; i < WRITER_ACCESSES; i++)
		bbm_run_access(run);
}

/* --- splitters ------------------------------------------------------------ */

static const struct {
	struct bbm_ps_change change;
	enum bbm_op inverse;
} op_table[BBM_NR_OPS] = {
	[BBM_OP_RO] = { { BBM_PS_RDONLY, 0, false }, BBM_OP_RW },
	[BBM_OP_RW] = { { 0, BBM_PS_RDONLY, false }, BBM_OP_RO },
	[BBM_OP_NX] = { { 0, BBM_PS_EXEC, false }, BBM_OP_X },
	[BBM_OP_X] = { { BBM_PS_EXEC, 0, false }, BBM_OP_NX },
	[BBM_OP_INVALID] = { { BBM_PS_INVALID, 0, true }, BBM_OP_VALID },
	[BBM_OP_VALID] = { { 0, BBM_PS_INVALID, true }, BBM_OP_INVALID },
	/* The realm calls end by making the pages valid, whatever before. */
	[BBM_OP_DECRYPT] = { { BBM_PS_SHARED, BBM_PS_INVALID, true },
			     BBM_OP_ENCRYPT },
	[BBM_OP_ENCRYPT] = { { 0, BBM_PS_SHARED | BBM_PS_INVALID, true },
			     BBM_OP_DECRYPT },
};

/* Run @op on the linear map through core/pageattr, as the kernel would. */
int bbm_run_op(struct bbm_map *map, enum bbm_op op, uint64_t va,
	       uint64_t pages)
{
	switch (op) {
	case BBM_OP_RO:
		return bbm_set_memory_ro(map, va, pages);
	case BBM_OP_RW:
		return bbm_set_memory_rw(map, va, pages);
	case BBM_OP_NX:
		return bbm_set_memory_nx(map, va, pages);
	case BBM_OP_X:
		return bbm_set_memory_x(map, va, pages);
	case BBM_OP_INVALID:
		return bbm_set_direct_map_invalid(map, va, pages);
	case BBM_OP_VALID:
		return bbm_set_direct_map_valid(map, va, pages);
	case BBM_OP_DECRYPT:
		return bbm_set_memory_decrypted(map, va, pages);
	case BBM_OP_ENCRYPT:
		return bbm_set_memory_encrypted(map, va, pages);
	default:
		return -EINVAL;
	}
}

struct verify_ctx {
	struct bbm_system *sys;
	uint64_t bad_va;
	bbm_desc_t bad_desc;
	int bad_level;
};

/* Each leaf of the range holds what the oracle says its pages are. */
static int verify_leaf(bbm_desc_t *ptep, uint64_t addr, uint64_t next,
		       struct bbm_walk *walk, int level)
{
	struct verify_ctx *ctx = walk->private;
	bbm_desc_t desc = bbm_load_acquire(ptep);
	uint64_t va;
	uint8_t ps;

	if (!bbm_desc_leaf(desc, level))
		return 0;
	walk->action = BBM_ACTION_CONTINUE;
	for (va = addr; va < next; va += BBM_PAGE_SIZE) {
		ps = bbm_oracle_state(&ctx->sys->oracle, va);
		/* A failed change leaves its pages unknown: not checked. */
		if ((ps & BBM_PS_LEAKED) ||
		    bbm_desc_attrs(desc) == bbm_ps_attrs(ps))
			continue;
		ctx->bad_va = va;
		ctx->bad_desc = desc;
		ctx->bad_level = level;
		return 1;
	}
	return 0;
}

static int verify_pud(bbm_desc_t *p, uint64_t a, uint64_t n,
		      struct bbm_walk *w)
{
	return verify_leaf(p, a, n, w, BBM_PUD);
}

static int verify_pmd(bbm_desc_t *p, uint64_t a, uint64_t n,
		      struct bbm_walk *w)
{
	return verify_leaf(p, a, n, w, BBM_PMD);
}

static int verify_pte(bbm_desc_t *p, uint64_t a, uint64_t n,
		      struct bbm_walk *w)
{
	return verify_leaf(p, a, n, w, BBM_PTE);
}

static const struct bbm_walk_ops verify_ops = {
	.pud_entry = verify_pud,
	.pmd_entry = verify_pmd,
	.pte_entry = verify_pte,
};

/*
 * Do the tables hold what the oracle says for the owned [start, end)?
 * Checked after a change returned (and was flushed), and again when the
 * range is owned next: a completed change must stay until changed again.
 */
static void splitter_verify(struct bbm_run *run, uint64_t start,
			    uint64_t end, enum bbm_op op, bool after)
{
	struct verify_ctx ctx = { .sys = run->sys };
	struct bbm_failure f;

	if (!bbm_walk_range(run->sys->map, start, end, &verify_ops, &ctx))
		return;
	memset(&f, 0, sizeof(f));
	f.kind = BBM_FAIL_LOST_UPDATE;
	f.va = ctx.bad_va;
	f.level = ctx.bad_level;
	f.nr_descs = 1;
	f.descs[0] = ctx.bad_desc;
	snprintf(f.msg, sizeof(f.msg),
		 "%s set_memory_%s(0x%llx, %llu): the tables hold attrs "
		 "0x%llx, not 0x%llx",
		 after ? "after" : "before", bbm_op_name(op),
		 (unsigned long long)start,
		 (unsigned long long)((end - start) >> BBM_PAGE_SHIFT),
		 (unsigned long long)bbm_desc_attrs(ctx.bad_desc),
		 (unsigned long long)bbm_ps_attrs(bbm_oracle_state(
			 &run->sys->oracle, ctx.bad_va)));
	bbm_system_fail(run->sys, &f);
}

/* Leaked pages are never touched again, as the kernel leaks them. */
static bool range_has_leaked(struct bbm_oracle *oracle, uint64_t start,
			     uint64_t end)
{
	uint64_t va;

	for (va = start; va < end; va += BBM_PAGE_SIZE)
		if (bbm_oracle_state(oracle, va) & BBM_PS_LEAKED)
			return true;
	return false;
}

int bbm_splitter_change(struct bbm_run *run, uint64_t start, uint64_t pages,
			enum bbm_op op)
{
	struct bbm_system *sys = run->sys;
	struct bbm_cpu *cpu = bbm_this_cpu;
	uint64_t end = start + (pages << BBM_PAGE_SHIFT);
	int phase = bbm_load_acquire(&run->phase);
	int ret;

	if (!bbm_oracle_own(&sys->oracle, cpu->id, start, end))
		return -EAGAIN;
	if (range_has_leaked(&sys->oracle, start, end)) {
		ret = -ENOENT;
		goto out_release;
	}
	splitter_verify(run, start, end, op, false);
	bbm_oracle_begin_change(&sys->oracle, cpu->id,
				&op_table[op].change);
	bbm_cpu_event(cpu, BBM_EV_CHANGE, start, end - start, -1);
	ret = bbm_run_op(sys->map, op, start,
			 (end - start) >> BBM_PAGE_SHIFT);
	bbm_cpu_event(cpu, BBM_EV_CHANGE_DONE, start, (uint64_t)ret, -1);
	bbm_oracle_end_change(&sys->oracle, cpu->id, !ret);
	bbm_stat_add(&cpu->stats.changes, 1);
	if (phase >= 0 && phase < BBM_NR_PHASES)
		bbm_fetch_add(ret ? &run->phases[phase].ops_failed :
				    &run->phases[phase].ops,
			      1);
	if (!ret)
		splitter_verify(run, start, end, op, true);
out_release:
	bbm_oracle_release(&sys->oracle, cpu->id);
	return ret;
}

static enum bbm_op splitter_pick_op(struct bbm_run *run, struct bbm_cpu *cpu)
{
	unsigned int total = 0, pick;
	int op;

	for (op = 0; op < BBM_NR_OPS; op++)
		total += run->opt.op_mix[op];
	pick = bbm_rand_below(&cpu->rng, total);
	for (op = 0; op < BBM_NR_OPS; op++) {
		if (pick < run->opt.op_mix[op])
			break;
		pick -= run->opt.op_mix[op];
	}
	return op;
}

#define SPLITTER_PENDING 4	/* changes made and not yet restored */

struct pending_change {
	uint64_t start;
	uint64_t end;
	enum bbm_op undo;
};

void bbm_splitter_loop(struct bbm_run *run)
{
	struct bbm_cpu *cpu = bbm_this_cpu;
	struct pending_change pending[SPLITTER_PENDING];
	struct pending_change *p;
	uint64_t pages, start, max_start;
	int nr_pending = 0, i;
	enum bbm_op op;

	while (!run_stopping(run)) {
		bbm_cpu_safe_point(run->sys);
		writer_accesses(run);
		/* Restore an older change half the time, and when full. */
		if (nr_pending == SPLITTER_PENDING ||
		    (nr_pending && bbm_rand_below(&cpu->rng, 2))) {
			i = bbm_rand_below(&cpu->rng, nr_pending);
			p = &pending[i];
			/* Done, or failed (then its pages are leaked). */
			if (bbm_splitter_change(run, p->start,
						(p->end - p->start) >>
							BBM_PAGE_SHIFT,
						p->undo) != -EAGAIN)
				pending[i] = pending[--nr_pending];
			continue;
		}
		/* One page to 4 MiB, log-uniform, anywhere in the map. */
		pages = 1ull << bbm_rand_below(&cpu->rng, 11);
		pages += bbm_rand_below(&cpu->rng, pages);
		max_start = (run->opt.mem >> BBM_PAGE_SHIFT) - pages;
		start = BBM_PAGE_OFFSET +
			(bbm_rand_below(&cpu->rng, max_start + 1)
			 << BBM_PAGE_SHIFT);
		op = splitter_pick_op(run, cpu);
		/* Only a change that took needs restoring. */
		if (bbm_splitter_change(run, start, pages, op))
			continue;
		pending[nr_pending].start = start;
		pending[nr_pending].end = start + (pages << BBM_PAGE_SHIFT);
		pending[nr_pending].undo = op_table[op].inverse;
		nr_pending++;
	}
}

/* --- collapsers -------------------------------------------------------- */

void bbm_collapser_loop(struct bbm_run *run)
{
	struct bbm_system *sys = run->sys;
	struct bbm_cpu *cpu = bbm_this_cpu;
	bool own = !(sys->cfg.bugs & BBM_BUG_FOLD_NO_OWN);
	uint64_t size, start, va;
	long folds;

	while (!run_stopping(run)) {
		bbm_cpu_safe_point(sys);
		writer_accesses(run);
		/* Mostly one PMD table's range; now and then a PUD table's. */
		size = bbm_rand_below(&cpu->rng, 64) ? BBM_PMD_SIZE :
						       BBM_PUD_SIZE;
		va = run->opt.va_pattern == BBM_VA_HOT ?
			     bbm_oracle_hot_va(&sys->oracle, &cpu->rng) :
			     0;
		if (!bbm_map_contains(sys->map, va))
			va = BBM_PAGE_OFFSET +
			     (bbm_rand_below(&cpu->rng,
					     run->opt.mem >> BBM_PAGE_SHIFT)
			      << BBM_PAGE_SHIFT);
		/*
		 * Without the exclusion, go for the table a permission
		 * change's walk has just reached and will write into.
		 */
		if (!own) {
			va = bbm_xchg(&sys->paused_walk_va, 0);
			if (!va) {
				sched_yield();
				continue;
			}
			size = BBM_PMD_SIZE;
		}
		start = va & ~(size - 1);
		if (start + size > sys->map->end) {
			sched_yield();
			continue;
		}
		/* The exclusion: a fold owns the table's whole range. */
		if (own && !bbm_oracle_own(&sys->oracle, cpu->id, start,
					   start + size)) {
			sched_yield();
			continue;
		}
		/* Announce the target and give the readers time to get there. */
		bbm_oracle_note_hot(&sys->oracle, start, start + size);
		bbm_sleep_ns(sys, sys->cfg.window_delay_ns);
		folds = bbm_collapse_range(sys->map, start, start + size);
		if (own)
			bbm_oracle_release(&sys->oracle, cpu->id);
		if (folds > 0) {
			bbm_stat_add(&cpu->stats.folds, folds);
			bbm_cpu_event(cpu, BBM_EV_FOLD, start, folds, -1);
		}
		/* A collapse scan holds the split lock: let splitters at it. */
		sched_yield();
	}
}
