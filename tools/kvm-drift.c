/*
 * `pvtimer drift --kvm`: the guest's TSC clocksource against kvmclock,
 * measured inside a VM under pvtimer's monitor by the guest's drift mode
 * (guest/drift.c), printed as `pvtimer drift` prints two host clocks.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "drift-report.h"

#ifdef PVT_HAVE_KVM
#include "exp.h"
#include "pvtimer/pvexp.h"
#include "vmm.h"

#define EXIT_NO_KVM 77

struct collect {
    struct pvt_drift_update *ups;
    size_t n, max;
    struct pvt_result_drift last;
    bool json;
};

/* Updates as they come (batches of up to 64); more than the measurement
 * can make stops the VM: a guest cannot make the monitor grow. */
static int on_drift(void *ctx, const struct pvt_result_drift *u, size_t n)
{
    struct collect *c = ctx;
    size_t i;

    for (i = 0; i < n; i++) {
        struct pvt_drift_update *d;

        if (c->n == c->max)
            return -1;
        d = &c->ups[c->n++];
        d->t_s = (double)u[i].t_ns / 1e9;
        d->offset_ns = u[i].offset_ns;
        d->freq_ppm = pvt_drift_report_ppm(u[i].slope_q48);
        d->delay_ns = u[i].delay_ns;
        d->state = (enum pvt_drift_state)u[i].state;
        c->last = u[i];
        if (!c->json)
            pvt_drift_report_update(d);
    }
    fflush(stdout);
    return 0;
}

/* Contract in commands.h. */
int pvt_kvm_drift(double duration_s, double interval_ms, double tsc_cal_ppm,
                  bool json)
{
    const char *guest = getenv("PVT_GUEST_PATH");
    struct pvt_vmm_config cfg;
    struct pvt_exp_server exp;
    struct pvt_vmm_hypercall hc[PVT_EXP_SERVER_HYPERCALLS];
    struct pvt_vmm *vm = calloc(1, sizeof(*vm));
    struct collect c;
    char cmdline[160], note[160];
    int rc = 1;

    memset(&c, 0, sizeof(c));
    c.json = json;
    /* one sample at the start, then one per interval: the guest counts
     * them (its own clock may be calibrated wrong) */
    c.max = (size_t)(duration_s * 1000 / interval_ms) + 1;
    c.ups = calloc(c.max, sizeof(*c.ups));
    if (vm == NULL || c.ups == NULL) {
        fprintf(stderr, "pvtimer drift: out of memory\n");
        free(vm);
        free(c.ups);
        return 1;
    }
    snprintf(cmdline, sizeof(cmdline),
             "drift interval_us=%lld samples=%zu tsc_cal_ppb=%lld",
             (long long)llround(interval_ms * 1e3), c.max,
             (long long)llround(tsc_cal_ppm * 1e3));
    memset(&cfg, 0, sizeof(cfg));
    cfg.guest_path = guest && *guest ? guest : PVT_GUEST_DEFAULT_PATH;
    cfg.mem_size = 64ull << 20;
    cfg.timeout_s = (unsigned int)(60 + 2 * duration_s);
    cfg.cmdline = cmdline;
    cfg.console_fd = STDERR_FILENO;
    cfg.kvm_path = getenv("PVT_KVM_DEVICE");
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
        rc = vm->kvm_unavailable ? EXIT_NO_KVM : 1;
        goto out;
    }
    if (!json) {
        snprintf(note, sizeof(note),
                 "inside a KVM guest: its TSC calibrated from the kvmclock "
                 "page%s",
                 tsc_cal_ppm != 0 ? ", with an injected error" : "");
        pvt_drift_report_header("guest TSC", "kvmclock", interval_ms,
                                duration_s, note);
        fflush(stdout);
    }
    if (pvt_vmm_run(vm) < 0) {
        fprintf(stderr, "pvtimer drift: %s\n", vm->err);
        goto out;
    }
    if (vm->guest_status != 0) {
        fprintf(stderr, "pvtimer drift: the guest exited with status %d\n",
                vm->guest_status);
        goto out;
    }
    {
        struct pvt_drift_final fin = {
            .offset_ns = c.last.offset_ns,
            .freq_ppm = pvt_drift_report_ppm(c.last.slope_q48),
            .state = (enum pvt_drift_state)c.last.state,
            .window = c.last.window,
            .steps = c.last.steps,
            .dropped = c.last.dropped,
        };
        if (pvt_drift_report_summary(json, "guest TSC", "kvmclock", c.ups, c.n,
                                     &fin) < 0) {
            fprintf(stderr, "pvtimer drift: out of memory\n");
            goto out;
        }
    }
    rc = 0;
out:
    pvt_vmm_destroy(vm);
    free(vm);
    free(c.ups);
    return rc;
}

#else /* !PVT_HAVE_KVM */

/* Contract in commands.h. */
int pvt_kvm_drift(double duration_s, double interval_ms, double tsc_cal_ppm,
                  bool json)
{
    (void)duration_s;
    (void)interval_ms;
    (void)tsc_cal_ppm;
    (void)json;
    fprintf(stderr, "pvtimer drift: KVM is not available: this build has no "
                    "KVM monitor (x86-64 Linux only)\n");
    return 77;
}

#endif
