/*
 * The drift estimator's unchecked hot path, for the compensated strategy,
 * which holds an estimator pvt_clockevent_set_strategy() checked (not
 * installed).
 */
#ifndef PVTIMER_CORE_DRIFT_INTERNAL_H
#define PVTIMER_CORE_DRIFT_INTERNAL_H

#include "pvtimer/drift.h"

/* pvt_drift_scale() of an initialised estimator, the scaled delta
 * returned: inline, as it runs at every programming. Without a fit (best
 * < 0) mult is 1 << PVT_DRIFT_MULT_SHIFT (clear_fit, update_rate), which
 * gives delta_ns itself: no test for it. */
static inline uint64_t pvt__drift_scale(const struct pvt_drift *d,
                                        uint64_t delta_ns)
{
    uint64_t r;

#if PVT__HAVE_U128
    /* below 2^62 ns the product is below 2^94 and the rounded-up quotient
     * below 2^63: no saturation to check */
    if (__builtin_expect(delta_ns >> 62 == 0, 1))
        r = (uint64_t)(((pvt__u128)delta_ns * d->mult +
                        ((1u << PVT_DRIFT_MULT_SHIFT) - 1)) >>
                       PVT_DRIFT_MULT_SHIFT);
    else
#endif
        r = pvt_mul_u64_u32_shr_ceil(delta_ns, d->mult, PVT_DRIFT_MULT_SHIFT);
    if (r < delta_ns && delta_ns - r > d->cfg.max_early_ns)
        r = delta_ns - d->cfg.max_early_ns;
    return r;
}

#endif /* PVTIMER_CORE_DRIFT_INTERNAL_H */
