/*
 * `pvtimer drift` output. Contracts in drift-report.h.
 */
#include "drift-report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Contract in drift-report.h. */
double pvt_drift_report_ppm(int64_t slope_q48)
{
    return (double)slope_q48 / 281474976710656.0 * 1e6;
}

/* Contract in drift-report.h. */
void pvt_drift_report_header(const char *a, const char *b, double interval_ms,
                             double duration_s, const char *note)
{
    printf("pvtimer drift: B %s against A %s, a sample every %g ms for "
           "%g s\n",
           b, a, interval_ms, duration_s);
    if (note)
        printf("%s\n", note);
    printf("%9s %16s %14s %9s  %s\n", "t_s", "offset_ns", "freq_ppm",
           "delay_ns", "state");
}

/* Contract in drift-report.h. */
void pvt_drift_report_update(const struct pvt_drift_update *u)
{
    printf("%9.3f %+16lld %+14.6f %9llu  %s\n", u->t_s, (long long)u->offset_ns,
           u->freq_ppm, (unsigned long long)u->delay_ns,
           pvt_drift_state_name(u->state));
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Contract in drift-report.h. */
int pvt_drift_report_summary(bool json, const char *a, const char *b,
                             const struct pvt_drift_update *ups, size_t n,
                             const struct pvt_drift_final *fin)
{
    uint64_t *delays = calloc(n ? n : 1, sizeof(*delays));
    double sum = 0, sumsq = 0, mean, var, sd;
    size_t i, nstat = 0;
    uint64_t delay;

    if (delays == NULL)
        return -1;
    /* the frequency's spread over the updates made while locked */
    for (i = 0; i < n; i++) {
        delays[i] = ups[i].delay_ns;
        if (ups[i].state < PVT_DRIFT_LOCKED)
            continue;
        sum += ups[i].freq_ppm;
        sumsq += ups[i].freq_ppm * ups[i].freq_ppm;
        nstat++;
    }
    qsort(delays, n, sizeof(*delays), cmp_u64);
    mean = nstat ? sum / (double)nstat : 0;
    var = nstat > 1
              ? (sumsq - (double)nstat * mean * mean) / (double)(nstat - 1)
              : 0;
    sd = var > 0 ? sqrt(var) : 0;
    delay = n ? delays[n / 2] : 0;
    free(delays);

    if (json) {
        printf("{\"a\": \"%s\", \"b\": \"%s\", \"updates\": [", a, b);
        for (i = 0; i < n; i++)
            printf("%s{\"t_s\": %.6f, \"offset_ns\": %lld, \"freq_ppm\": "
                   "%.6f, \"delay_ns\": %llu, \"state\": \"%s\"}",
                   i ? ", " : "", ups[i].t_s, (long long)ups[i].offset_ns,
                   ups[i].freq_ppm, (unsigned long long)ups[i].delay_ns,
                   pvt_drift_state_name(ups[i].state));
        printf("], \"summary\": {\"offset_ns\": %lld, \"freq_ppm\": %.6f, "
               "\"freq_ppm_stddev\": %.6f, \"delay_ns\": %llu, "
               "\"state\": \"%s\"}}\n",
               (long long)fin->offset_ns, fin->freq_ppm, sd,
               (unsigned long long)delay, pvt_drift_state_name(fin->state));
    } else {
        printf("\nsummary: offset %+lld ns, freq %+.6f ppm (stddev %.6f "
               "over %zu locked updates), delay %llu ns (median), %s; "
               "window %u, %llu steps, %llu dropped\n",
               (long long)fin->offset_ns, fin->freq_ppm, sd, nstat,
               (unsigned long long)delay, pvt_drift_state_name(fin->state),
               fin->window, (unsigned long long)fin->steps,
               (unsigned long long)fin->dropped);
    }
    return 0;
}
