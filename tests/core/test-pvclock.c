/*
 * pvclock: ABI layout, scale maths, the seqlock reader and writer, the
 * last-value guard, frequency <-> (mul, shift), the drift epoch and the
 * clocksource.
 *
 * Freestanding (these tests also run inside the guest). Expected values are
 * derived by hand in the comments, or from an independent 128-bit
 * reference (GCC's unsigned __int128 multiply is inline on x86-64; no
 * 128-bit division is used, which would need libgcc).
 */
#include "pvtimer/pvclock.h"
#include "runner/test.h"

typedef unsigned __int128 u128;

#define MUL_HALF 0x80000000u /* mul / 2^32 = 1/2 */

/* ---- fakes ---- */

/* A TSC that reads `value`, counting calls. */
struct fake_tsc {
    uint64_t value;
    uint32_t calls;
};

static uint64_t fake_tsc_read(void *ctx)
{
    struct fake_tsc *t = ctx;
    t->calls++;
    return t->value;
}

/*
 * A TSC whose read races a hypervisor update: the first `bumps` calls
 * publish `next` on `page` (so the reader's version check fails), later
 * calls just read.
 */
struct racing_tsc {
    struct fake_tsc tsc;
    struct pvt_pvclock_vcpu_time_info *page;
    struct pvt_pvclock_params next;
    uint32_t bumps;
};

static uint64_t racing_tsc_read(void *ctx)
{
    struct racing_tsc *r = ctx;
    if (r->tsc.calls < r->bumps)
        (void)pvt_pvclock_write(r->page, &r->next);
    return fake_tsc_read(&r->tsc);
}

static void page_zero(struct pvt_pvclock_vcpu_time_info *p)
{
    unsigned char *b = (unsigned char *)p;
    size_t i;
    for (i = 0; i < sizeof(*p); i++)
        b[i] = 0;
}

static struct pvt_pvclock_params params(uint64_t tsc_timestamp,
                                        uint64_t system_time, uint32_t mul,
                                        int8_t shift, uint8_t flags)
{
    struct pvt_pvclock_params p;
    p.tsc_timestamp = tsc_timestamp;
    p.system_time = system_time;
    p.mul = mul;
    p.shift = shift;
    p.flags = flags;
    return p;
}

/* The ABI formula, computed independently in 128 bits. */
static uint64_t ref_scale(uint64_t d, uint32_t mul, int shift)
{
    u128 x;
    if (shift < 0)
        return (uint64_t)(((u128)(d >> -shift) * mul) >> 32);
    x = ((u128)d << shift) * mul; /* < 2^(64 + 32 + 32) for shift <= 32 */
    x >>= 32;
    return x > UINT64_MAX ? UINT64_MAX : (uint64_t)x;
}

/* ---- ABI ---- */

TEST_IMPL(pvclock_abi_layout)
{
    struct pvt_pvclock_vcpu_time_info p;
    const unsigned char *base = (const unsigned char *)&p;

    ASSERT_UEQ(sizeof(p), 32);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, version), 0);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, pad0), 4);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, tsc_timestamp), 8);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, system_time), 16);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, tsc_to_system_mul),
               24);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, tsc_shift), 28);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, flags), 29);
    ASSERT_UEQ(offsetof(struct pvt_pvclock_vcpu_time_info, pad), 30);
    ASSERT_UEQ(sizeof(p.pad), 2);
    ASSERT_UEQ(sizeof(p.tsc_shift), 1);
    ASSERT_UEQ(PVT_PVCLOCK_TSC_STABLE, 1);
    ASSERT_UEQ(PVT_PVCLOCK_GUEST_STOPPED, 2);

    /* Little endian, as the hypervisor writes it: bytes of the written page. */
    page_zero(&p);
    {
        struct pvt_pvclock_params w =
            params(0x0807060504030201ull, 0x1817161514131211ull, 0x24232221u,
                   -5, PVT_PVCLOCK_TSC_STABLE);
        ASSERT_OK(pvt_pvclock_write(&p, &w));
    }
    ASSERT_UEQ(base[0], 2); /* version 0 -> 1 -> 2 */
    ASSERT_UEQ(base[1] | base[2] | base[3], 0);
    ASSERT_UEQ(base[8], 0x01);
    ASSERT_UEQ(base[15], 0x08);
    ASSERT_UEQ(base[16], 0x11);
    ASSERT_UEQ(base[23], 0x18);
    ASSERT_UEQ(base[24], 0x21);
    ASSERT_UEQ(base[27], 0x24);
    ASSERT_UEQ(base[28], 0xfb); /* -5 */
    ASSERT_UEQ(base[29], 0x01);
    RETURN_OK();
}

/* ---- scale maths ---- */

TEST_IMPL(pvclock_scale_delta_shifts)
{
    /* mul = 2^31 is 0.5 ns per (shifted) cycle. */
    ASSERT_UEQ(pvt_pvclock_scale_delta(1000, MUL_HALF, 0), 500);
    ASSERT_UEQ(pvt_pvclock_scale_delta(3, MUL_HALF, 0), 1); /* 1.5 -> 1 */
    ASSERT_UEQ(pvt_pvclock_scale_delta(1, MUL_HALF, 0), 0);
    ASSERT_UEQ(pvt_pvclock_scale_delta(0, MUL_HALF, 0), 0);
    /* shift +1: (d << 1) / 2 = d, a 1 GHz TSC */
    ASSERT_UEQ(pvt_pvclock_scale_delta(1000, MUL_HALF, 1), 1000);
    ASSERT_UEQ(pvt_pvclock_scale_delta(12345, MUL_HALF, 1), 12345);
    /* shift -1: (1001 >> 1) / 2 = 500 / 2 = 250, a 4 GHz TSC */
    ASSERT_UEQ(pvt_pvclock_scale_delta(1001, MUL_HALF, -1), 250);
    /*
     * The ABI drops the low bits before multiplying: (3 >> 1) * (2^32 - 1)
     * >> 32 = 0, where the exact 3 * (2^32 - 1) / 2^33 would be 1.49 -> 1.
     * Every reader of the page must agree, so 0 is right.
     */
    ASSERT_UEQ(pvt_pvclock_scale_delta(3, 0xffffffffu, -1), 0);
    /* mul 0 scales everything to 0 */
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0, 5), 0);
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0, -5), 0);
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0, 40), 0);
    RETURN_OK();
}

TEST_IMPL(pvclock_scale_delta_wide)
{
    uint64_t d = 0x123456789abcdef0ull;
    uint32_t mul = 0xdeadbeefu;
    u128 full;

    /*
     * delta near UINT64_MAX, shift -1, mul 2^32 - 1:
     * (2^63 - 1) (2^32 - 1) = 2^95 - 2^63 - 2^32 + 1
     *                       = 2^32 (2^63 - 2^31 - 1) + 1, so >> 32 gives
     * 2^63 - 2^31 - 1.
     */
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0xffffffffu, -1),
               0x7fffffff7fffffffull);
    /* shift -32: (2^64 - 1) >> 32 = 2^32 - 1, times 1/2 = 2^31 - 1 (floor) */
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, MUL_HALF, -32),
               0x7fffffffull);
    /* shift -63: one bit survives; (1 * (2^32 - 1)) >> 32 = 0 */
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0xffffffffu, -63), 0);
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, MUL_HALF, -62), 1);

    /* The 64x32 product exceeds 64 bits: check against 128-bit maths. */
    full = (u128)d * mul;
    ASSERT_UGT((uint64_t)(full >> 64), 0); /* it really is wider */
    ASSERT_UEQ(pvt_pvclock_scale_delta(d, mul, 0), (uint64_t)(full >> 32));
    ASSERT_UEQ(pvt_pvclock_scale_delta(d, mul, 3), (uint64_t)(full >> 29));
    ASSERT_UEQ(pvt_pvclock_scale_delta(d, mul, -7),
               (uint64_t)(((u128)(d >> 7) * mul) >> 32));

    /*
     * d << shift overflowing 64 bits: the exact value is used.
     * 2^40 << 30 = 2^70; times 1 >> 32 = 2^38.
     */
    ASSERT_UEQ(pvt_pvclock_scale_delta(1ull << 40, 1, 30), 1ull << 38);
    /* 2^63 << 1 is 2^64; times 1/2 = 2^63 */
    ASSERT_UEQ(pvt_pvclock_scale_delta(1ull << 63, MUL_HALF, 1), 1ull << 63);
    /* shift above 32: (3 * 5) << (40 - 32) = 3840 */
    ASSERT_UEQ(pvt_pvclock_scale_delta(3, 5, 40), 3840);
    /* shift 63: 1 * 1 << 31 */
    ASSERT_UEQ(pvt_pvclock_scale_delta(1, 1, 63), 1ull << 31);
    /* results that do not fit saturate */
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0xffffffffu, 31),
               UINT64_MAX);
    ASSERT_UEQ(pvt_pvclock_scale_delta(1ull << 40, 1ull << 31, 56), UINT64_MAX);
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0xffffffffu, 33),
               UINT64_MAX);
    /* shift 32 with d * mul = 2^64 - 2^33 + 1 ... exactly fits */
    ASSERT_UEQ(pvt_pvclock_scale_delta(0xffffffffull, 0xffffffffu, 32),
               0xfffffffe00000001ull);

    /* outside [-63, 63]: 0 below, saturating above (unless nothing to
     * scale) */
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0xffffffffu, -64), 0);
    ASSERT_UEQ(pvt_pvclock_scale_delta(UINT64_MAX, 0xffffffffu, -128), 0);
    ASSERT_UEQ(pvt_pvclock_scale_delta(1, 1, 64), UINT64_MAX);
    ASSERT_UEQ(pvt_pvclock_scale_delta(1, 1, 127), UINT64_MAX);
    ASSERT_UEQ(pvt_pvclock_scale_delta(0, 1, 127), 0);
    RETURN_OK();
}

/* Many (delta, mul, shift) triples against the 128-bit reference. */
TEST_IMPL(pvclock_scale_delta_sweep)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint32_t i;

    for (i = 0; i < 20000; i++) {
        uint64_t d;
        uint32_t mul;
        int shift;
        /* xorshift64 */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        d = x >> (x & 63); /* every magnitude */
        mul = (uint32_t)(x >> 20) | (uint32_t)(i & 1);
        shift = (int)((x >> 8) % 97) - 64; /* [-64, 32] */
        ASSERT_UEQ(pvt_pvclock_scale_delta(d, mul, (int8_t)shift),
                   shift < -63 ? 0 : ref_scale(d, mul, shift));
    }
    RETURN_OK();
}

/* ---- writer ---- */

TEST_IMPL(pvclock_write_versions)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_params w = params(10, 20, 30, -2, 0);

    page_zero(&p);
    p.pad0 = 0xdeadbeef;
    p.pad[0] = 0xaa;
    p.pad[1] = 0x55;
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_UEQ(p.version, 2);
    ASSERT_UEQ(p.tsc_timestamp, 10);
    ASSERT_UEQ(p.system_time, 20);
    ASSERT_UEQ(p.tsc_to_system_mul, 30);
    ASSERT_EQ(p.tsc_shift, -2);
    ASSERT_UEQ(p.flags, 0);
    ASSERT_UEQ(p.pad0, 0);
    ASSERT_UEQ(p.pad[0], 0);
    ASSERT_UEQ(p.pad[1], 0);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_UEQ(p.version, 4);

    /* a writer died mid-update (odd 7): (7 + 1) | 1 = 9, then 10 */
    p.version = 7;
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_UEQ(p.version, 10);
    /* wrap: (0xffffffff + 1) | 1 = 1, then 2; 0xfffffffe -> ...ff -> 0 */
    p.version = 0xffffffffu;
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_UEQ(p.version, 2);
    p.version = 0xfffffffeu;
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_UEQ(p.version, 0);

    w.flags = PVT_PVCLOCK_TSC_STABLE | PVT_PVCLOCK_GUEST_STOPPED;
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_UEQ(p.flags, 3);
    RETURN_OK();
}

TEST_IMPL(pvclock_write_errors)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_params w = params(1, 2, 3, 0, 0);

    page_zero(&p);
    ASSERT_ERR(pvt_pvclock_write(NULL, &w), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_write(&p, NULL), PVT_EINVAL);
    w.mul = 0;
    ASSERT_ERR(pvt_pvclock_write(&p, &w), PVT_EINVAL);
    w.mul = 3;
    w.flags = 1u << 2; /* unused bit */
    ASSERT_ERR(pvt_pvclock_write(&p, &w), PVT_EINVAL);
    w.flags = 0x80;
    ASSERT_ERR(pvt_pvclock_write(&p, &w), PVT_EINVAL);
    /* a refused update leaves the page (and its version) alone */
    ASSERT_UEQ(p.version, 0);
    ASSERT_UEQ(p.tsc_to_system_mul, 0);
    RETURN_OK();
}

/* ---- reader ---- */

TEST_IMPL(pvclock_read_values)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_snapshot s;
    struct fake_tsc tsc = {0, 0};
    struct pvt_pvclock_params w;
    uint64_t ns;
    uint8_t flags = 0xff;

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    ASSERT_UEQ(g.max_retries, PVT_PVCLOCK_DEFAULT_RETRIES);
    ASSERT_UEQ(g.last_value, 0);
    ASSERT_UEQ(g.valid_flags, 0);

    /* 1 GHz (mul 1/2, shift +1): 12345 cycles past the stamp = 12345 ns */
    w = params(1000, 5000000000ull, MUL_HALF, 1, 0);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    tsc.value = 1000 + 12345;
    ASSERT_OK(pvt_pvclock_snapshot(&g, &p, fake_tsc_read, &tsc, &s));
    ASSERT_UEQ(tsc.calls, 1);
    ASSERT_UEQ(s.version, 2);
    ASSERT_UEQ(s.tsc_timestamp, 1000);
    ASSERT_UEQ(s.system_time, 5000000000ull);
    ASSERT_UEQ(s.mul, MUL_HALF);
    ASSERT_EQ(s.shift, 1);
    ASSERT_UEQ(s.flags, 0);
    ASSERT_UEQ(s.tsc, 1000 + 12345);
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), 5000012345ull);
    ASSERT_OK(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, &flags));
    ASSERT_UEQ(ns, 5000012345ull);
    ASSERT_UEQ(flags, 0);

    /* 2 GHz (mul 1/2, shift 0): 2000 cycles = 1000 ns; flags may be NULL */
    w = params(1ull << 40, 7, MUL_HALF, 0, 0);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    tsc.value = (1ull << 40) + 2000;
    ASSERT_OK(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, NULL));
    /* the guard holds the earlier, larger value: no TSC_STABLE */
    ASSERT_UEQ(ns, 5000012345ull);
    ASSERT_OK(pvt_pvclock_guest_resume(&g));
    ASSERT_OK(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, NULL));
    ASSERT_UEQ(ns, 7 + 1000);

    /* a hand-made 2.5 GHz page: mul = floor(0.4 * 2^32) = 1717986918,
     * shift 0; 2500 cycles -> floor(2500 * 0.39999999986) = 999 */
    w = params(0, 0, 1717986918u, 0, 0);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_guest_resume(&g));
    tsc.value = 2500;
    ASSERT_OK(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, NULL));
    ASSERT_UEQ(ns, 999);

    /* g may be NULL for a snapshot (default retries) */
    ASSERT_OK(pvt_pvclock_snapshot(NULL, &p, fake_tsc_read, &tsc, &s));
    ASSERT_UEQ(s.version, 6);
    RETURN_OK();
}

/* read_tsc: the page at a TSC value read before, with read's conversion,
 * guard, flags and errors */
TEST_IMPL(pvclock_read_tsc)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_params w;
    uint64_t ns = 42;
    uint8_t flags = 0xff;

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    /* 1 GHz (mul 1/2, shift +1): 12345 cycles past the stamp = 12345 ns */
    w = params(1000, 5000000000ull, MUL_HALF, 1, PVT_PVCLOCK_GUEST_STOPPED);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_read_tsc(&g, &p, 1000 + 12345, &ns, &flags));
    ASSERT_UEQ(ns, 5000012345ull);
    ASSERT_UEQ(flags, PVT_PVCLOCK_GUEST_STOPPED);
    /* 500 cycles before the stamp: the line backwards, but the guard (no
     * TSC_STABLE) holds the larger value read before; flags may be NULL */
    ASSERT_OK(pvt_pvclock_read_tsc(&g, &p, 500, &ns, NULL));
    ASSERT_UEQ(ns, 5000012345ull);
    ASSERT_OK(pvt_pvclock_guest_resume(&g));
    ASSERT_OK(pvt_pvclock_read_tsc(&g, &p, 500, &ns, NULL));
    ASSERT_UEQ(ns, 5000000000ull - 500);
    /* a writer stuck mid-update: -EAGAIN, *ns untouched */
    g.max_retries = 3;
    p.version = 5;
    ns = 42;
    ASSERT_ERR(pvt_pvclock_read_tsc(&g, &p, 2000, &ns, NULL), PVT_EAGAIN);
    ASSERT_UEQ(ns, 42);
    ASSERT_ERR(pvt_pvclock_read_tsc(NULL, &p, 0, &ns, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read_tsc(&g, NULL, 0, &ns, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read_tsc(&g, &p, 0, NULL, NULL), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(pvclock_read_saturates)
{
    struct pvt_pvclock_snapshot s;

    /* tsc behind the stamp: the line extrapolated backwards */
    s.version = 2;
    s.tsc_timestamp = 10000;
    s.system_time = 1000000;
    s.mul = MUL_HALF;
    s.shift = 1; /* 1 ns per cycle */
    s.flags = 0;
    s.tsc = 9000;
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), 1000000 - 1000);
    s.tsc = 10000;
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), 1000000);
    /* ... with a floor at 0 */
    s.tsc = 0;
    s.tsc_timestamp = UINT64_MAX;
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), 0);
    s.tsc = 0;
    s.tsc_timestamp = 1000000;
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), 0); /* 1000000 - 1000000 */
    /* system_time + delta saturates */
    s.tsc_timestamp = 0;
    s.tsc = 1000;
    s.system_time = UINT64_MAX - 10;
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), UINT64_MAX);
    s.tsc = 10;
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), UINT64_MAX);
    s.tsc = 9;
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), UINT64_MAX - 1);
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(NULL), 0);
    RETURN_OK();
}

TEST_IMPL(pvclock_read_odd_version)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_snapshot s;
    struct fake_tsc tsc = {100, 0};
    struct pvt_pvclock_params w = params(0, 0, MUL_HALF, 0, 0);
    uint64_t ns = 42;

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    g.max_retries = 5;
    p.version = 3; /* a writer stuck mid-update */
    ASSERT_ERR(pvt_pvclock_snapshot(&g, &p, fake_tsc_read, &tsc, &s),
               PVT_EAGAIN);
    ASSERT_ERR(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, NULL),
               PVT_EAGAIN);
    ASSERT_UEQ(ns, 42);       /* untouched on failure */
    ASSERT_UEQ(tsc.calls, 0); /* an odd version is never read */
    /* max_retries 0 still reads once */
    g.max_retries = 0;
    ASSERT_ERR(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, NULL),
               PVT_EAGAIN);
    p.version = 4;
    ASSERT_OK(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, NULL));
    ASSERT_UEQ(ns, 50);
    ASSERT_UEQ(tsc.calls, 1);
    RETURN_OK();
}

TEST_IMPL(pvclock_read_version_changes)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_snapshot s;
    struct racing_tsc r;
    struct pvt_pvclock_params w = params(0, 1000, MUL_HALF, 1, 0);

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    g.max_retries = 4;

    /* the page changes under the first read: retried, new data returned */
    r.tsc.value = 500;
    r.tsc.calls = 0;
    r.page = &p;
    r.next = params(100, 2000000, MUL_HALF, 0, PVT_PVCLOCK_TSC_STABLE);
    r.bumps = 1;
    ASSERT_OK(pvt_pvclock_snapshot(&g, &p, racing_tsc_read, &r, &s));
    ASSERT_UEQ(r.tsc.calls, 2);
    ASSERT_UEQ(s.version, 4);
    ASSERT_UEQ(s.tsc_timestamp, 100);
    ASSERT_UEQ(s.system_time, 2000000);
    ASSERT_EQ(s.shift, 0);
    ASSERT_UEQ(s.flags, PVT_PVCLOCK_TSC_STABLE);
    ASSERT_UEQ(pvt_pvclock_snapshot_ns(&s), 2000000 + 200); /* 400 / 2 */

    /* changing on every attempt: exactly max_retries attempts, then EAGAIN */
    r.tsc.calls = 0;
    r.bumps = UINT32_MAX;
    ASSERT_ERR(pvt_pvclock_snapshot(&g, &p, racing_tsc_read, &r, &s),
               PVT_EAGAIN);
    ASSERT_UEQ(r.tsc.calls, 4);
    ASSERT_UEQ(p.version, 12);
    RETURN_OK();
}

TEST_IMPL(pvclock_read_errors)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_snapshot s;
    struct fake_tsc tsc = {0, 0};
    uint64_t ns;

    page_zero(&p);
    ASSERT_ERR(pvt_pvclock_guest_init(NULL, 0), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_guest_init(&g, 1u << 2), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_guest_init(&g, 0x80), PVT_EINVAL);
    ASSERT_OK(pvt_pvclock_guest_init(&g, PVT_PVCLOCK_TSC_STABLE |
                                             PVT_PVCLOCK_GUEST_STOPPED));

    ASSERT_ERR(pvt_pvclock_snapshot(&g, NULL, fake_tsc_read, &tsc, &s),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_snapshot(&g, &p, NULL, &tsc, &s), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_snapshot(&g, &p, fake_tsc_read, &tsc, NULL),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read(NULL, &p, fake_tsc_read, &tsc, &ns, NULL),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read(&g, NULL, fake_tsc_read, &tsc, &ns, NULL),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read(&g, &p, NULL, &tsc, &ns, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, NULL, NULL),
               PVT_EINVAL);
    ASSERT_UEQ(tsc.calls, 0);
    ASSERT_ERR(pvt_pvclock_clear_stopped(NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_guest_resume(NULL), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(pvclock_guest_stopped)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct fake_tsc tsc = {0, 0};
    struct pvt_pvclock_params w = params(
        0, 0, MUL_HALF, 0, PVT_PVCLOCK_TSC_STABLE | PVT_PVCLOCK_GUEST_STOPPED);
    uint64_t ns;
    uint8_t flags = 0;

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_guest_init(&g, PVT_PVCLOCK_TSC_STABLE));
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, &flags));
    ASSERT_UEQ(flags, PVT_PVCLOCK_TSC_STABLE | PVT_PVCLOCK_GUEST_STOPPED);

    ASSERT_EQ(pvt_pvclock_clear_stopped(&p), 1);
    ASSERT_EQ(pvt_pvclock_clear_stopped(&p), 0);
    /* only that bit, and not the version: the page is the host's */
    ASSERT_UEQ(p.flags, PVT_PVCLOCK_TSC_STABLE);
    ASSERT_UEQ(p.version, 2);
    ASSERT_OK(pvt_pvclock_read(&g, &p, fake_tsc_read, &tsc, &ns, &flags));
    ASSERT_UEQ(flags, PVT_PVCLOCK_TSC_STABLE);
    RETURN_OK();
}

/*
 * Two vCPUs of one guest; B's page is 500 ns behind A's for the same TSC
 * (1 GHz, both stamped at TSC 0). Reading them alternately while the TSC
 * advances 100 cycles per read, B's raw time is always below what A just
 * returned.
 */
struct two_vcpus {
    struct pvt_pvclock_vcpu_time_info a, b;
    struct fake_tsc tsc;
};

static void two_vcpus_init(struct two_vcpus *v, uint8_t page_flags)
{
    struct pvt_pvclock_params pa = params(0, 1000000, MUL_HALF, 1, page_flags);
    struct pvt_pvclock_params pb = params(0, 999500, MUL_HALF, 1, page_flags);
    page_zero(&v->a);
    page_zero(&v->b);
    (void)pvt_pvclock_write(&v->a, &pa);
    (void)pvt_pvclock_write(&v->b, &pb);
    v->tsc.value = 1000;
    v->tsc.calls = 0;
}

TEST_IMPL(pvclock_last_value_guard)
{
    struct two_vcpus v;
    struct pvt_pvclock_guest g;
    uint64_t ns, prev = 0, count;
    uint32_t i;

    /* no TSC_STABLE on the pages: the guard applies, even if honoured */
    two_vcpus_init(&v, 0);
    ASSERT_OK(pvt_pvclock_guest_init(&g, PVT_PVCLOCK_TSC_STABLE));
    for (i = 0; i < 20; i++) {
        const struct pvt_pvclock_vcpu_time_info *page = i & 1 ? &v.b : &v.a;
        ASSERT_OK(pvt_pvclock_read(&g, page, fake_tsc_read, &v.tsc, &ns, NULL));
        ASSERT_UGE(ns, prev);
        if (i & 1)
            ASSERT_UEQ(ns, prev); /* B clamped to A's last value */
        else
            ASSERT_UEQ(ns, 1000000 + v.tsc.value); /* A is ahead: raw */
        ASSERT_UEQ(g.last_value, ns);
        prev = ns;
        v.tsc.value += 100;
    }
    /* every B read was 500 - 100 ns behind A's last: 10 clamps counted */
    ASSERT_OK(pvt_pvclock_guest_get_clamped(&g, &count));
    ASSERT_UEQ(count, 10);
    /* B catches up once its own raw time passes A's last: 500 cycles on */
    v.tsc.value += 500;
    ASSERT_OK(pvt_pvclock_read(&g, &v.b, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 999500 + v.tsc.value);
    ASSERT_UGT(ns, prev);
    /* a reading equal to the last value is not a clamp */
    ASSERT_OK(pvt_pvclock_read(&g, &v.b, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_OK(pvt_pvclock_guest_get_clamped(&g, &count));
    ASSERT_UEQ(count, 10);

    /* TSC_STABLE on the pages but not honoured by the guest: guard */
    two_vcpus_init(&v, PVT_PVCLOCK_TSC_STABLE);
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    ASSERT_OK(pvt_pvclock_read(&g, &v.a, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 1001000);
    ASSERT_OK(pvt_pvclock_read(&g, &v.b, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 1001000);
    /* guest_init started the count again: this one clamp */
    ASSERT_OK(pvt_pvclock_guest_get_clamped(&g, &count));
    ASSERT_UEQ(count, 1);
    ASSERT_ERR(pvt_pvclock_guest_get_clamped(NULL, &count), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_guest_get_clamped(&g, NULL), PVT_EINVAL);
    RETURN_OK();
}

TEST_IMPL(pvclock_tsc_stable_skips_guard)
{
    struct two_vcpus v;
    struct pvt_pvclock_guest g;
    uint64_t ns;

    two_vcpus_init(&v, PVT_PVCLOCK_TSC_STABLE);
    ASSERT_OK(pvt_pvclock_guest_init(&g, PVT_PVCLOCK_TSC_STABLE));
    ASSERT_OK(pvt_pvclock_read(&g, &v.a, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 1001000);
    /* stable in page and honoured: B's raw, smaller value */
    ASSERT_OK(pvt_pvclock_read(&g, &v.b, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 1000500);
    ASSERT_UEQ(g.last_value, 0); /* the guard was not even consulted */
    ASSERT_UEQ(g.clamped, 0);
    RETURN_OK();
}

TEST_IMPL(pvclock_guest_resume)
{
    struct two_vcpus v;
    struct pvt_pvclock_guest g;
    uint64_t ns;

    two_vcpus_init(&v, 0);
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    ASSERT_OK(pvt_pvclock_read(&g, &v.a, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 1001000);
    ASSERT_OK(pvt_pvclock_read(&g, &v.b, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 1001000);
    /* after resume the new host's clock may legitimately be lower */
    ASSERT_OK(pvt_pvclock_guest_resume(&g));
    ASSERT_UEQ(g.last_value, 0);
    ASSERT_OK(pvt_pvclock_read(&g, &v.b, fake_tsc_read, &v.tsc, &ns, NULL));
    ASSERT_UEQ(ns, 1000500);
    RETURN_OK();
}

/* ---- frequencies ---- */

/*
 * kvm_get_time_scale by hand, for scaled = 10^9:
 *  base 2 GHz: step 1 (halve while base > 2 * scaled or base >= 2^32) does
 *    nothing, 2e9 <= 2e9; step 2 (grow while base <= scaled) does nothing,
 *    2e9 > 1e9; mul = 1e9 * 2^32 / 2e9 = 2^31, shift 0.
 *  base 1 GHz: step 2 runs once, base 1e9 <= 1e9 and bit 31 clear, so
 *    base = 2e9, shift 1; mul = 2^31.
 *  base 4 GHz: step 1 runs once (4e9 > 2e9), base 2e9, shift -1;
 *    mul = 2^31.
 *  base 32768 Hz: step 2 doubles 15 times, 32768 * 2^15 = 2^30 > 1e9 >=
 *    2^29; mul = 1e9 * 2^32 / 2^30 = 4e9 exactly, shift 15.
 *  base 1 Hz: doubles 30 times to 2^30; mul = 4e9, shift 30.
 *  scaled 2^31, base 1 (the largest ratio): base doubles 31 times to 2^31
 *    (still <= scaled), then bit 31 is set so scaled halves to 2^30:
 *    shift 32, mul = 2^30 * 2^32 / 2^31 = 2^31.
 *  scaled 1, base 2^32 (the smallest ratio): base halves 31 times to 2,
 *    shift -31, mul = 2^32 / 2 = 2^31.
 */
TEST_IMPL(pvclock_time_scale_by_hand)
{
    int8_t shift = 99;
    uint32_t mul = 99;

    ASSERT_OK(pvt_pvclock_time_scale(1000000000, 2000000000, &shift, &mul));
    ASSERT_EQ(shift, 0);
    ASSERT_UEQ(mul, 1u << 31);
    ASSERT_OK(pvt_pvclock_time_scale(1000000000, 1000000000, &shift, &mul));
    ASSERT_EQ(shift, 1);
    ASSERT_UEQ(mul, 1u << 31);
    ASSERT_OK(pvt_pvclock_time_scale(1000000000, 4000000000u, &shift, &mul));
    ASSERT_EQ(shift, -1);
    ASSERT_UEQ(mul, 1u << 31);
    ASSERT_OK(pvt_pvclock_time_scale(1000000000, 32768, &shift, &mul));
    ASSERT_EQ(shift, 15);
    ASSERT_UEQ(mul, 4000000000u);
    ASSERT_OK(pvt_pvclock_time_scale(1000000000, 1, &shift, &mul));
    ASSERT_EQ(shift, 30);
    ASSERT_UEQ(mul, 4000000000u);
    ASSERT_OK(pvt_pvclock_time_scale(1ull << 31, 1, &shift, &mul));
    ASSERT_EQ(shift, 32);
    ASSERT_UEQ(mul, 1u << 31);
    ASSERT_OK(pvt_pvclock_time_scale(1, 1ull << 32, &shift, &mul));
    ASSERT_EQ(shift, -31);
    ASSERT_UEQ(mul, 1u << 31);
    /* the scale is usable: 1 s of a 4 GHz TSC is 1 s */
    ASSERT_OK(pvt_pvclock_time_scale(1000000000, 4000000000u, &shift, &mul));
    ASSERT_UEQ(pvt_pvclock_scale_delta(4000000000u, mul, shift), 1000000000);
    /* widest inputs: KVM's 2 * scaled would wrap here, the ratio is 1 */
    ASSERT_OK(pvt_pvclock_time_scale(UINT64_MAX, UINT64_MAX, &shift, &mul));
    ASSERT_EQ(shift, 1);
    ASSERT_UEQ(mul, 0x7fffffffu);
    RETURN_OK();
}

/*
 * For each frequency: (mul, shift) characterised independently of the
 * algorithm, then the tsc_khz round trip.
 *
 * Characterisation, for frequencies whose halvings (if any) drop no bits:
 * with B = hz * 2^shift (the TSC rate after the shift), shift is the one
 * that puts 10^9 / B in [1/2, 1) and mul = floor(10^9 * 2^32 / B), i.e.
 * mul * B <= 10^9 * 2^32 < (mul + 1) * B.
 *
 * Round-trip bound. Write k = max(0, -shift). For shift >= 0 nothing is
 * dropped, mul <= X = 10^9 2^32 / B, so 10^6 2^32 / (mul 2^shift) >=
 * hz / 1000 and, since floor(floor(a) / 2^s) = floor(a / 2^s),
 * khz >= floor(hz / 1000) > hz / 1000 - 1. For shift = -k < 0, the k
 * halvings drop the low k bits of hz (B 2^k > hz - 2^k) and the quotient is
 * floored before it is multiplied by 2^k: khz > (hz - 2^k) / 1000 - 2^k.
 * From above, mul > X - 1 with X >= 2^31 gives khz <= hz / 1000 (1 + 2^-30).
 * In Hz: hz - 1000 * 2^k - 2^k < khz * 1000 <= hz + hz / 2^30. So the
 * round trip is within 1 kHz for TSCs up to 2 GHz and within 2 kHz up to
 * 4 GHz; the frequencies below happen to come back exact or floored.
 */
static int check_frequency(uint64_t hz, int expect_shift, uint64_t expect_khz)
{
    int8_t shift;
    uint32_t mul;
    uint64_t khz, b, k;

    ASSERT_OK(pvt_pvclock_time_scale(1000000000, hz, &shift, &mul));
    ASSERT_EQ(shift, expect_shift);
    ASSERT_UGE(mul, 1u << 31);
    if (shift < 0) {
        ASSERT_UEQ(hz & ((1ull << -shift) - 1), 0); /* exact halvings */
        b = hz >> -shift;
    } else {
        b = hz << shift;
    }
    ASSERT_ULE(b / 2, 1000000000);
    ASSERT_UGT(b, 1000000000);
    ASSERT((u128)mul * b <= (u128)1000000000 << 32);
    ASSERT((u128)(mul + 1ull) * b > (u128)1000000000 << 32);

    ASSERT_OK(pvt_pvclock_tsc_khz(mul, shift, &khz));
    ASSERT_UEQ(khz, expect_khz);
    k = shift < 0 ? 1ull << -shift : 1;
    ASSERT_UGT(khz * 1000 + 1000 * k + k, hz);
    ASSERT_ULE(khz * 1000, hz + hz / (1ull << 30));

    /* one second of this TSC converts to one second, less rounding: the
     * conversion floors, by at most 1 ns per 2^31 ns (mul's precision) and
     * 1 ns for the final floor */
    ASSERT_NEAR(pvt_pvclock_scale_delta(hz, mul, shift), 1000000000, 2);
    return 0;
}

TEST_IMPL(pvclock_time_scale_frequencies)
{
    /* expected kHz: hz / 1000 rounded down, except where noted */
    ASSERT_OK(check_frequency(1000000000, 1, 1000000));
    ASSERT_OK(check_frequency(2596128000u, -1, 2596128));
    ASSERT_OK(check_frequency(3900000000u, -1, 3900000));
    /* 32.768 kHz: (10^6 2^32 / 4e9) >> 15 = 1073741 >> 15 = 32 */
    ASSERT_OK(check_frequency(32768, 15, 32));
    /* the ACPI PM / HPET 14.31818 MHz: shift 7 (14318180 * 128 > 1e9) */
    ASSERT_OK(check_frequency(14318180, 7, 14318));
    ASSERT_OK(check_frequency(2000000000, 0, 2000000));
    RETURN_OK();
}

TEST_IMPL(pvclock_time_scale_errors)
{
    int8_t shift;
    uint32_t mul;

    ASSERT_ERR(pvt_pvclock_time_scale(1000000000, 1000000000, NULL, &mul),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_time_scale(1000000000, 1000000000, &shift, NULL),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_time_scale(0, 1000000000, &shift, &mul), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_time_scale(1000000000, 0, &shift, &mul), PVT_EINVAL);
    /* ratio just above 2^31 and just below 2^-32 */
    ASSERT_ERR(pvt_pvclock_time_scale((1ull << 31) + 1, 1, &shift, &mul),
               PVT_ERANGE);
    ASSERT_ERR(pvt_pvclock_time_scale(UINT64_MAX, 1ull << 32, &shift, &mul),
               PVT_ERANGE);
    ASSERT_ERR(pvt_pvclock_time_scale(1, (1ull << 32) + 1, &shift, &mul),
               PVT_ERANGE);
    ASSERT_ERR(pvt_pvclock_time_scale(1000000000, UINT64_MAX, &shift, &mul),
               PVT_ERANGE);
    ASSERT_ERR(pvt_pvclock_time_scale(1000000000, 1000000000ull << 32 | 1,
                                      &shift, &mul),
               PVT_ERANGE);
    /* the exact boundaries are accepted */
    ASSERT_OK(pvt_pvclock_time_scale(1ull << 32, 2, &shift, &mul));
    ASSERT_EQ(shift, 32);
    ASSERT_OK(
        pvt_pvclock_time_scale(1000000000, 1000000000ull << 32, &shift, &mul));
    ASSERT_EQ(shift, -31);
    ASSERT_UEQ(mul, 1u << 31);
    RETURN_OK();
}

/* Across the accepted range the shift stays in [-32, 32], mul normalised. */
TEST_IMPL(pvclock_time_scale_range)
{
    uint64_t x = 0x2545f4914f6cdd1dull;
    uint32_t i;

    for (i = 0; i < 5000; i++) {
        uint64_t scaled, base;
        int8_t shift;
        uint32_t mul;
        int ret;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        scaled = (x >> (x & 63)) | 1;
        base = ((x * 0x9e3779b97f4a7c15ull) >> ((x >> 6) & 63)) | 1;
        ret = pvt_pvclock_time_scale(scaled, base, &shift, &mul);
        if ((u128)scaled << 32 < base || scaled > (u128)base << 31) {
            ASSERT_ERR(ret, PVT_ERANGE);
            continue;
        }
        ASSERT_OK(ret);
        ASSERT_GE(shift, -32);
        ASSERT_LE(shift, 32);
        ASSERT_UGE(mul, 0x7fffffffu);
    }
    RETURN_OK();
}

TEST_IMPL(pvclock_tsc_khz)
{
    uint64_t khz = 0;

    /* (10^6 2^32 / 2^31) = 2 * 10^6, >> 1 = 1 GHz */
    ASSERT_OK(pvt_pvclock_tsc_khz(1u << 31, 1, &khz));
    ASSERT_UEQ(khz, 1000000);
    ASSERT_OK(pvt_pvclock_tsc_khz(1u << 31, 0, &khz));
    ASSERT_UEQ(khz, 2000000);
    ASSERT_OK(pvt_pvclock_tsc_khz(1u << 31, -1, &khz));
    ASSERT_UEQ(khz, 4000000);
    /* truncating: 10^6 2^32 / (2^32 - 1) = 1000000.0002 -> 1000000 */
    ASSERT_OK(pvt_pvclock_tsc_khz(0xffffffffu, 0, &khz));
    ASSERT_UEQ(khz, 1000000);
    /* mul 1, shift -12: 10^6 2^44 ~ 1.76e19 still fits; -13 does not */
    ASSERT_OK(pvt_pvclock_tsc_khz(1, -12, &khz));
    ASSERT_UEQ(khz, 1000000ull << 44);
    ASSERT_ERR(pvt_pvclock_tsc_khz(1, -13, &khz), PVT_EOVERFLOW);
    ASSERT_ERR(pvt_pvclock_tsc_khz(1, -31, &khz), PVT_EOVERFLOW);
    /* shift 31 with mul 1: 10^6 2^32 >> 31 = 2 * 10^6 */
    ASSERT_OK(pvt_pvclock_tsc_khz(1, 31, &khz));
    ASSERT_UEQ(khz, 2000000);
    ASSERT_OK(pvt_pvclock_tsc_khz(0xffffffffu, 31, &khz));
    ASSERT_UEQ(khz, 0);
    RETURN_OK();
}

TEST_IMPL(pvclock_tsc_khz_errors)
{
    uint64_t khz = 7;

    ASSERT_ERR(pvt_pvclock_tsc_khz(1u << 31, 0, NULL), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_tsc_khz(0, 0, &khz), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_tsc_khz(1u << 31, 32, &khz), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_tsc_khz(1u << 31, -32, &khz), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_tsc_khz(1u << 31, 127, &khz), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_tsc_khz(1u << 31, -128, &khz), PVT_EINVAL);
    ASSERT_UEQ(khz, 7);
    RETURN_OK();
}

/* ---- the clocksource ---- */

TEST_IMPL(pvclock_epoch)
{
    struct pvt_pvclock_snapshot a = {.version = 2,
                                     .tsc_timestamp = 1000,
                                     .system_time = 5000,
                                     .mul = 0x80000000u,
                                     .shift = 1,
                                     .flags = PVT_PVCLOCK_TSC_STABLE},
                                b;
    uint32_t ea, eb;

    ASSERT_ERR(pvt_pvclock_epoch(NULL, &ea), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_epoch(&a, NULL), PVT_EINVAL);
    ASSERT_OK(pvt_pvclock_epoch(&a, &ea));
    /* a refresh of the page (version, snapshot, the TSC read) is not a
     * new epoch */
    b = a;
    b.version = 4;
    b.tsc_timestamp = 99999;
    b.system_time = 123456789;
    b.tsc = 7;
    ASSERT_OK(pvt_pvclock_epoch(&b, &eb));
    ASSERT_UEQ(eb, ea);
    /* a new scale, a paused guest, a lost stable bit are */
    b = a;
    b.mul++;
    ASSERT_OK(pvt_pvclock_epoch(&b, &eb));
    ASSERT_UNE(eb, ea);
    b = a;
    b.shift = 0;
    ASSERT_OK(pvt_pvclock_epoch(&b, &eb));
    ASSERT_UNE(eb, ea);
    b = a;
    b.flags |= PVT_PVCLOCK_GUEST_STOPPED;
    ASSERT_OK(pvt_pvclock_epoch(&b, &eb));
    ASSERT_UNE(eb, ea);
    b = a;
    b.flags = 0;
    ASSERT_OK(pvt_pvclock_epoch(&b, &eb));
    ASSERT_UNE(eb, ea);
    RETURN_OK();
}

TEST_IMPL(pvclock_clocksource)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_clocksource pcs;
    struct fake_tsc tsc = {3000, 0};
    struct pvt_pvclock_params w =
        params(1000, 1000000, MUL_HALF, 1, PVT_PVCLOCK_GUEST_STOPPED);

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    ASSERT_OK(
        pvt_pvclock_clocksource_init(&pcs, NULL, &g, &p, fake_tsc_read, &tsc));
    ASSERT_STR_EQ(pcs.cs.name, "pvclock");
    ASSERT_EQ(pcs.cs.rating, 400);
    ASSERT_UEQ(pcs.cs.flags, PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES);
    ASSERT_UEQ(pcs.cs.mask, UINT64_MAX);
    ASSERT_UEQ(pcs.cs.mult, 1);
    ASSERT_UEQ(pcs.cs.shift, 0);
    ASSERT_UEQ(pcs.cs.max_cycles, UINT64_MAX);
    ASSERT_PTR_EQ(&pcs.cs, &pcs);
    ASSERT_UEQ(pcs.read_errors, 0);

    /* 2000 cycles at 1 GHz past 1 ms */
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 1002000);
    ASSERT_UEQ(tsc.calls, 1);
    ASSERT_UEQ(pcs.last_ns, 1002000);
    ASSERT_UEQ(pcs.last_flags, PVT_PVCLOCK_GUEST_STOPPED);
    /* ns in, ns out */
    ASSERT_UEQ(pvt_clocksource_cyc2ns(&pcs.cs, 1002000), 1002000);

    ASSERT_OK(pvt_pvclock_clocksource_init(&pcs, "kvm-clock", &g, &p,
                                           fake_tsc_read, &tsc));
    ASSERT_STR_EQ(pcs.cs.name, "kvm-clock");
    tsc.value += 10;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 1002010);
    RETURN_OK();
}

/* read_pair: the clocksource's reading and a second page's at one TSC
 * value, without the clocksource's TSC callback, with its bookkeeping */
TEST_IMPL(pvclock_read_pair)
{
    struct pvt_pvclock_vcpu_time_info p, q;
    struct pvt_pvclock_guest g, h;
    struct pvt_pvclock_clocksource pcs, blank;
    struct fake_tsc tsc = {3000, 0};
    /* the guest clock a ns a cycle from 1 ms; the device's half a ns a
     * cycle (mul 1/2, shift 0) from 7 s */
    struct pvt_pvclock_params w = params(1000, 1000000, MUL_HALF, 1, 0);
    struct pvt_pvclock_params v =
        params(2000, 7000000000ull, MUL_HALF, 0, PVT_PVCLOCK_TSC_STABLE);
    uint64_t cs_ns = 0, ns = 0;

    page_zero(&p);
    page_zero(&q);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_write(&q, &v));
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    ASSERT_OK(pvt_pvclock_guest_init(&h, PVT_PVCLOCK_TSC_STABLE));
    g.max_retries = h.max_retries = 3;
    ASSERT_OK(
        pvt_pvclock_clocksource_init(&pcs, NULL, &g, &p, fake_tsc_read, &tsc));

    /* at TSC 6000: 5000 cycles at 1 GHz past 1 ms; 4000 at 2 GHz past 7 s */
    ASSERT_OK(pvt_pvclock_read_pair(&pcs, &h, &q, 6000, &cs_ns, &ns));
    ASSERT_UEQ(cs_ns, 1005000);
    ASSERT_UEQ(ns, 7000002000ull);
    ASSERT_UEQ(tsc.calls, 0); /* the TSC value given, not read */
    ASSERT_UEQ(pcs.last_ns, 1005000);
    /* the same as the clocksource's own read at that TSC value */
    tsc.value = 6000;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), cs_ns);

    /* the device's page stuck mid-update: -EAGAIN, the clocksource's
     * reading still given, *ns untouched */
    q.version = 5;
    ns = 42;
    ASSERT_ERR(pvt_pvclock_read_pair(&pcs, &h, &q, 7000, &cs_ns, &ns),
               PVT_EAGAIN);
    ASSERT_UEQ(cs_ns, 1006000);
    ASSERT_UEQ(ns, 42);
    /* the clocksource's page stuck: its last good value, counted */
    q.version = 6;
    p.version = 7;
    ASSERT_OK(pvt_pvclock_read_pair(&pcs, &h, &q, 8000, &cs_ns, &ns));
    ASSERT_UEQ(cs_ns, 1006000);
    ASSERT_UEQ(pcs.read_errors, 1);
    ASSERT_UEQ(ns, 7000003000ull);

    /* arguments */
    ASSERT_ERR(pvt_pvclock_read_pair(NULL, &h, &q, 0, &cs_ns, &ns), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read_pair(&pcs, NULL, &q, 0, &cs_ns, &ns),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read_pair(&pcs, &h, NULL, 0, &cs_ns, &ns),
               PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read_pair(&pcs, &h, &q, 0, NULL, &ns), PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_read_pair(&pcs, &h, &q, 0, &cs_ns, NULL),
               PVT_EINVAL);
    blank = (struct pvt_pvclock_clocksource){0}; /* never initialised */
    cs_ns = 42;
    ASSERT_ERR(pvt_pvclock_read_pair(&blank, &h, &q, 0, &cs_ns, &ns),
               PVT_EINVAL);
    ASSERT_UEQ(cs_ns, 42);
    RETURN_OK();
}

TEST_IMPL(pvclock_clocksource_read_error)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_clocksource pcs;
    struct fake_tsc tsc = {5000, 0};
    struct pvt_pvclock_params w = params(0, 0, MUL_HALF, 0, 0);

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_write(&p, &w));
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    g.max_retries = 3;
    ASSERT_OK(
        pvt_pvclock_clocksource_init(&pcs, "pv", &g, &p, fake_tsc_read, &tsc));
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 2500);

    p.version = 5; /* stuck writer */
    tsc.value = 9000;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 2500); /* the last good value */
    ASSERT_UEQ(pcs.read_errors, 1);
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 2500);
    ASSERT_UEQ(pcs.read_errors, 2);

    p.version = 6;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 4500);
    ASSERT_UEQ(pcs.read_errors, 2);

    /* the error counter saturates rather than wrapping */
    p.version = 7;
    pcs.read_errors = UINT32_MAX;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 4500);
    ASSERT_UEQ(pcs.read_errors, UINT32_MAX);
    RETURN_OK();
}

TEST_IMPL(pvclock_clocksource_errors)
{
    struct pvt_pvclock_vcpu_time_info p;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_clocksource pcs;
    struct fake_tsc tsc = {0, 0};

    page_zero(&p);
    ASSERT_OK(pvt_pvclock_guest_init(&g, 0));
    ASSERT_ERR(
        pvt_pvclock_clocksource_init(NULL, NULL, &g, &p, fake_tsc_read, &tsc),
        PVT_EINVAL);
    ASSERT_ERR(
        pvt_pvclock_clocksource_init(&pcs, NULL, NULL, &p, fake_tsc_read, &tsc),
        PVT_EINVAL);
    ASSERT_ERR(
        pvt_pvclock_clocksource_init(&pcs, NULL, &g, NULL, fake_tsc_read, &tsc),
        PVT_EINVAL);
    ASSERT_ERR(pvt_pvclock_clocksource_init(&pcs, NULL, &g, &p, NULL, &tsc),
               PVT_EINVAL);
    /* the TSC context is the callback's: NULL is fine */
    ASSERT_OK(
        pvt_pvclock_clocksource_init(&pcs, NULL, &g, &p, fake_tsc_read, NULL));
    RETURN_OK();
}

/*
 * One clocksource read on two vCPUs, each through its own page (a page
 * function standing in for this_cpu): B's page is 500 ns behind A's, the
 * pages do not promise a stable TSC, so B's reads are clamped to A's last
 * value, and counted; a vCPU without a page is a read error.
 */
struct cur_vcpu {
    struct two_vcpus v;
    int cpu; /* the calling vCPU: 0 (page a), 1 (page b), 2 (none) */
};

static const struct pvt_pvclock_vcpu_time_info *cur_page(void *ctx)
{
    struct cur_vcpu *c = ctx;

    return c->cpu == 0 ? &c->v.a : c->cpu == 1 ? &c->v.b : NULL;
}

TEST_IMPL(pvclock_clocksource_per_vcpu)
{
    static struct cur_vcpu c;
    struct pvt_pvclock_guest g;
    struct pvt_pvclock_clocksource pcs;
    uint64_t count;

    two_vcpus_init(&c.v, 0);
    ASSERT_OK(pvt_pvclock_guest_init(&g, PVT_PVCLOCK_TSC_STABLE));
    ASSERT_OK(pvt_pvclock_clocksource_init(&pcs, "kvm-clock", &g, &c.v.a,
                                           fake_tsc_read, &c.v.tsc));
    ASSERT_ERR(pvt_pvclock_clocksource_set_page_fn(NULL, cur_page, &c),
               PVT_EINVAL);
    ASSERT_OK(pvt_pvclock_clocksource_set_page_fn(&pcs, cur_page, &c));
    c.cpu = 0;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 1000000 + 1000);
    c.cpu = 1; /* raw 999500 + 1100, behind A's 1001000: clamped */
    c.v.tsc.value += 100;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 1001000);
    ASSERT_OK(pvt_pvclock_guest_get_clamped(&g, &count));
    ASSERT_UEQ(count, 1);
    c.v.tsc.value += 1000; /* B's own time has passed A's last */
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 999500 + 2100);
    c.cpu = 2;
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 999500 + 2100);
    ASSERT_UEQ(pcs.read_errors, 1);
    /* back to the page given to init */
    ASSERT_OK(pvt_pvclock_clocksource_set_page_fn(&pcs, NULL, NULL));
    ASSERT_UEQ(pcs.cs.read(&pcs.cs), 1000000 + 2100);
    ASSERT_OK(pvt_pvclock_guest_get_clamped(&g, &count));
    ASSERT_UEQ(count, 1);
    RETURN_OK();
}
