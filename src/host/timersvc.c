/*
 * The timer service: its memory, its clients, the guest's timer
 * operations (arming). The dispatch and the threads are in svc-shard.c.
 * Contracts in timersvc.h.
 */
#include "timersvc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "svc-shard.h"

/* Contract in timersvc.h. */
int pvt_timersvc_create(struct pvt_timersvc *s,
                        const struct pvt_timersvc_config *c)
{
    unsigned int i;
    int rc;

    if (s == NULL)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    if (c == NULL || c->ntimers == 0 || c->ntimers > PVT_TIMERSVC_MAX_TIMERS ||
        c->nthreads > PVT_TIMERSVC_MAX_THREADS ||
        c->nclients > PVT_TIMERSVC_MAX_CLIENTS || c->advance_ns < -1 ||
        c->advance_max_ns < 0 || c->rt_priority < 0 || c->rt_priority > 99 ||
        c->slack_ns > (uint64_t)PVT__SVC_MAX_AHEAD_NS)
        return -EINVAL;
    s->cfg = *c;
    if (s->cfg.advance_max_ns == 0)
        s->cfg.advance_max_ns = PVT_TIMERSVC_ADVANCE_MAX_NS;
    if (s->cfg.spin_slack_ns == 0)
        s->cfg.spin_slack_ns = PVT_TIMERSVC_SPIN_SLACK_NS;
    else if (s->cfg.spin_slack_ns < 0)
        s->cfg.spin_slack_ns = 0;
    if (s->cfg.spin_cap_ppm == 0)
        s->cfg.spin_cap_ppm = PVT_TIMERSVC_SPIN_CAP_PPM;
    if (s->cfg.spin_cap_ppm > 1000000)
        s->cfg.spin_cap_ppm = 1000000;
    s->ntimers = c->ntimers;
    s->nthreads = c->nthreads ? c->nthreads : 1;
    s->nclients_max = c->nclients ? c->nclients : 1;
    if ((rc = pthread_mutex_init(&s->clients_lock, NULL)) != 0)
        return -rc;
    s->lock_init = true;
    s->timer = calloc(s->ntimers, sizeof(*s->timer));
    s->client = calloc(s->nclients_max, sizeof(*s->client));
    s->shard = calloc(s->nthreads, sizeof(*s->shard));
    if (s->timer == NULL || s->client == NULL || s->shard == NULL)
        return -ENOMEM;
    for (i = 0; i < s->ntimers; i++)
        s->timer[i].client = UINT_MAX;
    for (i = 0; i < s->nthreads; i++)
        s->shard[i].tfd = -1; /* destroy closes only what init opened */
    for (i = 0; i < s->nthreads; i++) {
        /* a shard's timerfd only when its thread can run: a service on
         * a clock of the caller's is polled */
        rc = pvt__svc_shard_init(s, &s->shard[i], i, c->mono_now == NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static struct pvt__svc_shard *shard_of(struct pvt_timersvc *s, unsigned int i)
{
    return &s->shard[i % s->nthreads];
}

/* Contract in timersvc.h. */
int pvt_timersvc_add_client(struct pvt_timersvc *s,
                            const struct pvt_timersvc_client_config *cc,
                            unsigned int *id, unsigned int *first)
{
    struct pvt__svc_client *c;
    unsigned int i, k;
    uint64_t hv_now;
    int64_t mono_now;
    int rc;

    if (s == NULL || s->timer == NULL || cc == NULL || cc->ntimers == 0 ||
        first == NULL || cc->ops.read_clock == NULL || cc->ops.inject == NULL ||
        cc->vec_single < 32 || cc->vec_single > 255 || cc->vec_periodic < 32 ||
        cc->vec_periodic > 255 || cc->max_fires_per_s > 1000000000ull)
        return -EINVAL;
    pthread_mutex_lock(&s->clients_lock);
    if (s->nclients >= s->nclients_max ||
        cc->ntimers > s->ntimers - s->timers_used) {
        pthread_mutex_unlock(&s->clients_lock);
        return -ENOSPC;
    }
    k = s->nclients;
    c = &s->client[k];
    c->cc = *cc;
    c->first = s->timers_used;
    rc = cc->ops.read_clock(cc->ctx, &hv_now, &mono_now);
    if (rc < 0) {
        pthread_mutex_unlock(&s->clients_lock);
        return rc;
    }
    for (i = 0; i < cc->ntimers; i++) {
        struct pvt__svc_timer *tm = &s->timer[c->first + i];

        if (pvt_hv_timer_init(&tm->t, &cc->timer, hv_now) < 0) {
            pthread_mutex_unlock(&s->clients_lock);
            return -EINVAL;
        }
    }
    /* published: its timers start */
    c->used = true;
    s->timers_used += cc->ntimers;
    s->nclients++;
    for (i = 0; i < cc->ntimers && rc == 0; i++) {
        unsigned int t = c->first + i;
        struct pvt__svc_shard *sh = shard_of(s, t);
        struct pvt__svc_timer *tm = &s->timer[t];

        pthread_mutex_lock(&sh->lock);
        tm->client = k;
        tm->local = i;
        rc = pvt__svc_requeue(sh, tm, hv_now, mono_now);
        pthread_mutex_unlock(&sh->lock);
    }
    pthread_mutex_unlock(&s->clients_lock);
    if (rc == 0) {
        if (id)
            *id = k;
        *first = c->first;
    }
    return rc;
}

/* Contract in timersvc.h. */
int pvt_timersvc_init(struct pvt_timersvc *s, unsigned int nvcpu,
                      const struct pvt_hv_timer_config *cfg,
                      uint32_t vec_single, uint32_t vec_periodic,
                      const struct pvt_timersvc_ops *ops, void *ctx)
{
    struct pvt_timersvc_config c = PVT_TIMERSVC_CONFIG_DEFAULT(nvcpu);
    struct pvt_timersvc_client_config cc;
    unsigned int first;
    int rc;

    if (s == NULL)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    if (nvcpu == 0 || nvcpu > PVT_TIMERSVC_MAX_VCPUS || cfg == NULL ||
        ops == NULL)
        return -EINVAL;
    if ((rc = pvt_timersvc_create(s, &c)) < 0)
        return rc;
    memset(&cc, 0, sizeof(cc));
    cc.ntimers = nvcpu;
    cc.timer = *cfg;
    cc.vec_single = vec_single;
    cc.vec_periodic = vec_periodic;
    cc.ops = *ops;
    cc.ctx = ctx;
    return pvt_timersvc_add_client(s, &cc, NULL, &first);
}

/* Contract in timersvc.h. */
int pvt_timersvc_set_fired(struct pvt_timersvc *s, unsigned int id,
                           pvt_timersvc_fired_fn fired, void *ctx)
{
    if (s == NULL || s->client == NULL || id >= s->nclients || s->running)
        return -EINVAL;
    s->client[id].cc.fired = fired;
    s->client[id].cc.fired_ctx = ctx;
    return 0;
}

/* Contract in timersvc.h. */
int pvt_timersvc_set_rt_priority(struct pvt_timersvc *s, int prio)
{
    if (s == NULL || s->shard == NULL || s->running || prio < 0 || prio > 99)
        return -EINVAL;
    s->cfg.rt_priority = prio;
    return 0;
}

/* Contract in timersvc.h. */
int pvt_timersvc_set_advance(struct pvt_timersvc *s, int64_t advance_ns)
{
    unsigned int i;

    if (s == NULL || s->shard == NULL || s->running || advance_ns < -1)
        return -EINVAL;
    s->cfg.advance_ns = advance_ns;
    for (i = 0; i < s->nthreads; i++)
        s->shard[i].advance =
            advance_ns == PVT_TIMERSVC_ADVANCE_ADAPTIVE ? 1000 : advance_ns;
    return 0;
}

/* Contract in timersvc.h. */
int pvt_timersvc_start(struct pvt_timersvc *s)
{
    unsigned int i;
    int rc;

    if (s == NULL || s->shard == NULL || s->running || s->cfg.mono_now != NULL)
        return -EINVAL;
    for (i = 0; i < s->nthreads; i++) {
        if ((rc = pvt__svc_shard_start(&s->shard[i])) < 0) {
            while (i-- > 0)
                pvt__svc_shard_stop(&s->shard[i]);
            return rc;
        }
    }
    s->running = true;
    return 0;
}

/* The operations share this frame: lock, read the clock, change the
 * timer, re-queue. */
enum op { OP_SINGLE, OP_RELATIVE, OP_PERIODIC, OP_STOP };

static int timer_op(struct pvt_timersvc *s, unsigned int vcpu, enum op op,
                    uint64_t arg, uint64_t *armed)
{
    struct pvt__svc_timer *tm;
    struct pvt__svc_shard *sh;
    const struct pvt__svc_client *c;
    uint64_t hv_now;
    int64_t mono_now;
    int rc;

    if (s == NULL || s->timer == NULL || vcpu >= s->ntimers)
        return -EINVAL;
    tm = &s->timer[vcpu];
    sh = shard_of(s, vcpu);
    pvt__svc_arm_lock(sh);
    if (tm->client == UINT_MAX) {
        rc = -EINVAL;
        goto out;
    }
    c = &s->client[tm->client];
    rc = c->cc.ops.read_clock(c->cc.ctx, &hv_now, &mono_now);
    if (rc < 0)
        goto out;
    switch (op) {
    case OP_SINGLE:
        rc = pvt_hv_set_singleshot(&tm->t, arg, hv_now);
        break;
    case OP_RELATIVE:
        rc = pvt_hv_set_relative(&tm->t, arg, hv_now);
        if (armed)
            *armed = tm->t.single;
        break;
    case OP_PERIODIC:
        rc = pvt_hv_set_periodic(&tm->t, arg, hv_now) < 0 ? -ERANGE : 0;
        break;
    case OP_STOP:
        rc = pvt_hv_stop_singleshot(&tm->t);
        break;
    }
    if (rc < 0)
        goto out;
    rc = pvt__svc_requeue(sh, tm, hv_now, mono_now);
out:
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

/* Contracts in timersvc.h. */
int pvt_timersvc_singleshot(struct pvt_timersvc *s, unsigned int vcpu,
                            uint64_t deadline)
{
    return timer_op(s, vcpu, OP_SINGLE, deadline, NULL);
}

int pvt_timersvc_relative(struct pvt_timersvc *s, unsigned int vcpu,
                          uint64_t delta, uint64_t *armed)
{
    return timer_op(s, vcpu, OP_RELATIVE, delta, armed);
}

int pvt_timersvc_periodic(struct pvt_timersvc *s, unsigned int vcpu,
                          uint64_t period)
{
    return timer_op(s, vcpu, OP_PERIODIC, period, NULL);
}

int pvt_timersvc_stop(struct pvt_timersvc *s, unsigned int vcpu)
{
    return timer_op(s, vcpu, OP_STOP, 0, NULL);
}

/* Contract in timersvc.h. */
int pvt_timersvc_client_clock_jumped(struct pvt_timersvc *s, unsigned int id)
{
    const struct pvt__svc_client *c;
    uint64_t hv_now;
    int64_t mono_now;
    unsigned int i;
    int rc;

    if (s == NULL || s->client == NULL || id >= s->nclients)
        return -EINVAL;
    c = &s->client[id];
    rc = c->cc.ops.read_clock(c->cc.ctx, &hv_now, &mono_now);
    for (i = 0; rc == 0 && i < c->cc.ntimers; i++) {
        struct pvt__svc_timer *tm = &s->timer[c->first + i];
        struct pvt__svc_shard *sh = shard_of(s, c->first + i);

        pthread_mutex_lock(&sh->lock);
        pvt_hv_stop_singleshot(&tm->t);
        if (tm->t.period)
            pvt_hv_set_periodic(&tm->t, tm->t.period, hv_now);
        /* the rate limit's memory is of the old clock */
        tm->t.last_fire = PVT_HV_NEVER;
        rc = pvt__svc_requeue(sh, tm, hv_now, mono_now);
        pthread_mutex_unlock(&sh->lock);
    }
    return rc;
}

int pvt_timersvc_clock_jumped(struct pvt_timersvc *s)
{
    unsigned int i;
    int rc = 0;

    if (s == NULL || s->client == NULL)
        return -EINVAL;
    for (i = 0; rc == 0 && i < s->nclients; i++)
        rc = pvt_timersvc_client_clock_jumped(s, i);
    return rc;
}

/* Contract in timersvc.h. */
int pvt_timersvc_poll(struct pvt_timersvc *s, unsigned int thread,
                      int64_t *next)
{
    struct pvt__svc_shard *sh;
    int64_t nx;
    int n;

    if (s == NULL || s->shard == NULL || thread >= s->nthreads || s->running)
        return -EINVAL;
    sh = &s->shard[thread];
    pthread_mutex_lock(&sh->lock);
    sh->st.wakeups++;
    sh->woke = pvt__svc_now(s);
    sh->woke_armed = -1;
    sh->spun = 0;
    n = pvt__svc_shard_poll(sh, sh->woke, &nx);
    if (n == 0)
        sh->st.spurious++;
    else if (n > 0)
        sh->st.coalesced += (uint64_t)(n - 1);
    pthread_mutex_unlock(&sh->lock);
    if (next)
        *next = nx;
    return n;
}

/* Contract in timersvc.h. */
int pvt_timersvc_snapshot(struct pvt_timersvc *s, unsigned int vcpu,
                          struct pvt_timersvc_vcpu *out)
{
    struct pvt__svc_shard *sh;
    struct pvt__svc_timer *tm;

    if (s == NULL || s->timer == NULL || out == NULL || vcpu >= s->ntimers)
        return -EINVAL;
    sh = shard_of(s, vcpu);
    tm = &s->timer[vcpu];
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&sh->lock);
    if (tm->client == UINT_MAX) {
        pthread_mutex_unlock(&sh->lock);
        return -EINVAL;
    }
    out->t = tm->t;
    out->armed_mono = pvt_ladder_node_queued(&tm->node) ? tm->node.key : -1;
    out->armed_hv = tm->armed_hv;
    out->vec_single = s->client[tm->client].cc.vec_single;
    out->vec_periodic = s->client[tm->client].cc.vec_periodic;
    out->injected = tm->injected;
    out->inject_errors = tm->inject_errors;
    out->early_wakeups = tm->early_wakeups;
    out->throttled = tm->throttled;
    pthread_mutex_unlock(&sh->lock);
    return 0;
}

/* Contract in timersvc.h. */
int pvt_timersvc_get_stats(struct pvt_timersvc *s,
                           struct pvt_timersvc_stats *out)
{
    unsigned int i;

    if (s == NULL || s->shard == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->rt = true;
    for (i = 0; i < s->nthreads; i++) {
        struct pvt__svc_shard *sh = &s->shard[i];

        pthread_mutex_lock(&sh->lock);
        out->wakeups += sh->st.wakeups;
        out->spurious += sh->st.spurious;
        out->fires += sh->st.fires;
        out->coalesced += sh->st.coalesced;
        out->rearms += sh->st.rearms;
        out->spins += sh->st.spins;
        out->spin_ns += sh->st.spin_ns;
        out->throttled += sh->st.throttled;
        out->early += sh->st.early;
        if (i == 0)
            out->advance_ns = sh->advance;
        out->rt = out->rt && sh->rt;
        pthread_mutex_unlock(&sh->lock);
    }
    return 0;
}

/* Contract in timersvc.h. */
size_t pvt_timersvc_lateness(struct pvt_timersvc *s, int64_t *out, size_t max)
{
    size_t got = 0;
    unsigned int i;

    if (s == NULL || out == NULL || s->shard == NULL)
        return 0;
    for (i = 0; i < s->nthreads && got < max; i++) {
        struct pvt__svc_shard *sh = &s->shard[i];
        uint64_t n, first, k;

        if (!sh->lock_init || sh->lat == NULL)
            continue;
        pthread_mutex_lock(&sh->lock);
        n = sh->lat_count < PVT_TIMERSVC_LAT_SAMPLES ? sh->lat_count
                                                     : PVT_TIMERSVC_LAT_SAMPLES;
        if (n > max - got)
            n = max - got;
        first = sh->lat_count - n;
        for (k = 0; k < n; k++)
            out[got + k] = sh->lat[(first + k) % PVT_TIMERSVC_LAT_SAMPLES];
        got += (size_t)n;
        pthread_mutex_unlock(&sh->lock);
    }
    return got;
}

/* Contract in timersvc.h. */
void pvt_timersvc_destroy(struct pvt_timersvc *s)
{
    unsigned int i;

    if (s == NULL)
        return;
    if (s->shard) {
        for (i = 0; i < s->nthreads; i++)
            pvt__svc_shard_fini(&s->shard[i]);
    }
    s->running = false;
    free(s->shard);
    free(s->client);
    free(s->timer);
    s->shard = NULL;
    s->client = NULL;
    s->timer = NULL;
    if (s->lock_init)
        pthread_mutex_destroy(&s->clients_lock);
    s->lock_init = false;
}
