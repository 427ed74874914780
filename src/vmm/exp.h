/*
 * The monitor side of pvtimer's experiment protocol (pvtimer/pvexp.h): the
 * RESULT and WORKLOAD hypercalls, validated here and handed to the
 * experiment's sinks, registered in a monitor through its hypercall table
 * (vmm.h). The monitor itself knows nothing of them.
 *
 * Use: fill a struct pvt_exp_server, let pvt_exp_server_hypercalls fill
 * entries of a table, point pvt_vmm_config.hypercalls at it, then
 * pvt_vmm_init and the rest as usual.
 */
#ifndef PVTIMER_VMM_EXP_H
#define PVTIMER_VMM_EXP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pvtimer/pvexp.h"
#include "vmm.h"

/* Table entries pvt_exp_server_hypercalls fills. */
#define PVT_EXP_SERVER_HYPERCALLS 2u

struct pvt_exp_server {
    /* The sinks, called on the reporting vCPU's thread (vcpu: its index)
     * with validated results, one at a time (the monitor serialises
     * handlers); each may be NULL: those results are dropped. A negative
     * return refuses them and stops the VM. */
    int (*on_samples)(void *ctx, unsigned int vcpu,
                      const struct pvt_result_sample *s, size_t n);
    int (*on_summary)(void *ctx, unsigned int vcpu,
                      const struct pvt_result_summary *sum);
    int (*on_drift)(void *ctx, const struct pvt_result_drift *u, size_t n);
    int (*on_clock)(void *ctx, const struct pvt_result_clock *c);
    void *ctx;
    /* the scenario's workload for WORKLOAD calls (may be NULL: none) */
    const struct pvt_workload_item *workload;
    uint32_t workload_count;
    /* kept by the handlers: summaries accepted, at most
     * PVT_RESULT_RUNS_MAX per vCPU */
    uint64_t summaries;
    /* CLOCK_MONOTONIC ns of the guest's first WORKLOAD call (its scenario
     * run starts then, and fault schedules count from it), or 0 before;
     * set on the vCPU thread, read by any. */
    atomic_llong started_at;
};

/*
 * Fills table[0 .. PVT_EXP_SERVER_HYPERCALLS - 1] with the handlers of
 * RESULT and WORKLOAD, their context srv (which must outlive the VM).
 * Returns the number of entries filled, for pvt_vmm_config's
 * hypercall_count: PVT_EXP_SERVER_HYPERCALLS, or 0 (nothing filled) when
 * srv or table is NULL or max is below PVT_EXP_SERVER_HYPERCALLS. Any
 * thread; not while a VM uses srv.
 */
size_t pvt_exp_server_hypercalls(struct pvt_exp_server *srv,
                                 struct pvt_vmm_hypercall *table, size_t max);

#endif /* PVTIMER_VMM_EXP_H */
