/*
 * The timer service (src/host/timersvc) with real time but no KVM: the
 * hypervisor clock is CLOCK_MONOTONIC plus an origin (and a jump when the
 * test says so), the injected interrupts are recorded with the hypervisor
 * time they were injected at.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "runner/test.h"
#include "test-list.h"
#include "timersvc.h"

#define MS 1000000ull

struct fake {
    _Atomic int64_t offset; /* hv = CLOCK_MONOTONIC + offset */
    atomic_uint n;
    uint64_t at[4096];
    uint32_t vec[4096];
    unsigned int nfired;
    uint64_t fired_hv[4096]; /* the hv clock each fire was decided at */
};

static int64_t mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fake_read(void *ctx, uint64_t *hv, int64_t *mono_ns)
{
    struct fake *f = ctx;

    *mono_ns = mono();
    *hv = (uint64_t)(*mono_ns + atomic_load(&f->offset));
    return 0;
}

static int fake_inject(void *ctx, unsigned int vcpu, uint32_t vector)
{
    struct fake *f = ctx;
    unsigned int i = atomic_load(&f->n);

    (void)vcpu;
    if (i < 4096) {
        f->at[i] = (uint64_t)(mono() + atomic_load(&f->offset));
        f->vec[i] = vector;
        atomic_store(&f->n, i + 1);
    }
    return 0;
}

static const struct pvt_timersvc_ops ops = {fake_read, fake_inject};

/* The fired callback: the service's own record of each fire. */
static void fake_fired(void *ctx, unsigned int vcpu,
                       const struct pvt_timersvc_fire *fi)
{
    struct fake *f = ctx;

    (void)vcpu;
    if (f->nfired < 4096)
        f->fired_hv[f->nfired++] = fi->hv_at_fire;
}

static uint64_t hv_now(struct fake *f)
{
    return (uint64_t)(mono() + atomic_load(&f->offset));
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        continue;
}

/* Waits for the n-th injection (up to 10 s: a slow machine, valgrind). */
static int wait_for(struct fake *f, unsigned int n)
{
    int64_t until = mono() + 10000 * (int64_t)MS;

    while (atomic_load(&f->n) < n && mono() < until)
        sleep_ms(1);
    return atomic_load(&f->n) >= n;
}

static struct pvt_hv_timer_config config(uint64_t period, uint64_t interval)
{
    struct pvt_hv_timer_config c = PVT_HV_TIMER_CONFIG_XEN;

    c.default_period_ns = period;
    c.min_interval_ns = interval;
    return c;
}

TEST_IMPL(timersvc_bad_arguments)
{
    static struct pvt_timersvc s;
    static struct fake f;
    struct pvt_hv_timer_config c = config(0, 0);
    struct pvt_timersvc_ops none = {NULL, NULL};

    ASSERT_EQ(pvt_timersvc_init(&s, 0, &c, 0x40, 0x41, &ops, &f), -EINVAL);
    pvt_timersvc_destroy(&s);
    ASSERT_EQ(pvt_timersvc_init(&s, PVT_TIMERSVC_MAX_VCPUS + 1, &c, 0x40, 0x41,
                                &ops, &f),
              -EINVAL);
    pvt_timersvc_destroy(&s);
    ASSERT_EQ(pvt_timersvc_init(&s, 1, &c, 5, 0x41, &ops, &f), -EINVAL);
    pvt_timersvc_destroy(&s);
    ASSERT_EQ(pvt_timersvc_init(&s, 1, &c, 0x40, 0x41, &none, &f), -EINVAL);
    pvt_timersvc_destroy(&s);
    ASSERT_EQ(pvt_timersvc_init(&s, 1, NULL, 0x40, 0x41, &ops, &f), -EINVAL);
    pvt_timersvc_destroy(&s);
    ASSERT_EQ(pvt_timersvc_init(&s, 1, &c, 0x40, 0x41, &ops, &f), 0);
    ASSERT_EQ(pvt_timersvc_singleshot(&s, 1, 0), -EINVAL);
    ASSERT_EQ(pvt_timersvc_periodic(&s, 0, 1), -ERANGE);
    ASSERT_EQ(pvt_timersvc_singleshot(NULL, 0, 0), -EINVAL);
    pvt_timersvc_destroy(&s);
    pvt_timersvc_destroy(&s); /* twice is fine */
    RETURN_OK();
}

/* Singleshot deadlines 1..20 ms ahead of a clock with another origin:
 * each fires, never before its deadline in the hypervisor's clock. */
TEST_IMPL(timersvc_never_early)
{
    static struct pvt_timersvc s;
    static struct fake f;
    struct pvt_hv_timer_config c = config(0, 0);
    unsigned int k;

    memset(&f, 0, sizeof(f));
    atomic_store(&f.offset, (int64_t)3 * 86400 * 1000000000);
    ASSERT_EQ(pvt_timersvc_init(&s, 1, &c, 0x40, 0x41, &ops, &f), 0);
    ASSERT_EQ(pvt_timersvc_start(&s), 0);
    for (k = 1; k <= 20; k++) {
        uint64_t deadline = hv_now(&f) + k * MS / 2;

        ASSERT_EQ(pvt_timersvc_singleshot(&s, 0, deadline), 0);
        ASSERT(wait_for(&f, k));
        ASSERT(f.at[k - 1] >= deadline);
        ASSERT_EQ(f.vec[k - 1], 0x40);
    }
    pvt_timersvc_destroy(&s);
    RETURN_OK();
}

/* The default periodic timer starts with the vCPU: the k-th fire comes at
 * or after start + k periods, and no more of them than the periods that
 * passed until the guest stopped it (however slow the machine: the test
 * waits for fires, it does not count them in a fixed time). */
TEST_IMPL(timersvc_default_periodic)
{
    static struct pvt_timersvc s;
    static struct fake f;
    struct pvt_hv_timer_config c = config(10 * MS, 0);
    uint64_t start, stopped;
    unsigned int n, k;

    memset(&f, 0, sizeof(f));
    start = hv_now(&f);
    ASSERT_EQ(pvt_timersvc_init(&s, 1, &c, 0x40, 0x41, &ops, &f), 0);
    ASSERT_EQ(pvt_timersvc_start(&s), 0);
    ASSERT(wait_for(&f, 3));
    ASSERT_EQ(pvt_timersvc_periodic(&s, 0, 0), 0); /* the guest stops it */
    stopped = hv_now(&f);
    n = atomic_load(&f.n);
    sleep_ms(30);
    ASSERT_EQ(atomic_load(&f.n), n); /* stopped means stopped */
    pvt_timersvc_destroy(&s);
    ASSERT(n >= 3);
    ASSERT(n <= (stopped - start) / (10 * MS));
    for (k = 0; k < n; k++) {
        ASSERT_EQ(f.vec[k], 0x41);
        ASSERT(f.at[k] >= start + (k + 1) * 10 * MS);
    }
    RETURN_OK();
}

/* A storm: a past deadline re-armed as fast as a thread can, for 100 ms.
 * Each arming is already past, so without the limit every one would fire
 * at once; with a 1 ms minimum interval never two fires come closer than
 * that (in the hypervisor clock the service fired them at), and so at
 * most 100 / 1 + 1 of them. */
TEST_IMPL(timersvc_storm_rate_limited)
{
    static struct pvt_timersvc s;
    static struct fake f;
    struct pvt_hv_timer_config c = config(0, MS);
    struct pvt_timersvc_vcpu snap;
    int64_t until;
    unsigned int n, k;
    uint64_t calls = 0;

    memset(&f, 0, sizeof(f));
    ASSERT_EQ(pvt_timersvc_init(&s, 1, &c, 0x40, 0x41, &ops, &f), 0);
    ASSERT_EQ(pvt_timersvc_set_fired(&s, 0, fake_fired, &f), 0);
    ASSERT_EQ(pvt_timersvc_start(&s), 0);
    until = mono() + 100 * (int64_t)MS;
    while (mono() < until) {
        ASSERT_EQ(pvt_timersvc_singleshot(&s, 0, 0), 0);
        calls++;
    }
    /* the last arming is deferred, not dropped: it fires (the storm may
     * have starved the service thread, under valgrind say) */
    ASSERT(wait_for(&f, 1));
    sleep_ms(5);
    ASSERT_EQ(pvt_timersvc_snapshot(&s, 0, &snap), 0);
    pvt_timersvc_destroy(&s);
    n = atomic_load(&f.n);
    ASSERT(n >= 1);
    ASSERT(n <= 100 + 1 + 5 + 1); /* 100 ms, the 5 ms after, the first */
    ASSERT(calls > n);
    /* the limit holds in the hypervisor clock the fires were decided at
     * (an injection itself may be delayed by the host scheduler) */
    ASSERT_EQ(f.nfired, n);
    for (k = 1; k < n; k++)
        ASSERT(f.fired_hv[k] - f.fired_hv[k - 1] >= MS);
    for (k = 0; k < n; k++)
        ASSERT(f.at[k] >= f.fired_hv[k]);
    ASSERT_EQ(snap.injected, n);
    RETURN_OK();
}

/* After a jump of the hypervisor clock (migration), the singleshot is
 * cancelled and the periodic timer restarts on the new clock. */
TEST_IMPL(timersvc_clock_jump)
{
    static struct pvt_timersvc s;
    static struct fake f;
    struct pvt_hv_timer_config c = config(0, 0);
    uint64_t jumped_at;
    unsigned int k;

    memset(&f, 0, sizeof(f));
    ASSERT_EQ(pvt_timersvc_init(&s, 1, &c, 0x40, 0x41, &ops, &f), 0);
    ASSERT_EQ(pvt_timersvc_start(&s), 0);
    ASSERT_EQ(pvt_timersvc_periodic(&s, 0, 5 * MS), 0);
    ASSERT_EQ(pvt_timersvc_singleshot(&s, 0, hv_now(&f) + 30 * MS), 0);
    atomic_store(&f.offset, (int64_t)3600 * 1000000000);
    jumped_at = hv_now(&f);
    ASSERT_EQ(pvt_timersvc_clock_jumped(&s), 0);
    ASSERT(wait_for(&f, 5));
    sleep_ms(40); /* past the singleshot's old deadline */
    pvt_timersvc_destroy(&s);
    for (k = 0; k < atomic_load(&f.n); k++) {
        ASSERT_EQ(f.vec[k], 0x41); /* the singleshot never fired */
        ASSERT(f.at[k] >= jumped_at + (k + 1) * 5 * MS);
    }
    RETURN_OK();
}
