/*
 * The drift estimator (pvtimer/drift.h) fed streams a hostile clock B can
 * make: rate changes, phase steps, outliers, epoch changes, jumps of just
 * less than the step threshold (the stream that overflowed the fit), wild
 * values, wide brackets, A going backwards or far forwards.
 *
 * Checked after every call: the return codes; the state against the
 * estimate (a window only when locked); the range the fit's arithmetic
 * needs (every y of the ring below 2^46 ns, the sums below 2^52); the
 * rate held to max_ppm; pvt_drift_scale against a 128-bit reference
 * (ceil(delta * mult / 2^31), never shorter than delta - max_early_ns,
 * delta itself without a rate); the counters never going backwards.
 */
#include "pvtimer/drift.h"
#include "fuzz.h"
#include "pvtimer/pvtimer.h"

typedef unsigned __int128 u128;

static void check_scale(const struct pvt_drift *d, uint64_t delta)
{
    uint64_t out = 0;
    int rc = pvt_drift_scale(d, delta, &out);

    FUZZ_CHECK(rc == 0 || rc == 1, "scale returned %d", rc);
    if (rc == 0) {
        FUZZ_CHECK(out == delta, "no rate: %llu -> %llu",
                   (unsigned long long)delta, (unsigned long long)out);
        FUZZ_CHECK(d->best < 0, "a window in use but no compensation");
    } else {
        u128 num = (u128)delta * d->mult;
        u128 q = (num + ((u128)1 << 31) - 1) >> 31;
        uint64_t ref = q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
        if (ref < delta && delta - ref > d->cfg.max_early_ns)
            ref = delta - d->cfg.max_early_ns;
        FUZZ_CHECK(out == ref, "scale(%llu) mult %u: %llu, reference %llu",
                   (unsigned long long)delta, d->mult, (unsigned long long)out,
                   (unsigned long long)ref);
    }
}

static void check(const struct pvt_drift *d, struct pvt_drift_estimate *prev)
{
    struct pvt_drift_estimate e;
    uint64_t lim;
    uint32_t i;
    int k;

    FUZZ_CHECK(pvt_drift_get(d, &e) == 0, "get failed");
    FUZZ_CHECK(e.state <= PVT_DRIFT_STABLE, "state %d", (int)e.state);
    FUZZ_CHECK(d->count <= PVT_DRIFT_MAX_SAMPLES, "count %u", d->count);
    FUZZ_CHECK(e.in_fit == d->count, "in_fit");
    for (i = 0; i < d->count; i++) {
        int64_t y = d->y[(d->head + PVT_DRIFT_MAX_SAMPLES - 1 - i) %
                         PVT_DRIFT_MAX_SAMPLES];
        FUZZ_CHECK(y < (1ll << 46) && y > -(1ll << 46),
                   "y %lld beyond 2^46 (sample %u back)", (long long)y, i);
    }
    for (k = 0; k < PVT_DRIFT_WINDOWS; k++)
        FUZZ_CHECK(d->win[k].sy < (1ll << 52) && d->win[k].sy > -(1ll << 52),
                   "window %d: sy %lld", k, (long long)d->win[k].sy);
    if (e.state == PVT_DRIFT_LOCKED || e.state == PVT_DRIFT_STABLE)
        FUZZ_CHECK(e.window >= PVT_DRIFT_MIN_SAMPLES &&
                       e.window <= PVT_DRIFT_MAX_SAMPLES && d->best >= 0,
                   "locked without a fit (window %u)", e.window);
    if (e.state == PVT_DRIFT_UNLOCKED)
        FUZZ_CHECK(e.window == 0, "unlocked with a window of %u", e.window);
    if (e.state == PVT_DRIFT_STABLE)
        FUZZ_CHECK(e.window >= 16 && e.err_ns <= d->cfg.stable_ns,
                   "stable on window %u, error %llu", e.window,
                   (unsigned long long)e.err_ns);
    /* |mult - 2^31| <= max_ppm of 2^31, rounded up */
    lim = (((uint64_t)d->cfg.max_ppm << 31) + 999999) / 1000000 + 1;
    FUZZ_CHECK((e.mult > (1u << 31) ? e.mult - (1u << 31)
                                    : (1u << 31) - e.mult) <= lim,
               "mult %u beyond max_ppm %u", e.mult, d->cfg.max_ppm);
    FUZZ_CHECK(e.slope_q48 <= (1ll << 48) && e.slope_q48 >= -(1ll << 48),
               "slope %lld", (long long)e.slope_q48);
    FUZZ_CHECK(e.samples >= prev->samples && e.steps >= prev->steps &&
                   e.dropped >= prev->dropped && e.outliers >= prev->outliers,
               "a counter went backwards");
    *prev = e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct pvt_drift d;
    struct pvt_drift_config c;
    struct pvt_drift_estimate prev = {0};
    int64_t a;
    uint64_t off, ppm_rate;
    uint32_t epoch = 0;
    uint8_t mode = fuzz_u8(&in);
    int rc;

    pvt_drift_config_default(&c);
    if (mode & 1) {
        c.step_ns = fuzz_mag(&in);
        c.max_delay_ns = fuzz_mag(&in);
        c.min_interval_ns = fuzz_mag(&in);
        c.stable_ns = fuzz_mag(&in);
        c.max_early_ns = fuzz_mag(&in);
        c.max_ppm = fuzz_u32(&in) % 120000;
    }
    rc = pvt_drift_init(&d, &c);
    if (rc < 0) {
        FUZZ_CHECK(rc == -PVT_EINVAL, "init: %d", rc);
        FUZZ_CHECK(c.max_ppm == 0 || c.max_ppm > 100000 || c.stable_ns == 0 ||
                       c.step_ns == 0 || c.step_ns > (1ull << 46) ||
                       c.stable_ns > (1ull << 46),
                   "a valid configuration refused");
        return 0;
    }
    a = (int64_t)(fuzz_mag(&in) >> 1);
    off = fuzz_u64(&in);
    ppm_rate = fuzz_u32(&in) % 200001; /* B's rate - 1, in ppm + 100000 */

    while (fuzz_left(&in)) {
        struct pvt_drift_sample s = {0};
        uint8_t op = fuzz_u8(&in);
        uint64_t dt = c.min_interval_ns + (fuzz_u16(&in) << 10);

        switch (op % 10) {
        case 0: /* the next sample of a steady B */
            break;
        case 1: /* a jump of just less than the threshold (hostile) */
        {
            struct pvt_drift_estimate e;
            int64_t err = d.best >= 0 ? d.win[d.best].err_q8 >> 8 : 0;
            uint64_t thr = d.cfg.step_ns + 4 * (uint64_t)(err > 0 ? err : 0);
            pvt_drift_get(&d, &e);
            off = (uint64_t)e.offset_ns +
                  (fuzz_u8(&in) & 1 ? thr - thr / 16 : -(thr - thr / 16));
            break;
        }
        case 2: /* a phase step */
            off += (uint64_t)(int64_t)(int32_t)fuzz_u32(&in)
                   << (fuzz_u8(&in) % 24);
            break;
        case 3: /* an outlier: this sample only */
            s.b_ns = fuzz_u64(&in);
            break;
        case 4: /* a new rate */
            ppm_rate = fuzz_u32(&in) % 200001;
            break;
        case 5: /* epoch change (migration) */
            epoch = fuzz_u32(&in);
            break;
        case 6: /* A far ahead, or backwards */
            dt = fuzz_mag(&in);
            if (fuzz_u8(&in) & 1)
                dt = -dt;
            break;
        case 7: /* a wide bracket, a coarse resolution */
            s.delay_ns = fuzz_mag(&in);
            s.res_ns = fuzz_mag(&in);
            break;
        case 8:
            FUZZ_CHECK(pvt_drift_reset(&d, fuzz_u8(&in) & 1) == 0, "reset");
            check(&d, &prev);
            continue;
        default:
            check_scale(&d, fuzz_mag(&in));
            continue;
        }
        /* B moves by dt * (1 + rate) */
        if (op % 10 != 6 || (int64_t)dt >= 0)
            off += (uint64_t)((int64_t)((u128)dt * ppm_rate / 1000000) -
                              (int64_t)(dt / 10));
        a = (int64_t)((uint64_t)a + dt);
        s.a_ns = a;
        if (op % 10 != 3)
            s.b_ns = (uint64_t)a + off;
        s.epoch = epoch;
        rc = pvt_drift_feed(&d, &s);
        if (a < 0) {
            FUZZ_CHECK(rc == -PVT_EINVAL, "a < 0 accepted: %d", rc);
            a = 0;
        } else {
            FUZZ_CHECK(rc >= PVT_DRIFT_UNLOCKED && rc <= PVT_DRIFT_STABLE,
                       "feed returned %d", rc);
        }
        check(&d, &prev);
        check_scale(&d, fuzz_mag(&in));
    }
    return 0;
}
