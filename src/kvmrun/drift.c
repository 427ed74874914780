/*
 * `pvtimer drift --kvm`'s measurement: one VM whose guest runs its drift
 * mode (guest/drift.c: its TSC clocksource against kvmclock through the
 * estimator) and reports each update through the RESULT hypercall; the
 * updates go to the caller's sink as they come.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"
#include "kvmrun.h"
#include "pvtimer/pvexp.h"
#include "vmm.h"

struct collect {
    const struct pvt_kvmrun_drift_opts *o;
    struct pvt_result_drift *last;
    size_t n;
};

/* Updates as they come (batches of up to 64); more than the measurement
 * asked for stops the VM: a guest cannot make the monitor do more. */
static int on_drift(void *ctx, const struct pvt_result_drift *u, size_t n)
{
    struct collect *c = ctx;
    size_t i;

    for (i = 0; i < n; i++) {
        if (c->n == c->o->samples)
            return -1;
        c->n++;
        *c->last = u[i];
        if (c->o->on_update)
            c->o->on_update(c->o->ctx, &u[i]);
    }
    return 0;
}

/* Contract in kvmrun.h. */
int pvt_kvmrun_drift(const struct pvt_kvmrun_drift_opts *o,
                     struct pvt_result_drift *last, size_t *count)
{
    struct pvt_vmm_config cfg;
    struct pvt_exp_server exp;
    struct pvt_vmm_hypercall hc[PVT_EXP_SERVER_HYPERCALLS];
    struct pvt_vmm *vm;
    struct collect c;
    char cmdline[160];
    int rc = 1;

    if (!o || !o->guest || !last || !count || o->samples == 0 ||
        !(o->interval_ms > 0) || !isfinite(o->tsc_cal_ppm)) {
        fprintf(stderr, "pvtimer drift: bad measurement options\n");
        return 1;
    }
    vm = calloc(1, sizeof(*vm));
    if (vm == NULL) {
        fprintf(stderr, "pvtimer drift: out of memory\n");
        return 1;
    }
    memset(last, 0, sizeof(*last));
    *count = 0;
    c = (struct collect){.o = o, .last = last};
    snprintf(cmdline, sizeof(cmdline),
             "drift interval_us=%lld samples=%zu tsc_cal_ppb=%lld",
             (long long)llround(o->interval_ms * 1e3), o->samples,
             (long long)llround(o->tsc_cal_ppm * 1e3));
    memset(&cfg, 0, sizeof(cfg));
    cfg.guest_path = o->guest;
    cfg.mem_size = 64ull << 20;
    cfg.timeout_s =
        (unsigned int)(60 + 2 * (double)o->samples * o->interval_ms / 1000);
    cfg.cmdline = cmdline;
    cfg.console_fd = o->console_fd;
    cfg.kvm_path = o->kvm_path;
    memset(&exp, 0, sizeof(exp));
    exp.on_drift = on_drift;
    exp.ctx = &c;
    cfg.hypercalls = hc;
    cfg.hypercall_count =
        pvt_exp_server_hypercalls(&exp, hc, PVT_EXP_SERVER_HYPERCALLS);
    cfg.no_timers = true; /* no periodic timer waking the measurement */
    if (pvt_vmm_init(vm, &cfg) < 0 || pvt_vmm_elf_load(vm) < 0 ||
        pvt_vmm_kvm_setup(vm) < 0) {
        fprintf(stderr, "pvtimer drift: %s\n", vm->err);
        rc = vm->kvm_unavailable ? PVT_KVMRUN_NO_KVM : 1;
        goto out;
    }
    if (o->on_start)
        o->on_start(o->ctx);
    if (pvt_vmm_run(vm) < 0) {
        fprintf(stderr, "pvtimer drift: %s\n", vm->err);
        goto out;
    }
    if (vm->guest_status != 0) {
        fprintf(stderr, "pvtimer drift: the guest exited with status %d\n",
                vm->guest_status);
        goto out;
    }
    *count = c.n;
    rc = 0;
out:
    pvt_vmm_destroy(vm);
    free(vm);
    return rc;
}
