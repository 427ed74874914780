/*
 * The simulator's HTML report: one self-contained page (inline SVG, no
 * scripts, no external files) with the plots a person would rather look at
 * than read: aim and device error against guest uptime per strategy (a
 * cumulative error climbs, a local one stays flat), lateness histograms,
 * interrupts per timer, and the table with the verdicts.
 */
#include <math.h>
#include <string.h>

#include "report.h"

static const char *const colors[] = {"#d62728", "#ff7f0e", "#9467bd",
                                     "#1f77b4", "#2ca02c", "#8c564b",
                                     "#e377c2", "#7f7f7f"};

#define W  760
#define H  300
#define ML 70 /* margins: left, right, top, bottom */
#define MR 150
#define MT 30
#define MB 40

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static const char *ns_label(char *buf, size_t len, double ns)
{
    return pvt_sim_format_ns(buf, len, ns, true);
}

/* Which value of a bin a chart plots (ns; <= 0: no point). */
typedef double (*bin_value_fn)(const struct pvt_sim_bin *b);

static double bin_aim(const struct pvt_sim_bin *b)
{
    return b->programs ? fabs(b->aim_sum / (double)b->programs) : -1;
}

static double bin_dev(const struct pvt_sim_bin *b)
{
    return b->interrupts ? (double)b->dev_max_abs : -1;
}

/*
 * A line per strategy over guest uptime, on a log scale from 1 ns to the
 * largest value (decades gridded), with the boot switch (and a migration)
 * marked.
 */
static void uptime_chart(FILE *f, const char *title, const char *ylabel,
                         const struct pvt_sim_params *p,
                         const struct pvt_sim_result *r, size_t n,
                         bin_value_fn value)
{
    double tmax = p->duration_s + p->drain_s, vmax = 1;
    int dmax, d;
    size_t i, k;
    char lab[32];

    for (k = 0; k < n; k++)
        for (i = 0; i < PVT_SIM_SERIES_BINS; i++)
            if (value(&r[k].bins[i]) > vmax)
                vmax = value(&r[k].bins[i]);
    dmax = (int)ceil(log10(vmax));
    if (dmax < 1)
        dmax = 1;
#define X(t) (ML + (t) / tmax * (W - ML - MR))
#define Y(v) (MT + (1 - log10((v) < 1 ? 1 : (v)) / dmax) * (H - MT - MB))
    fprintf(f, "<figure><figcaption>");
    esc(f, title);
    fprintf(f,
            "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\">\n",
            W, H, W, H);
    for (d = 0; d <= dmax; d++) {
        double y = Y(pow(10, d));
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\" font-size=\"11\">%s</text>\n",
                ML, y, W - MR, y, ML - 6, y + 4,
                ns_label(lab, sizeof(lab), pow(10, d)));
    }
    for (d = 0; d <= 4; d++) {
        double t = tmax * d / 4;
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
                "font-size=\"11\">%g s</text>\n",
                X(t), H - MB + 16, round(t * 10) / 10);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
            "font-size=\"12\">guest uptime</text>\n"
            "<text x=\"14\" y=\"%d\" font-size=\"12\" transform=\"rotate(-90 "
            "14 %d)\" text-anchor=\"middle\">",
            X(tmax / 2), H - 6, (H - MB + MT) / 2, (H - MB + MT) / 2);
    esc(f, ylabel);
    fprintf(f, "</text>\n");
    if (p->pvclock && p->boot_s > 0)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#444\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" "
                "y=\"%d\" font-size=\"11\">switch to pvclock</text>\n",
                X(p->boot_s), MT, X(p->boot_s), H - MB, X(p->boot_s) + 4,
                MT + 10);
    if (p->migrate_at_s >= 0)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#444\" stroke-dasharray=\"2 2\"/><text x=\"%.1f\" "
                "y=\"%d\" font-size=\"11\">migration</text>\n",
                X(p->migrate_at_s), MT, X(p->migrate_at_s), H - MB,
                X(p->migrate_at_s) + 4, MT + 22);
    for (k = 0; k < n; k++) {
        const char *c = colors[k % (sizeof(colors) / sizeof(colors[0]))];
        bool open = false;
        fprintf(f,
                "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                "d=\"",
                c);
        for (i = 0; i < PVT_SIM_SERIES_BINS; i++) {
            double v = value(&r[k].bins[i]);
            if (v < 0) {
                open = false;
                continue;
            }
            fprintf(f, "%c%.1f %.1f ", open ? 'L' : 'M',
                    X(r[k].bins[i].t_s + r[k].bin_s / 2), Y(v));
            open = true;
        }
        fprintf(f,
                "\"/><rect x=\"%d\" y=\"%zu\" width=\"12\" height=\"3\" "
                "fill=\"%s\"/><text x=\"%d\" y=\"%zu\" font-size=\"12\">",
                W - MR + 10, MT + 6 + 18 * k, c, W - MR + 26, MT + 10 + 18 * k);
        esc(f, r[k].strategy->name);
        fprintf(f, "</text>\n");
    }
#undef X
#undef Y
    fprintf(f, "</svg></figure>\n");
}

/* Lateness histograms: the share of callbacks per power of two of ns. */
static void lateness_chart(FILE *f, const struct pvt_sim_result *r, size_t n)
{
    const int buckets = 38; /* 1 ns .. 2^37 ns (137 s) */
    double share[8][38] = {{0}}, smax = 0;
    size_t k;
    int e, b;

    if (n > 8)
        n = 8;
    for (k = 0; k < n; k++) {
        const struct pvt_sim_hist *h = &r[k].lateness;
        for (b = 0; b < PVT_SIM_HIST_BUCKETS; b++) {
            /* bucket b's power of two */
            int pw = b < PVT_SIM_HIST_SUB ? (b ? (int)floor(log2(b)) : 0)
                                          : b / PVT_SIM_HIST_SUB + 4;
            if (pw >= buckets)
                pw = buckets - 1;
            if (h->count)
                share[k][pw] += (double)h->bucket[b] / (double)h->count;
        }
        for (e = 0; e < buckets; e++)
            if (share[k][e] > smax)
                smax = share[k][e];
    }
    if (smax <= 0)
        smax = 1;
    fprintf(f,
            "<figure><figcaption>Lateness of the callbacks (guest clock "
            "when the callback ran minus the deadline): share per power "
            "of two</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\">\n",
            W, H, W, H);
    for (e = 0; e < buckets; e += 5) {
        char lab[32];
        double x = ML + (double)e / buckets * (W - ML - MR);
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
                "text-anchor=\"middle\">%s</text>\n",
                x, H - MB + 16, ns_label(lab, sizeof(lab), ldexp(1, e)));
    }
    for (k = 0; k < n; k++) {
        const char *c = colors[k % (sizeof(colors) / sizeof(colors[0]))];
        double bw = (double)(W - ML - MR) / buckets / (double)n;
        for (e = 0; e < buckets; e++) {
            double h = share[k][e] / smax * (H - MT - MB);
            if (share[k][e] <= 0)
                continue;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\"/>\n",
                    ML + (double)e / buckets * (W - ML - MR) + bw * (double)k,
                    H - MB - h, bw, h, c);
        }
        fprintf(f,
                "<rect x=\"%d\" y=\"%zu\" width=\"12\" height=\"8\" "
                "fill=\"%s\"/><text x=\"%d\" y=\"%zu\" font-size=\"12\">",
                W - MR + 10, MT + 2 + 18 * k, c, W - MR + 26, MT + 10 + 18 * k);
        esc(f, r[k].strategy->name);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg></figure>\n");
}

/* Device interrupts per fired timer, one bar per strategy. */
static void interrupts_chart(FILE *f, const struct pvt_sim_result *r, size_t n)
{
    double vmax = 1;
    size_t k;
    int d, dmax;

    for (k = 0; k < n; k++) {
        double v = r[k].fired
                       ? (double)r[k].device_interrupts / (double)r[k].fired
                       : 0;
        if (v > vmax)
            vmax = v;
    }
    dmax = (int)ceil(log10(vmax * 1.01));
    if (dmax < 1)
        dmax = 1;
    fprintf(f,
            "<figure><figcaption>Device interrupts per fired timer (log "
            "scale; spurious ones in the lighter part)</figcaption><svg "
            "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
            W, H, W, H);
/* log scale from 0.1 to 10^dmax */
#define YI(v)                                                                  \
    (MT + (1 - (log10((v) < 0.1 ? 0.1 : (v)) + 1) / (dmax + 1)) * (H - MT - MB))
    for (d = -1; d <= dmax; d++)
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\" font-size=\"11\">%g</text>\n",
                ML, YI(pow(10, d)), W - MR, YI(pow(10, d)), ML - 6,
                YI(pow(10, d)) + 4, pow(10, d));
    for (k = 0; k < n; k++) {
        const char *c = colors[k % (sizeof(colors) / sizeof(colors[0]))];
        double all = r[k].fired
                         ? (double)r[k].device_interrupts / (double)r[k].fired
                         : 0;
        double spur =
            r[k].fired ? (double)r[k].spurious_interrupts / (double)r[k].fired
                       : 0;
        double bw = (double)(W - ML - MR) / (double)n * 0.6;
        double x = ML + (double)(W - ML - MR) / (double)n * ((double)k + 0.2);
        double base = YI(0.1);
        if (all > 0)
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\"/>\n",
                    x, YI(all), bw, base - YI(all), c);
        if (spur > 0)
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"#fff\" fill-opacity=\"0.45\"/>\n",
                    x, YI(all), bw,
                    YI(all - spur > 0.1 ? all - spur : 0.1) - YI(all));
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
                "text-anchor=\"middle\">",
                x + bw / 2, H - MB + 16);
        esc(f, r[k].strategy->name);
        fprintf(f,
                "</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                "text-anchor=\"middle\">%.2f</text>\n",
                x + bw / 2, YI(all) - 4, all);
    }
#undef YI
    fprintf(f, "</svg></figure>\n");
}

/* Several vCPUs: a table per strategy, a row per vCPU, and the guest
 * clock across them. */
static void vcpu_tables(FILE *f, const struct pvt_sim_params *p,
                        const struct pvt_sim_result *r, size_t n)
{
    size_t k;
    unsigned int i;
    char a[32], b[32], c[32], d[32];

    if (n == 0 || r[0].vcpus <= 1)
        return;
    fprintf(f,
            "<h2>Per vCPU</h2>\n<p>%u vCPUs, TSC offset errors spread over "
            "&plusmn;%s, TSC_STABLE %s, pvclock last-value guard %s, "
            "%g%% of timers armed remotely. Clock reads are the pvclock "
            "reads of every vCPU in the model's true order; backwards: a "
            "read below one that completed before it began.</p>\n",
            r[0].vcpus, ns_label(a, sizeof(a), p->tsc_skew_ns),
            p->tsc_stable ? "published" : "not published",
            p->pvclock_guard ? "shared by the guest" : "per vCPU (bypassed)",
            p->remote_fraction * 100);
    for (k = 0; k < n; k++) {
        fprintf(f, "<figure><figcaption>");
        esc(f, r[k].strategy->name);
        fprintf(f,
                ": %llu clock reads, %llu backwards (largest step %s)"
                "</figcaption><table><tr><th>vCPU</th><th>TSC offset</th>"
                "<th>timers</th><th>fired</th><th>lost</th><th>early</th>"
                "<th>interrupts</th><th>spurious</th><th>remote</th>"
                "<th>IPIs</th><th>lateness p99</th><th>|aim| p50</th>"
                "<th>|aim| p99</th></tr>\n",
                (unsigned long long)r[k].clock_reads,
                (unsigned long long)r[k].clock_backwards,
                ns_label(a, sizeof(a), (double)r[k].clock_backwards_max_ns));
        for (i = 0; i < r[k].vcpus; i++) {
            struct pvt_sim_vcpu_view v;

            pvt_sim_vcpu_view(&r[k], i, &v);
            fprintf(f,
                    "<tr><td>%u</td><td>%s</td><td>%llu</td><td>%llu</td>"
                    "<td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
                    "<td>%llu</td><td>%llu</td><td>%s</td><td>%s</td>"
                    "<td>%s</td></tr>\n",
                    i, ns_label(a, sizeof(a), (double)v.tsc_offset_ns),
                    (unsigned long long)v.timers, (unsigned long long)v.fired,
                    (unsigned long long)v.lost,
                    (unsigned long long)v.early_callbacks,
                    (unsigned long long)v.device_interrupts,
                    (unsigned long long)v.spurious_interrupts,
                    (unsigned long long)v.remote_armed,
                    (unsigned long long)v.ipis,
                    ns_label(b, sizeof(b),
                             (double)pvt_sim_hist_quantile(v.lateness, 0.99)),
                    ns_label(c, sizeof(c),
                             (double)pvt_sim_hist_quantile(v.aim_error, 0.5)),
                    ns_label(d, sizeof(d),
                             (double)pvt_sim_hist_quantile(v.aim_error, 0.99)));
        }
        fprintf(f, "</table></figure>\n");
    }
}

void pvt_sim_report_html(FILE *f, const char *scenario, uint64_t seed,
                         const struct pvt_sim_params *p,
                         const struct pvt_sim_result *r, size_t n)
{
    pvt_sim_report_html_ex(f, NULL, scenario, seed, p, r, n);
}

void pvt_sim_report_html_ex(FILE *f, const struct pvt_sim_report_meta *meta,
                            const char *scenario, uint64_t seed,
                            const struct pvt_sim_params *p,
                            const struct pvt_sim_result *r, size_t n)
{
    const char *backend = meta && meta->backend ? meta->backend : "sim";
    bool real = strcmp(backend, "sim") != 0;
    size_t k;
    char v[200], a[32], b[32], c[32];

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><title>pvtimer ");
    esc(f, backend);
    fprintf(f, ": ");
    esc(f, scenario);
    fprintf(f, "</title><style>body{font-family:sans-serif;max-width:980px;"
               "margin:2em auto;color:#222}figure{margin:1.5em 0}"
               "figcaption{font-weight:bold;margin-bottom:.4em}"
               "table{border-collapse:collapse;font-size:13px}"
               "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
               "td:first-child,th:first-child{text-align:left}</style></head>"
               "<body>\n<h1>pvtimer ");
    esc(f, backend);
    fprintf(f, ": ");
    esc(f, scenario);
    fprintf(f,
            "</h1>\n<p>Seed %llu. %g s of guest time, boot %g s on %s "
            "(drift %g ppm), %g timers/s, preemption %g/s &times; %g ms",
            (unsigned long long)seed, p->duration_s, p->boot_s,
            p->boot_clock == PVT_SIM_BOOT_TSC ? "the TSC" : "jiffies",
            p->boot_clock == PVT_SIM_BOOT_TSC ? -p->tsc_cal_ppm
                                              : p->boot_drift_ppm,
            p->timer_rate_hz, p->preempt_rate_hz, p->preempt_mean_ms);
    if (real)
        fprintf(f, ". Each strategy ran in its own VM with the same workload "
                   "and preemption draws; the guest kernel is the pvtimer "
                   "core, on real virtualization.</p>\n");
    else
        fprintf(f,
                ", hypervisor up %g s. Each strategy ran on an identical copy "
                "of the world; the guest kernel is the pvtimer core.</p>\n",
                p->hv_uptime_s);
    fprintf(f, "<table><tr><th>strategy</th><th>timers</th><th>fired</th>"
               "<th>lost</th><th>early</th><th>interrupts</th>"
               "<th>spurious</th><th>lateness p99</th><th>|aim| p50</th>"
               "<th>|aim| p99</th><th>verdict</th></tr>\n");
    for (k = 0; k < n; k++) {
        fprintf(f, "<tr><td>");
        esc(f, r[k].strategy->name);
        fprintf(f,
                "</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
                "<td>%llu</td><td>%llu</td><td>%s</td><td>%s</td><td>%s</td>"
                "<td style=\"text-align:left\">",
                (unsigned long long)r[k].timers, (unsigned long long)r[k].fired,
                (unsigned long long)r[k].lost,
                (unsigned long long)r[k].early_callbacks,
                (unsigned long long)r[k].device_interrupts,
                (unsigned long long)r[k].spurious_interrupts,
                ns_label(a, sizeof(a),
                         (double)pvt_sim_hist_quantile(&r[k].lateness, 0.99)),
                ns_label(b, sizeof(b),
                         (double)pvt_sim_hist_quantile(&r[k].aim_error, 0.5)),
                ns_label(c, sizeof(c),
                         (double)pvt_sim_hist_quantile(&r[k].aim_error, 0.99)));
        esc(f, pvt_sim_verdict(p, &r[k], v, sizeof(v)));
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    uptime_chart(f,
                 "Aim error against guest uptime: |mean| per interval of "
                 "where each programmed deadline falls in guest time, minus "
                 "the guest deadline",
                 "|aim error|", p, r, n, bin_aim);
    uptime_chart(f,
                 "Device error against guest uptime: largest |guest clock "
                 "at the event - programmed deadline| per interval",
                 "|device error|", p, r, n, bin_dev);
    lateness_chart(f, r, n);
    interrupts_chart(f, r, n);
    vcpu_tables(f, p, r, n);
    fprintf(f, "<p>Produced by <code>pvtimer sim --report</code>.</p>"
               "</body></html>\n");
}
