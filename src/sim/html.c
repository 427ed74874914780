/*
 * The simulator's HTML report: one self-contained page (inline SVG, no
 * scripts, no external files) with the plots a person would rather look at
 * than read: aim and device error against guest uptime (a cumulative
 * error climbs, a local one stays flat), lateness histograms, interrupts
 * per fired timer, the table with the verdicts and, with several vCPUs, a
 * table per strategy with a row per vCPU.
 *
 * Every strategy keeps one colour, keyed by its name (the same in every
 * report and in the pictures in docs/), and every strategy gets a panel of
 * its own in the plots over uptime and in the histograms (small
 * multiples on shared axes, the other strategies drawn in grey behind), so
 * that none hides another.
 */
#include <math.h>
#include <string.h>

#include "report.h"

/* The strategies' colours, by name; a strategy not listed gets one of the
 * spare colours from its name's hash (the same in every report). */
static const struct {
    const char *name, *color;
} named_colors[] = {
    {"abs-boot-offset", "#d62728"}, {"abs-mode-offset", "#ff7f0e"},
    {"relative", "#9467bd"},        {"delta", "#1f77b4"},
    {"coupled", "#2ca02c"},         {"compensated", "#8c564b"},
};
static const char *const spare_colors[] = {"#e377c2", "#7f7f7f", "#bcbd22",
                                           "#17becf"};

const char *pvt_sim_strategy_color(const char *name)
{
    size_t i;
    unsigned int h = 5381;

    if (name == NULL)
        return spare_colors[0];
    for (i = 0; i < sizeof(named_colors) / sizeof(named_colors[0]); i++)
        if (strcmp(named_colors[i].name, name) == 0)
            return named_colors[i].color;
    for (; *name; name++)
        h = h * 33 + (unsigned char)*name;
    return spare_colors[h % (sizeof(spare_colors) / sizeof(spare_colors[0]))];
}

#define GRID_W 960 /* the small multiples' figure */
#define COLS   3
#define PW     (GRID_W / COLS) /* a panel */
#define PH     205
#define PML    62 /* a panel's margins: left, right, top, bottom */
#define PMR    14
#define PMT    26
#define PMB    38
#define ZGAP   14 /* from the lowest decade's line down to the 0 lane */

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

/* 10^d ns as a round label: "1 ns", "100 µs", "10 s". */
static const char *decade_label(char *buf, size_t len, int d)
{
    static const char *const units[] = {"ns", "µs", "ms", "s"};
    int u = d / 3 < 3 ? d / 3 : 3;

    snprintf(buf, len, "%.0f %s", pow(10, d - 3 * u), units[u]);
    return buf;
}

/* The step of at most about `ticks` round ticks (1, 2 or 5 times a power
 * of ten) over [0, range]. */
static double nice_step(double range, int ticks)
{
    double raw = range / ticks, mag, m;

    if (!(raw > 0))
        return 1;
    mag = pow(10, floor(log10(raw)));
    m = raw / mag;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * mag;
}

static void svg_open(FILE *f, int w, int h)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
            "font-family=\"sans-serif\">\n",
            w, h, w, h);
}

static void no_data(FILE *f, double x, double y)
{
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "font-size=\"13\" fill=\"#666\">no data</text>\n",
            x, y);
}

/* A panel's title: the strategy's name in its colour. */
static void panel_title(FILE *f, double x0, double y0, const char *name)
{
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" "
            "font-weight=\"bold\" fill=\"%s\">",
            x0 + PML, y0 + 16, pvt_sim_strategy_color(name));
    esc(f, name);
    fprintf(f, "</text>\n");
}

/* Which value of a bin a chart plots (ns; < 0: no point). */
typedef double (*bin_value_fn)(const struct pvt_sim_bin *b);

static double bin_aim(const struct pvt_sim_bin *b)
{
    return b->programs ? fabs(b->aim_sum / (double)b->programs) : -1;
}

static double bin_dev(const struct pvt_sim_bin *b)
{
    return b->interrupts ? (double)b->dev_max_abs : -1;
}

/* Geometry of an uptime panel: x over [0, tmax] s, y over decades
 * 0..dmax of ns, and the lane for 0 below them. */
struct upanel {
    double x0, y0, tmax;
    int dmax;
};

static double up_x(const struct upanel *g, double t)
{
    return g->x0 + PML + t / g->tmax * (PW - PML - PMR);
}

static double up_y(const struct upanel *g, double v)
{
    double bottom = g->y0 + PH - PMB - ZGAP;

    if (v < 0.5) /* rounds to 0 ns: the 0 lane */
        return bottom + ZGAP;
    return bottom - log10(v < 1 ? 1 : v) / g->dmax * (bottom - g->y0 - PMT);
}

/* One strategy's series as a path (a gap where a bin has no value). */
static void series_path(FILE *f, const struct upanel *g,
                        const struct pvt_sim_result *r, bin_value_fn value,
                        const char *color, double width)
{
    bool open = false;
    size_t i;

    fprintf(f,
            "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
            "stroke-linejoin=\"round\" d=\"",
            color, width);
    for (i = 0; i < PVT_SIM_SERIES_BINS; i++) {
        double v = value(&r->bins[i]);
        if (v < 0) {
            open = false;
            continue;
        }
        fprintf(f, "%c%.1f %.1f ", open ? 'L' : 'M',
                up_x(g, r->bins[i].t_s + r->bin_s / 2), up_y(g, v));
        open = true;
    }
    fprintf(f, "\"/>\n");
}

/* Time ticks over [0, tmax] s in a round unit. */
static void time_ticks(FILE *f, const struct upanel *g)
{
    double unit = 1, step, t;
    const char *name = "s";

    if (g->tmax > 3 * 3600) {
        unit = 3600;
        name = "h";
    } else if (g->tmax > 600) {
        unit = 60;
        name = "min";
    }
    step = nice_step(g->tmax / unit, 4);
    for (t = 0; t <= g->tmax / unit * (1 + 1e-9); t += step)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"middle\" font-size=\"11\">%g %s</text>\n",
                up_x(g, t * unit), g->y0 + PH - PMB, up_x(g, t * unit),
                g->y0 + PH - PMB + 4, up_x(g, t * unit), g->y0 + PH - PMB + 16,
                t, name);
}

/* The largest decade of ns at or above vmax (at least 1: 10 ns). */
static int decades_for(double vmax)
{
    int dmax = vmax > 1 ? (int)ceil(log10(vmax) - 1e-9) : 1;

    return dmax < 1 ? 1 : dmax;
}

/* A panel's log scale: a line per decade, every stride-th labelled, the
 * 0 lane below them (broken off the scale) and the y axis. */
static void log_grid(FILE *f, const struct upanel *g, int stride)
{
    double bottom = g->y0 + PH - PMB - ZGAP, left = g->x0 + PML;
    char lab[32];
    int d;

    for (d = 0; d <= g->dmax; d++) {
        double y = up_y(g, pow(10, d));
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#e4e4e4\"/>\n",
                left, y, g->x0 + PW - PMR, y);
        if (d % stride == 0)
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                    "font-size=\"11\">%s</text>\n",
                    left - 5, y + 4, decade_label(lab, sizeof(lab), d));
    }
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#e4e4e4\"/><text x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"end\" font-size=\"11\">0 ns</text>"
            "<path d=\"M%.1f %.1f l8 -3 M%.1f %.1f l8 -3\" "
            "stroke=\"#666\"/>\n",
            left, bottom + ZGAP, g->x0 + PW - PMR, bottom + ZGAP, left - 5,
            bottom + ZGAP + 4, left - 4, bottom + ZGAP / 2 + 1, left - 4,
            bottom + ZGAP / 2 + 4);
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#999\"/><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\" stroke=\"#999\"/>\n",
            left, g->y0 + PMT, left, bottom, left, bottom + ZGAP - 3, left,
            bottom + ZGAP);
}

/*
 * Small multiples over guest uptime: a panel per strategy, all on the
 * same axes (log scale from 1 ns to the largest value, decades gridded,
 * a lane for 0 ns below them, broken off), the strategy in its colour and
 * the others in grey behind it, the boot switch (and a migration) marked.
 */
static void uptime_chart(FILE *f, const char *title,
                         const struct pvt_sim_params *p,
                         const struct pvt_sim_result *r, size_t n,
                         bin_value_fn value)
{
    double tmax = p->duration_s + p->drain_s, vmax = 1;
    int dmax, stride, rows = (int)((n + COLS - 1) / COLS);
    size_t i, k, j;

    for (k = 0; k < n; k++)
        for (i = 0; i < PVT_SIM_SERIES_BINS; i++)
            if (value(&r[k].bins[i]) > vmax)
                vmax = value(&r[k].bins[i]);
    dmax = decades_for(vmax);
    stride = (dmax + 5) / 6; /* at most about six labelled decades */
    fprintf(f, "<figure><figcaption>");
    esc(f, title);
    fprintf(f, "</figcaption>\n");
    svg_open(f, GRID_W, rows * PH);
    for (k = 0; k < n; k++) {
        struct upanel g = {.x0 = (double)(k % COLS) * PW,
                           .y0 = (double)(k / COLS) * PH,
                           .tmax = tmax,
                           .dmax = dmax};
        double bottom = g.y0 + PH - PMB - ZGAP;
        bool any = false;

        panel_title(f, g.x0, g.y0, r[k].strategy->name);
        log_grid(f, &g, stride);
        time_ticks(f, &g);
        if (p->pvclock && p->boot_s > 0)
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"#444\" stroke-dasharray=\"4 3\"/>\n",
                    up_x(&g, p->boot_s), g.y0 + PMT, up_x(&g, p->boot_s),
                    bottom + ZGAP);
        if (p->migrate_at_s >= 0)
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"#444\" stroke-dasharray=\"2 2\"/>\n",
                    up_x(&g, p->migrate_at_s), g.y0 + PMT,
                    up_x(&g, p->migrate_at_s), bottom + ZGAP);
        for (j = 0; j < n; j++)
            if (j != k)
                series_path(f, &g, &r[j], value, "#c8c8c8", 1);
        for (i = 0; i < PVT_SIM_SERIES_BINS; i++)
            any = any || value(&r[k].bins[i]) >= 0;
        if (any)
            series_path(f, &g, &r[k], value,
                        pvt_sim_strategy_color(r[k].strategy->name), 1.8);
        else
            no_data(f, g.x0 + (PML + PW - PMR) / 2.0, g.y0 + PH / 2.0);
    }
    fprintf(f, "</svg>\n<p class=\"key\">Guest uptime across; a panel per "
               "strategy, the others in grey behind it; values that round "
               "to 0 ns on the lane below the log scale");
    if (p->pvclock && p->boot_s > 0)
        fprintf(f, "; dashed: the switch to the pvclock at %g s", p->boot_s);
    if (p->migrate_at_s >= 0)
        fprintf(f, "; dotted: the migration at %g s", p->migrate_at_s);
    fprintf(f, ".</p></figure>\n");
}

#define LAT_POW 38 /* powers of two of ns: 1 ns .. 2^37 ns (137 s) */

/* The share of callbacks late by exactly 0 ns (share[0]) and by
 * [2^e, 2^(e+1)) ns (share[1 + e]). */
static void lateness_shares(const struct pvt_sim_hist *h,
                            double share[1 + LAT_POW])
{
    int b, e;

    for (e = 0; e < 1 + LAT_POW; e++)
        share[e] = 0;
    if (h->count == 0)
        return;
    for (b = 0; b < PVT_SIM_HIST_BUCKETS; b++) {
        if (h->bucket[b] == 0)
            continue;
        if (b == 0)
            e = -1;
        else if (b < PVT_SIM_HIST_SUB)
            e = (int)floor(log2(b));
        else
            e = b / PVT_SIM_HIST_SUB + 4;
        if (e >= LAT_POW)
            e = LAT_POW - 1;
        share[1 + e] += (double)h->bucket[b] / (double)h->count;
    }
}

/* Lateness histograms: a panel per strategy, the share of callbacks per
 * power of two of ns (and those exactly on time), on shared axes. */
static void lateness_chart(FILE *f, const struct pvt_sim_result *r, size_t n)
{
    double share[1 + LAT_POW], smax = 0, step, top, bw, y;
    int e, emax = 10, rows = (int)((n + COLS - 1) / COLS), d;
    size_t k;

    for (k = 0; k < n; k++) {
        lateness_shares(&r[k].lateness, share);
        for (e = 0; e < 1 + LAT_POW; e++) {
            if (share[e] > smax)
                smax = share[e];
            if (share[e] > 0 && e > emax)
                emax = e;
        }
    }
    step = nice_step(smax * 100, 4);
    top = smax > 0 ? ceil(smax * 100 / step - 1e-9) * step : 100;
    /* slots: the 0 ns bar, a gap, then 2^0 .. 2^(emax-1) */
    bw = (double)(PW - PML - PMR) / (emax + 2);
    fprintf(f, "<figure><figcaption>Lateness of the callbacks (guest clock "
               "when the callback ran minus the deadline): the share of the "
               "callbacks in each power of two of nanoseconds</figcaption>\n");
    svg_open(f, GRID_W, rows * PH);
    for (k = 0; k < n; k++) {
        double x0 = (double)(k % COLS) * PW, y0 = (double)(k / COLS) * PH;
        double left = x0 + PML, bottom = y0 + PH - PMB, h = bottom - y0 - PMT;
        const char *c = pvt_sim_strategy_color(r[k].strategy->name);

        panel_title(f, x0, y0, r[k].strategy->name);
        for (y = 0; y <= top * (1 + 1e-9); y += step)
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
                    "text-anchor=\"end\" font-size=\"11\">%g%%</text>\n",
                    left, bottom - y / top * h, x0 + PW - PMR,
                    bottom - y / top * h, y == 0 ? "#999" : "#e4e4e4", left - 5,
                    bottom - y / top * h + 4, y);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#999\"/>\n",
                left, y0 + PMT, left, bottom);
        /* x: 0, then decades of ns at their place among the powers of 2 */
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "font-size=\"11\">0</text>\n",
                left + bw / 2, bottom + 16);
        for (d = 3; d <= 11; d += 3) { /* 1 ns would sit on the 0 */
            double x = left + bw * (2 + d * log2(10));
            char lab[32];
            if (d * log2(10) > emax)
                break;
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\" "
                    "text-anchor=\"middle\" font-size=\"11\">%s</text>\n",
                    x, bottom, x, bottom + 4, x, bottom + 16,
                    decade_label(lab, sizeof(lab), d));
        }
        if (r[k].lateness.count == 0) {
            no_data(f, x0 + (PML + PW - PMR) / 2.0, y0 + PH / 2.0);
            continue;
        }
        lateness_shares(&r[k].lateness, share);
        for (e = 0; e < 1 + LAT_POW && e <= emax; e++) {
            double bh = share[e] * 100 / top * h;
            if (share[e] <= 0)
                continue;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\"/>\n",
                    left + bw * (e == 0 ? 0 : e + 1) + 0.5, bottom - bh, bw - 1,
                    bh < 1 ? 1 : bh, c);
        }
    }
    fprintf(f, "</svg>\n<p class=\"key\">Lateness across (log scale: a bar "
               "per power of two of ns; the first bar: exactly on time), "
               "the share of the strategy's callbacks up.</p></figure>\n");
}

/* Device interrupts per fired timer: a bar per strategy on a linear
 * scale, the interrupts that found a timer due solid, the spurious ones
 * (nothing due) light, both counted beside it. */
static void interrupts_chart(FILE *f, const struct pvt_sim_result *r, size_t n)
{
    const int lw = 130, rw = 250, row = 28, top = 10, w = GRID_W;
    double vmax = 0, step, xmax, t;
    size_t k;
    int h = top + row * (int)n + 36;

    for (k = 0; k < n; k++)
        if (r[k].fired &&
            (double)r[k].device_interrupts / (double)r[k].fired > vmax)
            vmax = (double)r[k].device_interrupts / (double)r[k].fired;
    step = nice_step(vmax > 0 ? vmax : 1, 5);
    xmax = ceil((vmax > 0 ? vmax : 1) / step - 1e-9) * step;
#define XI(v) (lw + (v) / xmax * (w - lw - rw))
    fprintf(f, "<figure><figcaption>Device interrupts per fired timer: "
               "solid, those that found a timer due; light, the spurious "
               "ones (nothing was due yet)</figcaption>\n");
    svg_open(f, w, h);
    for (t = 0; t <= xmax * (1 + 1e-9); t += step)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"%s\"/><text x=\"%.1f\" y=\"%d\" "
                "text-anchor=\"middle\" font-size=\"11\">%g</text>\n",
                XI(t), top, XI(t), top + row * (int)n,
                t == 0 ? "#999" : "#e4e4e4", XI(t), top + row * (int)n + 16, t);
    for (k = 0; k < n; k++) {
        const char *c = pvt_sim_strategy_color(r[k].strategy->name);
        double y = top + row * (double)k + 5, bh = row - 10;
        fprintf(f,
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
                "font-size=\"12\" fill=\"%s\">",
                lw - 8, y + bh / 2 + 4, c);
        esc(f, r[k].strategy->name);
        fprintf(f, "</text>\n");
        if (r[k].fired == 0) {
            fprintf(f,
                    "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" "
                    "fill=\"#666\">no data (no timer fired)</text>\n",
                    lw + 6, y + bh / 2 + 4);
            continue;
        }
        {
            double all = (double)r[k].device_interrupts / (double)r[k].fired;
            double spur = (double)r[k].spurious_interrupts / (double)r[k].fired;
            double due = all - spur;
            fprintf(f,
                    "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"%s\"/><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.3\" "
                    "stroke=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
                    "font-size=\"12\">%.2f per fired timer, %.2f of them "
                    "spurious</text>\n",
                    lw, y, XI(due) - lw, bh, c, XI(due) + 0.5, y + 0.5,
                    XI(all) - XI(due) > 1 ? XI(all) - XI(due) - 1 : 0, bh - 1,
                    c, c, XI(all) + 8, y + bh / 2 + 4, all, spur);
        }
    }
#undef XI
    fprintf(f,
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
            "font-size=\"12\">interrupts per fired timer</text>\n",
            (lw + (double)(w - rw)) / 2, h - 2);
    fprintf(f, "</svg></figure>\n");
}

/* A table cell of "p50 / p99", as the terminal table prints it. */
static void cell_p50_p99(FILE *f, const struct pvt_sim_hist *h)
{
    char buf[64];

    fprintf(f, "<td>");
    esc(f, pvt_sim_format_p50_p99(buf, sizeof(buf), h));
    fprintf(f, "</td>");
}

static void strategy_cell(FILE *f, const char *name)
{
    fprintf(f, "<td><span class=\"sw\" style=\"background:%s\"></span>",
            pvt_sim_strategy_color(name));
    esc(f, name);
    fprintf(f, "</td>");
}

static const char *const table_head =
    "<th>timers</th><th>fired</th><th>lost</th><th>early</th>"
    "<th>interrupts</th><th>spurious</th><th>lateness<br>p50 / p99</th>"
    "<th>|device err|<br>p50 / p99</th><th>|aim err|<br>p50 / p99</th>";

static void counts_cells(FILE *f, uint64_t timers, uint64_t fired,
                         uint64_t lost, uint64_t early, uint64_t irqs,
                         uint64_t spurious)
{
    fprintf(f,
            "<td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
            "<td>%llu</td><td>%llu</td>",
            (unsigned long long)timers, (unsigned long long)fired,
            (unsigned long long)lost, (unsigned long long)early,
            (unsigned long long)irqs, (unsigned long long)spurious);
}

/* Several vCPUs: |aim error| per vCPU, a panel per strategy: a bar to
 * the vCPU's p50, a tick at its p99, the vCPUs in the order of their TSC
 * offsets (the lowest first), on shared log scales. */
static void vcpu_chart(FILE *f, const struct pvt_sim_params *p,
                       const struct pvt_sim_result *r, size_t n)
{
    int rows = (int)((n + COLS - 1) / COLS), dmax, stride;
    double vmax = 1;
    size_t k;
    unsigned int i, nv = r[0].vcpus;
    char a[32];

    for (k = 0; k < n; k++)
        for (i = 0; i < r[k].vcpus; i++) {
            double v =
                (double)pvt_sim_hist_quantile(&r[k].vcpu[i].aim_error, 0.99);
            if (v > vmax)
                vmax = v;
        }
    dmax = decades_for(vmax);
    stride = (dmax + 5) / 6;
    fprintf(f, "<figure><figcaption>|Aim error| per vCPU: the bar to its "
               "p50, the black tick at its p99</figcaption>\n");
    svg_open(f, GRID_W, rows * PH);
    for (k = 0; k < n; k++) {
        struct upanel g = {.x0 = (double)(k % COLS) * PW,
                           .y0 = (double)(k / COLS) * PH,
                           .tmax = nv,
                           .dmax = dmax};
        double base = up_y(&g, 0), w = (PW - PML - PMR) / (double)nv;
        const char *c = pvt_sim_strategy_color(r[k].strategy->name);

        panel_title(f, g.x0, g.y0, r[k].strategy->name);
        log_grid(f, &g, stride);
        for (i = 0; i < nv && i < r[k].vcpus; i++) {
            const struct pvt_sim_hist *h = &r[k].vcpu[i].aim_error;
            double x = up_x(&g, i), y50, y99;
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                    "font-size=\"11\">%u</text>\n",
                    x + w / 2, g.y0 + PH - PMB + 16, i);
            if (h->count == 0)
                continue;
            y50 = up_y(&g, (double)pvt_sim_hist_quantile(h, 0.5));
            y99 = up_y(&g, (double)pvt_sim_hist_quantile(h, 0.99));
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\"/><line x1=\"%.1f\" "
                    "y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\" "
                    "stroke-width=\"2\"/>\n",
                    x + w * 0.2, y50, w * 0.6, base - y50 > 1 ? base - y50 : 1,
                    c, x + w * 0.1, y99, x + w * 0.9, y99);
        }
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "font-size=\"11\">vCPU</text>\n",
                g.x0 + (PML + PW - PMR) / 2.0, g.y0 + PH - 6);
    }
    fprintf(f,
            "</svg>\n<p class=\"key\">vCPU 0 has the lowest TSC offset "
            "(&minus;%s), vCPU %u the highest; a deadline computed from a "
            "vCPU's own clock reading carries its offset.</p></figure>\n",
            pvt_sim_format_ns(a, sizeof(a), p->tsc_skew_ns, false), nv - 1);
}

/* Several vCPUs: a table per strategy, a row per vCPU, and the guest
 * clock across them. */
static void vcpu_tables(FILE *f, const struct pvt_sim_params *p,
                        const struct pvt_sim_result *r, size_t n)
{
    size_t k;
    unsigned int i;
    char a[32];

    if (n == 0 || r[0].vcpus <= 1)
        return;
    fprintf(f,
            "<h2 id=\"per-vcpu\">Per vCPU</h2>\n<p>%u vCPUs, TSC offset errors "
            "spread over "
            "&plusmn;%s, TSC_STABLE %s, pvclock last-value guard %s, "
            "%g%% of timers armed remotely. Clock reads are the pvclock "
            "reads of every vCPU in the model's true order; backwards: a "
            "read below one that completed before it began.</p>\n",
            r[0].vcpus, pvt_sim_format_ns(a, sizeof(a), p->tsc_skew_ns, false),
            p->tsc_stable ? "published" : "not published",
            p->pvclock_guard ? "shared by the guest" : "per vCPU (bypassed)",
            p->remote_fraction * 100);
    vcpu_chart(f, p, r, n);
    for (k = 0; k < n; k++) {
        fprintf(f, "<figure><figcaption style=\"color:%s\">",
                pvt_sim_strategy_color(r[k].strategy->name));
        esc(f, r[k].strategy->name);
        fprintf(f,
                ": %llu clock reads, %llu backwards (largest step %s), "
                "%llu raised by the guard</figcaption><table><tr>"
                "<th>vCPU</th><th>TSC offset</th>%s<th>remote</th>"
                "<th>IPIs</th></tr>\n",
                (unsigned long long)r[k].clock_reads,
                (unsigned long long)r[k].clock_backwards,
                pvt_sim_format_ns(a, sizeof(a),
                                  (double)r[k].clock_backwards_max_ns, false),
                (unsigned long long)r[k].clock_guard_clamps, table_head);
        for (i = 0; i < r[k].vcpus; i++) {
            struct pvt_sim_vcpu_view v;

            pvt_sim_vcpu_view(&r[k], i, &v);
            fprintf(f, "<tr><td>%u</td><td>%+.1f us</td>", i,
                    (double)v.tsc_offset_ns / 1e3);
            counts_cells(f, v.timers, v.fired, v.lost, v.early_callbacks,
                         v.device_interrupts, v.spurious_interrupts);
            cell_p50_p99(f, v.lateness);
            cell_p50_p99(f, v.device_error);
            cell_p50_p99(f, v.aim_error);
            fprintf(f, "<td>%llu</td><td>%llu</td></tr>\n",
                    (unsigned long long)v.remote_armed,
                    (unsigned long long)v.ipis);
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
    uint64_t timers = 0;
    char v[200];

    for (k = 0; k < n; k++)
        timers += r[k].timers;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><title>pvtimer ");
    esc(f, backend);
    fprintf(f, ": ");
    esc(f, scenario);
    fprintf(f, "</title><style>body{font-family:sans-serif;max-width:980px;"
               "margin:2em auto;color:#222}figure{margin:1.5em 0}"
               "figcaption{font-weight:bold;margin-bottom:.4em}"
               "table{border-collapse:collapse;font-size:13px}"
               "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right;"
               "white-space:nowrap}"
               "td:first-child,th:first-child{text-align:left}"
               "td.verdict{text-align:left;white-space:normal}"
               ".sw{display:inline-block;width:10px;height:10px;"
               "margin-right:5px}.key{font-size:13px;color:#444;"
               "margin:.2em 0}</style></head><body>\n<h1>pvtimer ");
    esc(f, backend);
    fprintf(f, ": ");
    esc(f, scenario);
    fprintf(f,
            "</h1>\n<p>Seed %llu. %g s of guest time, boot %g s on %s "
            "(drift %+g ppm), %g timers/s, preemption %g/s &times; %g ms",
            (unsigned long long)seed, p->duration_s, p->boot_s,
            p->boot_clock == PVT_SIM_BOOT_TSC ? "the TSC" : "jiffies",
            pvt_sim_boot_drift_ppm(p), p->timer_rate_hz, p->preempt_rate_hz,
            p->preempt_mean_ms);
    if (real)
        fprintf(f, ". Each strategy ran in its own VM with the same workload "
                   "and preemption draws; the guest kernel is the pvtimer "
                   "core, on real virtualization.</p>\n");
    else
        fprintf(f,
                ", hypervisor up %g s. Each strategy ran on an identical copy "
                "of the world; the guest kernel is the pvtimer core.</p>\n",
                p->hv_uptime_s);
    fprintf(f, "<table><tr><th>strategy</th>%s<th>verdict</th></tr>\n",
            table_head);
    for (k = 0; k < n; k++) {
        fprintf(f, "<tr>");
        strategy_cell(f, r[k].strategy->name);
        counts_cells(f, r[k].timers, r[k].fired, r[k].lost,
                     r[k].early_callbacks, r[k].device_interrupts,
                     r[k].spurious_interrupts);
        cell_p50_p99(f, &r[k].lateness);
        cell_p50_p99(f, &r[k].device_error);
        cell_p50_p99(f, &r[k].aim_error);
        fprintf(f, "<td class=\"verdict\">");
        esc(f, pvt_sim_verdict(p, &r[k], v, sizeof(v)));
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    if (timers == 0)
        fprintf(f, "<p><strong>No timers</strong>: the run armed none "
                   "(timer_rate_hz 0), so lateness and interrupts per timer "
                   "have no data; what the plots of aim and device error "
                   "show is the tick's own programming.</p>\n");
    uptime_chart(f,
                 "Aim error against guest uptime: |mean| per interval of "
                 "where each programmed deadline falls in guest time, minus "
                 "the guest deadline",
                 p, r, n, bin_aim);
    uptime_chart(f,
                 "Device error against guest uptime: largest |guest clock "
                 "at the event - programmed deadline| per interval",
                 p, r, n, bin_dev);
    lateness_chart(f, r, n);
    interrupts_chart(f, r, n);
    vcpu_tables(f, p, r, n);
    fprintf(f,
            "<p>Produced by <code>pvtimer %s --report</code>.</p>"
            "</body></html>\n",
            real ? backend : "sim");
}
