/*
 * The workload the monitor draws and hands to the guest (pvexp.h's
 * PVT_HC_WORKLOAD), fetched in chunks: shared by the one-vCPU scenario
 * (scenario.c) and the SMP one (smp.c).
 */
#ifndef PVT_GUEST_WORKLOAD_H
#define PVT_GUEST_WORKLOAD_H

#include <stdint.h>

#include "pvtimer/pvexp.h"

/* Fetches the whole workload, calling store(ctx, i, item) for items 0 ..
 * total - 1 in order. Returns total (0: none was given), or -1 when the
 * monitor refuses the call or the workload holds more than max items
 * (said on the console). Not reentrant: one chunk buffer serves all
 * callers (the boot vCPU fetches before the others run). */
int pvt_guest_workload_fetch(uint32_t max,
                             void (*store)(void *ctx, uint32_t i,
                                           const struct pvt_workload_item *it),
                             void *ctx);

#endif
