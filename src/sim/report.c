/*
 * Simulator output.
 */
#include "report.h"

#include <math.h>
#include <string.h>

const char *pvt_sim_format_ns(char *buf, size_t len, double ns, bool compact)
{
    double a = fabs(ns);
    const char *unit = "ns";
    double v = ns;

    if (a >= 1e9) {
        unit = "s";
        v = ns / 1e9;
    } else if (a >= 1e6) {
        unit = "ms";
        v = ns / 1e6;
    } else if (a >= 1e3) {
        unit = "us";
        v = ns / 1e3;
    }
    if (compact)
        snprintf(buf, len, "%.3g %s", v, unit);
    else
        snprintf(buf, len, "%.*f %s",
                 unit[0] == 'n'   ? 0
                 : unit[0] == 's' ? 2
                                  : 1,
                 v, unit);
    return buf;
}

static const char *human(char *buf, size_t len, double ns)
{
    return pvt_sim_format_ns(buf, len, ns, false);
}

double pvt_sim_boot_drift_ppm(const struct pvt_sim_params *p)
{
    /* a TSC calibrated c ppm high counts 1 / (1 + c) as fast: about -c */
    double d;

    if (p == NULL)
        return 0;
    d = p->boot_clock == PVT_SIM_BOOT_TSC ? -p->tsc_cal_ppm : p->boot_drift_ppm;

    return d + 0.0; /* never -0 */
}

double pvt_sim_guest_drift_ppm(int64_t freq_ppb)
{
    /* the estimator's rate is the hypervisor clock's in guest time, r;
     * the guest clock's in hypervisor time is 1 / r */
    return (1 / (1 + (double)freq_ppb / 1e9) - 1) * 1e6;
}

/* Largest |mean aim| of a bin in the first and the last quarter of the
 * bins that saw programmings after the boot phase (means, so that a rare
 * preempted programming does not read as a trend). */
static void aim_trend(const struct pvt_sim_params *p,
                      const struct pvt_sim_result *r, double *first,
                      double *last)
{
    size_t i, lo = 0, hi = PVT_SIM_SERIES_BINS, n;

    *first = *last = 0;
    while (lo < PVT_SIM_SERIES_BINS &&
           (r->bins[lo].t_s < p->boot_s || r->bins[lo].programs == 0))
        lo++;
    while (hi > lo && (r->bins[hi - 1].t_s >= p->duration_s ||
                       r->bins[hi - 1].programs == 0))
        hi--;
    if (hi <= lo + 4)
        return;
    n = (hi - lo) / 4;
    for (i = lo; i < hi; i++) {
        double m;
        if (!r->bins[i].programs)
            continue;
        m = fabs(r->bins[i].aim_sum / (double)r->bins[i].programs);
        if (i < lo + n && m > *first)
            *first = m;
        if (i >= hi - n && m > *last)
            *last = m;
    }
}

/* A quantile of h as the table prints it, or "no data". */
static const char *quantile(char *buf, size_t len, const struct pvt_sim_hist *h,
                            double q)
{
    if (h->count == 0) {
        snprintf(buf, len, "no data");
        return buf;
    }
    return human(buf, len, (double)pvt_sim_hist_quantile(h, q));
}

const char *pvt_sim_verdict(const struct pvt_sim_params *p,
                            const struct pvt_sim_result *r, char *buf,
                            size_t len)
{
    char a[32], b[32];
    double first, last;
    double boot_p50 = (double)pvt_sim_hist_quantile(&r->aim_error_boot, 0.5);
    double after_p50 = (double)pvt_sim_hist_quantile(&r->aim_error_after, 0.5);
    double after_p99 = (double)pvt_sim_hist_quantile(&r->aim_error_after, 0.99);
    double after_max = (double)r->aim_error_after.max_abs;
    bool has_boot = r->aim_error_boot.count > 0;
    bool has_after = r->aim_error_after.count > 0;
    double spurious_share =
        r->device_interrupts
            ? (double)r->spurious_interrupts / (double)r->device_interrupts
            : 0;

    if (r->lost || r->early_callbacks) {
        snprintf(buf, len, "BROKEN: %llu lost, %llu early callbacks",
                 (unsigned long long)r->lost,
                 (unsigned long long)r->early_callbacks);
        return buf;
    }
    if (r->truncated) {
        snprintf(buf, len, "interrupt storm: the run hit the event cap");
        return buf;
    }
    aim_trend(p, r, &first, &last);
    if (p->migrate_at_s >= 0 && p->migrate_jump_s != 0 &&
        last > 0.5 * fabs(p->migrate_jump_s) * 1e9) {
        snprintf(buf, len,
                 "lost at the migration: %s off since (its offset predates "
                 "the move)",
                 human(a, sizeof(a), last));
    } else if (last > 4 * first && last > 100e3) {
        snprintf(buf, len,
                 "error grows with uptime: %s early on, %s at the end",
                 human(a, sizeof(a), first), human(b, sizeof(b), last));
    } else if (has_after && after_p50 > 100e3) {
        snprintf(buf, len,
                 "stale offset: %s off after boot, for good; %.0f%% of "
                 "interrupts spurious",
                 human(a, sizeof(a), after_p50), spurious_share * 100);
    } else if (has_boot && has_after && boot_p50 > 100e3 &&
               boot_p50 > 10 * after_p50) {
        snprintf(buf, len,
                 "error grew during boot (p50 %s), dropped at the switch "
                 "(p50 %s)",
                 human(a, sizeof(a), boot_p50), human(b, sizeof(b), after_p50));
    } else if (r->aim_error_locked.count > 0 && has_after &&
               r->aim_error_after_locked.count > 0) {
        /* compensated across a clocksource switch: the estimate restarts
         * there, and the boot clock's resolution bounds it before */
        snprintf(buf, len,
                 "after the switch, locked from %.1f s: aim p99 %s; during "
                 "boot held by the tick (p99 %s)",
                 r->locked_at_s,
                 quantile(a, sizeof(a), &r->aim_error_after_locked, 0.99),
                 quantile(b, sizeof(b), &r->aim_error_boot, 0.99));
    } else if (r->aim_error_locked.count > 0) {
        snprintf(
            buf, len, "drift %+.3f ppm, locked from %.1f s: aim p99 %s since",
            pvt_sim_guest_drift_ppm(r->drift_ppb), r->locked_at_s,
            human(a, sizeof(a),
                  (double)pvt_sim_hist_quantile(&r->aim_error_locked, 0.99)));
    } else if (has_after && r->aim_error_after.max_abs <= 1) {
        snprintf(buf, len,
                 "exact after the switch (|aim| <= 1 ns); before it, as "
                 "delta (p99 %s)",
                 quantile(a, sizeof(a), &r->aim_error_boot, 0.99));
    } else if (has_after && after_max > 100e3 && after_max > 20 * after_p99) {
        uint64_t hit = pvt_sim_hist_count_from(&r->aim_error_after, 100000);
        snprintf(buf, len,
                 "local (p99 %s); %llu in a million aims off by > 100 us, up "
                 "to %s: preempted mid-programming",
                 human(b, sizeof(b), after_p99),
                 (unsigned long long)(hit * 1000000 / r->aim_error_after.count),
                 human(a, sizeof(a), after_max));
    } else {
        snprintf(buf, len, "local error: aim p99 %s, lateness p99 %s",
                 quantile(a, sizeof(a), &r->aim_error, 0.99),
                 quantile(b, sizeof(b), &r->lateness, 0.99));
    }
    return buf;
}

int pvt_sim_vcpu_view(const struct pvt_sim_result *r, unsigned int i,
                      struct pvt_sim_vcpu_view *out)
{
    const struct pvt_sim_vcpu_result *v;

    if (r == NULL || out == NULL || i >= (r->vcpus > 1 ? r->vcpus : 1))
        return -1;
    if (r->vcpus <= 1) {
        /* one vCPU: the run's figures are its own */
        *out = (struct pvt_sim_vcpu_view){
            .timers = r->timers,
            .fired = r->fired,
            .cancelled = r->cancelled,
            .pending = r->pending,
            .lost = r->lost,
            .early_callbacks = r->early_callbacks,
            .device_interrupts = r->device_interrupts,
            .spurious_interrupts = r->spurious_interrupts,
            .lateness = &r->lateness,
            .device_error = &r->device_error,
            .aim_error = &r->aim_error,
        };
        return 0;
    }
    v = &r->vcpu[i];
    *out = (struct pvt_sim_vcpu_view){
        .timers = v->timers,
        .fired = v->fired,
        .cancelled = v->cancelled,
        .pending = v->pending,
        .lost = v->lost,
        .early_callbacks = v->early_callbacks,
        .device_interrupts = v->device_interrupts,
        .spurious_interrupts = v->spurious_interrupts,
        .remote_armed = v->remote_armed,
        .ipis = v->ipis,
        .tsc_offset_ns = v->tsc_offset_ns,
        .lateness = &v->lateness,
        .device_error = &v->device_error,
        .aim_error = &v->aim_error,
    };
    return 0;
}

const char *pvt_sim_format_p50_p99(char *buf, size_t len,
                                   const struct pvt_sim_hist *h)
{
    char x[32], y[32];

    if (buf == NULL || len == 0)
        return "";
    if (h == NULL || h->count == 0) {
        snprintf(buf, len, "no data");
        return buf;
    }
    snprintf(buf, len, "%s / %s",
             human(x, sizeof(x), (double)pvt_sim_hist_quantile(h, 0.5)),
             human(y, sizeof(y), (double)pvt_sim_hist_quantile(h, 0.99)));
    return buf;
}

/* A row of the table: label, counts, the three error measures. */
static void table_row(FILE *f, const char *label, uint64_t timers,
                      uint64_t fired, uint64_t lost, uint64_t early,
                      uint64_t irqs, uint64_t spurious,
                      const struct pvt_sim_hist *lat,
                      const struct pvt_sim_hist *dev,
                      const struct pvt_sim_hist *aim)
{
    char l[48], d[48], a[48];

    fprintf(f, "%-16s %8llu %8llu %5llu %5llu %9llu %9llu  %-21s %-21s %-21s\n",
            label, (unsigned long long)timers, (unsigned long long)fired,
            (unsigned long long)lost, (unsigned long long)early,
            (unsigned long long)irqs, (unsigned long long)spurious,
            pvt_sim_format_p50_p99(l, sizeof(l), lat),
            pvt_sim_format_p50_p99(d, sizeof(d), dev),
            pvt_sim_format_p50_p99(a, sizeof(a), aim));
}

/* Several vCPUs: a row per vCPU under the strategy's (the guest's). */
static void table_vcpu_rows(FILE *f, const struct pvt_sim_result *s)
{
    unsigned int i;

    for (i = 0; s->vcpus > 1 && i < s->vcpus; i++) {
        struct pvt_sim_vcpu_view v;
        char label[32];

        pvt_sim_vcpu_view(s, i, &v);
        snprintf(label, sizeof(label), "  vcpu %u %+.1fus", i,
                 (double)v.tsc_offset_ns / 1e3);
        table_row(f, label, v.timers, v.fired, v.lost, v.early_callbacks,
                  v.device_interrupts, v.spurious_interrupts, v.lateness,
                  v.device_error, v.aim_error);
    }
}

void pvt_sim_report_table(FILE *f, const char *scenario, uint64_t seed,
                          const struct pvt_sim_params *p,
                          const struct pvt_sim_result *r, size_t n)
{
    pvt_sim_report_table_ex(f, NULL, scenario, seed, p, r, n);
}

void pvt_sim_report_table_ex(FILE *f, const struct pvt_sim_report_meta *meta,
                             const char *scenario, uint64_t seed,
                             const struct pvt_sim_params *p,
                             const struct pvt_sim_result *r, size_t n)
{
    size_t i;
    char x[32], v[160];

    const char *backend = meta && meta->backend ? meta->backend : "sim";

    fprintf(f,
            "pvtimer %s: scenario %s, seed %llu: %g s of guest time "
            "(boot %g s on %s, drift %+g ppm), %g timers/s,\n"
            "preemption %g/s x %g ms",
            backend, scenario, (unsigned long long)seed, p->duration_s,
            p->boot_s,
            p->boot_clock == PVT_SIM_BOOT_TSC ? "the TSC" : "jiffies",
            pvt_sim_boot_drift_ppm(p), p->timer_rate_hz, p->preempt_rate_hz,
            p->preempt_mean_ms);
    /* the modelled hypervisor's own figures; a real one has its own */
    if (strcmp(backend, "sim") == 0)
        fprintf(f, ", hypervisor up %g s, slop %g us", p->hv_uptime_s,
                p->slop_us);
    fprintf(f, "\n\n");
    fprintf(f, "%-16s %8s %8s %5s %5s %9s %9s  %-21s %-21s %-21s\n", "strategy",
            "timers", "fired", "lost", "early", "irqs", "spurious",
            "lateness p50/p99", "|device err| p50/p99", "|aim err| p50/p99");
    for (i = 0; i < n; i++) {
        const struct pvt_sim_result *s = &r[i];
        table_row(f, s->strategy->name, s->timers, s->fired, s->lost,
                  s->early_callbacks, s->device_interrupts,
                  s->spurious_interrupts, &s->lateness, &s->device_error,
                  &s->aim_error);
        table_vcpu_rows(f, s);
    }
    fprintf(f, "\n");
    for (i = 0; i < n; i++)
        fprintf(f, "  %-16s %s\n", r[i].strategy->name,
                pvt_sim_verdict(p, &r[i], v, sizeof(v)));
    if (n > 0 && r[0].vcpus > 1) {
        fprintf(f,
                "\nguest clock across vCPUs (pvclock reads, in true "
                "order; TSC_STABLE %s, guard %s):\n",
                p->tsc_stable ? "published" : "not published",
                p->pvclock_guard ? "one for the guest" : "per vCPU");
        for (i = 0; i < n; i++)
            fprintf(f,
                    "  %-16s %llu reads, %llu went backwards (largest step "
                    "%s); the guard raised %llu\n",
                    r[i].strategy->name, (unsigned long long)r[i].clock_reads,
                    (unsigned long long)r[i].clock_backwards,
                    human(x, sizeof(x), (double)r[i].clock_backwards_max_ns),
                    (unsigned long long)r[i].clock_guard_clamps);
    }
}

static void json_dist(FILE *f, const char *name, const struct pvt_sim_hist *h,
                      const char *maxname)
{
    fprintf(f, "\"%s\": {\"p50\": %llu, \"p99\": %llu, \"%s\": %llu}", name,
            (unsigned long long)pvt_sim_hist_quantile(h, 0.5),
            (unsigned long long)pvt_sim_hist_quantile(h, 0.99), maxname,
            (unsigned long long)h->max_abs);
}

/* The members every strategy's object ends with: the vCPUs' figures and
 * the guest clock across them (after the older members, so that those
 * keep their order). */
static void json_smp(FILE *f, const struct pvt_sim_result *s)
{
    unsigned int i, n = s->vcpus > 1 ? s->vcpus : 1;

    fprintf(f,
            ", \"vcpus\": %u, \"clock_backwards\": %llu, \"clock_reads\": "
            "%llu, \"clock_backwards_max_ns\": %llu, \"clock_guard_clamps\": "
            "%llu, \"per_vcpu\": [",
            n, (unsigned long long)s->clock_backwards,
            (unsigned long long)s->clock_reads,
            (unsigned long long)s->clock_backwards_max_ns,
            (unsigned long long)s->clock_guard_clamps);
    for (i = 0; i < n; i++) {
        struct pvt_sim_vcpu_view v;

        pvt_sim_vcpu_view(s, i, &v);
        fprintf(f,
                "%s{\"vcpu\": %u, \"tsc_offset_ns\": %lld, \"timers\": %llu, "
                "\"fired\": %llu, \"cancelled\": %llu, \"pending\": %llu, "
                "\"lost\": %llu, \"early_callbacks\": %llu, "
                "\"device_interrupts\": %llu, \"spurious_interrupts\": %llu, "
                "\"remote_armed\": %llu, \"ipis\": %llu, ",
                i ? ", " : "", i, (long long)v.tsc_offset_ns,
                (unsigned long long)v.timers, (unsigned long long)v.fired,
                (unsigned long long)v.cancelled, (unsigned long long)v.pending,
                (unsigned long long)v.lost,
                (unsigned long long)v.early_callbacks,
                (unsigned long long)v.device_interrupts,
                (unsigned long long)v.spurious_interrupts,
                (unsigned long long)v.remote_armed, (unsigned long long)v.ipis);
        json_dist(f, "lateness_ns", v.lateness, "max");
        fprintf(f, ", ");
        json_dist(f, "device_error_ns", v.device_error, "max_abs");
        fprintf(f, ", ");
        json_dist(f, "aim_error_ns", v.aim_error, "max_abs");
        fprintf(f, "}");
    }
    fprintf(f, "]");
}

void pvt_sim_report_json(FILE *f, const char *scenario, uint64_t seed,
                         const struct pvt_sim_params *p,
                         const struct pvt_sim_result *r, size_t n)
{
    pvt_sim_report_json_ex(f, NULL, scenario, seed, p, r, n);
}

void pvt_sim_report_json_ex(FILE *f, const struct pvt_sim_report_meta *meta,
                            const char *scenario, uint64_t seed,
                            const struct pvt_sim_params *p,
                            const struct pvt_sim_result *r, size_t n)
{
    const char *backend = meta && meta->backend ? meta->backend : "sim";
    size_t i, nd;
    const struct pvt_sim_param_def *d = pvt_sim_param_defs(&nd);
    char v[160];

    fprintf(f, "{\"scenario\": \"");
    for (; *scenario; scenario++) {
        if (*scenario == '"' || *scenario == '\\')
            fputc('\\', f);
        if ((unsigned char)*scenario >= 0x20)
            fputc(*scenario, f);
    }
    fprintf(f, "\", \"backend\": \"%s\", \"seed\": %llu, \"params\": {",
            backend, (unsigned long long)seed);
    for (i = 0; i < nd; i++)
        fprintf(f, "%s\"%s\": %.17g", i ? ", " : "", d[i].name,
                pvt_sim_param_get(p, &d[i]));
    fprintf(f, "}, \"strategies\": [");
    for (i = 0; i < n; i++) {
        const struct pvt_sim_result *s = &r[i];
        fprintf(f,
                "%s{\"strategy\": \"%s\", \"timers\": %llu, \"fired\": %llu, "
                "\"cancelled\": %llu, \"lost\": %llu, \"early_callbacks\": "
                "%llu, \"device_interrupts\": %llu, \"spurious_interrupts\": "
                "%llu, ",
                i ? ", " : "", s->strategy->name, (unsigned long long)s->timers,
                (unsigned long long)s->fired, (unsigned long long)s->cancelled,
                (unsigned long long)s->lost,
                (unsigned long long)s->early_callbacks,
                (unsigned long long)s->device_interrupts,
                (unsigned long long)s->spurious_interrupts);
        fprintf(f,
                "\"lateness_ns\": {\"p50\": %llu, \"p99\": %llu, \"max\": "
                "%llu}, ",
                (unsigned long long)pvt_sim_hist_quantile(&s->lateness, 0.5),
                (unsigned long long)pvt_sim_hist_quantile(&s->lateness, 0.99),
                (unsigned long long)s->lateness.max_abs);
        json_dist(f, "device_error_ns", &s->device_error, "max_abs");
        fprintf(f, ", ");
        json_dist(f, "aim_error_ns", &s->aim_error, "max_abs");
        fprintf(f, ", ");
        json_dist(f, "aim_error_boot_ns", &s->aim_error_boot, "max_abs");
        fprintf(f, ", ");
        json_dist(f, "aim_error_after_boot_ns", &s->aim_error_after, "max_abs");
        fprintf(f, ", ");
        json_dist(f, "aim_error_locked_ns", &s->aim_error_locked, "max_abs");
        fprintf(f, ", ");
        json_dist(f, "aim_error_after_boot_locked_ns",
                  &s->aim_error_after_locked, "max_abs");
        fprintf(f,
                ", \"drift_locked_at_s\": %.6f, \"drift_steps\": %llu, "
                "\"drift_freq_ppb\": %lld",
                s->locked_at_s, (unsigned long long)s->drift_steps,
                (long long)s->drift_ppb);
        fprintf(f,
                ", \"aim_error_after_boot_mean_ns\": %.1f, \"pending\": %llu, "
                "\"splits\": %llu, \"hangs\": %llu, \"hv_past_sets\": %llu, "
                "\"preempted_programmings\": %llu, \"highres_at_s\": %.9f, "
                "\"events\": %llu, \"truncated\": %s, \"verdict\": \"%s\"",
                pvt_sim_hist_mean(&s->aim_error_after),
                (unsigned long long)s->pending, (unsigned long long)s->splits,
                (unsigned long long)s->hangs,
                (unsigned long long)s->hv_past_sets,
                (unsigned long long)s->preempted_programmings, s->highres_at_s,
                (unsigned long long)s->events, s->truncated ? "true" : "false",
                pvt_sim_verdict(p, s, v, sizeof(v)));
        json_smp(f, s);
        fprintf(f, "}");
    }
    fprintf(f, "]");
    if (meta && meta->extra_json)
        meta->extra_json(f, meta->extra_ctx);
    fprintf(f, "}\n");
}

void pvt_sim_report_csv(FILE *f, const struct pvt_sim_result *r, size_t n)
{
    size_t i, b;

    fprintf(f, "strategy,t_s,programs,aim_mean_ns,aim_max_abs_ns,"
               "device_error_max_abs_ns,interrupts,fired\n");
    for (i = 0; i < n; i++)
        for (b = 0; b < PVT_SIM_SERIES_BINS; b++) {
            const struct pvt_sim_bin *x = &r[i].bins[b];
            fprintf(f, "%s,%.6f,%llu,%.1f,%lld,%lld,%llu,%llu\n",
                    r[i].strategy->name, x->t_s,
                    (unsigned long long)x->programs,
                    x->programs ? x->aim_sum / (double)x->programs : 0.0,
                    (long long)x->aim_max_abs, (long long)x->dev_max_abs,
                    (unsigned long long)x->interrupts,
                    (unsigned long long)x->fired);
        }
}
