/*
 * `pvtimer bench service`: the host timer service (src/host/timersvc)
 * without a guest, against the two usual ways of serving many timers from
 * user space, in the same process on the same workload:
 *
 *   service   pvtimer's: one timerfd per service thread over a ladder of
 *             deadlines, coalescing within --slack (run twice by default:
 *             no slack and 50 us), the injection a callback that records
 *             when it ran;
 *   timerfd   one timerfd per timer, one thread waiting on all of them with
 *             epoll (the service's previous design, and the usual one in
 *             VMMs), written here after its description: an absolute,
 *             periodic timerfd per timer, read on each event;
 *   threads   one thread per timer sleeping with
 *             clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) (64 KiB
 *             stacks), capped at MAX_THREADS threads: above that the row
 *             says "skipped".
 *
 * The workload, for each N: N timers, timer i periodic at HZ * (1 +- 5%)
 * (its own period from a seeded generator, so the deadlines spread over
 * the period after a few of them), all started together; the first
 * WARMUP_S of each run is not measured. Every design records, per fire,
 * its lateness (the clock read when the callback ran minus the deadline)
 * into the same histogram (100 ns buckets up to 100 ms); a design that
 * falls behind skips periods (one fire for all those passed, as a periodic
 * timerfd and a periodic Xen timer do): "missed" counts them.
 *
 * CPU per fire is the process's user + system time (getrusage) over the
 * measured window divided by the fires in it: the main thread sleeps
 * meanwhile, so it is the design's threads' time. Wake-ups are the host's
 * (timerfd reads or epoll_wait returns, or nanosleep returns); coalesced,
 * the fires that shared a wake-up with an earlier fire.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "timersvc.h"

#define NSEC_PER_SEC  1000000000ll
#define WARMUP_S      0.3
#define MAX_THREADS   1024u
#define LAT_BUCKET_NS 100
#define LAT_BUCKETS   1000000u /* 100 ns x 1e6 = 100 ms */
#define JITTER        0.05

static int64_t mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = {(time_t)(t / NSEC_PER_SEC), (long)(t % NSEC_PER_SEC)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        continue;
}

/* --rt: every design's timer threads at SCHED_FIFO at this priority (0:
 * the default scheduling); the storm's arming thread, a VM's vCPU, keeps
 * the default. Where the host refuses, the thread stays as it is (the
 * service's stats say rt; the others count the refusals). */
static int bench_rt;
static atomic_uint rt_refused;

/* Can this process run threads at SCHED_FIFO bench_rt? (Tried on the
 * calling thread, then put back.) */
static bool rt_allowed(void)
{
    struct sched_param old, sp;
    int policy, e;

    if (pthread_getschedparam(pthread_self(), &policy, &old) != 0)
        return false;
    memset(&sp, 0, sizeof(sp));
    sp.sched_priority = bench_rt;
    e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    pthread_setschedparam(pthread_self(), policy, &old);
    return e == 0;
}

static void thread_rt(void)
{
    struct sched_param sp;

    if (bench_rt <= 0)
        return;
    memset(&sp, 0, sizeof(sp));
    sp.sched_priority = bench_rt;
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
        atomic_fetch_add(&rt_refused, 1);
}

static int64_t cpu_ns(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NSEC_PER_SEC +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* ---- what every design records ----------------------------------------- */

struct rec {
    _Atomic bool on;          /* inside the measured window */
    _Atomic uint64_t *bucket; /* [LAT_BUCKETS] */
    _Atomic uint64_t over;    /* beyond the last bucket */
    _Atomic uint64_t early;   /* lateness < 0: never, we hope */
    _Atomic int64_t max;
    _Atomic uint64_t fires, wakeups, coalesced, missed;
    int64_t window_ns; /* how long recording was on (the last window) */
};

static void rec_lat(struct rec *r, int64_t lat)
{
    int64_t m;

    if (!atomic_load_explicit(&r->on, memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&r->fires, 1, memory_order_relaxed);
    if (lat < 0) {
        atomic_fetch_add_explicit(&r->early, 1, memory_order_relaxed);
        return;
    }
    if ((uint64_t)lat / LAT_BUCKET_NS < LAT_BUCKETS)
        atomic_fetch_add_explicit(&r->bucket[lat / LAT_BUCKET_NS], 1,
                                  memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&r->over, 1, memory_order_relaxed);
    m = atomic_load_explicit(&r->max, memory_order_relaxed);
    while (lat > m && !atomic_compare_exchange_weak(&r->max, &m, lat))
        continue;
}

/* The measured window, after the warm-up: recording on from now for
 * dur_s (however late the warm-up ended); *cpu gets the process CPU in it
 * and r->window_ns its real length (the sleep may overrun on a loaded
 * machine: rates are taken over what was recorded). */
static void record_window(struct rec *r, double dur_s, int64_t *cpu)
{
    int64_t c0 = cpu_ns(), opened;

    atomic_store(&r->on, true);
    opened = mono();
    sleep_until(opened + (int64_t)(dur_s * 1e9));
    atomic_store(&r->on, false);
    r->window_ns = mono() - opened;
    *cpu = cpu_ns() - c0;
}

static void rec_count(struct rec *r, _Atomic uint64_t *c, uint64_t n)
{
    if (atomic_load_explicit(&r->on, memory_order_relaxed))
        atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* The q-quantile's bucket's upper bound, ns (the max when beyond). */
static int64_t rec_quantile(struct rec *r, double q)
{
    uint64_t total = 0, want, seen = 0;
    size_t k;

    for (k = 0; k < LAT_BUCKETS; k++)
        total += r->bucket[k];
    total += r->over;
    if (total == 0)
        return 0;
    want = (uint64_t)(q * (double)total + 0.999999);
    if (want == 0)
        want = 1;
    for (k = 0; k < LAT_BUCKETS; k++) {
        seen += r->bucket[k];
        if (seen >= want) {
            int64_t hi = (int64_t)(k + 1) * LAT_BUCKET_NS;

            return hi < r->max ? hi : r->max;
        }
    }
    return r->max;
}

/* ---- the workload -------------------------------------------------------- */

struct load {
    unsigned int n;
    int64_t *period; /* [n] ns */
    int64_t start;   /* every timer's phase origin */
    struct rec *rec;
};

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ---- design 1: the service ----------------------------------------------- */

static int svc_read(void *ctx, uint64_t *hv, int64_t *mono_ns)
{
    (void)ctx;
    *mono_ns = mono();
    *hv = (uint64_t)*mono_ns;
    return 0;
}

static int svc_inject(void *ctx, unsigned int vcpu, uint32_t vector)
{
    (void)ctx, (void)vcpu, (void)vector;
    return 0;
}

static void svc_fired(void *ctx, unsigned int vcpu,
                      const struct pvt_timersvc_fire *f)
{
    struct load *l = ctx;

    (void)vcpu;
    /* the hv clock is CLOCK_MONOTONIC here */
    rec_lat(l->rec, f->inject_mono - (int64_t)f->deadline_hv);
}

/* The periods the service's timers skipped so far (fell behind). */
static uint64_t svc_missed(struct pvt_timersvc *s, unsigned int n)
{
    struct pvt_timersvc_vcpu v;
    uint64_t m = 0;
    unsigned int i;

    for (i = 0; i < n; i++)
        if (pvt_timersvc_snapshot(s, i, &v) == 0)
            m += v.t.stats.periodic_missed;
    return m;
}

/* A client of n timers on the bench's clock, injecting into the
 * recorder (the caller sets fired for the measured VM), with the timers'
 * minimum interval between fires (0: Xen's). */
static void svc_client(struct pvt_timersvc_client_config *cc, unsigned int n,
                       uint64_t min_interval_ns)
{
    memset(cc, 0, sizeof(*cc));
    cc->ntimers = n;
    cc->timer = PVT_HV_TIMER_CONFIG_XEN;
    cc->timer.slop_ns = 0;
    cc->timer.default_period_ns = 0;
    cc->timer.min_period_ns = 1000;
    if (min_interval_ns)
        cc->timer.min_interval_ns = min_interval_ns;
    cc->vec_single = 0x40;
    cc->vec_periodic = 0x41;
    cc->ops.read_clock = svc_read;
    cc->ops.inject = svc_inject;
}

/* Starts s, then l's periodic timers, first .. first + l->n - 1. */
static int svc_start(struct pvt_timersvc *s, const struct load *l,
                     unsigned int first)
{
    unsigned int i;
    int rc;

    if ((rc = pvt_timersvc_start(s)) < 0)
        return rc;
    for (i = 0; i < l->n; i++)
        if ((rc = pvt_timersvc_periodic(s, first + i, (uint64_t)l->period[i])) <
            0)
            return rc;
    return 0;
}

/* The warm-up, then dur_s recorded: the service's statistics at the
 * window's ends (*a, *b), the process CPU in it (*cpu) and, when missed is
 * not NULL, the periods l's timers (0 .. l->n - 1) skipped in it. */
static void svc_window(struct pvt_timersvc *s, struct load *l, double dur_s,
                       struct pvt_timersvc_stats *a,
                       struct pvt_timersvc_stats *b, int64_t *cpu,
                       uint64_t *missed)
{
    int64_t t0 = mono();
    uint64_t m0 = 0;

    sleep_until(t0 + (int64_t)(WARMUP_S * 1e9));
    if (missed)
        m0 = svc_missed(s, l->n);
    pvt_timersvc_get_stats(s, a);
    record_window(l->rec, dur_s, cpu);
    pvt_timersvc_get_stats(s, b);
    if (missed)
        *missed = svc_missed(s, l->n) - m0;
}

static int run_service(struct load *l, unsigned int threads, uint64_t slack,
                       int64_t advance, double dur_s, int64_t *cpu,
                       struct pvt_timersvc_stats *st, uint64_t *missed)
{
    static struct pvt_timersvc s;
    struct pvt_timersvc_config c = PVT_TIMERSVC_CONFIG_DEFAULT(l->n);
    struct pvt_timersvc_client_config cc;
    struct pvt_timersvc_stats a, b;
    unsigned int first;
    int rc;

    c.nthreads = threads;
    c.slack_ns = slack;
    c.advance_ns = advance;
    c.rt_priority = bench_rt;
    if ((rc = pvt_timersvc_create(&s, &c)) < 0)
        goto out;
    svc_client(&cc, l->n, 0);
    cc.ctx = l;
    cc.fired = svc_fired;
    cc.fired_ctx = l;
    if ((rc = pvt_timersvc_add_client(&s, &cc, NULL, &first)) < 0 ||
        (rc = svc_start(&s, l, first)) < 0)
        goto out;
    svc_window(&s, l, dur_s, &a, &b, cpu, missed);
    memset(st, 0, sizeof(*st));
    st->wakeups = b.wakeups - a.wakeups;
    st->coalesced = b.coalesced - a.coalesced;
    st->spins = b.spins - a.spins;
    st->advance_ns = b.advance_ns;
    rc = atomic_load(&s.thread_err);
out:
    pvt_timersvc_destroy(&s);
    return rc;
}

/* ---- design 2: a timerfd per timer, epoll ------------------------------- */

struct efd {
    struct load *l;
    int ep, stopfd;
    int *tfd;          /* [n] */
    int64_t *expected; /* [n]: the next deadline */
};

static void *efd_main(void *arg)
{
    struct efd *e = arg;
    struct epoll_event ev[256];

    thread_rt();

    for (;;) {
        int n = epoll_wait(e->ep, ev, 256, -1), k, fired = 0;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        rec_count(e->l->rec, &e->l->rec->wakeups, 1);
        for (k = 0; k < n; k++) {
            uint32_t i = ev[k].data.u32;
            uint64_t exp;
            int64_t now;

            if (i == UINT32_MAX)
                return NULL;
            if (read(e->tfd[i], &exp, sizeof(exp)) != (ssize_t)sizeof(exp))
                continue;
            now = mono();
            rec_lat(e->l->rec, now - e->expected[i]);
            if (exp > 1)
                rec_count(e->l->rec, &e->l->rec->missed, exp - 1);
            e->expected[i] += (int64_t)exp * e->l->period[i];
            fired++;
        }
        if (fired > 1)
            rec_count(e->l->rec, &e->l->rec->coalesced, (uint64_t)fired - 1);
    }
}

static int run_timerfd(struct load *l, double dur_s, int64_t *cpu)
{
    struct efd e = {.l = l, .ep = -1, .stopfd = -1};
    struct epoll_event ev;
    pthread_t th;
    bool started = false;
    unsigned int i;
    int64_t t0;
    uint64_t one = 1;
    int rc = 0;

    e.tfd = malloc(l->n * sizeof(*e.tfd));
    e.expected = malloc(l->n * sizeof(*e.expected));
    if (e.tfd == NULL || e.expected == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (i = 0; i < l->n; i++)
        e.tfd[i] = -1;
    e.ep = epoll_create1(EPOLL_CLOEXEC);
    e.stopfd = eventfd(0, EFD_CLOEXEC);
    if (e.ep < 0 || e.stopfd < 0) {
        rc = -errno;
        goto out;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = UINT32_MAX;
    if (epoll_ctl(e.ep, EPOLL_CTL_ADD, e.stopfd, &ev) < 0) {
        rc = -errno;
        goto out;
    }
    for (i = 0; i < l->n; i++) {
        e.tfd[i] = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (e.tfd[i] < 0) {
            rc = -errno;
            goto out;
        }
        ev.data.u32 = i;
        if (epoll_ctl(e.ep, EPOLL_CTL_ADD, e.tfd[i], &ev) < 0) {
            rc = -errno;
            goto out;
        }
    }
    if (pthread_create(&th, NULL, efd_main, &e) != 0) {
        rc = -EAGAIN;
        goto out;
    }
    started = true;
    /* the first deadline one period after now, as the service's periodic
     * timers */
    for (i = 0; i < l->n; i++) {
        struct itimerspec its;
        int64_t at = mono() + l->period[i];

        e.expected[i] = at;
        its.it_value.tv_sec = (time_t)(at / NSEC_PER_SEC);
        its.it_value.tv_nsec = (long)(at % NSEC_PER_SEC);
        its.it_interval.tv_sec = (time_t)(l->period[i] / NSEC_PER_SEC);
        its.it_interval.tv_nsec = (long)(l->period[i] % NSEC_PER_SEC);
        if (timerfd_settime(e.tfd[i], TFD_TIMER_ABSTIME, &its, NULL) < 0) {
            rc = -errno;
            goto out;
        }
    }
    t0 = mono();
    sleep_until(t0 + (int64_t)(WARMUP_S * 1e9));
    record_window(l->rec, dur_s, cpu);
out:
    if (started) {
        if (write(e.stopfd, &one, sizeof(one)) != sizeof(one))
            pthread_cancel(th);
        pthread_join(th, NULL);
    }
    for (i = 0; e.tfd && i < l->n; i++)
        if (e.tfd[i] >= 0)
            close(e.tfd[i]);
    if (e.ep >= 0)
        close(e.ep);
    if (e.stopfd >= 0)
        close(e.stopfd);
    free(e.tfd);
    free(e.expected);
    return rc;
}

/* ---- design 3: a thread per timer ---------------------------------------- */

struct thr {
    struct load *l;
    unsigned int i;
    int64_t first;
    atomic_bool *stop;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    int64_t next = t->first, period = t->l->period[t->i];

    thread_rt();

    while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
        int64_t now;

        sleep_until(next);
        now = mono();
        rec_count(t->l->rec, &t->l->rec->wakeups, 1);
        rec_lat(t->l->rec, now - next);
        next += period;
        if (next <= now) { /* behind: one fire for the periods passed */
            int64_t behind = (now - next) / period + 1;

            rec_count(t->l->rec, &t->l->rec->missed, (uint64_t)behind);
            next += behind * period;
        }
    }
    return NULL;
}

static int run_threads(struct load *l, double dur_s, int64_t *cpu)
{
    struct thr *t = calloc(l->n, sizeof(*t));
    pthread_t *th = calloc(l->n, sizeof(*th));
    atomic_bool stop = false;
    pthread_attr_t attr;
    unsigned int i, started = 0;
    int64_t t0, now;
    int rc = 0;

    if (t == NULL || th == NULL) {
        free(t);
        free(th);
        return -ENOMEM;
    }
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    now = mono();
    for (i = 0; i < l->n; i++) {
        t[i].l = l;
        t[i].i = i;
        t[i].first = now + l->period[i];
        t[i].stop = &stop;
        if ((rc = pthread_create(&th[i], &attr, thr_main, &t[i])) != 0) {
            rc = -rc;
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    if (rc == 0) {
        t0 = mono();
        sleep_until(t0 + (int64_t)(WARMUP_S * 1e9));
        record_window(l->rec, dur_s, cpu);
    }
    atomic_store(&stop, true);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(t);
    free(th);
    return rc;
}

/* ---- rows ---------------------------------------------------------------- */

struct result {
    const char *design;
    uint64_t slack;
    bool skipped;
    uint64_t fires, early, coalesced, missed, wakeups;
    int64_t p50, p99, max, cpu;
    double dur_s;
};

static void rec_reset(struct rec *r)
{
    size_t k;

    for (k = 0; k < LAT_BUCKETS; k++)
        atomic_store_explicit(&r->bucket[k], 0, memory_order_relaxed);
    atomic_store(&r->on, false);
    atomic_store(&r->over, 0);
    atomic_store(&r->early, 0);
    atomic_store(&r->max, 0);
    atomic_store(&r->fires, 0);
    atomic_store(&r->wakeups, 0);
    atomic_store(&r->coalesced, 0);
    atomic_store(&r->missed, 0);
}

static void rec_result(struct rec *r, struct result *out)
{
    out->dur_s = (double)r->window_ns / 1e9;
    out->fires = atomic_load(&r->fires);
    out->early = atomic_load(&r->early);
    out->p50 = rec_quantile(r, 0.50);
    out->p99 = rec_quantile(r, 0.99);
    out->max = atomic_load(&r->max);
    if (out->wakeups == 0)
        out->wakeups = atomic_load(&r->wakeups);
    if (out->coalesced == 0)
        out->coalesced = atomic_load(&r->coalesced);
    if (out->missed == 0)
        out->missed = atomic_load(&r->missed);
}

/* ---- the storm: two VMs on one service ---------------------------------- */

#define STORM_TIMERS 64     /* the storming VM's vCPUs */
#define STORM_CAP    10000u /* its fires per second when capped */

struct storm {
    struct pvt_timersvc *s;
    unsigned int first;
    bool arm; /* false: the same thread burning a CPU, arming nothing */
    atomic_bool stop;
    uint64_t arms;
};

static void *storm_main(void *arg)
{
    struct storm *st = arg;
    unsigned int i = 0;

    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        if (st->arm)
            pvt_timersvc_singleshot(st->s, st->first + i, 0); /* past */
        i = (i + 1) % STORM_TIMERS;
        st->arms++;
    }
    return NULL;
}

/* VM B's timers as the workload (periodic, their lateness recorded); VM A
 * (mode 1: capped, 2: uncapped; 0: none) re-arms past deadlines on its
 * STORM_TIMERS timers in a loop on a thread of its own; mode 3: that
 * thread only burns a CPU (what B would see from the CPU it takes alone,
 * on a machine with few CPUs). *a_rate: A's fires a second since its
 * thread started (its timers' injections: exact, whatever B records). */
static int run_storm(struct load *l, int mode, double dur_s, int64_t *cpu,
                     double *a_rate, uint64_t *throttled)
{
    static struct pvt_timersvc s;
    struct pvt_timersvc_config c = PVT_TIMERSVC_CONFIG_DEFAULT(0);
    struct pvt_timersvc_client_config cc;
    struct pvt_timersvc_stats a, b;
    struct storm st;
    pthread_t th;
    bool started = false;
    unsigned int first, i;
    uint64_t a_fires = 0;
    int64_t a0;
    int rc;

    *a_rate = 0;
    c.ntimers = l->n + STORM_TIMERS;
    c.nclients = 2;
    c.advance_ns = 0;
    c.rt_priority = bench_rt;
    memset(&st, 0, sizeof(st));
    if ((rc = pvt_timersvc_create(&s, &c)) < 0)
        goto out;
    /* the monitor's PVT_HC_MIN_INTERVAL_NS between a timer's fires */
    svc_client(&cc, STORM_TIMERS, 10000);
    cc.max_fires_per_s = mode == 1 ? STORM_CAP : 0;
    if ((rc = pvt_timersvc_add_client(&s, &cc, NULL, &st.first)) < 0)
        goto out;
    cc.ntimers = l->n;
    cc.max_fires_per_s = 0;
    cc.fired = svc_fired;
    cc.fired_ctx = l;
    if ((rc = pvt_timersvc_add_client(&s, &cc, NULL, &first)) < 0 ||
        (rc = svc_start(&s, l, first)) < 0)
        goto out;
    st.s = &s;
    st.arm = mode != 3;
    a0 = mono();
    if (mode) {
        if ((rc = -pthread_create(&th, NULL, storm_main, &st)) < 0)
            goto out;
        started = true;
    }
    svc_window(&s, l, dur_s, &a, &b, cpu, NULL);
    for (i = 0; i < STORM_TIMERS; i++) {
        struct pvt_timersvc_vcpu v;

        if (pvt_timersvc_snapshot(&s, st.first + i, &v) == 0)
            a_fires += v.injected;
    }
    *a_rate = (double)a_fires * 1e9 / (double)(mono() - a0);
    *throttled = b.throttled - a.throttled;
    rc = atomic_load(&s.thread_err);
out:
    atomic_store(&st.stop, true);
    if (started)
        pthread_join(th, NULL);
    pvt_timersvc_destroy(&s);
    return rc;
}

static int bench_storm(struct load *l, double rate, double dur, bool json)
{
    static const char *const names[] = {"alone", "storm capped",
                                        "storm uncapped", "cpu hog only"};
    int mode;

    if (json)
        printf("{\"benchmark\": \"service-storm\", \"timers\": %u, "
               "\"rate_hz\": %g, \"storm_timers\": %u, \"storm_cap\": %u, "
               "\"rt_priority\": %d, \"rows\": [",
               l->n, rate, STORM_TIMERS, STORM_CAP, bench_rt);
    else
        printf("VM B: %u timers at %g Hz; VM A: %u timers re-armed past "
               "their deadlines in a loop\n(capped: %u fires/s), one "
               "service thread%s\n\n%-15s %9s %8s %8s %9s %10s %10s\n",
               l->n, rate, STORM_TIMERS, STORM_CAP,
               bench_rt ? " at SCHED_FIFO (--rt)" : "", "B's run", "B fires/s",
               "p50 us", "p99 us", "max us", "A fires/s", "throttled");
    for (mode = 0; mode < 4; mode++) {
        struct result r;
        uint64_t thr = 0;
        double a_rate = 0;
        int rc;

        memset(&r, 0, sizeof(r));
        rec_reset(l->rec);
        rc = run_storm(l, mode, dur, &r.cpu, &a_rate, &thr);
        if (rc < 0) {
            fprintf(stderr, "pvtimer bench service: storm: %s\n",
                    strerror(-rc));
            return 1;
        }
        rec_result(l->rec, &r);
        if (json)
            printf("%s{\"run\": \"%s\", \"b_window_s\": %.3f, "
                   "\"b_fires\": %llu, "
                   "\"b_lateness_p50_ns\": %lld, \"b_lateness_p99_ns\": "
                   "%lld, \"b_lateness_max_ns\": %lld, \"b_early\": %llu, "
                   "\"a_fires_per_s\": %.0f, \"a_throttled\": %llu}",
                   mode ? ", " : "", names[mode], r.dur_s,
                   (unsigned long long)r.fires, (long long)r.p50,
                   (long long)r.p99, (long long)r.max,
                   (unsigned long long)r.early, a_rate,
                   (unsigned long long)thr);
        else
            printf("%-15s %9.0f %8.1f %8.1f %9.1f %10.0f %10llu\n", names[mode],
                   (double)r.fires / r.dur_s, (double)r.p50 / 1000,
                   (double)r.p99 / 1000, (double)r.max / 1000, a_rate,
                   (unsigned long long)thr);
        fflush(stdout);
    }
    if (json)
        printf("]}\n");
    return 0;
}

static void print_row(const struct result *r, unsigned int n, double hz,
                      bool json, bool *first)
{
    double fires_s = r->dur_s > 0 ? (double)r->fires / r->dur_s : 0;

    if (json) {
        printf("%s{\"timers\": %u, \"rate_hz\": %g, \"design\": \"%s\", "
               "\"slack_ns\": %llu, \"skipped\": %s",
               *first ? "" : ", ", n, hz, r->design,
               (unsigned long long)r->slack, r->skipped ? "true" : "false");
        if (!r->skipped)
            printf(
                ", \"window_s\": %.3f, \"fires\": %llu, \"fires_per_s\": %.0f, "
                "\"lateness_p50_ns\": %lld, \"lateness_p99_ns\": %lld, "
                "\"lateness_max_ns\": %lld, \"early\": %llu, "
                "\"cpu_ns_per_fire\": %.1f, \"wakeups_per_s\": %.0f, "
                "\"coalesced\": %llu, \"missed\": %llu",
                r->dur_s, (unsigned long long)r->fires, fires_s,
                (long long)r->p50, (long long)r->p99, (long long)r->max,
                (unsigned long long)r->early,
                r->fires ? (double)r->cpu / (double)r->fires : 0,
                (double)r->wakeups / r->dur_s, (unsigned long long)r->coalesced,
                (unsigned long long)r->missed);
        printf("}");
        *first = false;
        return;
    }
    if (r->skipped) {
        printf("%6u  %-8s %6s  skipped: more than %u threads\n", n, r->design,
               "-", MAX_THREADS);
        return;
    }
    printf("%6u  %-8s %6.0f  %9.0f %8.1f %8.1f %9.1f %5llu %8.0f %10.0f "
           "%9llu %8llu\n",
           n, r->design, (double)r->slack / 1000, fires_s,
           (double)r->p50 / 1000, (double)r->p99 / 1000, (double)r->max / 1000,
           (unsigned long long)r->early,
           r->fires ? (double)r->cpu / (double)r->fires : 0,
           (double)r->wakeups / r->dur_s, (unsigned long long)r->coalesced,
           (unsigned long long)r->missed);
}

int pvt_bench_service(int argc, char **argv)
{
    static const unsigned long default_n[] = {1, 64, 1024, 16384};
    unsigned long timers = 0, threads = 1;
    double rate = 1000, dur = 2, slack_us = -1, advance_ns = 0;
    unsigned long rt = 0;
    bool json = false, first = true, storm = false;
    const struct pvt_option opts[] = {
        PVT_OPT_RANGE("--timers", PVT_OPT_COUNT, &timers, "N",
                      "virtual timers (default: rows of 1, 64, 1024, 16384)", 1,
                      16384),
        PVT_OPT_RANGE("--rate", PVT_OPT_NUMBER, &rate, "HZ",
                      "fires per second of each timer (default 1000)", 1,
                      100000),
        PVT_OPT_TIME("--duration", &dur, "S",
                     "measured seconds per design (default 2; units: "
                     "500ms)",
                     0.05, false, 600, "s"),
        PVT_OPT_RANGE("--slack", PVT_OPT_NUMBER, &slack_us, "US",
                      "the service's coalescing slack in us (default: two\n"
                      "service rows, 0 and 50)",
                      0, 100000),
        PVT_OPT_RANGE("--threads", PVT_OPT_COUNT, &threads, "N",
                      "service threads (default 1)", 1, 64),
        PVT_OPT_RANGE("--advance", PVT_OPT_NUMBER, &advance_ns, "NS",
                      "the service's timer advance, ns, or -1: adaptive\n"
                      "(default 0: none, so CPU per fire has no busy-wait)",
                      -1, 200000),
        PVT_OPT_RANGE("--rt", PVT_OPT_COUNT, &rt, "P",
                      "every design's timer threads at SCHED_FIFO priority\n"
                      "P where the host allows it (default 0: the default\n"
                      "scheduling); with --storm, the service's only: the\n"
                      "storming VM's thread keeps the default",
                      0, 99),
        PVT_OPT("--storm", PVT_OPT_FLAG, &storm, NULL,
                "instead: two VMs on one service, B's timers (--timers,\n"
                "default 64) alone, then while A re-arms past deadlines\n"
                "in a loop, capped and uncapped, then beside a thread\n"
                "that only burns a CPU"),
        PVT_OPT_JSON(&json),
    };
    static const char usage[] =
        "usage: pvtimer bench service [--timers N] [--rate HZ] [--duration S]\n"
        "                             [--slack US] [--threads N] "
        "[--advance NS] [--rt P] [--storm] [--json]\n\n"
        "The host timer service without a guest (the injection a callback "
        "recording when\nit ran), N periodic timers at HZ +- 5% each, "
        "against one timerfd per timer\nwaited on with epoll and one thread "
        "per timer in clock_nanosleep(TIMER_ABSTIME)\n(at most 1024 "
        "threads): lateness p50/p99/max, CPU per fire (getrusage),\nhost "
        "wake-ups per second, fires coalesced, periods missed.";
    const struct pvt_command_spec spec =
        PVT_COMMAND_SPEC("bench service", usage, opts);
    struct rec *rec;
    struct load l;
    unsigned long ns[4];
    size_t nrows, row;
    uint64_t seed = 0x73657276696365ull;
    int rc, status = 0;

    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    bench_rt = (int)rt;
    if (bench_rt && !rt_allowed()) {
        fprintf(stderr, "pvtimer bench service: --rt: SCHED_FIFO is not "
                        "allowed here; the default scheduling instead\n");
        bench_rt = 0;
    }
    if (advance_ns != -1 && advance_ns < 0) {
        fprintf(stderr, "pvtimer bench service: --advance: -1 or >= 0\n");
        return 2;
    }
    if (timers) {
        ns[0] = timers;
        nrows = 1;
    } else {
        memcpy(ns, default_n, sizeof(ns));
        nrows = 4;
    }
    rec = calloc(1, sizeof(*rec));
    if (rec)
        rec->bucket = calloc(LAT_BUCKETS, sizeof(*rec->bucket));
    if (rec == NULL || rec->bucket == NULL) {
        fprintf(stderr, "pvtimer bench service: out of memory\n");
        free(rec);
        return 1;
    }
    if (storm) {
        unsigned int i;

        l.n = timers ? (unsigned int)timers : 64;
        l.rec = rec;
        l.period = malloc(l.n * sizeof(*l.period));
        for (i = 0; l.period && i < l.n; i++) {
            double u = (double)(xorshift64s(&seed) >> 11) / 9007199254740992.0;

            l.period[i] = (int64_t)(1e9 / rate * (1 + JITTER * (2 * u - 1)));
        }
        status = l.period ? bench_storm(&l, rate, dur, json) : 1;
        free(l.period);
        free(rec->bucket);
        free(rec);
        return status;
    }
    if (json)
        printf("{\"benchmark\": \"service\", \"duration_s\": %g, "
               "\"max_threads\": %u, \"rt_priority\": %d, \"rows\": [",
               dur, MAX_THREADS, bench_rt);
    else
        printf("%6s  %-8s %6s  %9s %8s %8s %9s %5s %8s %10s %9s %8s\n",
               "timers", "design", "slack", "fires/s", "p50 us", "p99 us",
               "max us", "early", "cpu/fire", "wakeups/s", "coalesced",
               "missed");
    for (row = 0; row < nrows; row++) {
        unsigned int n = (unsigned int)ns[row], i, d;
        double slacks[2] = {0, 50};
        unsigned int nslack = slack_us >= 0 ? 1 : 2;

        if (slack_us >= 0)
            slacks[0] = slack_us;
        l.n = n;
        l.rec = rec;
        l.period = malloc(n * sizeof(*l.period));
        if (l.period == NULL) {
            fprintf(stderr, "pvtimer bench service: out of memory\n");
            status = 1;
            break;
        }
        for (i = 0; i < n; i++) {
            double u = (double)(xorshift64s(&seed) >> 11) / 9007199254740992.0;

            l.period[i] = (int64_t)(1e9 / rate * (1 + JITTER * (2 * u - 1)));
        }
        for (d = 0; d < nslack + 2; d++) {
            struct result r;
            struct pvt_timersvc_stats st;

            memset(&r, 0, sizeof(r));
            memset(&st, 0, sizeof(st));
            rec_reset(rec);
            if (d < nslack) {
                r.design = "service";
                r.slack = (uint64_t)(slacks[d] * 1000);
                rc = run_service(&l, (unsigned int)threads, r.slack,
                                 (int64_t)advance_ns, dur, &r.cpu, &st,
                                 &r.missed);
                r.wakeups = st.wakeups;
                r.coalesced = st.coalesced;
            } else if (d == nslack) {
                r.design = "timerfd";
                rc = run_timerfd(&l, dur, &r.cpu);
            } else {
                r.design = "threads";
                if (n > MAX_THREADS) {
                    r.skipped = true;
                    print_row(&r, n, rate, json, &first);
                    continue;
                }
                rc = run_threads(&l, dur, &r.cpu);
            }
            if (rc < 0) {
                fprintf(stderr, "pvtimer bench service: %s, %u timers: %s\n",
                        r.design, n, strerror(-rc));
                status = 1;
                continue;
            }
            rec_result(rec, &r);
            print_row(&r, n, rate, json, &first);
            fflush(stdout);
        }
        free(l.period);
    }
    if (json)
        printf("]}\n");
    else
        printf("\nlateness: the callback's clock read minus the deadline; "
               "cpu/fire: ns of process\nCPU (getrusage) per fire; "
               "coalesced: fires sharing a wake-up; missed: periods\nskipped "
               "by a design that fell behind. threads: one thread per "
               "timer, at most %u.\n",
               MAX_THREADS);
    free(rec->bucket);
    free(rec);
    return status;
}
