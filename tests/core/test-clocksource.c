/*
 * Clocksources: mult/shift selection, conversions, wrap-safe deltas, the
 * registry and jiffies.
 */
#include "pvtimer/clocksource.h"
#include "rng.h"
#include "runner/test.h"

/* ---- calc_mult_shift against an independent computation ---------------- */

static unsigned int bitlen(uint64_t x)
{
    unsigned int n = 0;
    while (x) {
        n++;
        x >>= 1;
    }
    return n;
}

/*
 * What Linux's rule means, stated differently and searched the other way:
 * a conversion of maxsec seconds multiplies a count of up to maxsec * from
 * (B bits, treated as at least 32) by mult, so mult may have at most
 * 64 - max(B, 32) bits. Among shifts 1..32, take the largest whose rounded
 * mult = (to * 2^sft + from / 2) / from respects that.
 */
static bool ref_mult_shift(uint32_t from, uint32_t to, uint32_t maxsec,
                           uint32_t *mult, uint32_t *shift)
{
    unsigned int b = bitlen((uint64_t)maxsec * from);
    unsigned int allowed = 64 - (b > 32 ? b : 32);
    bool found = false;
    uint32_t sft;

    for (sft = 1; sft <= 32; sft++) {
        uint64_t m = (((uint64_t)to << sft) + from / 2) / from;
        if (bitlen(m) <= allowed) {
            *mult = (uint32_t)m;
            *shift = sft;
            found = true;
        }
    }
    return found;
}

static const uint32_t freqs[] = {
    32768,      /* RTC crystal */
    1000000,    /* 1 MHz */
    3579545,    /* ACPI PM timer */
    14318180,   /* HPET */
    1000000000, /* 1 GHz */
    2596128000u, 3900000000u,
};
static const uint32_t maxsecs[] = {1, 10, 600};

TEST_IMPL(cs_calc_mult_shift_table)
{
    size_t i, j;

    for (i = 0; i < PVT_ARRAY_SIZE(freqs); i++) {
        for (j = 0; j < PVT_ARRAY_SIZE(maxsecs); j++) {
            uint32_t mult = 0, shift = 0, rmult = 0, rshift = 0;
            int dir;
            for (dir = 0; dir < 2; dir++) {
                /* dir 0: clocksource (Hz -> ns); 1: clockevent (ns -> Hz) */
                uint32_t from = dir ? (uint32_t)PVT_NSEC_PER_SEC : freqs[i];
                uint32_t to = dir ? freqs[i] : (uint32_t)PVT_NSEC_PER_SEC;
                ASSERT(ref_mult_shift(from, to, maxsecs[j], &rmult, &rshift));
                ASSERT_OK(
                    pvt_calc_mult_shift(&mult, &shift, from, to, maxsecs[j]));
                if (mult != rmult || shift != rshift)
                    pvt_test_printf("from %u to %u maxsec %u\n", from, to,
                                    maxsecs[j]);
                ASSERT_UEQ(mult, rmult);
                ASSERT_UEQ(shift, rshift);
                /* the promise: maxsec seconds convert without overflow */
                ASSERT_UEQ((unsigned __int128)maxsecs[j] * from * mult >> 64,
                           0);
            }
        }
    }
    RETURN_OK();
}

TEST_IMPL(cs_calc_mult_shift_by_hand)
{
    uint32_t mult, shift;

    /* 32768 Hz, 600 s: 600 * 32768 < 2^32, so mult may use 32 bits;
     * 10^9 * 2^s / 2^15 < 2^32 holds up to s = 17: mult = 10^9 * 4. */
    ASSERT_OK(pvt_calc_mult_shift(&mult, &shift, 32768, 1000000000, 600));
    ASSERT_UEQ(mult, 4000000000u);
    ASSERT_UEQ(shift, 17);
    /* 1 GHz to ns, 600 s: 6 * 10^11 has 40 bits, so mult gets 24 bits;
     * from == to makes mult = 2^s, and 2^23 is the largest that fits. */
    ASSERT_OK(pvt_calc_mult_shift(&mult, &shift, 1000000000, 1000000000, 600));
    ASSERT_UEQ(mult, 1u << 23);
    ASSERT_UEQ(shift, 23);
    /* 1 MHz to ns, 1 s: 10^6 < 2^32; 1000 * 2^s < 2^32 up to s = 22. */
    ASSERT_OK(pvt_calc_mult_shift(&mult, &shift, 1000000, 1000000000, 1));
    ASSERT_UEQ(mult, 1000u << 22);
    ASSERT_UEQ(shift, 22);
    RETURN_OK();
}

TEST_IMPL(cs_calc_mult_shift_errors)
{
    uint32_t mult, shift;

    ASSERT_ERR(pvt_calc_mult_shift(NULL, &shift, 1, 1, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_calc_mult_shift(&mult, NULL, 1, 1, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_calc_mult_shift(&mult, &shift, 0, 1, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_calc_mult_shift(&mult, &shift, 1, 0, 1), PVT_EINVAL);
    ASSERT_ERR(pvt_calc_mult_shift(&mult, &shift, 1, 1, 0), PVT_EINVAL);
    /* 1 Hz to 4 GHz over 2^32 s: the count needs 32 bits, mult would need
     * 32 more at shift 1 (2 * 4e9 >= 2^32): nothing fits. */
    ASSERT_ERR(pvt_calc_mult_shift(&mult, &shift, 1, 4000000000u, UINT32_MAX),
               PVT_ERANGE);
    RETURN_OK();
}

/* ---- a clocksource on a plain counter ----------------------------------- */

struct counter {
    uint64_t value;
};

static uint64_t counter_read(struct pvt_clocksource *cs)
{
    return ((struct counter *)cs->priv)->value;
}

static struct pvt_clocksource make_cs(struct counter *c, uint64_t mask)
{
    struct pvt_clocksource cs = {
        .name = "counter",
        .read = counter_read,
        .priv = c,
        .mask = mask,
        .rating = 100,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    return cs;
}

TEST_IMPL(cs_init_validation)
{
    struct counter c = {0};
    struct pvt_clocksource cs;

    ASSERT_ERR(pvt_clocksource_init(NULL), PVT_EINVAL);
    cs = make_cs(&c, UINT64_MAX);
    cs.mult = 0;
    ASSERT_ERR(pvt_clocksource_init(&cs), PVT_EINVAL);
    cs.mult = 1;
    cs.shift = PVT_CS_MAX_SHIFT + 1;
    ASSERT_ERR(pvt_clocksource_init(&cs), PVT_EINVAL);
    cs.shift = 0;
    cs.mask = 0;
    ASSERT_ERR(pvt_clocksource_init(&cs), PVT_EINVAL);
    cs.mask = 0x1234; /* not 2^n - 1 */
    ASSERT_ERR(pvt_clocksource_init(&cs), PVT_EINVAL);
    cs.mask = 0xffff;
    cs.read = NULL;
    ASSERT_ERR(pvt_clocksource_init(&cs), PVT_EINVAL);
    cs.read = counter_read;
    cs.name = NULL;
    ASSERT_ERR(pvt_clocksource_init(&cs), PVT_EINVAL);
    cs.name = "ok";
    ASSERT_OK(pvt_clocksource_init(&cs));

    cs = make_cs(&c, UINT64_MAX);
    ASSERT_ERR(pvt_clocksource_init_hz(NULL, 1000, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_clocksource_init_hz(&cs, 0, 0), PVT_EINVAL);
    /* beyond 32 bits of Hz the frequency is taken in kHz, until even that
     * does not fit */
    ASSERT_ERR(pvt_clocksource_init_hz(&cs, UINT64_MAX, 0), PVT_EINVAL);
    ASSERT_OK(pvt_clocksource_init_hz(&cs, 5000000000ull, 0));
    /* one second of a 5 GHz TSC is 10^9 ns, to the 2^-shift precision of
     * mult (mult is about 0.2 * 2^shift, so 1 / mult relative) */
    ASSERT_NEAR(pvt_clocksource_cyc2ns(&cs, 5000000000ull), PVT_NSEC_PER_SEC,
                PVT_NSEC_PER_SEC / cs.mult + 1);
    /* and 600 s of it still multiply without overflow */
    ASSERT_UEQ((unsigned __int128)600 * 5000000000ull * cs.mult >> 64, 0);
    cs.mask = 6;
    ASSERT_ERR(pvt_clocksource_init_hz(&cs, 1000, 0), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(cs_max_interval)
{
    struct counter c = {0};
    struct pvt_clocksource cs = make_cs(&c, UINT64_MAX);
    uint32_t mult, shift;

    ASSERT_OK(pvt_clocksource_init_hz(&cs, 2596128000u, 0));
    /* Linux's choice for a 64-bit counter: exact over 600 s */
    ASSERT_OK(pvt_calc_mult_shift(&mult, &shift, 2596128000u, 1000000000, 600));
    ASSERT_UEQ(cs.mult, mult);
    ASSERT_UEQ(cs.shift, shift);
    /* max_cycles is the largest count whose product fits in 64 bits */
    ASSERT_UEQ(cs.max_cycles, UINT64_MAX / cs.mult);
    ASSERT_UEQ((unsigned __int128)cs.max_cycles * cs.mult >> 64, 0);
    ASSERT_UNE((unsigned __int128)(cs.max_cycles + 1) * cs.mult >> 64, 0);
    ASSERT_UEQ(cs.max_ns, (cs.max_cycles * cs.mult) >> cs.shift);
    /* at least the promised 600 s */
    ASSERT_UGE(cs.max_ns, 600 * (uint64_t)PVT_NSEC_PER_SEC);
    /* beyond max_cycles cyc2ns still converts, in 96 bits */
    ASSERT_UEQ(
        pvt_clocksource_cyc2ns(&cs, cs.max_cycles * 4),
        (uint64_t)((unsigned __int128)cs.max_cycles * 4 * cs.mult >> cs.shift));

    /* a 24-bit counter: max_cycles is its mask */
    cs = make_cs(&c, 0xffffff);
    ASSERT_OK(pvt_clocksource_init_hz(&cs, 3579545, 0));
    ASSERT_UEQ(cs.max_cycles, 0xffffff);
    RETURN_OK();
}

TEST_IMPL(cs_wrap_safe_delta)
{
    struct counter c = {0};
    struct pvt_clocksource cs = make_cs(&c, UINT64_MAX);

    /* 64-bit counter wrapping past UINT64_MAX: 5 - (2^64 - 5) = 10 */
    ASSERT_OK(pvt_clocksource_init_hz(&cs, 1000000000, 0));
    ASSERT_UEQ(pvt_clocksource_delta(&cs, 5, UINT64_MAX - 4), 10);
    ASSERT_UEQ(pvt_clocksource_delta(&cs, UINT64_MAX, UINT64_MAX - 1), 1);
    /* 1 GHz exact: mult = 2^shift, 10 cycles = 10 ns */
    ASSERT_UEQ(pvt_clocksource_cyc2ns(
                   &cs, pvt_clocksource_delta(&cs, 5, UINT64_MAX - 4)),
               10);

    /* 32-bit counter: 3 - 0xfffffffe = 5 modulo 2^32 */
    cs = make_cs(&c, UINT32_MAX);
    ASSERT_OK(pvt_clocksource_init_hz(&cs, 1000000, 0));
    ASSERT_UEQ(pvt_clocksource_delta(&cs, 3, 0xfffffffe), 5);
    /* bits above the mask are ignored */
    ASSERT_UEQ(pvt_clocksource_delta(&cs, (7ull << 32) | 3, 0xfffffffe), 5);
    /* 1 MHz: 5 cycles = 5000 ns */
    ASSERT_UEQ(pvt_clocksource_cyc2ns(&cs, 5), 5000);
    RETURN_OK();
}

TEST_IMPL(cs_ns2cyc_rounds_up)
{
    struct counter c = {0};
    struct rng r;
    size_t i;
    int k;

    rng_seed(&r, 42);
    for (i = 0; i < PVT_ARRAY_SIZE(freqs); i++) {
        struct pvt_clocksource cs = make_cs(&c, UINT64_MAX);
        ASSERT_OK(pvt_clocksource_init_hz(&cs, freqs[i], 0));
        for (k = 0; k < 5000; k++) {
            uint64_t ns = rng_next(&r) % (1000ull * PVT_NSEC_PER_SEC), cyc;
            ASSERT_OK(pvt_clocksource_ns2cyc(&cs, ns, &cyc));
            /* enough cycles to reach ns, and one fewer is not */
            ASSERT_UGE(pvt_clocksource_cyc2ns(&cs, cyc), ns);
            if (cyc > 0)
                ASSERT_ULT(pvt_clocksource_cyc2ns(&cs, cyc - 1), ns);
        }
    }
    {
        struct pvt_clocksource cs = make_cs(&c, UINT64_MAX);
        uint64_t cyc;
        /* 3.9 GHz: 2^64 - 1 ns is 3.9 * 2^64 cycles, which saturates */
        ASSERT_OK(pvt_clocksource_init_hz(&cs, 3900000000u, 0));
        ASSERT_OK(pvt_clocksource_ns2cyc(&cs, UINT64_MAX, &cyc));
        ASSERT_UEQ(cyc, UINT64_MAX);
        /* 32768 Hz: the same span is few cycles, converted exactly */
        ASSERT_OK(pvt_clocksource_init_hz(&cs, 32768, 0));
        ASSERT_OK(pvt_clocksource_ns2cyc(&cs, UINT64_MAX, &cyc));
        ASSERT_ULT(cyc, UINT64_MAX);
        ASSERT_UEQ(pvt_clocksource_cyc2ns(&cs, cyc), UINT64_MAX);
        ASSERT_ULT(pvt_clocksource_cyc2ns(&cs, cyc - 1), UINT64_MAX);
        ASSERT_ERR(pvt_clocksource_ns2cyc(NULL, 1, &cyc), PVT_EINVAL);
        ASSERT_ERR(pvt_clocksource_ns2cyc(&cs, 1, NULL), PVT_EINVAL);
    }
    RETURN_OK();
}

/* ---- registry ------------------------------------------------------------ */

struct switch_log {
    int calls;
    struct pvt_clocksource *old, *new_cs;
};

static void log_switch(void *ctx, struct pvt_clocksource *old,
                       struct pvt_clocksource *new_cs)
{
    struct switch_log *l = ctx;
    l->calls++;
    l->old = old;
    l->new_cs = new_cs;
}

static void make_rated(struct pvt_clocksource *cs, struct counter *c,
                       const char *name, int rating, uint32_t flags)
{
    *cs = make_cs(c, UINT64_MAX);
    cs->name = name;
    cs->rating = rating;
    cs->flags = flags;
    ASSERT_OK(pvt_clocksource_init_hz(cs, 1000000, 0));
}

TEST_IMPL(cs_registry_selects_best)
{
    struct counter c = {0};
    struct pvt_clocksource jiff, tsc, pvc, tsc2;
    struct pvt_cs_registry reg;
    struct switch_log log = {0};
    const uint32_t hres = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES;

    make_rated(&jiff, &c, "jiffies", 1, 0);
    make_rated(&tsc, &c, "tsc", 300, hres);
    make_rated(&tsc2, &c, "tsc-twin", 300, hres);
    make_rated(&pvc, &c, "kvm-clock", 400, hres);
    ASSERT_OK(pvt_cs_registry_init(&reg, log_switch, &log));
    ASSERT_NULL(reg.current);

    ASSERT_OK(pvt_cs_registry_add(&reg, &jiff));
    ASSERT_PTR_EQ(reg.current, &jiff);
    ASSERT_EQ(log.calls, 1);
    ASSERT_NULL(log.old);
    ASSERT_OK(pvt_cs_registry_add(&reg, &tsc));
    ASSERT_PTR_EQ(reg.current, &tsc);
    ASSERT_PTR_EQ(log.old, &jiff);
    ASSERT_PTR_EQ(log.new_cs, &tsc);
    /* equal rating: the first registered stays */
    ASSERT_OK(pvt_cs_registry_add(&reg, &tsc2));
    ASSERT_PTR_EQ(reg.current, &tsc);
    ASSERT_EQ(log.calls, 2);
    ASSERT_OK(pvt_cs_registry_add(&reg, &pvc));
    ASSERT_PTR_EQ(reg.current, &pvc);
    ASSERT_EQ(log.calls, 3);

    /* a user choice overrides the rating, and can be dropped again */
    ASSERT_OK(pvt_cs_registry_select(&reg, "jiffies"));
    ASSERT_PTR_EQ(reg.current, &jiff);
    ASSERT_ERR(pvt_cs_registry_select(&reg, "hpet"), PVT_ENOENT);
    ASSERT_PTR_EQ(reg.current, &jiff);
    /* oneshot mode only allows high-res clocksources: the choice waits */
    ASSERT_OK(pvt_cs_registry_require_hres(&reg, true));
    ASSERT_PTR_EQ(reg.current, &pvc);
    ASSERT_OK(pvt_cs_registry_select(&reg, NULL));
    ASSERT_PTR_EQ(reg.current, &pvc);

    /* removing the current one switches to the next best */
    ASSERT_OK(pvt_cs_registry_remove(&reg, &pvc));
    ASSERT_PTR_EQ(reg.current, &tsc);
    ASSERT_PTR_EQ(log.old, &pvc);
    ASSERT_PTR_EQ(log.new_cs, &tsc);
    ASSERT_ERR(pvt_cs_registry_remove(&reg, &pvc), PVT_ENOENT);
    ASSERT_OK(pvt_cs_registry_remove(&reg, &tsc));
    ASSERT_PTR_EQ(reg.current, &tsc2);
    /* in oneshot mode jiffies cannot take over: the last high-res one is
     * busy */
    ASSERT_ERR(pvt_cs_registry_remove(&reg, &tsc2), PVT_EBUSY);
    ASSERT_PTR_EQ(reg.current, &tsc2);
    ASSERT_OK(pvt_cs_registry_require_hres(&reg, false));
    ASSERT_OK(pvt_cs_registry_remove(&reg, &tsc2));
    ASSERT_PTR_EQ(reg.current, &jiff);
    ASSERT_ERR(pvt_cs_registry_remove(&reg, &jiff), PVT_EBUSY);
    ASSERT_PTR_EQ(pvt_cs_registry_find(&reg, "jiffies"), &jiff);
    ASSERT_NULL(pvt_cs_registry_find(&reg, "tsc"));
    RETURN_OK();
}

TEST_IMPL(cs_registry_errors)
{
    struct counter c = {0};
    struct pvt_clocksource a, b, raw;
    struct pvt_cs_registry reg;

    ASSERT_ERR(pvt_cs_registry_init(NULL, NULL, NULL), PVT_EINVAL);
    ASSERT_OK(pvt_cs_registry_init(&reg, NULL, NULL));
    make_rated(&a, &c, "same", 10, 0);
    make_rated(&b, &c, "same", 20, 0);
    ASSERT_ERR(pvt_cs_registry_add(NULL, &a), PVT_EINVAL);
    ASSERT_ERR(pvt_cs_registry_add(&reg, NULL), PVT_EINVAL);
    raw = make_cs(&c, UINT64_MAX); /* never initialised */
    raw.mult = 1;
    ASSERT_ERR(pvt_cs_registry_add(&reg, &raw), PVT_EINVAL);
    ASSERT_OK(pvt_cs_registry_add(&reg, &a));
    ASSERT_ERR(pvt_cs_registry_add(&reg, &a), PVT_EEXIST);
    ASSERT_ERR(pvt_cs_registry_add(&reg, &b), PVT_EEXIST);
    ASSERT_ERR(pvt_cs_registry_remove(NULL, &a), PVT_EINVAL);
    ASSERT_ERR(pvt_cs_registry_remove(&reg, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_cs_registry_remove(&reg, &b), PVT_ENOENT);
    ASSERT_ERR(pvt_cs_registry_select(NULL, "same"), PVT_EINVAL);
    ASSERT_ERR(pvt_cs_registry_require_hres(NULL, true), PVT_EINVAL);
    ASSERT_NULL(pvt_cs_registry_find(NULL, "same"));
    ASSERT_NULL(pvt_cs_registry_find(&reg, NULL));
    RETURN_OK();
}

/* ---- jiffies ------------------------------------------------------------- */

TEST_IMPL(cs_jiffies)
{
    struct pvt_jiffies j;
    uint64_t cyc0;

    ASSERT_ERR(pvt_jiffies_init(NULL, 250), PVT_EINVAL);
    ASSERT_ERR(pvt_jiffies_init(&j, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_jiffies_init(&j, PVT_HZ_MAX + 1), PVT_EINVAL);

    ASSERT_OK(pvt_jiffies_init(&j, 250));
    ASSERT_STR_EQ(j.cs.name, "jiffies");
    ASSERT_EQ(j.cs.rating, 1);
    ASSERT_UEQ(j.cs.flags & (PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES), 0);
    ASSERT_UEQ(j.cs.mask, UINT32_MAX);
    /* 4 ms per tick, shifted by 8 as Linux does */
    ASSERT_UEQ(j.cs.mult, 4000000u << 8);
    ASSERT_UEQ(j.cs.shift, 8);

    /* it only moves when ticks are handled, in whole ticks */
    cyc0 = j.cs.read(&j.cs);
    ASSERT_UEQ(cyc0, 0);
    j.jiffies += 3;
    ASSERT_UEQ(pvt_clocksource_cyc2ns(
                   &j.cs, pvt_clocksource_delta(&j.cs, j.cs.read(&j.cs), cyc0)),
               12000000);

    /* 1 Hz: 10^9 << 8 does not fit 32 bits; the shift shrinks to 2 */
    ASSERT_OK(pvt_jiffies_init(&j, 1));
    ASSERT_UEQ(j.cs.shift, 2);
    ASSERT_UEQ(j.cs.mult, 4000000000u);
    /* 300 Hz: a tick is round(10^9 / 300) = 3333333 ns */
    ASSERT_OK(pvt_jiffies_init(&j, 300));
    ASSERT_UEQ(pvt_clocksource_cyc2ns(&j.cs, 1), 3333333);
    RETURN_OK();
}
