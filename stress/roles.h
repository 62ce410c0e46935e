/* SPDX-License-Identifier: GPL-2.0 */
/* What the emulated CPUs of a run do, by role. */
#ifndef BBM_STRESS_ROLES_H
#define BBM_STRESS_ROLES_H

#include "stress/run.h"

/* Each loops until run->stop; the calling thread is bound to its CPU. */
void bbm_reader_loop(struct bbm_run *run);
void bbm_splitter_loop(struct bbm_run *run);
void bbm_collapser_loop(struct bbm_run *run);

/* One memory access by the calling CPU (--va-pattern, --spec-fill). */
void bbm_run_access(struct bbm_run *run);

/*
 * Own [start, start + pages * 4K), apply @op, record the result in the
 * oracle, check the tables hold it (else lost-update), release.  Returns
 * the op's result, -EAGAIN if another CPU owned part of the range, or
 * -ENOENT if part of it was leaked by an earlier failure (left alone).
 */
int bbm_splitter_change(struct bbm_run *run, uint64_t start, uint64_t pages,
			enum bbm_op op);

/* Apply a permission-change op to [va, va + pages * 4K) of @map. */
int bbm_run_op(struct bbm_map *map, enum bbm_op op, uint64_t va,
	       uint64_t pages);

#endif /* BBM_STRESS_ROLES_H */
