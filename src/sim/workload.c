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
#define STREAM_REMOTE      4
/* vCPU v > 0: its kinds from here on, 8 apart */
#define STREAM_VCPU_BASE 1000

uint64_t pvt_sim_stream(unsigned int v, unsigned int kind)
{
    return v == 0 ? kind : STREAM_VCPU_BASE + 8 * (uint64_t)v + kind;
}

int pvt_sim_workload_init_vcpu(struct pvt_sim_workload *w,
                               const struct pvt_sim_params *p, uint64_t seed,
                               unsigned int v)
{
    unsigned int n;

    if (w == NULL || p == NULL || p->vcpus < 1 || v >= (unsigned int)p->vcpus)
        return -1;
    n = (unsigned int)p->vcpus;
    pvt_sim_rng_seed(&w->rng, seed, pvt_sim_stream(v, STREAM_WORKLOAD));
    pvt_sim_rng_seed(&w->rng_remote, seed, pvt_sim_stream(v, STREAM_REMOTE));
    w->ln_dmin = log(p->delta_min_us * 1e3);
    w->ln_dmax = log(p->delta_max_s * 1e9);
    /* one vCPU: exactly the single-vCPU gap (no division by 1 in the way) */
    w->mean_gap_ns =
        n == 1 ? 1e9 / p->timer_rate_hz : 1e9 / (p->timer_rate_hz / (double)n);
    w->cancel_fraction = p->cancel_fraction;
    w->vcpu = v;
    w->nvcpus = n;
    w->remote_fraction = p->remote_fraction;
    return 0;
}

int pvt_sim_workload_init(struct pvt_sim_workload *w,
                          const struct pvt_sim_params *p, uint64_t seed)
{
    struct pvt_sim_params one;

    if (w == NULL || p == NULL)
        return -1;
    one = *p;
    one.vcpus = 1;
    return pvt_sim_workload_init_vcpu(w, &one, seed, 0);
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
    a->remote = -1;
    if (w->nvcpus > 1 &&
        pvt_sim_rng_unit(&w->rng_remote) < w->remote_fraction) {
        /* any other vCPU, equally likely */
        unsigned int k =
            (unsigned int)(pvt_sim_rng_next(&w->rng_remote) % (w->nvcpus - 1));
        a->remote = (int)((w->vcpu + 1 + k) % w->nvcpus);
    }
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
    return pvt_sim_preemptions_init_vcpu(pr, p, seed, 0);
}

int pvt_sim_preemptions_init_vcpu(struct pvt_sim_preemptions *pr,
                                  const struct pvt_sim_params *p, uint64_t seed,
                                  unsigned int v)
{
    if (pr == NULL || p == NULL)
        return -1;
    pvt_sim_rng_seed(&pr->rng, seed, pvt_sim_stream(v, STREAM_PREEMPTIONS));
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
