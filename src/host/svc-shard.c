/*
 * A service thread's part of the timer service: what a wake-up of its one
 * host timer fires, the clients' caps, the adaptive advance and the
 * bounded busy-wait. Contracts in timersvc.h and svc-shard.h.
 */
#include "svc-shard.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ll
/* A spin budget holds at most this much (ns of busy-wait). */
#define SPIN_BURST_NS (10 * 1000000ll)
/* KVM's LAPIC_TIMER_ADVANCE_ADJUST_STEP: an eighth of the error per fire
 * (late); a 32nd when early (timersvc.h says why) */
#define ADVANCE_STEP_UP   8
#define ADVANCE_STEP_DOWN 32
#define ADVANCE_INIT      1000 /* KVM's initial lapic_timer_advance_ns */

void pvt__svc_arm_lock(struct pvt__svc_shard *sh)
{
    while (atomic_load_explicit(&sh->svc_waiting, memory_order_relaxed))
        sched_yield();
    pthread_mutex_lock(&sh->lock);
}

/* The service thread's lock: armers wait while it waits. */
static void svc_lock(struct pvt__svc_shard *sh)
{
    atomic_store(&sh->svc_waiting, true);
    pthread_mutex_lock(&sh->lock);
    atomic_store(&sh->svc_waiting, false);
}

int64_t pvt__svc_now(const struct pvt_timersvc *s)
{
    struct timespec ts;

    if (s->cfg.mono_now)
        return s->cfg.mono_now(s->cfg.mono_ctx);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int pvt__svc_client_clock(struct pvt__svc_shard *sh, unsigned int client,
                          bool force, uint64_t *hv_now, int64_t *mono_now)
{
    struct pvt__svc_client_shard *cl = &sh->cl[client];
    const struct pvt__svc_client *c = &sh->s->client[client];

    if (force || cl->round != sh->round) {
        int rc = c->cc.ops.read_clock(c->cc.ctx, &cl->hv_now, &cl->mono_now);

        if (rc < 0)
            return rc;
        cl->round = sh->round;
    }
    *hv_now = cl->hv_now;
    *mono_now = cl->mono_now;
    return 0;
}

/* The advance the host timer gets for a deadline of client c: none once
 * c's busy-wait budget is spent. */
static int64_t spin_refill(struct pvt__svc_shard *sh, unsigned int c,
                           int64_t now)
{
    struct pvt__svc_client_shard *cl = &sh->cl[c];

    if (cl->spin_last == INT64_MIN || now - cl->spin_last > NSEC_PER_SEC) {
        cl->spin_tokens = SPIN_BURST_NS;
    } else if (now > cl->spin_last) {
        cl->spin_tokens +=
            (now - cl->spin_last) * (int64_t)sh->s->cfg.spin_cap_ppm / 1000000;
        if (cl->spin_tokens > SPIN_BURST_NS)
            cl->spin_tokens = SPIN_BURST_NS;
    }
    cl->spin_last = now;
    return cl->spin_tokens;
}

static int64_t advance_for(struct pvt__svc_shard *sh, unsigned int c,
                           int64_t now)
{
    if (sh->advance <= 0 || sh->tfd < 0)
        return 0;
    return spin_refill(sh, c, now) > 0 ? sh->advance : 0;
}

static int settime(struct pvt__svc_shard *sh, int64_t at)
{
    struct itimerspec its;

    if (at <= 0)
        at = 1; /* never all-zero: that would disarm */
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(at / NSEC_PER_SEC);
    its.it_value.tv_nsec = (long)(at % NSEC_PER_SEC);
    sh->st.rearms++;
    return timerfd_settime(sh->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno
                                                                       : 0;
}

/* Brings the host timer forward to the earliest deadline (plus the slack,
 * minus the advance) when it is armed later. Lock held. */
static int shard_arm(struct pvt__svc_shard *sh, int64_t now)
{
    struct pvt_ladder_node *n = pvt_ladder_first(&sh->q);
    struct pvt__svc_timer *tm;
    int64_t target, at;
    int rc;

    if (n == NULL || sh->tfd < 0 || sh->stop || sh->in_wake)
        return 0;
    tm = PVT_LADDER_ENTRY(n, struct pvt__svc_timer, node);
    target = n->key + (int64_t)sh->s->cfg.slack_ns;
    at = target - advance_for(sh, tm->client, now);
    if (at >= sh->armed_at)
        return 0;
    if ((rc = settime(sh, at)) < 0)
        return rc;
    sh->armed_at = at;
    sh->armed_target = target;
    return 0;
}

/* Client c's cap at now (its tokens counted up to now): 0 when a fire
 * may go, else how long until one may. */
static int64_t cap_wait(struct pvt__svc_shard *sh, unsigned int c, int64_t now,
                        int64_t *cost_out)
{
    const struct pvt_timersvc_client_config *cc = &sh->s->client[c].cc;
    struct pvt__svc_client_shard *cl = &sh->cl[c];
    int64_t cost, max;

    *cost_out = 0;
    if (cc->max_fires_per_s == 0)
        return 0;
    cost = (int64_t)(NSEC_PER_SEC / cc->max_fires_per_s);
    if (cost < 1)
        cost = 1;
    max = cost * (int64_t)(cc->burst ? cc->burst : 1);
    if (cl->fire_last == INT64_MIN || now - cl->fire_last > max)
        cl->fire_tokens = max;
    else if (now > cl->fire_last)
        cl->fire_tokens += now - cl->fire_last;
    if (cl->fire_tokens > max)
        cl->fire_tokens = max;
    cl->fire_last = now > cl->fire_last ? now : cl->fire_last;
    *cost_out = cost;
    return cl->fire_tokens < cost ? cost - cl->fire_tokens : 0;
}

/* The key a timer of client c over its cap gets (wait: cap_wait's): the
 * next free slot, one fire's cost after the last one given, so that the
 * client's waiting timers come out one per token rather than all at
 * each, and a storm of re-armings pushes only the client's own timers
 * later (by at most its timers' count of slots). */
static int64_t cap_slot(struct pvt__svc_shard *sh, unsigned int c, int64_t now,
                        int64_t wait, int64_t cost)
{
    struct pvt__svc_client_shard *cl = &sh->cl[c];
    int64_t slot = now + wait,
            last = now + wait + (int64_t)sh->s->client[c].cc.ntimers * cost;

    if (cl->next_slot > slot)
        slot = cl->next_slot < last ? cl->next_slot : last;
    cl->next_slot = slot + cost;
    return slot;
}

static int64_t wait_cost(struct pvt__svc_shard *sh, unsigned int c)
{
    uint64_t r = sh->s->client[c].cc.max_fires_per_s;

    return r && NSEC_PER_SEC / (int64_t)r > 0 ? NSEC_PER_SEC / (int64_t)r : 1;
}

/* Takes one fire from client c's cap at now; false (and *wait, how long
 * until the next) when the cap is reached. */
static bool take_fire(struct pvt__svc_shard *sh, unsigned int c, int64_t now,
                      int64_t *wait)
{
    int64_t cost;

    *wait = cap_wait(sh, c, now, &cost);
    if (*wait > 0)
        return false;
    sh->cl[c].fire_tokens -= cost;
    return true;
}

int pvt__svc_requeue(struct pvt__svc_shard *sh, struct pvt__svc_timer *tm,
                     uint64_t hv_now, int64_t mono_now)
{
    uint64_t fire;
    int64_t key;

    if (pvt_ladder_node_queued(&tm->node))
        pvt_ladder_remove(&sh->q, &tm->node);
    fire = pvt_hv_next_fire(&tm->t);
    tm->armed_hv = fire;
    if (fire == PVT_HV_NEVER)
        return 0;
    if (fire <= hv_now)
        key = mono_now;
    else if (fire - hv_now > (uint64_t)PVT__SVC_MAX_AHEAD_NS)
        key = mono_now + PVT__SVC_MAX_AHEAD_NS;
    else
        key = mono_now + (int64_t)(fire - hv_now);
    if (sh->s->client[tm->client].cc.max_fires_per_s) {
        /* a client over its cap queues no earlier than its next fire may
         * go: a storm of past deadlines then costs the service nothing
         * until then */
        int64_t cost, wait = cap_wait(sh, tm->client, mono_now, &cost);

        if (wait > 0) {
            int64_t slot = cap_slot(sh, tm->client, mono_now, wait, cost);

            if (key < slot)
                key = slot;
        }
    }
    pvt_ladder_insert(&sh->q, &tm->node, key);
    return shard_arm(sh, mono_now);
}

static void inject_one(struct pvt__svc_shard *sh, struct pvt__svc_timer *tm,
                       const struct pvt__svc_client *c, uint32_t vector,
                       uint64_t deadline_hv, uint64_t single_hv,
                       uint64_t hv_now, int64_t mono_now, int64_t key)
{
    struct pvt_timersvc_fire f;
    int64_t t0 = c->cc.fired ? pvt__svc_now(sh->s) : 0;

    if (c->cc.ops.inject(c->cc.ctx, tm->local, vector) < 0) {
        tm->inject_errors++;
        return;
    }
    tm->injected++;
    if (c->cc.fired == NULL)
        return;
    f.deadline_hv = deadline_hv;
    f.single_hv = single_hv;
    f.hv_at_fire = hv_now;
    f.mono_at_fire = mono_now;
    f.deadline_mono = key;
    f.armed_mono = sh->woke_armed;
    f.woke_mono = sh->woke;
    f.inject_mono = t0;
    f.injected_mono = pvt__svc_now(sh->s);
    f.spun_ns = sh->spun;
    f.vector = vector;
    c->cc.fired(c->cc.fired_ctx, tm->local, &f);
}

int pvt__svc_shard_poll(struct pvt__svc_shard *sh, int64_t now, int64_t *next)
{
    struct pvt_ladder_node *n;
    int fired = 0;
    int rc;

    sh->round++;
    while ((n = pvt_ladder_first(&sh->q)) != NULL && n->key <= now) {
        struct pvt__svc_timer *tm =
            PVT_LADDER_ENTRY(n, struct pvt__svc_timer, node);
        const struct pvt__svc_client *c = &sh->s->client[tm->client];
        uint64_t hv, fire, single;
        int64_t mono, key = n->key, wait;
        unsigned int mask;

        pvt_ladder_pop(&sh->q);
        fire = pvt_hv_next_fire(&tm->t);
        if (fire == PVT_HV_NEVER)
            continue;
        if ((rc = pvt__svc_client_clock(sh, tm->client, false, &hv, &mono)) < 0)
            return rc;
        if (fire > hv &&
            (rc = pvt__svc_client_clock(sh, tm->client, true, &hv, &mono)) < 0)
            return rc;
        if (fire > hv) {
            /* due in CLOCK_MONOTONIC, not yet in the hypervisor's clock
             * (their rates differ): the rest, at least past now */
            int64_t k = mono + (int64_t)(fire - hv);

            tm->early_wakeups++;
            sh->st.early++;
            pvt_ladder_insert(&sh->q, &tm->node, k > now ? k : now + 1);
            continue;
        }
        if (!take_fire(sh, tm->client, now, &wait)) {
            tm->throttled++;
            sh->st.throttled++;
            pvt_ladder_insert(
                &sh->q, &tm->node,
                cap_slot(sh, tm->client, now, wait, wait_cost(sh, tm->client)));
            continue;
        }
        single = tm->t.single;
        mask = pvt_hv_expire(&tm->t, hv);
        if (mask & PVT_HV_SINGLESHOT)
            inject_one(sh, tm, c, c->cc.vec_single, fire, single, hv, mono,
                       key);
        if (mask & PVT_HV_PERIODIC)
            inject_one(sh, tm, c, c->cc.vec_periodic, fire, PVT_HV_NEVER, hv,
                       mono, key);
        fired++;
        if ((rc = pvt__svc_requeue(sh, tm, hv, mono)) < 0)
            return rc;
    }
    sh->st.fires += (uint64_t)fired;
    if (next) {
        n = pvt_ladder_first(&sh->q);
        *next = n ? n->key + (int64_t)sh->s->cfg.slack_ns : PVT__SVC_NONE;
    }
    return fired;
}

/* After KVM's adjust_lapic_timer_advance: the wake-up came delta ns after
 * the time it was meant for (negative: before); move the advance by an
 * eighth of that (a 32nd when early), within [0, max]; a delta beyond max
 * (a load spike, a wake-up for a deadline that moved) teaches nothing. */
static void learn(struct pvt__svc_shard *sh, int64_t delta)
{
    int64_t max = sh->s->cfg.advance_max_ns;

    if (sh->s->cfg.advance_ns != PVT_TIMERSVC_ADVANCE_ADAPTIVE)
        return;
    if (delta > max || delta < -max)
        return;
    sh->advance += delta / (delta > 0 ? ADVANCE_STEP_UP : ADVANCE_STEP_DOWN);
    if (sh->advance < 0)
        sh->advance = 0;
    if (sh->advance > max)
        sh->advance = max;
}

static void record_lateness(struct pvt__svc_shard *sh, int64_t lat)
{
    sh->lat[sh->lat_count % PVT_TIMERSVC_LAT_SAMPLES] = lat;
    sh->lat_count++;
}

/* One wake-up of the host timer (lock held): fire what is due, busy-wait
 * for a deadline within the advance (the lock dropped meanwhile), arm the
 * host timer for the rest. Returns 0 or a negative errno value. */
static int shard_wake(struct pvt__svc_shard *sh, int64_t woke)
{
    struct pvt_timersvc *s = sh->s;
    int64_t spin_window;
    unsigned int rounds = 0;
    int total = 0;

    sh->st.wakeups++;
    sh->woke = woke;
    sh->woke_armed = sh->armed_at == PVT__SVC_NONE ? -1 : sh->armed_at;
    if (sh->armed_at != PVT__SVC_NONE) {
        record_lateness(sh, woke - sh->armed_at);
        learn(sh, woke - sh->armed_target);
    }
    sh->armed_at = PVT__SVC_NONE; /* a timerfd fires once */
    sh->spun = 0;
    sh->in_wake = true;
    for (;;) {
        struct pvt_ladder_node *n;
        struct pvt__svc_timer *tm;
        int64_t next, now = pvt__svc_now(s);
        int fired = pvt__svc_shard_poll(sh, now, &next);

        if (fired < 0) {
            sh->in_wake = false;
            return fired;
        }
        /* every fire after the wake-up's first shared it */
        sh->st.coalesced += (uint64_t)fired - (total == 0 && fired > 0);
        total += fired;
        if (next == PVT__SVC_NONE || sh->stop)
            break;
        now = pvt__svc_now(s);
        if (next <= now) {
            /* more came due meanwhile: another round, but not forever
             * (an overloaded thread re-arms for now, which lets the
             * vCPU threads and a stop in, as Linux's hrtimer_interrupt
             * gives up after three rounds) */
            if (++rounds >= PVT__SVC_MAX_ROUNDS)
                break;
            continue;
        }
        n = pvt_ladder_first(&sh->q);
        tm = PVT_LADDER_ENTRY(n, struct pvt__svc_timer, node);
        spin_window = sh->advance > 0 ? sh->advance + s->cfg.spin_slack_ns : 0;
        if (next - now > spin_window ||
            spin_refill(sh, tm->client, now) < next - now)
            break;
        /* the deadline is within the advance: wait for it on the clock
         * (a vCPU thread arming meanwhile arms the host timer itself) */
        sh->in_wake = false;
        pthread_mutex_unlock(&sh->lock);
        {
            int64_t t = now;

            while (t < next)
                t = pvt__svc_now(s);
            svc_lock(sh);
            sh->cl[tm->client].spin_tokens -= t - now;
            sh->spun += t - now;
            sh->st.spins++;
            sh->st.spin_ns += (uint64_t)(t - now);
            sh->in_wake = true;
        }
    }
    sh->in_wake = false;
    if (total == 0)
        sh->st.spurious++;
    return shard_arm(sh, pvt__svc_now(s));
}

static void *shard_main(void *arg)
{
    struct pvt__svc_shard *sh = arg;
    struct pvt_timersvc *s = sh->s;

    if (s->cfg.rt_priority > 0) {
        struct sched_param sp;

        memset(&sp, 0, sizeof(sp));
        sp.sched_priority = s->cfg.rt_priority;
        if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0) {
            pthread_mutex_lock(&sh->lock);
            sh->rt = true;
            pthread_mutex_unlock(&sh->lock);
        }
    }

    for (;;) {
        uint64_t expirations;
        ssize_t r = read(sh->tfd, &expirations, sizeof(expirations));
        int64_t woke = pvt__svc_now(s);
        int rc;

        if (r < 0 && errno != EINTR && errno != EAGAIN) {
            atomic_store(&s->thread_err, -errno);
            return NULL;
        }
        svc_lock(sh);
        if (sh->stop) {
            pthread_mutex_unlock(&sh->lock);
            return NULL;
        }
        rc = r == (ssize_t)sizeof(expirations) ? shard_wake(sh, woke) : 0;
        pthread_mutex_unlock(&sh->lock);
        if (rc < 0) {
            atomic_store(&s->thread_err, rc);
            return NULL;
        }
    }
}

int pvt__svc_shard_init(struct pvt_timersvc *s, struct pvt__svc_shard *sh,
                        unsigned int index, bool timerfd)
{
    unsigned int i;
    int rc;

    memset(sh, 0, sizeof(*sh));
    sh->s = s;
    sh->index = index;
    sh->tfd = -1;
    sh->armed_at = PVT__SVC_NONE;
    sh->armed_target = PVT__SVC_NONE;
    sh->advance = s->cfg.advance_ns == PVT_TIMERSVC_ADVANCE_ADAPTIVE
                      ? ADVANCE_INIT
                      : s->cfg.advance_ns;
    if ((rc = pthread_mutex_init(&sh->lock, NULL)) != 0)
        return -rc;
    sh->lock_init = true;
    pvt_ladder_init(&sh->q, sh->rung, PVT__SVC_RUNGS);
    sh->cl = calloc(s->nclients_max, sizeof(*sh->cl));
    sh->lat = malloc(PVT_TIMERSVC_LAT_SAMPLES * sizeof(*sh->lat));
    if (sh->cl == NULL || sh->lat == NULL)
        return -ENOMEM;
    for (i = 0; i < s->nclients_max; i++)
        sh->cl[i].fire_last = sh->cl[i].spin_last = INT64_MIN;
    if (timerfd) {
        sh->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        if (sh->tfd < 0)
            return -errno;
    }
    return 0;
}

void pvt__svc_shard_fini(struct pvt__svc_shard *sh)
{
    pvt__svc_shard_stop(sh);
    if (sh->tfd >= 0)
        close(sh->tfd);
    sh->tfd = -1;
    free(sh->cl);
    free(sh->lat);
    sh->cl = NULL;
    sh->lat = NULL;
    if (sh->lock_init)
        pthread_mutex_destroy(&sh->lock);
    sh->lock_init = false;
}

int pvt__svc_shard_start(struct pvt__svc_shard *sh)
{
    sigset_t all, old;
    int rc;

    if (sh->tfd < 0 || sh->thread_started)
        return -EINVAL;
    /* the thread takes no signals: they belong to the owner's threads (a
     * vCPU thread is kicked out of KVM_RUN by one) */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&sh->thread, NULL, shard_main, sh);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    sh->thread_started = true;
    return 0;
}

void pvt__svc_shard_stop(struct pvt__svc_shard *sh)
{
    if (!sh->thread_started)
        return;
    pthread_mutex_lock(&sh->lock);
    sh->stop = true;
    settime(sh, 1); /* expires at once: the thread sees stop */
    pthread_mutex_unlock(&sh->lock);
    pthread_join(sh->thread, NULL);
    sh->thread_started = false;
}
