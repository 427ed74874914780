/*
 * The random processes of a scenario (contracts in workload.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

/* Random streams of a seed: one per process (the simulator's delivery
 * latency takes stream 3). */
#define STREAM_WORKLOAD    1
#define STREAM_PREEMPTIONS 2

int pvt_sim_workload_init(struct pvt_sim_workload *w,
                          const struct pvt_sim_params *p, uint64_t seed)
{
    if (w == NULL || p == NULL)
        return -1;
    pvt_sim_rng_seed(&w->rng, seed, STREAM_WORKLOAD);
    w->ln_dmin = log(p->delta_min_us * 1e3);
    w->ln_dmax = log(p->delta_max_s * 1e9);
    w->mean_gap_ns = 1e9 / p->timer_rate_hz;
    w->cancel_fraction = p->cancel_fraction;
    return 0;
}

double pvt_sim_workload_first(struct pvt_sim_workload *w)
{
    if (w == NULL)
        return -1;
    return pvt_sim_rng_exp(&w->rng, w->mean_gap_ns);
}

int pvt_sim_workload_next(struct pvt_sim_workload *w, struct pvt_sim_arrival *a)
{
    if (w == NULL || a == NULL)
        return -1;
    a->delta_ns = exp(pvt_sim_rng_uniform(&w->rng, w->ln_dmin, w->ln_dmax));
    a->cancel = pvt_sim_rng_unit(&w->rng) < w->cancel_fraction;
    /* cancelled before the timer's own expiry, not at it */
    a->cancel_after_ns = pvt_sim_rng_unit(&w->rng) * 0.9 * a->delta_ns;
    a->gap_ns = pvt_sim_rng_exp(&w->rng, w->mean_gap_ns);
    return 0;
}

static uint64_t at_least_1(double ns)
{
    return ns < 1 ? 1 : (uint64_t)ns;
}

int pvt_sim_workload_list(const struct pvt_sim_params *p, uint64_t seed,
                          size_t max, struct pvt_sim_workload_item **out,
                          size_t *count, char *err, size_t errlen)
{
    struct pvt_sim_workload w;
    struct pvt_sim_workload_item *list;
    double t, end;
    size_t n = 0;

    if (p == NULL || out == NULL || count == NULL) {
        snprintf(err, errlen, "workload: no parameters or no result");
        return -1;
    }
    *out = NULL;
    *count = 0;
    if (p->timer_rate_hz <= 0)
        return 0;
    list = calloc(max ? max : 1, sizeof(*list));
    if (list == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pvt_sim_workload_init(&w, p, seed);
    end = p->duration_s * 1e9;
    t = pvt_sim_workload_first(&w);
    while (t < end) {
        struct pvt_sim_arrival a;

        pvt_sim_workload_next(&w, &a);
        if (n == max) {
            snprintf(err, errlen,
                     "the workload has more than %zu timers (the guest's "
                     "limit): lower timer_rate_hz or duration_s",
                     max);
            free(list);
            return -1;
        }
        list[n].at_ns = (uint64_t)t;
        list[n].delta_ns = at_least_1(a.delta_ns);
        list[n].cancel_after_ns = a.cancel ? at_least_1(a.cancel_after_ns) : 0;
        n++;
        t += a.gap_ns;
    }
    *out = list;
    *count = n;
    return 0;
}

int pvt_sim_preemptions_init(struct pvt_sim_preemptions *pr,
                             const struct pvt_sim_params *p, uint64_t seed)
{
    if (pr == NULL || p == NULL)
        return -1;
    pvt_sim_rng_seed(&pr->rng, seed, STREAM_PREEMPTIONS);
    pr->on = p->preempt_rate_hz > 0 && p->preempt_mean_ms > 0;
    pr->mean_gap_ns = pr->on ? 1e9 / p->preempt_rate_hz : 0;
    pr->mean_len_ns = p->preempt_mean_ms * 1e6;
    return 0;
}

double pvt_sim_preemptions_gap(struct pvt_sim_preemptions *pr)
{
    if (pr == NULL)
        return -1;
    return pvt_sim_rng_exp(&pr->rng, pr->mean_gap_ns);
}

double pvt_sim_preemptions_len(struct pvt_sim_preemptions *pr)
{
    if (pr == NULL)
        return -1;
    return pvt_sim_rng_exp(&pr->rng, pr->mean_len_ns);
}
