/*
 * The cross-vCPU clock check, in the style of Linux's TSC warp check
 * (arch/x86/kernel/tsc_sync.c), on a guest clock: the vCPUs take turns at
 * one lock, each reads the clock inside it and compares with the last
 * value any vCPU stored there; a read earlier than that one is a step
 * back. Used by the SMP scenario (smp.c) and the standalone run
 * (standalone.c).
 */
#ifndef PVTIMER_GUEST_WARP_H
#define PVTIMER_GUEST_WARP_H

#include <stdint.h>

struct pvt_guest_warp {
    volatile uint32_t lock;
    volatile uint32_t done;
    volatile uint32_t last_cpu;
    int64_t last;
    uint64_t reads;     /* clock reads inside the lock */
    uint64_t pairs;     /* reads whose previous read was another vCPU's */
    uint64_t backwards; /* reads earlier than the previous read */
    uint64_t backwards_max;
};

/*
 * Runs the check on the calling vCPU (index me) until pairs reads
 * followed another vCPU's, reading the clock with now(ctx) (on this
 * vCPU). Every vCPU taking part calls it with the same w (zeroed before
 * any starts) and pairs; each returns when the count is reached. Either
 * mode; the vCPUs must all run (one preempted for good stalls the rest
 * only while it holds the lock, a few instructions).
 */
void pvt_guest_warp_run(struct pvt_guest_warp *w, unsigned int me,
                        uint64_t pairs, int64_t (*now)(void *), void *ctx);

#endif /* PVTIMER_GUEST_WARP_H */
