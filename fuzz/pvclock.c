/*
 * The pvclock reader (pvtimer/pvclock.h) over a page a hostile hypervisor
 * rewrites while the guest reads it: from inside the reader's TSC read
 * (between its two version loads) it updates the page honestly (version
 * odd, fields, version even), leaves it odd (a writer that died), or
 * rewrites fields without touching the version; the TSC it returns is
 * anything, forwards or backwards.
 *
 * Checked: the reader never hangs (-PVT_EAGAIN after max_retries, and
 * only when every attempt was spoilt); a snapshot has an even version and,
 * while every write was honest, exactly the fields published under that
 * version; the time is system_time + the scaled TSC delta, against a
 * 128-bit reference (saturating, floor 0 backwards); the last-value guard
 * makes readings never go backwards unless TSC_STABLE is set and honoured,
 * and counts exactly the readings it raised; the scale, kHz and time-scale
 * maths against references, for any mul and shift.
 */
#include <math.h>

#include "fuzz.h"
#include "pvtimer/pvtimer.h"

typedef unsigned __int128 u128;

#define HISTORY 64

struct hv {
    struct fuzz_in *in;
    struct pvt_pvclock_vcpu_time_info page;
    /* what honest writes published under each version (by version % HISTORY,
     * with the version itself to tell them apart) */
    struct {
        uint32_t version;
        struct pvt_pvclock_vcpu_time_info fields;
    } pub[HISTORY];
    bool tainted; /* fields changed under an unchanged version */
    uint32_t tsc_calls;
    uint64_t last_tsc; /* what the last TSC read returned */
    uint32_t spoilt;   /* attempts this read whose version changed */
};

static uint64_t sat(u128 v)
{
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static uint64_t ref_scale(uint64_t d, uint32_t mul, int8_t shift)
{
    u128 x;

    if (shift < 0) {
        int k = -(int)shift;
        if (k > 63)
            return 0;
        return sat(((u128)(d >> k) * mul) >> 32);
    }
    if (d == 0 || mul == 0)
        return 0;
    if (shift > 63)
        return UINT64_MAX;
    x = (u128)d * mul; /* < 2^96 */
    if (shift <= 32)
        return sat(x >> (32 - shift));
    return sat(x << (shift - 32)); /* < 2^127 */
}

static uint64_t ref_ns(uint64_t st, uint64_t ts, uint32_t mul, int8_t shift,
                       uint64_t tsc)
{
    uint64_t back;

    if (tsc >= ts)
        return sat((u128)st + ref_scale(tsc - ts, mul, shift));
    back = ref_scale(ts - tsc, mul, shift);
    return back < st ? st - back : 0;
}

static void publish(struct hv *h)
{
    h->pub[h->page.version % HISTORY].version = h->page.version;
    h->pub[h->page.version % HISTORY].fields = h->page;
}

static void random_fields(struct hv *h)
{
    h->page.tsc_timestamp = fuzz_mag(h->in);
    h->page.system_time = fuzz_mag(h->in);
    h->page.tsc_to_system_mul = fuzz_u32(h->in);
    h->page.tsc_shift = (int8_t)fuzz_u8(h->in);
    h->page.flags = fuzz_u8(h->in) & 3;
}

/* The TSC read, inside the seqlock: where the hypervisor strikes. */
static uint64_t read_tsc(void *ctx)
{
    struct hv *h = ctx;
    uint8_t act = fuzz_u8(h->in);
    uint32_t v0 = h->page.version;

    h->tsc_calls++;
    switch (act % 6) {
    case 1: /* an honest update, completed */
        h->page.version |= 1;
        random_fields(h);
        h->page.version++;
        publish(h);
        break;
    case 2: /* a writer that dies half way */
        h->page.version |= 1;
        random_fields(h);
        break;
    case 3: /* fields rewritten behind an unchanged version */
        random_fields(h);
        h->tainted = true;
        break;
    case 4: /* the version alone moved on by two (a refresh) */
        h->page.version += 2;
        publish(h);
        break;
    default:
        break;
    }
    if (h->page.version != v0)
        h->spoilt++;
    h->last_tsc = act & 0x80 ? fuzz_u64(h->in) : h->last_tsc + fuzz_u16(h->in);
    return h->last_tsc;
}

static void check_maths(struct fuzz_in *in)
{
    uint64_t d = fuzz_mag(in), khz, scaled, base;
    uint32_t mul = fuzz_u32(in);
    int8_t shift = (int8_t)fuzz_u8(in);
    int rc;

    FUZZ_CHECK(pvt_pvclock_scale_delta(d, mul, shift) ==
                   ref_scale(d, mul, shift),
               "scale_delta(%llu, %u, %d) = %llu, reference %llu",
               (unsigned long long)d, mul, shift,
               (unsigned long long)pvt_pvclock_scale_delta(d, mul, shift),
               (unsigned long long)ref_scale(d, mul, shift));

    rc = pvt_pvclock_tsc_khz(mul, shift, &khz);
    if (mul == 0 || shift < -31 || shift > 31) {
        FUZZ_CHECK(rc == -PVT_EINVAL, "tsc_khz(%u, %d): %d", mul, shift, rc);
    } else {
        u128 q = ((u128)1000000 << 32) / mul;
        q = shift < 0 ? q << -shift : q >> shift;
        if (q > UINT64_MAX)
            FUZZ_CHECK(rc == -PVT_EOVERFLOW, "tsc_khz overflow: %d", rc);
        else
            FUZZ_CHECK(rc == 0 && khz == (uint64_t)q,
                       "tsc_khz(%u, %d) = %d %llu, reference %llu", mul, shift,
                       rc, (unsigned long long)khz, (unsigned long long)q);
    }

    /* time_scale: the pair converts base_hz cycles to scaled_hz ns, to
     * about 2^-30 (mul keeps 31 or 32 significant bits) */
    scaled = fuzz_mag(in);
    base = fuzz_mag(in);
    rc = pvt_pvclock_time_scale(scaled, base, &shift, &mul);
    if (scaled == 0 || base == 0) {
        FUZZ_CHECK(rc == -PVT_EINVAL, "time_scale of 0: %d", rc);
    } else if ((u128)scaled << 32 < base || scaled > (u128)base << 31) {
        FUZZ_CHECK(rc == -PVT_ERANGE, "time_scale(%llu, %llu): %d",
                   (unsigned long long)scaled, (unsigned long long)base, rc);
    } else {
        /* mul * 2^shift / 2^32 against scaled / base, in long double (64
         * bits of mantissa: far finer than the bound) */
        long double eff, ratio, rel, bound;
        FUZZ_CHECK(rc == 0, "time_scale(%llu, %llu) refused: %d",
                   (unsigned long long)scaled, (unsigned long long)base, rc);
        FUZZ_CHECK(shift >= -63 && shift <= 32 && mul >= (1u << 30),
                   "time_scale: shift %d mul %u", shift, mul);
        eff = ldexpl((long double)mul, shift - 32);
        ratio = (long double)scaled / (long double)base;
        rel = fabsl(eff - ratio) / ratio;
        /* KVM's truncation of base_hz to 32 bits costs up to 1 /
         * min(scaled_hz, 2^32) more (pvclock.h) */
        bound =
            ldexpl(1, -28) +
            2.0L / (long double)(scaled < (1ull << 32) ? scaled : (1ull << 32));
        FUZZ_CHECK(rel <= bound,
                   "time_scale(%llu, %llu) = mul %u shift %d: off by %Lg, "
                   "more than 2^-28 + 2 / scaled_hz",
                   (unsigned long long)scaled, (unsigned long long)base, mul,
                   shift, rel);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    static struct hv h;
    struct pvt_pvclock_guest g;
    uint8_t valid = fuzz_u8(&in) & 3;
    uint64_t last_read = 0, clamped = 0;

    memset(&h, 0, sizeof(h));
    h.in = &in;
    FUZZ_CHECK(pvt_pvclock_guest_init(&g, valid) == 0, "guest_init");
    FUZZ_CHECK(pvt_pvclock_guest_init(&g, 4) == -PVT_EINVAL, "flag 4 taken");
    FUZZ_CHECK(pvt_pvclock_guest_init(&g, valid) == 0, "guest_init");
    g.max_retries = 1 + fuzz_u8(&in) % 64;
    h.page.version = fuzz_u32(&in) & ~1u;
    random_fields(&h);
    publish(&h);

    while (fuzz_left(&in)) {
        uint8_t op = fuzz_u8(&in);
        struct pvt_pvclock_snapshot snap;
        uint64_t ns = 0, c;
        uint8_t flags = 0;
        int rc;

        h.spoilt = 0;
        h.tsc_calls = 0;
        switch (op % 4) {
        case 0: /* a snapshot */
            rc = pvt_pvclock_snapshot(&g, &h.page, read_tsc, &h, &snap);
            FUZZ_CHECK(rc == 0 || rc == -PVT_EAGAIN, "snapshot: %d", rc);
            if (rc == -PVT_EAGAIN) {
                /* every attempt spoilt: the page odd, or changed under it */
                FUZZ_CHECK(
                    h.spoilt == h.tsc_calls && h.tsc_calls <= g.max_retries,
                    "gave up after %u reads, %u spoilt", h.tsc_calls, h.spoilt);
                FUZZ_CHECK(h.tsc_calls == g.max_retries || (h.page.version & 1),
                           "gave up early");
                break;
            }
            FUZZ_CHECK((snap.version & 1) == 0, "odd version %u taken",
                       snap.version);
            FUZZ_CHECK(snap.tsc == h.last_tsc, "not the TSC read inside");
            if (!h.tainted) {
                const struct pvt_pvclock_vcpu_time_info *f =
                    &h.pub[snap.version % HISTORY].fields;
                FUZZ_CHECK(
                    h.pub[snap.version % HISTORY].version == snap.version &&
                        f->tsc_timestamp == snap.tsc_timestamp &&
                        f->system_time == snap.system_time &&
                        f->tsc_to_system_mul == snap.mul &&
                        f->tsc_shift == snap.shift && f->flags == snap.flags,
                    "a torn snapshot (version %u)", snap.version);
            }
            FUZZ_CHECK(pvt_pvclock_snapshot_ns(&snap) ==
                           ref_ns(snap.system_time, snap.tsc_timestamp,
                                  snap.mul, snap.shift, snap.tsc),
                       "snapshot_ns");
            break;
        case 1: /* a read, through the guard */
            rc = pvt_pvclock_read(&g, &h.page, read_tsc, &h, &ns, &flags);
            FUZZ_CHECK(rc == 0 || rc == -PVT_EAGAIN, "read: %d", rc);
            if (rc < 0)
                break;
            FUZZ_CHECK(pvt_pvclock_guest_get_clamped(&g, &c) == 0, "clamped");
            if (!h.tainted && !(h.page.version & 1)) {
                const struct pvt_pvclock_vcpu_time_info *f = &h.page;
                uint64_t ref =
                    ref_ns(f->system_time, f->tsc_timestamp,
                           f->tsc_to_system_mul, f->tsc_shift, h.last_tsc);
                FUZZ_CHECK(flags == f->flags, "flags");
                if (flags & valid & PVT_PVCLOCK_TSC_STABLE) {
                    FUZZ_CHECK(ns == ref, "stable read %llu, reference %llu",
                               (unsigned long long)ns, (unsigned long long)ref);
                    FUZZ_CHECK(c == clamped, "stable read clamped");
                } else {
                    FUZZ_CHECK(ns == (ref > last_read ? ref : last_read),
                               "guarded read %llu, reference %llu, last %llu",
                               (unsigned long long)ns, (unsigned long long)ref,
                               (unsigned long long)last_read);
                    FUZZ_CHECK(c == clamped + (ref < last_read),
                               "clamped count %llu, was %llu",
                               (unsigned long long)c,
                               (unsigned long long)clamped);
                }
            }
            if (!(flags & valid & PVT_PVCLOCK_TSC_STABLE))
                FUZZ_CHECK(ns >= last_read, "backwards: %llu after %llu",
                           (unsigned long long)ns,
                           (unsigned long long)last_read);
            if (!(flags & valid & PVT_PVCLOCK_TSC_STABLE))
                last_read = ns;
            clamped = c;
            break;
        case 2: /* the writer comes back, or a resume */
            if (op & 4) {
                h.page.version = (h.page.version | 1) + 1;
                random_fields(&h);
                publish(&h);
                h.tainted = false;
            } else {
                FUZZ_CHECK(pvt_pvclock_guest_resume(&g) == 0, "resume");
                last_read = 0;
            }
            break;
        default:
            check_maths(&in);
            break;
        }
    }
    return 0;
}
