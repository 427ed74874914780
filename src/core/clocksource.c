/*
 * Clocksource fixed-point conversion: mult/shift, limits, ns -> cycles.
 */
#include "pvtimer/clocksource.h"

#include "util.h"

/*
 * Choose mult/shift for  to_value = from_value * mult >> shift.
 *
 * Precision grows with shift, but mult = to * 2^shift / from grows with it
 * too, and a conversion must not overflow: multiplying maxsec seconds of
 * `from` ticks (maxsec * from, up to 64 bits) by mult must stay below 2^64.
 * If maxsec * from needs 32 + k bits, mult may have at most 32 - k bits
 * (sftacc). The loop takes the largest shift in [1, 32] whose rounded mult,
 * (to * 2^shift + from / 2) / from, fits in sftacc bits. This is Linux's
 * rule, reproduced so the same inputs give the same pair.
 */
int pvt_calc_mult_shift(uint32_t *mult, uint32_t *shift, uint32_t from,
                        uint32_t to, uint32_t maxsec)
{
    uint64_t tmp;
    uint32_t sft;
    unsigned int sftacc;

    if (!mult || !shift || from == 0 || to == 0 || maxsec == 0)
        return -PVT_EINVAL;

    /* 32 minus the bits of the conversion range above 32 */
    sftacc = 32u - pvt__fls64(((uint64_t)maxsec * from) >> 32);

    for (sft = 32; sft > 0; sft--) {
        tmp = pvt__div64_u64(((uint64_t)to << sft) + from / 2, from);
        if ((tmp >> sftacc) == 0) {
            if (tmp == 0)
                return -PVT_ERANGE;
            *mult = (uint32_t)tmp;
            *shift = sft;
            return 0;
        }
    }
    return -PVT_ERANGE;
}

int pvt_clocksource_init(struct pvt_clocksource *cs)
{
    if (!cs || !cs->name || !cs->read)
        return -PVT_EINVAL;
    /* mask must be 2^n - 1 with n in [1, 64] */
    if (cs->mask == 0 || (cs->mask & (cs->mask + 1)) != 0)
        return -PVT_EINVAL;
    if (cs->mult == 0 || cs->shift > PVT_CS_MAX_SHIFT)
        return -PVT_EINVAL;

    /* the largest delta whose plain 64-bit product cannot overflow */
    cs->max_cycles = pvt__div64_u64(UINT64_MAX, cs->mult);
    if (cs->max_cycles > cs->mask)
        cs->max_cycles = cs->mask;
    cs->max_ns = (cs->max_cycles * cs->mult) >> cs->shift;
    return 0;
}

int pvt_clocksource_init_hz(struct pvt_clocksource *cs, uint64_t hz,
                            uint32_t maxsec)
{
    uint64_t sec, from = hz, to = (uint64_t)PVT_NSEC_PER_SEC, scale = 1;
    int rc;

    if (!cs || hz == 0)
        return -PVT_EINVAL;
    if (hz > UINT32_MAX) {
        /* kHz to ns per ms: the same ratio in 32-bit operands; the range
         * in "seconds" of the scaled unit is then 1000 times longer, so
         * that maxsec * from still counts the cycles of maxsec seconds */
        scale = 1000;
        from = pvt__div64_u64(hz + 500, 1000);
        to = (uint64_t)PVT_NSEC_PER_SEC / 1000;
        if (from > UINT32_MAX)
            return -PVT_EINVAL;
    }
    if (cs->mask == 0 || (cs->mask & (cs->mask + 1)) != 0)
        return -PVT_EINVAL;
    sec = maxsec;
    if (sec == 0) {
        /* as Linux: the counter's whole range, capped for wide counters */
        sec = pvt__div64_u64(cs->mask, hz);
        if (sec == 0)
            sec = 1;
        else if (sec > 600 && cs->mask > UINT32_MAX)
            sec = 600;
    }
    sec *= scale;
    if (sec > UINT32_MAX)
        sec = UINT32_MAX;
    rc = pvt_calc_mult_shift(&cs->mult, &cs->shift, (uint32_t)from,
                             (uint32_t)to, (uint32_t)sec);
    if (rc)
        return rc;
    return pvt_clocksource_init(cs);
}

int pvt_clocksource_ns2cyc(const struct pvt_clocksource *cs, uint64_t ns,
                           uint64_t *cycles)
{
    if (!cs || !cycles || cs->mult == 0 || cs->shift > PVT_CS_MAX_SHIFT ||
        cs->max_cycles == 0)
        return -PVT_EINVAL;
    /* smallest c with c * mult >> shift >= ns is ceil(ns * 2^shift / mult)
     * (then (c * mult) >> shift >= (ns * 2^shift) >> shift = ns) */
    *cycles = pvt__shl_div_ceil(ns, cs->shift, cs->mult);
    return 0;
}
