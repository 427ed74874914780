/*
 * Clocksource conversions and the timekeeper (pvtimer/clocksource.h,
 * pvtimer/timekeeping.h) with extreme mult, shift and mask: counters of 1
 * to 64 bits, mult from 1 to 2^32 - 1, shift 0 to 32, a counter that
 * wraps, steps back or leaps.
 *
 * Checked against 128-bit references: calc_mult_shift (Linux's rounding,
 * the largest shift whose mult keeps maxsec seconds of cycles within 64
 * bits); init's max_cycles and max_ns; cyc2ns (exact, saturating);
 * ns2cyc (the smallest count that converts to at least ns); the
 * timekeeper's now(), which, while the counter moves forwards by less than
 * a quarter of its range between readings, is exactly start + floor(total
 * cycles * mult / 2^shift) (the folds lose nothing) and otherwise never
 * goes backwards; ns_to_cycles (never early, late by at most one ns worth
 * of cycles, -PVT_ERANGE exactly beyond half the range).
 */
#include "fuzz.h"
#include "pvtimer/pvtimer.h"

typedef unsigned __int128 u128;

static uint64_t sat(u128 v)
{
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static int64_t sat_s(u128 v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

struct counter {
    uint64_t value;
};

static uint64_t counter_read(struct pvt_clocksource *cs)
{
    return ((struct counter *)cs->priv)->value;
}

static void check_calc(struct fuzz_in *in)
{
    uint32_t from = fuzz_u32(in), to = fuzz_u32(in), maxsec = fuzz_u32(in);
    uint32_t mult = 0, shift = 0;
    int rc;

    if (fuzz_u8(in) & 1)
        maxsec %= 1000;
    rc = pvt_calc_mult_shift(&mult, &shift, from, to, maxsec);
    if (from == 0 || to == 0 || maxsec == 0) {
        FUZZ_CHECK(rc == -PVT_EINVAL, "calc_mult_shift of 0: %d", rc);
        return;
    }
    if (rc == -PVT_ERANGE)
        return;
    FUZZ_CHECK(rc == 0, "calc_mult_shift: %d", rc);
    FUZZ_CHECK(shift >= 1 && shift <= 32 && mult != 0, "shift %u mult %u",
               shift, mult);
    FUZZ_CHECK((u128)mult == (((u128)to << shift) + from / 2) / from,
               "mult %u for %u -> %u shift %u", mult, from, to, shift);
    FUZZ_CHECK((u128)maxsec * from * mult <= UINT64_MAX,
               "%u s of %u Hz times mult %u overflow", maxsec, from, mult);
    if (shift < 32) {
        /* one more bit of shift would not have fitted */
        u128 next = (((u128)to << (shift + 1)) + from / 2) / from;
        unsigned int fls = 0;
        uint64_t hi = ((uint64_t)maxsec * from) >> 32;
        while (hi) {
            fls++;
            hi >>= 1;
        }
        FUZZ_CHECK(next >> (32 - fls) != 0, "shift %u not the largest", shift);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct counter ctr = {0};
    struct pvt_clocksource cs = {
        .name = "fuzz", .read = counter_read, .priv = &ctr};
    struct pvt_timekeeper tk;
    unsigned int bits;
    int64_t start, last = 0;
    u128 num; /* cycles * mult + frac since the reference's base */
    int64_t ref_base;
    bool exact = true;
    uint64_t pending = 0; /* cycles moved since the last reading */
    uint64_t c, ns;
    int rc;

    check_calc(&in);
    bits = 1 + fuzz_u8(&in) % 64;
    cs.mask = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
    cs.mult = fuzz_u32(&in);
    cs.shift = fuzz_u8(&in) % 40;
    if (fuzz_u8(&in) & 1)
        cs.mask = fuzz_u64(&in); /* often not 2^n - 1 */
    rc = pvt_clocksource_init(&cs);
    if (cs.mask == 0 || (cs.mask & (cs.mask + 1)) || cs.mult == 0 ||
        cs.shift > PVT_CS_MAX_SHIFT) {
        FUZZ_CHECK(rc == -PVT_EINVAL, "a bad clocksource taken: %d", rc);
        return 0;
    }
    FUZZ_CHECK(rc == 0, "clocksource_init: %d", rc);
    FUZZ_CHECK(
        cs.max_cycles ==
            (cs.mask < UINT64_MAX / cs.mult ? cs.mask : UINT64_MAX / cs.mult),
        "max_cycles %llu", (unsigned long long)cs.max_cycles);
    FUZZ_CHECK(cs.max_ns ==
                   (uint64_t)(((u128)cs.max_cycles * cs.mult) >> cs.shift),
               "max_ns");

    /* conversions */
    c = fuzz_mag(&in);
    FUZZ_CHECK(pvt_clocksource_cyc2ns(&cs, c) ==
                   sat(((u128)c * cs.mult) >> cs.shift),
               "cyc2ns(%llu) mult %u shift %u", (unsigned long long)c, cs.mult,
               cs.shift);
    ns = fuzz_mag(&in);
    FUZZ_CHECK(pvt_clocksource_ns2cyc(&cs, ns, &c) == 0, "ns2cyc");
    {
        u128 ref = (((u128)ns << cs.shift) + cs.mult - 1) / cs.mult;
        FUZZ_CHECK(c == sat(ref), "ns2cyc(%llu) = %llu, reference %llu",
                   (unsigned long long)ns, (unsigned long long)c,
                   (unsigned long long)sat(ref));
        if (ref <= UINT64_MAX) {
            FUZZ_CHECK(((u128)c * cs.mult) >> cs.shift >= ns, "ns2cyc early");
            FUZZ_CHECK(c == 0 || (((u128)(c - 1) * cs.mult) >> cs.shift) < ns,
                       "ns2cyc not the smallest");
        }
    }

    /* the timekeeper on this counter */
    ctr.value = fuzz_u64(&in) & cs.mask;
    start = (int64_t)(fuzz_mag(&in) >> 1);
    FUZZ_CHECK(pvt_timekeeper_init(&tk, &cs, start) == 0, "timekeeper_init");
    ref_base = start;
    num = 0;
    last = start;
    while (fuzz_left(&in)) {
        uint8_t op = fuzz_u8(&in);
        int64_t now;

        switch (op % 6) {
        case 0: /* forwards, less than a quarter of the range */
        {
            uint64_t k = fuzz_mag(&in) % ((cs.mask >> 2) - pending + 1);
            pending += k;
            ctr.value = (ctr.value + k) & cs.mask;
            num += (u128)k * cs.mult;
            break;
        }
        case 1: /* anywhere: back, or a leap */
            ctr.value = fuzz_u64(&in) & cs.mask;
            exact = false;
            break;
        case 2: /* read */
        case 3: /* read, folding */
            now = op % 6 == 2 ? pvt_timekeeper_now(&tk)
                              : pvt_timekeeper_update(&tk);
            pending = 0;
            FUZZ_CHECK(now >= last, "backwards: %lld after %lld",
                       (long long)now, (long long)last);
            if (exact) {
                int64_t ref = sat_s((u128)ref_base + (num >> cs.shift));
                FUZZ_CHECK(now == ref, "now %lld, reference %lld",
                           (long long)now, (long long)ref);
            }
            last = now;
            if (!exact && op % 6 == 3 &&
                ((ctr.value - tk.cycle_last) & cs.mask) == 0) {
                /* folded at this reading: the reference restarts from the
                 * anchor (the exactness of what follows is checked) */
                ref_base = tk.base_ns;
                num = tk.frac;
                exact = tk.base_ns == now;
            }
            break;
        case 4: /* where the clock will read ns */
        {
            int64_t want = (int64_t)(fuzz_mag(&in) >> 1);
            uint64_t delta;
            u128 need;
            rc = pvt_timekeeper_ns_to_cycles(&tk, want, &c);
            if (want <= tk.base_ns) {
                FUZZ_CHECK(rc == 0 && c == tk.cycle_last, "past: %d", rc);
                break;
            }
            need = (((u128)(uint64_t)(want - tk.base_ns) << cs.shift) +
                    cs.mult - 1) /
                   cs.mult;
            if (need > (cs.mask >> 1)) {
                FUZZ_CHECK(rc == -PVT_ERANGE, "%lld: %d, needs %llu cycles",
                           (long long)want, rc, (unsigned long long)sat(need));
                break;
            }
            FUZZ_CHECK(rc == 0, "ns_to_cycles: %d", rc);
            delta = (c - tk.cycle_last) & cs.mask;
            /* never early, from the anchor the reader uses */
            FUZZ_CHECK(sat_s((u128)tk.base_ns +
                             (((u128)delta * cs.mult + tk.frac) >> cs.shift)) >=
                           want,
                       "early");
            /* late by less than one ns worth of cycles */
            {
                uint64_t one =
                    (uint64_t)((((u128)1 << cs.shift) + cs.mult - 1) / cs.mult);
                if (delta > one)
                    FUZZ_CHECK(
                        sat_s((u128)tk.base_ns +
                              (((u128)(delta - one - 1) * cs.mult + tk.frac) >>
                               cs.shift)) < want,
                        "late by more than a ns");
            }
            break;
        }
        default:
            FUZZ_CHECK(pvt_timekeeper_resume(&tk) == 0, "resume");
            /* continues from the last value, re-anchored on the counter */
            FUZZ_CHECK(tk.base_ns == last && tk.cycle_last == ctr.value,
                       "resume: base %lld, last %lld", (long long)tk.base_ns,
                       (long long)last);
            ref_base = last;
            num = tk.frac;
            pending = 0;
            exact = true;
            break;
        }
    }
    return 0;
}
