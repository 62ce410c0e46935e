/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place where memory shared between emulated CPUs is loaded or
 * stored: descriptors, flags, counters.  The memory model is stated here once.
 *
 * C11 __atomic builtins throughout (ThreadSanitizer understands them):
 *  - descriptors are read by walkers with acquire loads, so that a table
 *    published by a release store is seen filled (the kernel's dsb(ishst)
 *    before publishing, and the walker's dependency ordering);
 *  - descriptors are written with release stores; a new table is filled
 *    with relaxed stores and made visible by one release store (publish);
 *  - statistics counters are relaxed read-modify-writes.
 */
#ifndef BBM_ACCESS_H
#define BBM_ACCESS_H

/* Walker load of a shared word: sees everything its writer published. */
#define bbm_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

/* Plain shared load without ordering (READ_ONCE). */
#define bbm_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* Store that orders all earlier stores before it (smp_store_release). */
#define bbm_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Plain shared store without ordering (WRITE_ONCE). */
#define bbm_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* Make a filled table visible: one release store of its descriptor. */
#define bbm_publish(p, v) bbm_store_release((p), (v))

/* Counters and tickets. */
#define bbm_fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define bbm_add_return(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define bbm_fetch_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define bbm_fetch_and(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
#define bbm_xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)

/* Compare-and-swap; on failure *expected receives the current value. */
#define bbm_cmpxchg(p, expected, v)                                      \
	__atomic_compare_exchange_n((p), (expected), (v), 0,             \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

/* A counter with one writer, read by others while it runs: no RMW. */
#define bbm_stat_add(p, v) bbm_store_relaxed((p), bbm_load_relaxed(p) + (v))

/* Full barrier (smp_mb, the DSB of a TLBI sequence). */
#define bbm_smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif /* BBM_ACCESS_H */
