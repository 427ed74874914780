/*
 * The experiment protocol's hypercalls (pvtimer/pvexp.h), for a monitor's
 * hypercall table. Everything the guest sends is copied in first and
 * checked in the copy, as the monitor does with the platform's calls.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "exp.h"
#include "pvtimer/pvexp.h"
#include "pvtimer/pvtimer.h"

/* RESULT, type SAMPLES: count samples at data, every kind and flag known. */
static int32_t result_samples(struct pvt_vmm *vm, struct pvt_exp_server *srv,
                              const struct pvt_hc_result *a, bool *refused)
{
    struct pvt_result_sample batch[PVT_RESULT_BATCH_MAX]; /* 6 KiB */
    uint32_t i;

    if (a->count == 0 || a->count > PVT_RESULT_BATCH_MAX)
        return -PVT_HC_EINVAL;
    if (pvt_vmm_guest_read(vm, a->data, batch, a->count * sizeof(batch[0])))
        return -PVT_HC_EFAULT;
    for (i = 0; i < a->count; i++)
        if (batch[i].kind == 0 || batch[i].kind >= PVT_SAMPLE_KIND_MAX ||
            (batch[i].flags & ~PVT_SAMPLE_FLAGS))
            return -PVT_HC_EINVAL;
    if (srv->on_samples &&
        srv->on_samples(srv->ctx, pvt_vmm_vcpu_self(vm), batch, a->count) < 0)
        *refused = true;
    return 0;
}

/* RESULT, type DRIFT: count updates at data, each state a known one. */
static int32_t result_drift(struct pvt_vmm *vm, struct pvt_exp_server *srv,
                            const struct pvt_hc_result *a, bool *refused)
{
    struct pvt_result_drift u[PVT_RESULT_DRIFT_BATCH_MAX];
    uint32_t i;

    if (a->count == 0 || a->count > PVT_RESULT_DRIFT_BATCH_MAX)
        return -PVT_HC_EINVAL;
    if (pvt_vmm_guest_read(vm, a->data, u, a->count * sizeof(u[0])))
        return -PVT_HC_EFAULT;
    for (i = 0; i < a->count; i++)
        if (u[i].state > 3)
            return -PVT_HC_EINVAL;
    if (srv->on_drift && srv->on_drift(srv->ctx, u, a->count) < 0)
        *refused = true;
    return 0;
}

/* RESULT, type SUMMARY: one summary naming a strategy this build knows;
 * at most PVT_RESULT_RUNS_MAX of them per VM. */
static int32_t result_summary(struct pvt_vmm *vm, struct pvt_exp_server *srv,
                              const struct pvt_hc_result *a, bool *refused)
{
    struct pvt_result_summary sum;

    if (a->count != 1)
        return -PVT_HC_EINVAL;
    if (pvt_vmm_guest_read(vm, a->data, &sum, sizeof(sum)))
        return -PVT_HC_EFAULT;
    if (memchr(sum.strategy, '\0', sizeof(sum.strategy)) == NULL ||
        pvt_strategy_find(sum.strategy) == NULL)
        return -PVT_HC_EINVAL;
    if (srv->summaries >= (uint64_t)PVT_RESULT_RUNS_MAX * vm->nvcpu)
        return -PVT_HC_ENOSPC;
    srv->summaries++;
    if (srv->on_summary &&
        srv->on_summary(srv->ctx, pvt_vmm_vcpu_self(vm), &sum) < 0)
        *refused = true;
    return 0;
}

/* RESULT, type CLOCK: one clock check, its counts consistent (no more
 * pairs or steps back than reads). */
static int32_t result_clock(struct pvt_vmm *vm, struct pvt_exp_server *srv,
                            const struct pvt_hc_result *a, bool *refused)
{
    struct pvt_result_clock c;

    if (a->count != 1)
        return -PVT_HC_EINVAL;
    if (pvt_vmm_guest_read(vm, a->data, &c, sizeof(c)))
        return -PVT_HC_EFAULT;
    if (c.cross_pairs > c.reads || c.backwards > c.reads || c.tsc_stable > 1)
        return -PVT_HC_EINVAL;
    if (srv->on_clock && srv->on_clock(srv->ctx, &c) < 0)
        *refused = true;
    return 0;
}

/* RESULT: validated here, folded by the sinks; a sink's refusal stops the
 * VM. */
static int hc_result(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_result *a = args;
    struct pvt_exp_server *srv = ctx;
    bool refused = false;

    switch (a->type) {
    case PVT_RESULT_SAMPLES:
        a->ret = result_samples(vm, srv, a, &refused);
        break;
    case PVT_RESULT_DRIFT:
        a->ret = result_drift(vm, srv, a, &refused);
        break;
    case PVT_RESULT_SUMMARY:
        a->ret = result_summary(vm, srv, a, &refused);
        break;
    case PVT_RESULT_CLOCK:
        a->ret = result_clock(vm, srv, a, &refused);
        break;
    default:
        a->ret = -PVT_HC_EINVAL;
        break;
    }
    if (refused)
        return pvt_vmm_fail(vm, ECANCELED, "the guest's results were refused");
    return 0;
}

/* WORKLOAD: a chunk of the workload into the guest's buffer; the first
 * call marks the start of the guest's run (srv->started_at). */
static int hc_workload(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct pvt_hc_workload *a = args;
    struct pvt_exp_server *srv = ctx;
    uint32_t n = 0;

    a->total = srv->workload ? srv->workload_count : 0;
    a->count = 0;
    a->pad = 0;
    if (a->max_items == 0 || a->max_items > PVT_WORKLOAD_CHUNK_MAX) {
        a->ret = -PVT_HC_EINVAL;
        return 0;
    }
    if (!pvt_vmm_gpa_ok(vm, a->buf,
                        (uint64_t)a->max_items *
                            sizeof(struct pvt_workload_item))) {
        a->ret = -PVT_HC_EFAULT;
        return 0;
    }
    if (a->first < a->total)
        n = a->total - a->first < a->max_items ? a->total - a->first
                                               : a->max_items;
    if (n)
        pvt_vmm_guest_write(vm, a->buf, srv->workload + a->first,
                            (size_t)n * sizeof(struct pvt_workload_item));
    if (a->first == 0 && atomic_load(&srv->started_at) == 0) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        atomic_store(&srv->started_at,
                     (long long)ts.tv_sec * 1000000000 + ts.tv_nsec);
    }
    a->count = n;
    a->ret = 0;
    return 0;
}

/* Contract in exp.h. */
size_t pvt_exp_server_hypercalls(struct pvt_exp_server *srv,
                                 struct pvt_vmm_hypercall *table, size_t max)
{
    if (srv == NULL || table == NULL || max < PVT_EXP_SERVER_HYPERCALLS)
        return 0;
    table[0] = (struct pvt_vmm_hypercall){
        PVT_HC_RESULT, sizeof(struct pvt_hc_result), hc_result, srv};
    table[1] = (struct pvt_vmm_hypercall){
        PVT_HC_WORKLOAD, sizeof(struct pvt_hc_workload), hc_workload, srv};
    return PVT_EXP_SERVER_HYPERCALLS;
}
