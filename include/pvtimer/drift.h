/*
 * pvtimer: drift estimation between two clocks, and its use by the
 * `compensated` strategy.
 *
 * Clock A is the one read twice (the guest clock), clock B the one read in
 * between (the hypervisor clock, or the device's timebase). A sample is a
 * bracketed reading (a1, b, a2): b is paired with the midpoint
 * (a1 + a2) / 2, and the bracket a2 - a1 bounds how wrong that pairing can
 * be (phc2sys's method). Several brackets may be taken and the narrowest
 * kept (pvt_drift_measure).
 *
 * The estimator fits, by least squares, the offset y = (b - b_ref) -
 * (a - a_ref) against x = a - a_ref (slope as a 16.48 fraction), over the
 * most recent 4, 8, 16, 32 and 64 samples at once. Before each new sample
 * is used, every window predicts it; the absolute prediction errors are
 * averaged (a plain mean of the first 10, then smoothed with weight 1/50),
 * and the estimate comes from the largest window whose error is within
 * 10 % of the lowest (after linuxptp's linreg servo). A window that has
 * just filled starts from the error of the window in use, so a steady pair
 * of clocks is on the longest window it has samples for (the lowest
 * noise), and a pair whose rate wanders moves to a short one (the least
 * lag) as soon as the errors say so.
 *
 *   rate   = db/da = 1 + slope,  slope kept as a signed 32.32 fraction
 *   offset = b - a at the latest sample, from the fit
 *
 * Steps. The threshold is step_ns + 4 * max(smoothed error of the window in
 * use, delay / 2 + resolution); until 10 errors have been measured since a
 * restart (and before the first fit) a sample may also be as far as
 * max_ppm takes B since the last one. One sample beyond it is held back:
 * if the next is within it, the held one was an outlier (dropped,
 * counted); if the next is beyond it on the same side and agrees with the
 * held one, B's phase stepped: the fit keeps its rate, its history moves
 * by the step (the offset re-anchors at once) and both samples are used.
 * Two beyond it that disagree (B's rate changed, or B is wild) restart the
 * fit from the first of them; so do a sample not after the previous one
 * and a change of the caller's epoch (a pvclock version/flag change that
 * means a migration or a pause; a clocksource switch: the rate is another
 * clock's), since then no rate is known (pvt_pvclock_epoch() makes an
 * epoch for a pvclock B). The range is enforced, not assumed: a sample
 * that would put B - A 2^46 ns (19 hours) or more from the fit's origin,
 * or leave a sample of the fit that far after a rebase or a phase step,
 * restarts the fit from it (a step), so a B that keeps jumping by just
 * less than the threshold (which grows with the error it lets in) cannot
 * overflow the fit. States (phc2sys's s0..s3):
 *
 *   UNLOCKED  no estimate yet (fewer than 4 samples since init or reset)
 *   STEP      a step was seen: after a phase step, for the 3 samples from
 *             its second, with the rate kept and used; after a restart,
 *             until 4 samples are in the new fit, with no estimate
 *   LOCKED    offset and rate estimated
 *   STABLE    locked, on a window of 16 or more samples whose smoothed
 *             prediction error is at most stable_ns
 *
 * Fixed point throughout, no floating point, no allocation, no libc: the
 * fit uses 64- and 128-bit integers, the latter as two 64-bit halves (no
 * compiler 128-bit type, so 32-bit targets build it too), and divides by
 * shift and subtract, without libgcc. The context is caller-allocated and
 * has no interior pointers (it may be copied with memcpy).
 *
 * The hot path is pvt_drift_scale(): a delta in A's ns times the rate as a
 * 32-bit mult with shift 31 (resolution 2^-31, 0.47 ppb), rounded up, with
 * the correction held so that the result is never shorter than the delta
 * by more than max_early_ns.
 *
 * The `compensated` strategy (strategy.h) takes an estimator as its state
 * (pvt_clockevent_set_strategy). At each programming it reads guest
 * clock, device timebase, guest clock; that bracket both aims the timer
 * (from its midpoint, when the bracket is narrow) and is offered to the
 * estimator, which keeps at most one sample per min_interval_ns: sampling
 * costs one extra guest clock read per programming and no extra hypercall.
 * An owner that wants samples when no timer is programmed may feed its own
 * (pvt_drift_measure + pvt_drift_feed) into the same context.
 *
 * Calling context: one estimator per device, not locked. The compensated
 * strategy feeds it from its device's programming (that vCPU's interrupt
 * or timer context); an owner that feeds or reads it elsewhere serialises
 * those calls with the device's interrupt. measure reads the caller's
 * clocks only. init, config and get touch only the context given.
 */
#ifndef PVTIMER_DRIFT_H
#define PVTIMER_DRIFT_H

#include "pvtimer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pvt_drift_state {
    PVT_DRIFT_UNLOCKED = 0,
    PVT_DRIFT_STEP = 1,
    PVT_DRIFT_LOCKED = 2,
    PVT_DRIFT_STABLE = 3,
};

#define PVT_DRIFT_WINDOWS     5  /* fits over 4, 8, 16, 32, 64 samples */
#define PVT_DRIFT_MIN_SAMPLES 4  /* the smallest window: locked from here */
#define PVT_DRIFT_MAX_SAMPLES 64 /* the largest window */
#define PVT_DRIFT_MULT_SHIFT  31 /* pvt_drift_estimate.mult's shift */

struct pvt_drift_config {
    uint64_t step_ns;         /* fixed part of the step threshold */
    uint64_t max_delay_ns;    /* wider brackets are dropped (0: none) */
    uint64_t min_interval_ns; /* keep at most one sample per this much A */
    uint64_t stable_ns;       /* smoothed prediction error for STABLE */
    uint64_t max_early_ns;    /* pvt_drift_scale never shortens by more */
    uint32_t max_ppm;         /* |rate - 1| used is held to this, <= 10^5 */
};

/* What pvt_drift_init(d, NULL) uses. */
#define PVT_DRIFT_DEFAULT_STEP_NS         20000u     /* linuxptp's 20 us */
#define PVT_DRIFT_DEFAULT_MAX_DELAY_NS    20000u     /* a preempted bracket */
#define PVT_DRIFT_DEFAULT_MIN_INTERVAL_NS 100000000u /* 100 ms */
#define PVT_DRIFT_DEFAULT_STABLE_NS       1000u
#define PVT_DRIFT_DEFAULT_MAX_EARLY_NS    1000000u /* 1 ms, as PipeWire's */
#define PVT_DRIFT_DEFAULT_MAX_PPM         50000u   /* 5 % */

/* One bracketed reading. */
struct pvt_drift_sample {
    int64_t a_ns;      /* clock A: the bracket's midpoint */
    uint64_t b_ns;     /* clock B, read inside the bracket */
    uint64_t delay_ns; /* the bracket's width, a2 - a1 */
    uint64_t res_ns;   /* A's resolution (a jiffies clock: one tick) */
    uint32_t epoch;    /* any change restarts the fit (0 if unused) */
};

/* A signed 128-bit sum, in two halves (plain C in this header). */
struct pvt_drift_s128 {
    uint64_t lo;
    int64_t hi;
};

/* One fit (internal, but visible so that the context is caller-allocated). */
struct pvt_drift_window {
    int64_t sx, sy; /* sums over the window's samples */
    struct pvt_drift_s128 sxx, sxy;
    int64_t xbar;      /* mean x of the window, ns */
    int64_t ybar_q8;   /* mean y of the window, ns * 256 */
    int64_t slope_q48; /* dy/dx, 16.48 */
    int64_t err_q8;    /* smoothed |prediction error|, ns * 256 */
    uint32_t updates;  /* errors in err_q8 (an inherited one counts) */
    bool fitted;
};

struct pvt_drift {
    struct pvt_drift_config cfg;
    uint32_t magic;
    enum pvt_drift_state state;
    int64_t a_ref; /* the fit's origin: the first sample since a reset */
    uint64_t b_ref;
    int64_t a_last; /* the last sample kept */
    /* a sample at a with (uint64_t)(a - a_last) below this is dropped for
     * min_interval_ns (at least 1 ns: a sample at a_last itself; at most
     * 2^63: never one behind a_last); 0 while the ring is empty */
    uint64_t skip_len;
    uint32_t epoch;
    bool have_epoch;
    int64_t x[PVT_DRIFT_MAX_SAMPLES]; /* ring of samples, relative to ref */
    int64_t y[PVT_DRIFT_MAX_SAMPLES];
    uint32_t head;  /* next slot */
    uint32_t count; /* samples in the ring */
    struct pvt_drift_window win[PVT_DRIFT_WINDOWS];
    int best;      /* window in use, or -1 */
    uint32_t mult; /* the rate for the hot path, shift 31 */
    /* a sample beyond the step threshold, held until the next one says
     * whether it was an outlier or the first of a step */
    struct pvt_drift_sample held;
    int64_t held_resid; /* its distance from the prediction, ns */
    bool holding;
    uint32_t relock; /* samples left to report STEP after a phase step */
    /* counters */
    uint64_t samples;  /* kept */
    uint64_t dropped;  /* bracket too wide */
    uint64_t steps;    /* phase steps, restarts, reset(true) */
    uint64_t outliers; /* beyond the threshold once, then back */
};

/* A snapshot of the estimate. */
struct pvt_drift_estimate {
    enum pvt_drift_state state;
    int64_t offset_ns; /* b - a at the latest sample, from the fit */
    int64_t slope_q32; /* rate - 1 as 32.32: ppm = slope * 1e6 / 2^32 */
    int64_t slope_q48; /* the same as 16.48 (what the fit keeps) */
    int64_t freq_ppb;  /* the same, in ppb (rounded towards zero) */
    uint32_t mult;     /* rate (held to max_ppm) as mult >> 31 */
    uint32_t window;   /* samples in the fit in use (0: none) */
    uint64_t err_ns;   /* its smoothed prediction error */
    uint64_t samples;  /* kept since init */
    uint64_t steps;    /* steps and restarts since init */
    uint64_t dropped;  /* samples dropped for a wide bracket */
    uint64_t outliers; /* samples dropped as outliers */
    uint32_t in_fit;   /* samples since the last restart (capped at 64) */
};

/* Fill *cfg with the defaults above. Returns 0 or -PVT_EINVAL (NULL). */
int pvt_drift_config_default(struct pvt_drift_config *cfg);

/*
 * Initialise d with cfg (NULL: the defaults), state UNLOCKED. Returns 0 or
 * -PVT_EINVAL (d NULL; max_ppm 0 or above 100000; stable_ns 0; step_ns 0).
 */
int pvt_drift_init(struct pvt_drift *d, const struct pvt_drift_config *cfg);

/*
 * Forget the fit (keep the configuration and counters): the next sample
 * starts a new one. to_step: report STEP rather than UNLOCKED until locked
 * again. Returns 0 or -PVT_EINVAL (NULL or uninitialised d).
 */
int pvt_drift_reset(struct pvt_drift *d, bool to_step);

/*
 * Offer a sample. It is dropped (counted) when its bracket is wider than
 * max_delay_ns, ignored when less than min_interval_ns of A after the last
 * one kept (or held), held back when beyond the step threshold, and moves
 * or restarts the fit on a step (see the top of this file).
 * Returns the state after it (>= 0, enum pvt_drift_state) or -PVT_EINVAL
 * (NULL or uninitialised d, NULL s, a_ns < 0).
 */
int pvt_drift_feed(struct pvt_drift *d, const struct pvt_drift_sample *s);

/* Reads a clock (ns). */
typedef uint64_t (*pvt_drift_read_fn)(void *ctx);

/*
 * Take `tries` brackets (read A, read B, read A) and keep the narrowest:
 * out->a_ns = its midpoint, b_ns, delay_ns; res_ns and epoch are set to 0.
 * A's readings must fit in int64_t. Returns 0, -PVT_EINVAL (NULL pointer,
 * tries 0) or -PVT_ERANGE (A went backwards in every bracket).
 */
int pvt_drift_measure(pvt_drift_read_fn read_a, void *a_ctx,
                      pvt_drift_read_fn read_b, void *b_ctx, unsigned int tries,
                      struct pvt_drift_sample *out);

/* The current estimate. Returns 0 or -PVT_EINVAL. */
int pvt_drift_get(const struct pvt_drift *d, struct pvt_drift_estimate *out);

/*
 * A delta in A's ns as B's ns: ceil(delta * mult / 2^31) while a rate is
 * estimated (LOCKED, STABLE, or STEP after a phase step), held to >= delta
 * - max_early_ns; delta itself otherwise. Returns 1 when compensated, 0
 * when not (no rate), -PVT_EINVAL (NULL).
 */
int pvt_drift_scale(const struct pvt_drift *d, uint64_t delta_ns,
                    uint64_t *out);

/* "unlocked", "step", "locked", "stable", or "invalid". */
const char *pvt_drift_state_name(enum pvt_drift_state state);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_DRIFT_H */
