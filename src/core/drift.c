/*
 * Drift estimation: least squares over adaptive windows, step detection
 * (see pvtimer/drift.h for the method and the states).
 *
 * Numbers. x = a - a_ref and y = (b - b_ref) - x are ns relative to the
 * fit's origin, which moves up to the newest sample every 2^40 ns of A
 * (rebase), so that they stay small. x is small by construction (the
 * rebase, and GAP_LIMIT); y is whatever B does, so its range is enforced,
 * not assumed: a sample whose y would be 2^46 or more from the origin,
 * or a rebase or phase step that would leave a sample of the ring that
 * far, restarts the fit from the new sample, as a step (counted in
 * `steps`). A B that an honest hypervisor drives never comes near (2^46
 * ns is 19 hours of offset within 64 samples); a hostile one that keeps
 * jumping by just less than the step threshold (which grows with the
 * smoothed error) would otherwise take y to 2^55 within 400 samples and
 * overflow the sums.
 *
 *   sx = sum x, sy = sum y                 |x| < 2^45, |y| < 2^46 (held,
 *                                          Y_LIMIT): < 2^52
 *   sxx = sum x^2, sxy = sum x * y         < 2^6 * 2^91 = 2^97 (128-bit)
 *   den = n * sxx - sx^2                   < 2^104
 *   num = n * sxy - sx * sy                < 2^105
 *
 * The sums are kept per window and updated as samples come and go (exact
 * integers: nothing accumulates), so a sample costs a few 128-bit
 * operations per window, not a pass over the window.
 *   slope = num / den, as 16.48: (num << 48) / den
 *
 * 48 fraction bits, because a window spans up to minutes: 2^-32 of slope
 * over 300 s is already 70 ns of prediction. num is shifted right (with
 * den, keeping their ratio) until num << 48 fits 127 bits. A window whose span
 * exceeds 2^46 ns (19 hours) is not fitted. The 128-bit numbers are two
 * 64-bit halves (int128.h: no compiler 128-bit type, so the core builds for
 * 32-bit targets too) and the divisions shift and subtract (no libgcc in
 * the freestanding core).
 */
#include "pvtimer/drift.h"
#include "drift-internal.h"

#include "int128.h"
#include "util.h"

#define DRIFT_MAGIC 0x64726674u /* "drft" */
#define SPAN_LIMIT  (1ll << 46)
/* every y in the ring, and a sample's y, is held below this (see above) */
#define Y_LIMIT (1ll << 46)
/* smoothing weight of the prediction errors, 1/50 = 0.02 as linreg's,
 * after a plain mean of the first INIT_UPDATES */
#define SMOOTH_DIV   50
#define INIT_UPDATES 10
/* a phase step larger than this (18 minutes) restarts the fit instead */
#define PHASE_LIMIT (1ll << 40)
/* move the fit's origin forward past this much A (18 minutes) */
#define REBASE_AT (1ll << 40)
/* a longer gap between samples restarts the fit (4.9 hours), so that x
 * stays below 2^45 and the sums below 2^103 */
#define GAP_LIMIT (1ll << 44)

static int64_t abs64(int64_t v)
{
    return v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;
}

static bool usable(const struct pvt_drift *d)
{
    return d && d->magic == DRIFT_MAGIC;
}

int pvt_drift_config_default(struct pvt_drift_config *cfg)
{
    if (!cfg)
        return -PVT_EINVAL;
    cfg->step_ns = PVT_DRIFT_DEFAULT_STEP_NS;
    cfg->max_delay_ns = PVT_DRIFT_DEFAULT_MAX_DELAY_NS;
    cfg->min_interval_ns = PVT_DRIFT_DEFAULT_MIN_INTERVAL_NS;
    cfg->stable_ns = PVT_DRIFT_DEFAULT_STABLE_NS;
    cfg->max_early_ns = PVT_DRIFT_DEFAULT_MAX_EARLY_NS;
    cfg->max_ppm = PVT_DRIFT_DEFAULT_MAX_PPM;
    return 0;
}

static void clear_fit(struct pvt_drift *d)
{
    int k;

    d->head = 0;
    d->count = 0;
    d->skip_len = 0;
    d->best = -1;
    d->mult = 1u << PVT_DRIFT_MULT_SHIFT;
    d->holding = false;
    d->relock = 0;
    for (k = 0; k < PVT_DRIFT_WINDOWS; k++)
        d->win[k] = (struct pvt_drift_window){0};
}

int pvt_drift_init(struct pvt_drift *d, const struct pvt_drift_config *cfg)
{
    struct pvt_drift_config c;

    if (!d)
        return -PVT_EINVAL;
    if (cfg)
        c = *cfg;
    else
        pvt_drift_config_default(&c);
    if (c.max_ppm == 0 || c.max_ppm > 100000 || c.stable_ns == 0 ||
        c.step_ns == 0 || c.step_ns > (uint64_t)SPAN_LIMIT ||
        c.stable_ns > (uint64_t)SPAN_LIMIT)
        return -PVT_EINVAL;
    *d = (struct pvt_drift){0};
    d->cfg = c;
    d->magic = DRIFT_MAGIC;
    d->state = PVT_DRIFT_UNLOCKED;
    clear_fit(d);
    return 0;
}

int pvt_drift_reset(struct pvt_drift *d, bool to_step)
{
    if (!usable(d))
        return -PVT_EINVAL;
    clear_fit(d);
    d->have_epoch = false;
    d->state = to_step ? PVT_DRIFT_STEP : PVT_DRIFT_UNLOCKED;
    if (to_step)
        d->steps++;
    return 0;
}

/* The sample kept last is at a_ns (the ring holds at least one). */
static void set_last(struct pvt_drift *d, int64_t a_ns)
{
    uint64_t len = d->cfg.min_interval_ns ? d->cfg.min_interval_ns : 1;

    d->a_last = a_ns;
    d->skip_len = len < (1ull << 63) ? len : (1ull << 63);
}

static uint32_t slot(const struct pvt_drift *d, uint32_t back)
{
    /* the sample `back` places before the newest */
    return (d->head + 2u * PVT_DRIFT_MAX_SAMPLES - 1u - back) %
           PVT_DRIFT_MAX_SAMPLES;
}

static int64_t predict(const struct pvt_drift_window *w, int64_t x)
{
    /* ybar (2^-8 ns) and slope (2^-48) brought to 2^-48 ns; |x - xbar| <
     * 2^47 and |slope| <= 2^48 keep the sum below 2^96 */
    struct pvt__i128 p =
        pvt__i128_add(pvt__i128_shl(pvt__i128_from_s64(w->ybar_q8), 40),
                      pvt__i128_mul_s64(x - w->xbar, w->slope_q48));

    /* arithmetic shift: floor */
    return pvt__i128_to_s64(pvt__i128_sar(p, 48));
}

static struct pvt__i128 load128(const struct pvt_drift_s128 *v)
{
    struct pvt__i128 r = {(uint64_t)v->hi, v->lo};
    return r;
}

static void store128(struct pvt_drift_s128 *v, struct pvt__i128 x)
{
    v->lo = x.lo;
    v->hi = (int64_t)x.hi;
}

/* Add (sign 1) or remove (sign -1) a sample from a window's sums. */
static void sums_add(struct pvt_drift_window *w, int64_t x, int64_t y, int sign)
{
    struct pvt__i128 xx = pvt__i128_mul_s64(x, x);
    struct pvt__i128 xy = pvt__i128_mul_s64(x, y);

    w->sx += sign * x;
    w->sy += sign * y;
    if (sign > 0) {
        store128(&w->sxx, pvt__i128_add(load128(&w->sxx), xx));
        store128(&w->sxy, pvt__i128_add(load128(&w->sxy), xy));
    } else {
        store128(&w->sxx, pvt__i128_sub(load128(&w->sxx), xx));
        store128(&w->sxy, pvt__i128_sub(load128(&w->sxy), xy));
    }
}

/* Recompute every window's sums from the ring (after a rebase). */
static void sums_rebuild(struct pvt_drift *d)
{
    uint32_t i;
    int k;

    for (k = 0; k < PVT_DRIFT_WINDOWS; k++) {
        struct pvt_drift_window *w = &d->win[k];
        uint32_t n = 4u << k;
        w->sx = w->sy = 0;
        w->sxx = w->sxy = (struct pvt_drift_s128){0};
        for (i = 0; i < n && i < d->count; i++)
            sums_add(w, d->x[slot(d, i)], d->y[slot(d, i)], 1);
    }
}

/* Fit window k over its 4 << k samples; false if it cannot be. */
static bool fit(struct pvt_drift *d, int k)
{
    struct pvt_drift_window *w = &d->win[k];
    uint32_t n = 4u << k;
    struct pvt__i128 den, num, slope;
    const struct pvt__i128 num_limit = {1ull << 14, 0}; /* 2^78 */
    const struct pvt__i128 num_low = pvt__i128_neg(num_limit);
    const int64_t slope_limit = 1ll << 48; /* |rate - 1| <= 1 */

    if (d->count < n)
        return false;
    /* n * sum as sum << (2 + k): n is 4 << k */
    den = pvt__i128_sub(pvt__i128_shl(load128(&w->sxx), 2u + (unsigned int)k),
                        pvt__i128_mul_s64(w->sx, w->sx));
    num = pvt__i128_sub(pvt__i128_shl(load128(&w->sxy), 2u + (unsigned int)k),
                        pvt__i128_mul_s64(w->sx, w->sy));
    if (pvt__i128_is_neg(den) || pvt__i128_is_zero(den))
        return false;
    while (pvt__i128_cmp(num, num_limit) >= 0 ||
           pvt__i128_cmp(num, num_low) <= 0) {
        num = pvt__i128_sar(num, 1);
        den = pvt__i128_sar(den, 1);
    }
    if (pvt__i128_is_zero(den))
        return false;
    slope = pvt__i128_div(pvt__i128_shl(num, 48), den);
    if (pvt__i128_cmp(slope, pvt__i128_from_s64(slope_limit)) > 0)
        slope = pvt__i128_from_s64(slope_limit);
    if (pvt__i128_cmp(slope, pvt__i128_from_s64(-slope_limit)) < 0)
        slope = pvt__i128_from_s64(-slope_limit);
    w->slope_q48 = pvt__i128_to_s64(slope);
    /* the means: sx / n (floor: < 1 ns off, times a slope below 10 %) and
     * sy / n to 2^-8 ns (n is a power of two) */
    w->xbar = w->sx >> (2 + k);
    w->ybar_q8 = (w->sy * 256) >> (2 + k);
    w->fitted = true;
    return true;
}

/* The window to use: the largest whose smoothed error is within 10 % of
 * the lowest (linreg's 5 % is about the noise of the smoothed errors
 * themselves, and the longer fits, whose slopes are far better on a steady
 * rate, lost to a shorter one by chance); before any window has an error,
 * the largest fitted one. */
static int choose(const struct pvt_drift *d)
{
    int k;
    int64_t min = INT64_MAX;

    for (k = 0; k < PVT_DRIFT_WINDOWS; k++)
        if (d->win[k].fitted && d->win[k].updates && d->win[k].err_q8 < min)
            min = d->win[k].err_q8;
    for (k = PVT_DRIFT_WINDOWS - 1; k >= 0; k--) {
        const struct pvt_drift_window *w = &d->win[k];
        if (!w->fitted)
            continue;
        if (min == INT64_MAX)
            return k;
        /* err <= min * 1.1, in integers (errors are < 2^55) */
        if (w->updates && w->err_q8 * 10 <= min * 11)
            return k;
    }
    return -1;
}

static void update_rate(struct pvt_drift *d)
{
    /* max_ppm * 2^48 / 10^6, max_ppm <= 10^5 */
    int64_t limit =
        (int64_t)(pvt__div64_u64((uint64_t)d->cfg.max_ppm << 32, 1000000u)
                  << 16);
    int64_t s;

    if (d->best < 0) {
        d->mult = 1u << PVT_DRIFT_MULT_SHIFT;
        return;
    }
    s = d->win[d->best].slope_q48;
    if (s > limit)
        s = limit;
    if (s < -limit)
        s = -limit;
    /* rate * 2^31 = 2^31 + slope_q48 / 2^17, rounded up (never early);
     * |s| <= 2^48 / 10, so it stays within (0, 2^32) */
    d->mult = (uint32_t)((int64_t)(1u << PVT_DRIFT_MULT_SHIFT) +
                         ((s + (1 << 17) - 1) >> 17));
}

/* Restart the fit with this sample as its origin. */
static void start(struct pvt_drift *d, const struct pvt_drift_sample *s,
                  bool step)
{
    clear_fit(d);
    if (step) {
        d->steps++;
        d->state = PVT_DRIFT_STEP;
    } else if (d->state != PVT_DRIFT_STEP) {
        d->state = PVT_DRIFT_UNLOCKED;
    }
    d->a_ref = s->a_ns;
    d->b_ref = s->b_ns;
    d->epoch = s->epoch;
    d->have_epoch = true;
    d->x[0] = 0;
    d->y[0] = 0;
    d->head = 1;
    d->count = 1;
    set_last(d, s->a_ns);
    d->samples++;
}

/* Move the origin to the newest sample, so that x and y stay small however
 * long the estimator runs. */
static void rebase(struct pvt_drift *d)
{
    uint32_t i, newest = slot(d, 0);
    int64_t xn = d->x[newest], yn = d->y[newest];
    int k;

    for (i = 0; i < d->count; i++) {
        uint32_t j = slot(d, i);
        d->x[j] -= xn;
        d->y[j] -= yn;
    }
    for (k = 0; k < PVT_DRIFT_WINDOWS; k++) {
        d->win[k].xbar -= xn;
        d->win[k].ybar_q8 -= yn * 256;
    }
    d->a_ref += xn;
    d->b_ref += (uint64_t)xn + (uint64_t)yn;
    sums_rebuild(d);
}

static int64_t sat_mul_ppm(uint64_t v, uint32_t ppm)
{
    /* v * ppm / 10^6 for v < 2^46 and ppm <= 10^5: < 2^63 */
    return (int64_t)pvt__div64_u64(v * ppm, 1000000u);
}

/* x and y of a sample against the fit's origin (modulo 2^64: a B behind
 * its origin gives a negative y, without overflow). */
static void sample_xy(const struct pvt_drift *d,
                      const struct pvt_drift_sample *s, int64_t *x, int64_t *y)
{
    uint64_t bd = s->b_ns - d->b_ref;

    *x = s->a_ns - d->a_ref;
    *y = (int64_t)(bd - (uint64_t)*x);
}

static bool y_in_range(int64_t y)
{
    return y < Y_LIMIT && y > -Y_LIMIT;
}

/* Whether every y of the ring, less `by`, is within Y_LIMIT (what a
 * rebase to a sample of y `by` leaves). */
static bool ring_in_range(const struct pvt_drift *d, int64_t by)
{
    uint32_t i;

    for (i = 0; i < d->count; i++) {
        int64_t y = d->y[slot(d, i)];
        /* both below Y_LIMIT: the difference fits */
        if (!y_in_range(y - by))
            return false;
    }
    return true;
}

/* A prediction error, ns * 256, bounded so that sums cannot overflow. */
static int64_t abs_err_q8(int64_t y, int64_t pred)
{
    int64_t e;

    if (__builtin_sub_overflow(y, pred, &e))
        e = SPAN_LIMIT;
    e = abs64(e);
    return (e > SPAN_LIMIT ? SPAN_LIMIT : e) << 8;
}

/* Add a sample that is not a step to the fit. */
static void accept(struct pvt_drift *d, int64_t a_ns, int64_t x, int64_t y)
{
    bool was_fitted[PVT_DRIFT_WINDOWS];
    int k, prev = d->best;

    /* every fitted window predicted this sample: average its error (a
     * plain mean of the first INIT_UPDATES, then smoothed) */
    for (k = 0; k < PVT_DRIFT_WINDOWS; k++) {
        struct pvt_drift_window *w = &d->win[k];
        int64_t e;
        was_fitted[k] = w->fitted;
        if (!w->fitted)
            continue;
        e = abs_err_q8(y, predict(w, x));
        if (w->updates < INIT_UPDATES)
            w->err_q8 += pvt__div64_s64(e - w->err_q8, (int64_t)w->updates + 1);
        else
            w->err_q8 += pvt__div64_s64(e - w->err_q8, SMOOTH_DIV);
        w->updates++;
    }

    /* the sample leaving each full window goes out of its sums (for the
     * largest, it is the one about to be overwritten) */
    for (k = 0; k < PVT_DRIFT_WINDOWS; k++) {
        uint32_t n = 4u << k;
        if (d->count >= n)
            sums_add(&d->win[k], d->x[slot(d, n - 1)], d->y[slot(d, n - 1)],
                     -1);
    }
    d->x[d->head] = x;
    d->y[d->head] = y;
    d->head = (d->head + 1) % PVT_DRIFT_MAX_SAMPLES;
    if (d->count < PVT_DRIFT_MAX_SAMPLES)
        d->count++;
    for (k = 0; k < PVT_DRIFT_WINDOWS; k++)
        sums_add(&d->win[k], x, y, 1);
    set_last(d, a_ns);
    d->samples++;

    for (k = 0; k < PVT_DRIFT_WINDOWS; k++) {
        struct pvt_drift_window *w = &d->win[k];
        if (!fit(d, k)) {
            w->fitted = false;
            continue;
        }
        /* a window that has just filled takes over the smoothed error of
         * the one in use: least squares over more samples of the same line
         * predict no worse, so it is used at once, until its own errors
         * say otherwise. Starting from its first error alone (as this
         * estimator did) or from a plain mean of its first ten (linreg)
         * kept the estimate on shorter windows than the stream needed */
        if (!was_fitted[k] && w->updates == 0 && prev >= 0 && prev < k) {
            w->err_q8 = d->win[prev].err_q8;
            w->updates = INIT_UPDATES;
        }
    }
    d->best = choose(d);
    update_rate(d);
    if (d->best < 0) {
        /* still fewer than 4 samples: keep UNLOCKED or STEP */
    } else if (d->relock > 1) {
        /* STEP until the 4th sample since a phase step */
        d->relock--;
        d->state = PVT_DRIFT_STEP;
    } else {
        d->relock = 0;
        d->state =
            d->best >= 2 && d->win[d->best].updates &&
                    (uint64_t)(d->win[d->best].err_q8 >> 8) <= d->cfg.stable_ns
                ? PVT_DRIFT_STABLE
                : PVT_DRIFT_LOCKED;
    }
}

/* B stepped by shift ns, its rate unchanged: move the history with it, so
 * that every fit keeps its slope and predicts from the new offset. */
static void phase_step(struct pvt_drift *d, int64_t shift)
{
    uint32_t i;
    int k;

    for (i = 0; i < d->count; i++)
        d->y[slot(d, i)] += shift;
    for (k = 0; k < PVT_DRIFT_WINDOWS; k++)
        d->win[k].ybar_q8 += shift * 256;
    /* the origin to the newest sample: y small again, sums rebuilt */
    rebase(d);
    d->steps++;
    d->relock = PVT_DRIFT_MIN_SAMPLES;
    d->state = PVT_DRIFT_STEP;
}

/* Whether phase_step(d, shift) and then the held sample and the one of y
 * (against the current origin) keep every y within Y_LIMIT. The step
 * moves the ring by shift and rebases it on its newest sample, of y yn:
 * a y of the ring becomes y - yn; the two samples, y - yn - shift. */
static bool phase_step_in_range(const struct pvt_drift *d, int64_t shift,
                                int64_t y)
{
    int64_t yn = d->y[slot(d, 0)], yh;

    sample_xy(d, &d->held, &(int64_t){0}, &yh);
    /* |yn| < 2^46, |shift| <= 2^40: the sums fit; y and yh are any */
    return ring_in_range(d, yn) && y_in_range(yh) && y_in_range(y) &&
           y_in_range(yh - yn - shift) && y_in_range(y - yn - shift);
}

int pvt_drift_feed(struct pvt_drift *d, const struct pvt_drift_sample *s)
{
    int64_t x, y, pred, resid, thr, unc, err = 0;
    uint64_t dx;

    if (!usable(d) || !s || s->a_ns < 0)
        return -PVT_EINVAL;
    if (d->cfg.max_delay_ns && s->delay_ns > d->cfg.max_delay_ns) {
        d->dropped++;
        return (int)d->state;
    }
    if (d->count == 0) {
        start(d, s, false);
        return (int)d->state;
    }
    if ((d->have_epoch && s->epoch != d->epoch) || s->a_ns < d->a_last) {
        start(d, s, true);
        return (int)d->state;
    }
    if ((uint64_t)(s->a_ns - d->a_last) < d->cfg.min_interval_ns ||
        s->a_ns == d->a_last)
        return (int)d->state;

    if (s->a_ns - d->a_last >= GAP_LIMIT) {
        /* hours without a sample: start afresh rather than bridge it */
        start(d, s, false);
        return (int)d->state;
    }
    if (s->a_ns - d->a_ref >= REBASE_AT) {
        if (!ring_in_range(d, d->y[slot(d, 0)])) {
            /* B moved 2^46 ns against A within the ring: no fit */
            start(d, s, true);
            return (int)d->state;
        }
        rebase(d);
    }
    sample_xy(d, s, &x, &y);
    unc = (int64_t)(s->delay_ns / 2 < (uint64_t)SPAN_LIMIT ? s->delay_ns / 2
                                                           : SPAN_LIMIT) +
          (int64_t)(s->res_ns < (uint64_t)SPAN_LIMIT ? s->res_ns : SPAN_LIMIT);
    dx = (uint64_t)(x - d->x[slot(d, 0)]);
    if (dx > (uint64_t)SPAN_LIMIT)
        dx = (uint64_t)SPAN_LIMIT;

    /* the step threshold: step_ns + 4 x the noise seen (the prediction
     * error of the window in use, or the bracket and resolution if more).
     * Before a fit, and while its errors are fewer than INIT_UPDATES (too
     * few to tell the noise), a sample may also be as far as max_ppm
     * takes B since the last one. */
    if (d->best >= 0) {
        err = d->win[d->best].err_q8 >> 8;
        pred = predict(&d->win[d->best], x);
    } else {
        pred = d->y[slot(d, 0)];
    }
    thr = (int64_t)d->cfg.step_ns + 4 * (err > unc ? err : unc);
    if (d->win[0].updates < INIT_UPDATES)
        thr += sat_mul_ppm(dx, d->cfg.max_ppm);
    /* a difference that does not even fit 64 bits is beyond it too */
    if (__builtin_sub_overflow(y, pred, &resid))
        resid = y < 0 ? -SPAN_LIMIT * 4 : SPAN_LIMIT * 4;
    if (resid > SPAN_LIMIT * 4)
        resid = SPAN_LIMIT * 4;
    if (resid < -SPAN_LIMIT * 4)
        resid = -SPAN_LIMIT * 4;

    if (resid <= thr && resid >= -thr) {
        if (!y_in_range(y)) {
            /* within the threshold, but B has been led 2^46 ns from the
             * origin (a threshold grown with the error it let in): the
             * fit's arithmetic ends here; restart from this sample */
            start(d, s, true);
            return (int)d->state;
        }
        if (d->holding) {
            /* the one before was an outlier: it is forgotten */
            d->holding = false;
            d->outliers++;
        }
        accept(d, s->a_ns, x, y);
        return (int)d->state;
    }
    if (d->best < 0) {
        /* no rate to keep: restart from this sample */
        start(d, s, true);
        return (int)d->state;
    }
    if (!d->holding || (resid > 0) != (d->held_resid > 0)) {
        /* one sample beyond: an outlier or a step's first; the next one
         * tells */
        if (d->holding)
            d->outliers++;
        d->held = *s;
        d->held_resid = resid;
        d->holding = true;
        set_last(d, s->a_ns);
        return (int)d->state;
    }
    /* two in a row beyond it on the same side */
    d->holding = false;
    if (abs64(resid - d->held_resid) <= thr &&
        abs64(resid + d->held_resid) / 2 <= PHASE_LIMIT &&
        phase_step_in_range(d, (resid + d->held_resid) / 2, y)) {
        /* and agreeing: B's phase stepped, its rate did not */
        struct pvt_drift_sample first = d->held;
        phase_step(d, (resid + d->held_resid) / 2);
        sample_xy(d, &first, &x, &y);
        accept(d, first.a_ns, x, y);
        sample_xy(d, s, &x, &y);
        accept(d, s->a_ns, x, y);
        return (int)d->state;
    }
    /* not a phase step (the rate changed, or B is wild): restart from the
     * first of the two */
    {
        struct pvt_drift_sample first = d->held;
        start(d, &first, true);
    }
    return pvt_drift_feed(d, s);
}

int pvt_drift_measure(pvt_drift_read_fn read_a, void *a_ctx,
                      pvt_drift_read_fn read_b, void *b_ctx, unsigned int tries,
                      struct pvt_drift_sample *out)
{
    bool have = false;
    unsigned int i;

    if (!read_a || !read_b || !out || tries == 0)
        return -PVT_EINVAL;
    for (i = 0; i < tries; i++) {
        uint64_t a1 = read_a(a_ctx);
        uint64_t b = read_b(b_ctx);
        uint64_t a2 = read_a(a_ctx);
        uint64_t delay;
        if (a2 < a1 || a2 > (uint64_t)INT64_MAX)
            continue;
        delay = a2 - a1;
        if (!have || delay < out->delay_ns) {
            out->a_ns = (int64_t)(a1 + delay / 2);
            out->b_ns = b;
            out->delay_ns = delay;
            have = true;
        }
    }
    if (!have)
        return -PVT_ERANGE;
    out->res_ns = 0;
    out->epoch = 0;
    return 0;
}

int pvt_drift_get(const struct pvt_drift *d, struct pvt_drift_estimate *out)
{
    int64_t y, s = 0;
    int64_t ppb;

    if (!usable(d) || !out)
        return -PVT_EINVAL;
    *out = (struct pvt_drift_estimate){0};
    out->state = d->state;
    out->samples = d->samples;
    out->steps = d->steps;
    out->dropped = d->dropped;
    out->outliers = d->outliers;
    out->mult = d->mult;
    out->in_fit = d->count;
    if (d->count == 0)
        return 0;
    y = d->y[slot(d, 0)];
    if (d->best >= 0) {
        const struct pvt_drift_window *w = &d->win[d->best];
        y = predict(w, d->x[slot(d, 0)]);
        s = w->slope_q48 >> 16;
        out->window = 4u << d->best;
        out->slope_q48 = w->slope_q48;
        out->err_ns = w->updates ? (uint64_t)(w->err_q8 >> 8) : 0;
    }
    out->slope_q32 = s;
    /* |slope_q48| * 10^9 / 2^48, floor, with |slope| <= 2^48: the product
     * (< 2^78) in 96 bits, shifted without rounding */
    ppb = (int64_t)pvt_mul_u64_u32_shr(out->slope_q48 < 0
                                           ? -(uint64_t)out->slope_q48
                                           : (uint64_t)out->slope_q48,
                                       1000000000u, 48);
    out->freq_ppb = out->slope_q48 < 0 ? -ppb : ppb;
    /* b - a = (b_ref - a_ref) + y, modulo 2^64 as the clocks are */
    out->offset_ns = (int64_t)(d->b_ref - (uint64_t)d->a_ref + (uint64_t)y);
    return 0;
}

int pvt_drift_scale(const struct pvt_drift *d, uint64_t delta_ns, uint64_t *out)
{
    if (!usable(d) || !out)
        return -PVT_EINVAL;
    *out = pvt__drift_scale(d, delta_ns);
    return d->best >= 0;
}

const char *pvt_drift_state_name(enum pvt_drift_state state)
{
    switch (state) {
    case PVT_DRIFT_UNLOCKED:
        return "unlocked";
    case PVT_DRIFT_STEP:
        return "step";
    case PVT_DRIFT_LOCKED:
        return "locked";
    case PVT_DRIFT_STABLE:
        return "stable";
    }
    return "invalid";
}
