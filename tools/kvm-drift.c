/*
 * `pvtimer drift --kvm`: the guest's TSC clocksource against kvmclock,
 * measured inside a VM (src/kvmrun/drift.c), printed as `pvtimer drift`
 * prints two host clocks.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "commands.h"
#include "drift-report.h"

#ifdef PVT_HAVE_KVM
#include "kvmrun/kvmrun.h"
#include "pvtimer/pvexp.h"

struct print {
    struct pvt_drift_update *ups;
    size_t n, max;
    bool json;
    double interval_ms, duration_s, tsc_cal_ppm;
};

static void on_start(void *ctx)
{
    struct print *p = ctx;
    char note[160];

    if (p->json)
        return;
    snprintf(note, sizeof(note),
             "inside a KVM guest: its TSC calibrated from the kvmclock "
             "page%s",
             p->tsc_cal_ppm != 0 ? ", with an injected error" : "");
    pvt_drift_report_header("guest TSC", "kvmclock", p->interval_ms,
                            p->duration_s, note);
    fflush(stdout);
}

static void on_update(void *ctx, const struct pvt_result_drift *u)
{
    struct print *p = ctx;
    struct pvt_drift_update *d;

    if (p->n == p->max) /* cannot happen: the run stops the guest first */
        return;
    d = &p->ups[p->n++];
    d->t_s = (double)u->t_ns / 1e9;
    d->offset_ns = u->offset_ns;
    d->freq_ppm = pvt_drift_report_ppm(u->slope_q48);
    d->delay_ns = u->delay_ns;
    d->state = (enum pvt_drift_state)u->state;
    if (!p->json) {
        pvt_drift_report_update(d);
        fflush(stdout);
    }
}

/* Contract in commands.h. */
int pvt_kvm_drift(double duration_s, double interval_ms, double tsc_cal_ppm,
                  bool json)
{
    const char *guest = getenv("PVT_GUEST_PATH");
    struct print p = {.json = json,
                      .interval_ms = interval_ms,
                      .duration_s = duration_s,
                      .tsc_cal_ppm = tsc_cal_ppm};
    struct pvt_kvmrun_drift_opts o = {
        .guest = guest && *guest ? guest : PVT_GUEST_DEFAULT_PATH,
        .kvm_path = getenv("PVT_KVM_DEVICE"),
        .console_fd = STDERR_FILENO,
        .interval_ms = interval_ms,
        .tsc_cal_ppm = tsc_cal_ppm,
        .on_start = on_start,
        .on_update = on_update,
        .ctx = &p,
    };
    struct pvt_result_drift last;
    size_t count;
    int rc;

    /* one sample at the start, then one per interval: the guest counts
     * them (its own clock may be calibrated wrong) */
    p.max = o.samples = (size_t)(duration_s * 1000 / interval_ms) + 1;
    p.ups = calloc(p.max, sizeof(*p.ups));
    if (p.ups == NULL) {
        fprintf(stderr, "pvtimer drift: out of memory\n");
        return 1;
    }
    rc = pvt_kvmrun_drift(&o, &last, &count);
    if (rc == 0) {
        struct pvt_drift_final fin = {
            .offset_ns = last.offset_ns,
            .freq_ppm = pvt_drift_report_ppm(last.slope_q48),
            .state = (enum pvt_drift_state)last.state,
            .window = last.window,
            .steps = last.steps,
            .dropped = last.dropped,
        };
        if (pvt_drift_report_summary(json, "guest TSC", "kvmclock", p.ups, p.n,
                                     &fin) < 0) {
            fprintf(stderr, "pvtimer drift: out of memory\n");
            rc = 1;
        }
    }
    free(p.ups);
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
