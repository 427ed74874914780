/*
 * The drift estimator on Gaussian noise (floating point, so host only),
 * and the linreg reference of `pvtimer bench drift` (bench/linreg.h)
 * against a case worked out by hand.
 */
#include <math.h>

#include "core/rng.h"
#include "linreg.h"
#include "pvtimer/pvtimer.h"
#include "runner/test.h"

#define A0 1000000000000ll                   /* 1000 s */
#define B0 (3ull * 86400 * PVT_NSEC_PER_SEC) /* the hypervisor: 3 days up */

/* A standard normal deviate (Box and Muller's transform). */
static double gauss(struct rng *r)
{
    double u1 = 1.0 - (double)(rng_next(r) >> 11) / 9007199254740992.0;
    double u2 = (double)(rng_next(r) >> 11) / 9007199254740992.0;

    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Sample i of B = A (1 + 100 ppm) + step + N(0, sigma^2), one a second. */
static struct pvt_drift_sample noisy(struct rng *r, uint64_t i, double sigma,
                                     int64_t step)
{
    struct pvt_drift_sample s = {.delay_ns = 40};
    int64_t t = (int64_t)i * (int64_t)PVT_NSEC_PER_SEC;

    s.a_ns = A0 + t;
    s.b_ns = B0 + (uint64_t)t + (uint64_t)(t / 10000) + (uint64_t)step +
             (uint64_t)llround(sigma * gauss(r));
    return s;
}

/*
 * 10^4 samples of Gaussian noise, sigma 10 us, and no false step; then a
 * true step of 20 sigma, caught at its second sample.
 *
 * The bound. A step needs two samples in a row, on the same side, beyond
 * step_ns (20 us) + 4 x the smoothed |prediction error| of the window in
 * use; in the first 14 samples (fewer than 10 errors measured) also
 * beyond what max_ppm (5 %) allows over the second between them, 50 ms:
 * 5000 sigma, never. A fit of n samples predicts the next with an error
 * of sigma_p = sigma sqrt(1 + 1/n + 3 (n + 1) / (n (n - 1))), 1.27 sigma
 * at n = 8 (the shortest window in use from the 15th sample on: the
 * longer ones are as good) and less for longer ones; the smoothed |error|
 * estimates 0.80 sigma_p, with a relative spread of about 19 % after ten
 * errors and 8 % later. Even at 3/4 of its expectation the threshold is
 * 2 sigma + 2.4 sigma_p >= 3.97 sigma_p: P(|Z| > 3.97) = 7.2e-5, two in a
 * row on one side < 2.6e-9, over 10^4 samples < 3e-5.
 *
 * The step: 200 us from the line, where the threshold is below 20 us + 4 x
 * 1.25 x 0.80 x 1.13 sigma = 65 us; the two samples after it differ by
 * N(0, 2 sigma_p^2), far less than the threshold: a phase step, which
 * keeps the rate.
 */
TEST_IMPL(drift_host_noise_no_false_step)
{
    const double sigma = 10000;
    /* 5 sd of a 64-sample slope, sigma sqrt(12 / (n (n^2 - 1))) per
     * second, in ppb */
    const double slope_bound = 5 * sigma * sqrt(12.0 / (64.0 * 4095.0));
    struct pvt_drift d;
    struct pvt_drift_estimate e;
    struct pvt_drift_sample s;
    struct rng r;
    uint64_t i, out;

    rng_seed(&r, 0x6e6f697365u);
    ASSERT_OK(pvt_drift_init(&d, NULL));
    for (i = 0; i < 10000; i++) {
        s = noisy(&r, i, sigma, 0);
        ASSERT_GE(pvt_drift_feed(&d, &s), 0);
    }
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 0);
    ASSERT_UEQ(e.samples + e.outliers, 10000);
    ASSERT_GE(e.state, PVT_DRIFT_LOCKED);
    ASSERT_UEQ(e.window, 64);
    ASSERT(fabs((double)e.freq_ppb - 100000) <= slope_bound + 1);

    s = noisy(&r, i++, sigma, (int64_t)(20 * sigma));
    ASSERT_GE(pvt_drift_feed(&d, &s), PVT_DRIFT_LOCKED);
    s = noisy(&r, i++, sigma, (int64_t)(20 * sigma));
    ASSERT_EQ(pvt_drift_feed(&d, &s), PVT_DRIFT_STEP);
    ASSERT_OK(pvt_drift_get(&d, &e));
    ASSERT_UEQ(e.steps, 1);
    ASSERT(fabs((double)e.freq_ppb - 100000) <= slope_bound + 1);
    /* still compensating: 1 s of A is 1 s + 100 us of B */
    ASSERT_EQ(pvt_drift_scale(&d, PVT_NSEC_PER_SEC, &out), 1);
    ASSERT(fabs((double)out - 1000100000.0) <= slope_bound + 2);
    RETURN_OK();
}

/*
 * The reference on y = r x + d (-1)^i, one point a second. A least-squares
 * line through n (even) alternating points starting at +d has the slope
 * -6 d / (n^2 - 1) (sum of (x - mean) (-1)^x = -n / 2 over x = 0..n-1,
 * sum of (x - mean)^2 = n (n^2 - 1) / 12) and predicts -3 d / (n - 1) at
 * x = n, where the point is +d (and the mirror image from -d): every
 * prediction of window n misses by d (n + 2) / (n - 1), so its error is
 * that exactly. 2, 10/7, 6/5, 34/31, 66/63 (times d): each within 5 % of
 * the one before, so the window in use after N points is the largest n
 * with 10 predictions (N >= n + 10), or 4.
 */
TEST_IMPL(drift_host_linreg_reference)
{
    const double d = 1000, r = 1e-4, sec = 1e9;
    struct pvt_linreg l;
    unsigned int i, n;

    pvt_linreg_init(&l);
    for (i = 0; i < 100; i++) {
        unsigned int count = i + 1, want = 0, got, k;
        double y = r * i * sec + (i % 2 ? -d : d);
        got = pvt_linreg_feed(&l, i * sec, y);
        if (count >= 4)
            want = 4;
        for (n = 8; n <= 64; n *= 2)
            if (count >= n + 10)
                want = n;
        ASSERT_UEQ(got, want);
        if (want) {
            /* the newest window starts at point count - want: +d when
             * that is even */
            double sign = (count - want) % 2 ? -1 : 1;
            double slope = r - sign * 6 * d / ((double)want * want - 1) / sec;
            ASSERT(fabs(pvt_linreg_slope(&l) - slope) <= 1e-15);
        } else {
            ASSERT(pvt_linreg_slope(&l) == 0);
        }
        for (k = 0, n = 4; k < PVT_LINREG_WINDOWS; k++, n *= 2)
            if (count > n) {
                ASSERT(fabs(l.res[k].err - d * (n + 2) / (n - 1)) <= 1e-6);
                /* counted up to the 10 of the plain mean */
                ASSERT_UEQ(l.res[k].updates, count - n < 10 ? count - n : 10);
            }
    }
    RETURN_OK();
}
