/*
 * The drift estimator and the `compensated` strategy.
 *
 * Sample streams are synthetic: clock A is true time from a0, clock B runs
 * at 1 + r (r in ppm) from b0, read with a uniform jitter of +-J ns, one
 * sample every I ns. The bounds come from the least-squares error of a fit
 * over N samples of noise variance s^2 = J^2 / 3 + 1 (the jitter and the
 * ns rounding, generously): the slope's standard deviation is
 * s * sqrt(12 / (N (N^2 - 1))) / I, the offset's at the window's end about
 * 2 s / sqrt(N); a converged estimate is within 5 of those of the truth.
 */
#include "pvtimer/pvtimer.h"
#include "rng.h"
#include "runner/test.h"
#include "world.h"

#define A0 1000000000000ll                   /* 1000 s */
#define B0 (3ull * 86400 * PVT_NSEC_PER_SEC) /* the hypervisor: 3 days up */
#define IV (100 * PVT_NSEC_PER_MSEC)

struct stream {
    struct rng rng;
    int64_t ppm;
    uint64_t jitter;
    int64_t step; /* added to B from now on */
    uint64_t i;
    uint64_t interval;
};

static uint64_t isqrt(uint64_t v)
{
    uint64_t r = 0, bit = 1ull << 62;

    while (bit > v)
        bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

/* B's true value at true time t (ns since the stream began): b0 + t +
 * t * ppm / 10^6, floor. */
static uint64_t stream_b(const struct stream *st, uint64_t t)
{
    int64_t extra = (int64_t)(t / 1000000u) * st->ppm +
                    (int64_t)(t % 1000000u) * st->ppm / 1000000;
    return B0 + t + (uint64_t)extra + (uint64_t)st->step;
}

static struct pvt_drift_sample stream_next(struct stream *st)
{
    struct pvt_drift_sample s = {0};
    uint64_t t = st->i * st->interval;
    int64_t j = 0;

    if (st->jitter)
        j = (int64_t)(rng_next(&st->rng) % (2 * st->jitter + 1)) -
            (int64_t)st->jitter;
    s.a_ns = A0 + (int64_t)t;
    s.b_ns = stream_b(st, t) + (uint64_t)j;
    s.delay_ns = 50;
    st->i++;
    return s;
}

static void stream_init(struct stream *st, int64_t ppm, uint64_t jitter)
{
    *st = (struct stream){0};
    rng_seed(&st->rng, 0x5eed0000u + (uint64_t)(ppm + 5000) * 31 + jitter);
    st->ppm = ppm;
    st->jitter = jitter;
    st->interval = IV;
}

static void config_nolimit(struct pvt_drift_config *c)
{
    ASSERT_OK(pvt_drift_config_default(c));
    c->min_interval_ns = 0;
}

/* 5 sigma of the slope of an n-sample fit, in 2^-32 units, + rounding */
static int64_t slope_bound_q32(uint64_t jitter, uint32_t n, uint64_t interval)
{
    uint64_t var = jitter * jitter / 3 + 1; /* ns^2 */
    uint64_t nn = (uint64_t)n * ((uint64_t)n * n - 1);
    uint64_t sd_milli = isqrt(var * 12 * 1000000 / nn) + 1; /* ns / 1000 */
    return (int64_t)(5 * sd_milli * (1ull << 32) / (1000 * interval)) + 4;
}

/* 5 sigma of the offset at the window's end, ns, + rounding */
static int64_t offset_bound_ns(uint64_t jitter, uint32_t n)
{
    uint64_t var = jitter * jitter / 3 + 1;
    return (int64_t)(10 * isqrt(var) / isqrt(n)) +
           10 * (int64_t)isqrt(var) / 8 + 3;
}

/* ppm * 2^32 / 10^6 */
static int64_t ppm_q32(int64_t ppm)
{
    return ppm * (int64_t)(1ull << 32) / 1000000;
}

/* The true offset b - a at the stream's last sample. */
static int64_t stream_offset(const struct stream *st)
{
    uint64_t t = (st->i - 1) * st->interval;
    return (int64_t)(stream_b(st, t) - (uint64_t)(A0 + (int64_t)t));
}

TEST_IMPL(drift_errors)
{
    struct pvt_drift d;
    struct pvt_drift_config c;
    struct pvt_drift_estimate e;
    struct pvt_drift_sample s = {0};
    uint64_t out;

    ASSERT_ERR(pvt_drift_config_default(NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_init(NULL, NULL), PVT_EINVAL);
    ASSERT_OK(pvt_drift_config_default(&c));
    c.max_ppm = 0;
    ASSERT_ERR(pvt_drift_init(&d, &c), PVT_EINVAL);
    c.max_ppm = 100001;
    ASSERT_ERR(pvt_drift_init(&d, &c), PVT_EINVAL);
    ASSERT_OK(pvt_drift_config_default(&c));
    c.stable_ns = 0;
    ASSERT_ERR(pvt_drift_init(&d, &c), PVT_EINVAL);
    ASSERT_OK(pvt_drift_config_default(&c));
    c.step_ns = 0;
    ASSERT_ERR(pvt_drift_init(&d, &c), PVT_EINVAL);

    /* an uninitialised context is refused everywhere */
    d = (struct pvt_drift){0};
    ASSERT_ERR(pvt_drift_feed(&d, &s), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_get(&d, &e), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_scale(&d, 1, &out), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_reset(&d, false), PVT_EINVAL);
    /* ... and by compensated, which takes it as its state */
    ASSERT_ERR(pvt_strategy_compensated.check_state(&d), PVT_EINVAL);

    ASSERT_OK(pvt_drift_init(&d, NULL));
    ASSERT_ERR(pvt_drift_feed(NULL, &s), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_feed(&d, NULL), PVT_EINVAL);
    s.a_ns = -1;
    ASSERT_ERR(pvt_drift_feed(&d, &s), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_get(&d, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_get(NULL, &e), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_scale(&d, 1, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_drift_reset(NULL, true), PVT_EINVAL);
    ASSERT_OK(pvt_strategy_compensated.check_state(&d));
    ASSERT_ERR(pvt_drift_measure(NULL, NULL, NULL, NULL, 1, &s), PVT_EINVAL);
    ASSERT_STR_EQ(pvt_drift_state_name(PVT_DRIFT_UNLOCKED), "unlocked");
    ASSERT_STR_EQ(pvt_drift_state_name(PVT_DRIFT_STEP), "step");
    ASSERT_STR_EQ(pvt_drift_state_name(PVT_DRIFT_LOCKED), "locked");
    ASSERT_STR_EQ(pvt_drift_state_name(PVT_DRIFT_STABLE), "stable");
    ASSERT_STR_EQ(pvt_drift_state_name((enum pvt_drift_state)9), "invalid");

    /* unlocked: the delta is left alone */
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_EQ(e.state, PVT_DRIFT_UNLOCKED);
    ASSERT_EQ(pvt_drift_scale(&d, 12345, &out), 0);
    ASSERT_UEQ(out, 12345);
    RETURN_OK();
}

/* Feed n samples; return the last state. */
static int feed_n(struct pvt_drift *d, struct stream *st, unsigned int n)
{
    int rc = 0;
    unsigned int i;

    for (i = 0; i < n; i++) {
        struct pvt_drift_sample s = stream_next(st);
        rc = pvt_drift_feed(d, &s);
        ASSERT_GE(rc, 0);
    }
    return rc;
}

TEST_IMPL(drift_converges)
{
    /* kept small: the core's tests also run inside the KVM guest */
    static const int64_t rates[] = {-1000, 37, 1000};
    static const uint64_t jitters[] = {0, 5000};
    size_t i, j;

    for (i = 0; i < PVT_ARRAY_SIZE(rates); i++) {
        for (j = 0; j < PVT_ARRAY_SIZE(jitters); j++) {
            struct pvt_drift d;
            struct pvt_drift_config c;
            struct pvt_drift_estimate e;
            struct stream st;

            config_nolimit(&c);
            ASSERT_OK(pvt_drift_init(&d, &c));
            stream_init(&st, rates[i], jitters[j]);
            /* fewer than 4 samples: no estimate */
            ASSERT_EQ(feed_n(&d, &st, 3), PVT_DRIFT_UNLOCKED);
            ASSERT_GE(feed_n(&d, &st, 1), PVT_DRIFT_LOCKED);
            feed_n(&d, &st, 196);
            ASSERT_OK(pvt_drift_get(&d, &e));
            ASSERT_GE(e.state, PVT_DRIFT_LOCKED);
            /* white noise: the longer windows predict better */
            ASSERT_UGE(e.window, 16);
            ASSERT_UEQ(e.steps, 0);
            ASSERT_UEQ(e.samples, 200);
            ASSERT_NEAR(e.slope_q32, ppm_q32(rates[i]),
                        slope_bound_q32(jitters[j], e.window, IV));
            ASSERT_NEAR(e.offset_ns, stream_offset(&st),
                        offset_bound_ns(jitters[j], e.window));
            /* ppb follows the slope */
            ASSERT_NEAR(e.freq_ppb, rates[i] * 1000,
                        slope_bound_q32(jitters[j], e.window, IV) / 4 + 1);
            /* sub-microsecond noise: stable */
            if (jitters[j] <= 200)
                ASSERT_EQ(e.state, PVT_DRIFT_STABLE);
        }
    }
    RETURN_OK();
}

/* Move B by step and feed one sample, beyond the step threshold: it is
 * held back, and the estimate (*before, on return) stands. */
static void held_back(struct pvt_drift *d, struct stream *st, int64_t step,
                      struct pvt_drift_estimate *before)
{
    struct pvt_drift_estimate e;

    ASSERT_OK(pvt_drift_get(d, before));
    st->step = step;
    ASSERT_GE(feed_n(d, st, 1), PVT_DRIFT_LOCKED);
    ASSERT_OK(pvt_drift_get(d, &e));
    ASSERT_EQ(e.slope_q48, before->slope_q48);
    ASSERT_EQ(e.offset_ns, before->offset_ns);
    ASSERT_UEQ(e.samples, before->samples);
}

TEST_IMPL(drift_phase_step_keeps_rate)
{
    struct pvt_drift d;
    struct pvt_drift_config c;
    struct pvt_drift_estimate e, before;
    struct pvt_drift_sample s;
    struct stream st;
    const uint64_t jitter = 100;
    uint64_t out;

    config_nolimit(&c);
    ASSERT_OK(pvt_drift_init(&d, &c));
    stream_init(&st, 200, jitter);
    feed_n(&d, &st, 100);
    /* below the threshold (step_ns + 4 x the noise): no step */
    st.step = (int64_t)c.step_ns / 4;
    ASSERT_GE(feed_n(&d, &st, 1), PVT_DRIFT_LOCKED);
    st.step = 0;
    feed_n(&d, &st, 20);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 0);
    ASSERT_UEQ(e.outliers, 0);

    /* one sample 50 us off, the next back on the line: an outlier, left
     * out of the fit */
    held_back(&d, &st, 50000, &before);
    st.step = 0;
    ASSERT_GE(feed_n(&d, &st, 1), PVT_DRIFT_LOCKED);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 0);
    ASSERT_UEQ(e.outliers, 1);
    ASSERT_UEQ(e.samples, before.samples + 1);

    /* B's phase jumps by 50 us for good: the first sample is held (the
     * estimate stands), the second confirms a step; the rate is kept, the
     * offset moves to the new one, and the delta is still scaled */
    held_back(&d, &st, 50000, &before);
    ASSERT_EQ(feed_n(&d, &st, 1), PVT_DRIFT_STEP);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 1);
    ASSERT_UEQ(e.in_fit, 64);
    ASSERT_UGE(e.window, 16);
    ASSERT_NEAR(e.slope_q32, ppm_q32(200),
                slope_bound_q32(jitter, e.window, IV));
    ASSERT_NEAR(e.offset_ns, stream_offset(&st),
                offset_bound_ns(jitter, e.window));
    /* 1 s of A in B: 1 s + 200 us, within the slope's bound and the
     * rounding up of the 2^-31 rate */
    ASSERT_EQ(pvt_drift_scale(&d, 1000000000, &out), 1);
    ASSERT_NEAR(
        (int64_t)out, 1000200000,
        slope_bound_q32(jitter, e.window, IV) * 1000000000 / (1ll << 32) + 2);
    /* STEP for the 4 samples from the step's first, then locked again */
    ASSERT_EQ(feed_n(&d, &st, 1), PVT_DRIFT_STEP);
    ASSERT_GE(feed_n(&d, &st, 1), PVT_DRIFT_LOCKED);
    feed_n(&d, &st, 60);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 1);
    ASSERT_NEAR(e.slope_q32, ppm_q32(200),
                slope_bound_q32(jitter, e.window, IV));
    ASSERT_NEAR(e.offset_ns, stream_offset(&st),
                offset_bound_ns(jitter, e.window));

    /* two in a row beyond it but 1 ms apart: not a phase step (B's rate
     * changed, or B is wild): restart from the first of them, no rate */
    st.step += 100000;
    s = stream_next(&st);
    ASSERT_GE(pvt_drift_feed(&d, &s), PVT_DRIFT_LOCKED);
    st.step += 1000000;
    ASSERT_EQ(feed_n(&d, &st, 1), PVT_DRIFT_STEP);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 2);
    ASSERT_EQ(pvt_drift_scale(&d, 1000000000, &out), 0);
    ASSERT_UEQ(out, 1000000000);
    /* ... and the first of them is the new origin: the second, 1 ms off
     * it, is a jump before any fit exists, within what max_ppm allows
     * over the interval, so kept */
    ASSERT_UEQ(e.in_fit, 2);

    /* a jump before any fit exists is caught once beyond what max_ppm
     * allows over the interval */
    ASSERT_OK(pvt_drift_reset(&d, false));
    feed_n(&d, &st, 3);
    {
        int64_t big =
            (int64_t)c.step_ns + 2 * (int64_t)(c.max_ppm * (IV / 1000000));
        st.step += big;
        ASSERT_EQ(feed_n(&d, &st, 1), PVT_DRIFT_STEP);
        feed_n(&d, &st, 2);
        st.step -= big;
    }
    ASSERT_EQ(feed_n(&d, &st, 1), PVT_DRIFT_STEP);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 4);
    RETURN_OK();
}

TEST_IMPL(drift_epoch_order_and_filters)
{
    struct pvt_drift d;
    struct pvt_drift_config c;
    struct pvt_drift_estimate e;
    struct pvt_drift_sample s;
    struct stream st;

    config_nolimit(&c);
    c.max_delay_ns = 1000;
    ASSERT_OK(pvt_drift_init(&d, &c));
    stream_init(&st, -50, 0);
    ASSERT_GE(feed_n(&d, &st, 10), PVT_DRIFT_LOCKED);

    /* a wide bracket is dropped, counted, and changes nothing */
    s = stream_next(&st);
    s.delay_ns = 1001;
    ASSERT_GE(pvt_drift_feed(&d, &s), PVT_DRIFT_LOCKED);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.dropped, 1);
    ASSERT_UEQ(e.samples, 10);

    /* the epoch changes (a migration, a pause): restart */
    s = stream_next(&st);
    s.epoch = 7;
    ASSERT_EQ(pvt_drift_feed(&d, &s), PVT_DRIFT_STEP);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 1);
    s = stream_next(&st);
    s.epoch = 7;
    ASSERT_EQ(pvt_drift_feed(&d, &s), PVT_DRIFT_STEP);

    /* A goes backwards: restart */
    s.a_ns -= 1;
    ASSERT_EQ(pvt_drift_feed(&d, &s), PVT_DRIFT_STEP);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 2);

    /* B jumps by half its range once locked: a step, not an overflow (the
     * stream's epoch is 0 again: that restarts once, first); too large to
     * be a phase step, so a restart from the first sample after it */
    ASSERT_GE(feed_n(&d, &st, 8), PVT_DRIFT_LOCKED);
    s = stream_next(&st);
    s.b_ns += 1ull << 63;
    ASSERT_GE(pvt_drift_feed(&d, &s), PVT_DRIFT_LOCKED);
    s = stream_next(&st);
    s.b_ns += 1ull << 63;
    ASSERT_EQ(pvt_drift_feed(&d, &s), PVT_DRIFT_STEP);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 4);
    ASSERT_UEQ(e.in_fit, 2);

    /* min_interval: a sample too soon after the last kept is ignored */
    c.min_interval_ns = IV;
    ASSERT_OK(pvt_drift_init(&d, &c));
    stream_init(&st, 0, 0);
    feed_n(&d, &st, 2);
    s = stream_next(&st);
    s.a_ns -= 1;
    s.b_ns -= 1;
    ASSERT_GE(pvt_drift_feed(&d, &s), 0);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.samples, 2);

    /* reset: unlocked (or step), nothing in the fit */
    ASSERT_OK(pvt_drift_reset(&d, true));
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_EQ(e.state, PVT_DRIFT_STEP);
    ASSERT_UEQ(e.in_fit, 0);
    RETURN_OK();
}

/* A clock that moves by a scripted amount at each read. */
struct script {
    uint64_t now;
    const uint64_t *steps;
    size_t i;
};

static uint64_t script_read(void *ctx)
{
    struct script *sc = ctx;
    uint64_t v = sc->now;

    sc->now += sc->steps[sc->i++];
    return v;
}

static uint64_t script_b(void *ctx)
{
    struct script *a = ctx;
    return 5000000 + a->now; /* B: A + 5 ms, read between the two A reads */
}

TEST_IMPL(drift_measure_keeps_narrowest)
{
    /* brackets of 30, 10 and 20 ns, 7 ns apart: the second is kept */
    static const uint64_t steps[] = {30, 7, 10, 7, 20, 7};
    struct script sc = {.now = 1000, .steps = steps};
    struct pvt_drift_sample s;

    ASSERT_ERR(pvt_drift_measure(script_read, &sc, script_b, &sc, 0, &s),
               PVT_EINVAL);
    ASSERT_OK(pvt_drift_measure(script_read, &sc, script_b, &sc, 3, &s));
    /* bracket 2 is [1037, 1047]; B is read after the first A read, when
     * this A already reads 1047 */
    ASSERT_UEQ(s.delay_ns, 10);
    ASSERT_EQ(s.a_ns, 1042);
    ASSERT_UEQ(s.b_ns, 5000000 + 1047);
    RETURN_OK();
}

/* Lock d on a noiseless stream of the given rate. */
static void lock_at(struct pvt_drift *d, const struct pvt_drift_config *c,
                    int64_t ppm)
{
    struct stream st;

    ASSERT_OK(pvt_drift_init(d, c));
    stream_init(&st, ppm, 0);
    ASSERT_GE(feed_n(d, &st, 80), PVT_DRIFT_LOCKED);
}

TEST_IMPL(drift_scale)
{
    struct pvt_drift d;
    struct pvt_drift_config c;
    uint64_t out;

    config_nolimit(&c);
    /* B 1000 ppm fast: a delta of A takes 1.001 times as long in B; the
     * mult resolution is 2^-31 and the result rounds up */
    lock_at(&d, &c, 1000);
    ASSERT_EQ(pvt_drift_scale(&d, 1000000000, &out), 1);
    ASSERT_NEAR((int64_t)out, 1001000000, 2);
    ASSERT_EQ(pvt_drift_scale(&d, UINT32_MAX, &out), 1);
    ASSERT_NEAR((int64_t)out, (int64_t)UINT32_MAX + (int64_t)UINT32_MAX / 1000,
                4);

    /* B 3 % slow: 4 s would be 120 ms shorter; held to max_early_ns */
    lock_at(&d, &c, -30000);
    ASSERT_EQ(pvt_drift_scale(&d, 4000000000u, &out), 1);
    ASSERT_UEQ(out, 4000000000u - c.max_early_ns);
    ASSERT_EQ(pvt_drift_scale(&d, 1000000, &out), 1);
    ASSERT_NEAR((int64_t)out, 970000, 1);

    /* 8 % is beyond max_ppm (5 %): every sample is a step, it never
     * locks, and the delta is left alone */
    {
        struct stream st;
        ASSERT_OK(pvt_drift_init(&d, &c));
        stream_init(&st, 80000, 0);
        ASSERT_EQ(feed_n(&d, &st, 80), PVT_DRIFT_STEP);
        ASSERT_EQ(pvt_drift_scale(&d, 1000000000, &out), 0);
        ASSERT_UEQ(out, 1000000000);
    }
    RETURN_OK();
}

TEST_IMPL(drift_long_run_rebases)
{
    struct pvt_drift d;
    struct pvt_drift_config c;
    struct pvt_drift_estimate e;
    struct stream st;

    /* a sample every 80 s for 3.3 hours: the origin moves (every 2^40 ns,
     * 18 minutes) several times */
    config_nolimit(&c);
    ASSERT_OK(pvt_drift_init(&d, &c));
    stream_init(&st, -77, 0);
    st.interval = 80 * PVT_NSEC_PER_SEC;
    feed_n(&d, &st, 150);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_EQ(e.state, PVT_DRIFT_STABLE);
    ASSERT_UEQ(e.steps, 0);
    ASSERT_NEAR(e.slope_q32, ppm_q32(-77),
                slope_bound_q32(0, e.window, st.interval));
    ASSERT_NEAR(e.offset_ns, stream_offset(&st), offset_bound_ns(0, e.window));
    RETURN_OK();
}

/* ---- the compensated strategy on the model world ---- */

#define GHZ    1000000000ull
#define CAL_HZ (GHZ - GHZ / 1000000 * 300) /* guest clock 300 ppm fast */
#define H0     (3ull * 86400 * PVT_NSEC_PER_SEC)

static int64_t program_aim(struct world *w, struct pvt_clockevent *dev,
                           int64_t delta)
{
    int64_t deadline = pvt_timekeeper_now(&w->tk) + delta;

    ASSERT_OK(pvt_clockevent_program(dev, deadline, false));
    return world_guest_at(w, w->fire_t) - deadline;
}

TEST_IMPL(strategy_compensated)
{
    struct world w;
    struct pvt_drift d;
    struct pvt_drift_estimate e;
    int64_t aim_delta, aim, drift_1s, ppb;
    uint64_t dropped;
    int i;

    /* delta's error on a 1 s timer: the guest clock's drift over 1 s,
     * late (the clock's own mult/shift rounding included: from the model,
     * about (GHZ - CAL_HZ) / CAL_HZ) */
    world_boot(&w, GHZ, CAL_HZ, H0);
    world_attach(&w, &w.pv, &pvt_strategy_delta);
    w.t = 10 * PVT_NSEC_PER_SEC;
    drift_1s = world_guest_at(&w, w.t + PVT_NSEC_PER_SEC) -
               world_guest_at(&w, w.t) - PVT_NSEC_PER_SEC;
    ASSERT_NEAR(drift_1s, PVT_NSEC_PER_SEC * (GHZ - CAL_HZ) / CAL_HZ, 100);
    /* the hypervisor's rate against the guest clock, in ppb */
    ppb = -drift_1s * PVT_NSEC_PER_SEC / (PVT_NSEC_PER_SEC + drift_1s);
    aim_delta = program_aim(&w, &w.pv, PVT_NSEC_PER_SEC);
    ASSERT_NEAR(aim_delta, drift_1s, 2);

    /* compensated needs an estimator; while it is unlocked: exactly
     * delta */
    world_boot(&w, GHZ, CAL_HZ, H0);
    world_attach(&w, &w.pv, &pvt_strategy_compensated);
    w.t = 10 * PVT_NSEC_PER_SEC;
    ASSERT_EQ(program_aim(&w, &w.pv, PVT_NSEC_PER_SEC), aim_delta);
    ASSERT_ERR(
        pvt_clockevent_set_strategy(&w.pv, &pvt_strategy_compensated, NULL),
        PVT_EINVAL);
    ASSERT_PTR_EQ(pvt_clockevent_strategy_state(&w.pv), &w.drift);
    ASSERT_OK(pvt_drift_init(&d, NULL));
    ASSERT_OK(
        pvt_clockevent_set_strategy(&w.pv, &pvt_strategy_compensated, &d));
    ASSERT_PTR_EQ(pvt_clockevent_strategy_state(&w.pv), &d);
    ASSERT_EQ(program_aim(&w, &w.pv, PVT_NSEC_PER_SEC), aim_delta);

    /* programmings every 50 ms: the estimator keeps every other one (its
     * min_interval is 100 ms) and locks after 4 */
    for (i = 0; i < 200; i++) {
        w.t += 50 * PVT_NSEC_PER_MSEC;
        program_aim(&w, &w.pv, PVT_NSEC_PER_MSEC);
    }
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_EQ(e.state, PVT_DRIFT_STABLE);
    ASSERT_NEAR(e.samples, 101, 1);
    /* B (the hypervisor) runs slow against the fast guest clock */
    ASSERT_NEAR(e.freq_ppb, ppb, 5);
    /* the 1 s timer lands on its deadline: a few ns, not 300 us */
    aim = program_aim(&w, &w.pv, PVT_NSEC_PER_SEC);
    ASSERT_NEAR(aim, 0, 3);
    ASSERT_LT(aim * 1000, aim_delta);

    /* a preemption inside the bracket: the sample is dropped, the event is
     * late by the preemption (as delta's), never early */
    dropped = d.dropped;
    w.t += PVT_NSEC_PER_SEC;
    {
        int64_t now = pvt_timekeeper_now(&w.tk);
        int64_t deadline = now + 10 * PVT_NSEC_PER_MSEC;
        w.preempt_ns = PVT_NSEC_PER_MSEC;
        w.preempt_armed = true; /* after the strategy's first read */
        ASSERT_OK(pvt_clockevent_strategy(&w.pv)->program(&w.pv, deadline));
        aim = world_guest_at(&w, w.fire_t) - deadline;
    }
    ASSERT_UEQ(d.dropped, dropped + 1);
    ASSERT_GE(aim, (int64_t)PVT_NSEC_PER_MSEC - 3);

    /* a clocksource switch restarts the estimate */
    ASSERT_OK(pvt_clockevent_notify(&w.pv, PVT_CE_NOTIFY_CLOCKSOURCE));
    ASSERT_EQ(d.state, PVT_DRIFT_STEP);
    ASSERT_OK(pvt_clockevent_notify(&w.pv, PVT_CE_NOTIFY_ATTACH));
    ASSERT_EQ(d.state, PVT_DRIFT_UNLOCKED);
    RETURN_OK();
}

/*
 * A hostile B (whoever writes the pvclock page) that jumps, every sample,
 * by just less than the step threshold: step_ns + 4 x the smoothed error
 * (plus max_ppm of the gap while fewer than 10 errors are in). Each jump
 * is accepted and raises the error, so the threshold grows by about 5 %
 * a sample and, unchecked, B - A reached 2^55 ns within 400 samples and
 * overflowed the fit's sums (undefined behaviour). The estimator keeps
 * every y (B - A against the fit's origin) below 2^46 by restarting the
 * fit (a step) when a sample would take one beyond: the ring and the sums
 * stay in the range the fit's arithmetic is exact for.
 */
TEST_IMPL(drift_hostile_growing_jumps)
{
    struct pvt_drift d;
    struct pvt_drift_estimate e;
    int64_t a = A0, max_y = 0;
    uint64_t b = B0;
    uint32_t j;
    int i, k;

    ASSERT_OK(pvt_drift_init(&d, NULL));
    for (i = 0; i < 1000; i++) {
        struct pvt_drift_sample s = {.a_ns = a, .b_ns = b, .delay_ns = 50};
        int64_t err, thr, pred;
        ASSERT_GE(pvt_drift_feed(&d, &s), 0);
        ASSERT_OK(pvt_drift_get(&d, &e));
        for (j = 0; j < d.count; j++) {
            int64_t y = d.y[j] < 0 ? -d.y[j] : d.y[j];
            ASSERT_LT(y, 1ll << 46);
            if (y > max_y)
                max_y = y;
        }
        for (k = 0; k < PVT_DRIFT_WINDOWS; k++) {
            ASSERT_LT(d.win[k].sy, 1ll << 52);
            ASSERT_GT(d.win[k].sy, -(1ll << 52));
        }
        /* the next sample: B - A where the fit predicts it, plus 90 % of
         * the threshold the estimator will compare against */
        err = d.best >= 0 ? d.win[d.best].err_q8 >> 8 : 0;
        thr = (int64_t)d.cfg.step_ns + 4 * (err > 25 ? err : 25);
        pred = e.offset_ns +
               (e.slope_q48 >> 16) * (int64_t)(IV >> 4) / (1ll << 28);
        a += (int64_t)IV;
        b = (uint64_t)a + (uint64_t)pred + (uint64_t)(thr / 10 * 9);
    }
    /* B did run away (the stream is the adversarial one) and the
     * estimator restarted rather than follow it out of range */
    ASSERT_GT(max_y, 1ll << 40);
    ASSERT_GE(e.steps, 1);
    RETURN_OK();
}
