/*
 * The pvclock page: guest-side reader (seqlock, last-value guard, the
 * clocksource), hypervisor-side writer and the scale maths of both.
 *
 * Memory ordering. The page is shared with another agent (the hypervisor,
 * or another thread in the simulator and the tests), so every access to it
 * is a GCC __atomic builtin on the plain ABI fields; the seqlock follows
 * Boehm, "Can seqlocks get along with programming language memory models?"
 * (MSPC 2012), in C11 terms:
 *
 *   writer                            reader
 *   W1 version = odd     (relaxed)    R1 v1 = version          (acquire)
 *   F1 fence             (release)    R2 TSC, fields            (relaxed)
 *   W2 fields            (relaxed)    F2 fence                 (acquire)
 *   W3 version = even    (release)    R3 v2 = version          (relaxed)
 *                                     retry if v1 odd or v2 != v1
 *
 * (a) The reader sees a complete update: if R1 reads W3's even value, W3
 *     synchronises with R1, so W2 happens before R2 and R2 reads W2's
 *     values or newer ones.
 * (b) The reader sees "newer ones" only with a changed version: if any load
 *     in R2 reads a value stored by some later update's W2', then that
 *     update's release fence F1' (sequenced before W2') synchronises with
 *     the reader's acquire fence F2 (sequenced after the load), so W1' (the
 *     odd version, sequenced before F1') happens before R3, and by
 *     coherence R3 reads W1' or later: v2 != v1.
 * The fence F1 sits *after* the odd store and *before* the field stores:
 * a release fence orders everything before it against stores after it,
 * which is exactly "the odd version is visible no later than any field".
 * A release store of the odd version would not do (it orders only what
 * precedes it), nor would an acquire fence (it orders only earlier loads,
 * not the odd store against the field stores). On x86 both fences are
 * only compiler barriers (TSO); on arm64 GCC emits dmb ish and dmb ishld,
 * where Linux uses smp_wmb() and smp_rmb().
 *
 * 64-bit fields on a 32-bit target (PVT__REGS64 0; the helpers in
 * atomic64.h):
 * - the page's 64-bit fields, read and written only inside the seqlock,
 *   are accessed as two 32-bit halves, each a relaxed atomic; (b) above
 *   holds for each load, so a pair torn by a concurrent update is retried
 *   like any field of a later update (Linux reads them plainly);
 * - the guard's value, which has no seqlock around it, is only ever
 *   accessed by an 8-byte compare-and-swap (cmpxchg8b on x86, inline),
 *   which is also how it is loaded and stored.
 */
#include "pvtimer/pvclock.h"

#include "atomic64.h"
#include "util.h"

#define PVCLOCK_KNOWN_FLAGS                                                    \
    ((uint8_t)(PVT_PVCLOCK_TSC_STABLE | PVT_PVCLOCK_GUEST_STOPPED))

/*
 * Scale maths. The ABI value is
 *
 *     ns = (d' * mul) >> 32,   d' = shift >= 0 ? d << shift : d >> -shift
 *
 * i.e. mul / 2^32 is a fraction in [0, 1) and the shift a power of two in
 * front of it. For a negative shift the low bits of d are dropped *before*
 * the multiply, exactly as the ABI says, so that this guest computes the
 * same ns as every other reader of the page (rounding first differs from
 * rounding once at the end). For a positive shift d << shift may not fit
 * 64 bits; the exact value d * mul * 2^shift / 2^32 is then formed without
 * the intermediate:
 *     shift <= 32:  (d * mul) >> (32 - shift)     (96-bit product)
 *     shift  > 32:  (d * mul) << (shift - 32)
 * which equals the ABI value whenever d << shift fits, and saturates at
 * UINT64_MAX when the result itself does not fit. pvt_mul_u64_u32_shr
 * keeps all 96 bits of the product and saturates.
 */
static inline __attribute__((always_inline)) uint64_t scale_delta(
    uint64_t delta, uint32_t mul, int8_t shift)
{
#if PVT__HAVE_U128
    /* the common case, a TSC faster than 1 GHz (shift in [-63, 0]): the
     * ABI's product, which (below 2^96) cannot overflow after >> 32 */
    if (__builtin_expect(shift <= 0 && shift > -64, 1))
        return (uint64_t)(((pvt__u128)(delta >> -shift) * mul) >> 32);
#endif
    if (shift < 0) {
        unsigned int k = (unsigned int)(-(int)shift); /* 1..128 */
        if (k > 63)
            return 0; /* every bit of d shifted out */
        return pvt_mul_u64_u32_shr(delta >> k, mul, 32);
    }
    if (shift <= 32)
        return pvt_mul_u64_u32_shr(delta, mul, 32u - (unsigned int)shift);
    if (delta == 0 || mul == 0)
        return 0;
    if (shift > 63)
        return UINT64_MAX; /* header contract: out-of-range shifts saturate */
    {
        unsigned int k = (unsigned int)shift - 32u;      /* 1..31 */
        uint64_t p = pvt_mul_u64_u32_shr(delta, mul, 0); /* saturates */
        if (p > (UINT64_MAX >> k))
            return UINT64_MAX;
        return p << k;
    }
}

uint64_t pvt_pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
    return scale_delta(delta, mul, shift);
}

int pvt_pvclock_guest_init(struct pvt_pvclock_guest *g, uint8_t valid_flags)
{
    if (g == NULL || (valid_flags & (uint8_t)~PVCLOCK_KNOWN_FLAGS) != 0)
        return -PVT_EINVAL;
    pvt__atomic_store_u64(&g->last_value, 0, __ATOMIC_RELAXED);
    pvt__atomic_store_u64(&g->clamped, 0, __ATOMIC_RELAXED);
    g->valid_flags = valid_flags;
    g->max_retries = PVT_PVCLOCK_DEFAULT_RETRIES;
    return 0;
}

/*
 * One attempt per iteration; max_retries counts attempts (0 is taken as 1,
 * so a zero-initialised guest still reads once). An odd version costs an
 * attempt without touching the fields or the TSC.
 */
static uint32_t attempts_of(const struct pvt_pvclock_guest *g)
{
    uint32_t n = g != NULL ? g->max_retries : PVT_PVCLOCK_DEFAULT_RETRIES;

    return n ? n : 1;
}

static inline __attribute__((always_inline)) int snapshot_take(
    const struct pvt_pvclock_guest *g,
    const struct pvt_pvclock_vcpu_time_info *src, pvt_tsc_read_fn read_tsc,
    void *ctx, struct pvt_pvclock_snapshot *out)
{
    uint32_t i = 0;

    for (;;) {
        uint32_t v1, v2, mul;
        uint64_t tsc, tsc_timestamp, system_time;
        int8_t shift;
        uint8_t flags;

        v1 = __atomic_load_n(&src->version, __ATOMIC_ACQUIRE);
        if (__builtin_expect(!(v1 & 1u), 1)) {
            tsc = read_tsc(ctx);
            tsc_timestamp = pvt__seq_load_u64(&src->tsc_timestamp);
            system_time = pvt__seq_load_u64(&src->system_time);
            mul = __atomic_load_n(&src->tsc_to_system_mul, __ATOMIC_RELAXED);
            shift = __atomic_load_n(&src->tsc_shift, __ATOMIC_RELAXED);
            flags = __atomic_load_n(&src->flags, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            v2 = __atomic_load_n(&src->version, __ATOMIC_RELAXED);
            if (__builtin_expect(v2 == v1, 1)) {
                out->version = v1;
                out->tsc_timestamp = tsc_timestamp;
                out->system_time = system_time;
                out->mul = mul;
                out->shift = shift;
                out->flags = flags;
                out->tsc = tsc;
                return 0;
            }
        }
        /* the attempts allowed are only looked up once one has failed */
        pvt__cpu_relax();
        if (++i >= attempts_of(g))
            return -PVT_EAGAIN;
    }
}

int pvt_pvclock_snapshot(const struct pvt_pvclock_guest *g,
                         const struct pvt_pvclock_vcpu_time_info *src,
                         pvt_tsc_read_fn read_tsc, void *ctx,
                         struct pvt_pvclock_snapshot *out)
{
    if (src == NULL || read_tsc == NULL || out == NULL)
        return -PVT_EINVAL;
    return snapshot_take(g, src, read_tsc, ctx, out);
}

/*
 * A TSC behind tsc_timestamp (a page of another vCPU whose TSC runs ahead,
 * or a hypervisor that stamped the page from a later read) extrapolates the
 * same line backwards instead of wrapping the unsigned delta into a huge
 * value, which the last-value guard would then make permanent. The result
 * is monotonic in tsc and saturates at 0 and UINT64_MAX.
 */
static inline __attribute__((always_inline)) uint64_t snapshot_ns(
    const struct pvt_pvclock_snapshot *snap)
{
    uint64_t back;

    if (__builtin_expect(snap->tsc >= snap->tsc_timestamp, 1))
        return pvt_add_sat_u64(snap->system_time,
                               scale_delta(snap->tsc - snap->tsc_timestamp,
                                           snap->mul, snap->shift));
    back = scale_delta(snap->tsc_timestamp - snap->tsc, snap->mul, snap->shift);
    return back < snap->system_time ? snap->system_time - back : 0;
}

uint64_t pvt_pvclock_snapshot_ns(const struct pvt_pvclock_snapshot *snap)
{
    return snap == NULL ? 0 : snapshot_ns(snap);
}

/*
 * The last-value guard: an atomic max (pvt__atomic_max_u64, relaxed: see
 * there why that is enough), counting the readings it raised.
 */
static uint64_t pvclock_guard(struct pvt_pvclock_guest *g, uint64_t ns)
{
    bool clamped;
    uint64_t t = pvt__atomic_max_u64(&g->last_value, ns, &clamped);

    if (clamped)
        pvt__atomic_inc_u64(&g->clamped);
    return t;
}

/* pvt_pvclock_read's work, for callers that hold valid arguments (the
 * clocksource checked its own at init): inline in both. */
static inline __attribute__((always_inline)) int pvclock_read(
    struct pvt_pvclock_guest *g, const struct pvt_pvclock_vcpu_time_info *src,
    pvt_tsc_read_fn read_tsc, void *ctx, uint64_t *ns, uint8_t *flags)
{
    struct pvt_pvclock_snapshot snap;
    uint64_t t;
    int ret;

    ret = snapshot_take(g, src, read_tsc, ctx, &snap);
    if (ret < 0)
        return ret;
    t = snapshot_ns(&snap);
    if ((snap.flags & g->valid_flags & PVT_PVCLOCK_TSC_STABLE) == 0)
        t = pvclock_guard(g, t);
    *ns = t;
    *flags = snap.flags;
    return 0;
}

int pvt_pvclock_read(struct pvt_pvclock_guest *g,
                     const struct pvt_pvclock_vcpu_time_info *src,
                     pvt_tsc_read_fn read_tsc, void *ctx, uint64_t *ns,
                     uint8_t *flags)
{
    uint8_t f;
    int ret;

    if (g == NULL || ns == NULL)
        return -PVT_EINVAL;
    if (src == NULL || read_tsc == NULL)
        return -PVT_EINVAL;
    ret = pvclock_read(g, src, read_tsc, ctx, ns, &f);
    if (ret == 0 && flags != NULL)
        *flags = f;
    return ret;
}

/* The TSC value read before, for pvclock_read (inlined: no call). */
static inline uint64_t tsc_given(void *ctx)
{
    return *(const uint64_t *)ctx;
}

int pvt_pvclock_read_tsc(struct pvt_pvclock_guest *g,
                         const struct pvt_pvclock_vcpu_time_info *src,
                         uint64_t tsc, uint64_t *ns, uint8_t *flags)
{
    uint8_t f;
    int ret;

    if (g == NULL || src == NULL || ns == NULL)
        return -PVT_EINVAL;
    ret = pvclock_read(g, src, tsc_given, &tsc, ns, &f);
    if (ret == 0 && flags != NULL)
        *flags = f;
    return ret;
}

/*
 * The load first keeps the common case (bit clear) from writing to, and
 * dirtying, a page the hypervisor owns; the RMW on the flags byte alone
 * cannot tear a concurrent writer's fields.
 */
int pvt_pvclock_clear_stopped(struct pvt_pvclock_vcpu_time_info *src)
{
    uint8_t old;

    if (src == NULL)
        return -PVT_EINVAL;
    if ((__atomic_load_n(&src->flags, __ATOMIC_RELAXED) &
         PVT_PVCLOCK_GUEST_STOPPED) == 0)
        return 0;
    old = __atomic_fetch_and(&src->flags, (uint8_t)~PVT_PVCLOCK_GUEST_STOPPED,
                             __ATOMIC_RELAXED);
    return (old & PVT_PVCLOCK_GUEST_STOPPED) != 0;
}

int pvt_pvclock_guest_get_clamped(struct pvt_pvclock_guest *g, uint64_t *count)
{
    if (g == NULL || count == NULL)
        return -PVT_EINVAL;
    *count = pvt__atomic_load_u64(&g->clamped, __ATOMIC_RELAXED);
    return 0;
}

int pvt_pvclock_guest_resume(struct pvt_pvclock_guest *g)
{
    if (g == NULL)
        return -PVT_EINVAL;
    pvt__atomic_store_u64(&g->last_value, 0, __ATOMIC_RELAXED);
    return 0;
}

/*
 * ns per cycle is mul * 2^shift / 2^32, so cycles per ms (kHz) is
 * 10^6 * 2^32 / (mul * 2^shift). 10^6 << 32 < 2^52, so the quotient fits;
 * only the left shift for negative shifts (fast TSCs) can overflow. The
 * division truncates before the shift, as the reference formula does.
 */
int pvt_pvclock_tsc_khz(uint32_t mul, int8_t shift, uint64_t *khz)
{
    uint64_t q;

    if (khz == NULL || mul == 0 || shift < -31 || shift > 31)
        return -PVT_EINVAL;
    q = pvt__div64_u64(UINT64_C(1000000) << 32, mul);
    if (shift < 0) {
        unsigned int k = (unsigned int)(-(int)shift);
        if (q > (UINT64_MAX >> k))
            return -PVT_EOVERFLOW;
        q <<= k;
    } else {
        q >>= (unsigned int)shift;
    }
    *khz = q;
    return 0;
}

int pvt_pvclock_epoch(const struct pvt_pvclock_snapshot *snap, uint32_t *epoch)
{
    uint8_t bytes[6];
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;

    if (!snap || !epoch)
        return -PVT_EINVAL;
    bytes[0] = (uint8_t)snap->mul;
    bytes[1] = (uint8_t)(snap->mul >> 8);
    bytes[2] = (uint8_t)(snap->mul >> 16);
    bytes[3] = (uint8_t)(snap->mul >> 24);
    bytes[4] = (uint8_t)snap->shift;
    bytes[5] =
        snap->flags & (PVT_PVCLOCK_TSC_STABLE | PVT_PVCLOCK_GUEST_STOPPED);
    for (i = 0; i < sizeof(bytes); i++)
        h = (h ^ bytes[i]) * 16777619u;
    *epoch = h;
    return 0;
}

/*
 * KVM's kvm_get_time_scale(), restated. Goal: mul / 2^32 * 2^shift ~=
 * scaled / base with mul in [2^31, 2^32) (a normalised 32-bit fraction).
 *
 * 1. Halve base (shift--) until base <= 2 * scaled and base fits 32 bits:
 *    now the remaining ratio scaled / base is at least 1/2.
 * 2. Until base > scaled and scaled fits 32 bits (ratio below 1, so the
 *    fraction fits 32 bits): halve scaled if it is too wide or base cannot
 *    grow any more, otherwise double base; shift++ either way.
 * 3. mul = (scaled << 32) / base, truncating; scaled < base < 2^32, so the
 *    dividend fits 64 bits and the quotient 32.
 *
 * Each step keeps scaled / base * 2^shift equal to the original ratio up to
 * the bits the halvings drop. KVM writes the test of step 1 as
 * base > scaled * 2, which wraps for scaled >= 2^63; here it is the
 * equivalent ceil(base / 2) > scaled. For a ratio in [2^-32, 2^31] the
 * shift ends in [-32, 32] (mul / 2^32 in [1/2, 1) puts 2^shift in
 * (ratio, 2 * ratio]), so the ABI formula never shifts by 64 or more.
 */
int pvt_pvclock_time_scale(uint64_t scaled_hz, uint64_t base_hz, int8_t *shift,
                           uint32_t *mul)
{
    uint64_t scaled = scaled_hz;
    uint64_t base = base_hz;
    uint32_t base32;
    int s = 0;

    if (shift == NULL || mul == NULL || scaled_hz == 0 || base_hz == 0)
        return -PVT_EINVAL;
    /* ratio < 2^-32  <=>  scaled < base / 2^32  <=>  scaled < ceil(..) */
    if (scaled_hz < (base_hz >> 32) + ((base_hz & 0xffffffffu) != 0))
        return -PVT_ERANGE;
    /* ratio > 2^31  <=>  scaled / 2^31 > base  <=>  ceil(..) > base */
    if ((scaled_hz >> 31) + ((scaled_hz & 0x7fffffffu) != 0) > base_hz)
        return -PVT_ERANGE;

    while ((base >> 1) + (base & 1) > scaled || (base >> 32) != 0) {
        base >>= 1;
        s--;
    }
    base32 = (uint32_t)base;
    while (base32 <= scaled || (scaled >> 32) != 0) {
        if ((scaled >> 32) != 0 || (base32 & 0x80000000u) != 0)
            scaled >>= 1;
        else
            base32 <<= 1;
        s++;
    }
    *shift = (int8_t)s;
    *mul = (uint32_t)pvt__div64_u64(scaled << 32, base32);
    return 0;
}

int pvt_pvclock_write(struct pvt_pvclock_vcpu_time_info *dst,
                      const struct pvt_pvclock_params *params)
{
    uint32_t v;

    if (dst == NULL || params == NULL || params->mul == 0 ||
        (params->flags & (uint8_t)~PVCLOCK_KNOWN_FLAGS) != 0)
        return -PVT_EINVAL;

    /* Single writer: nobody else changes the version under us. From an
     * odd version (a writer that died mid-update) this still moves on. */
    v = __atomic_load_n(&dst->version, __ATOMIC_RELAXED);
    v = (v + 1u) | 1u;
    __atomic_store_n(&dst->version, v, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* F1, see the top of file */

    pvt__seq_store_u64(&dst->tsc_timestamp, params->tsc_timestamp);
    pvt__seq_store_u64(&dst->system_time, params->system_time);
    __atomic_store_n(&dst->tsc_to_system_mul, params->mul, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->tsc_shift, params->shift, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->flags, params->flags, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->pad0, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->pad[0], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&dst->pad[1], 0, __ATOMIC_RELAXED);

    __atomic_store_n(&dst->version, v + 1u, __ATOMIC_RELEASE); /* W3 */
    return 0;
}

/* ---------------------------------------------------------------------- */

/*
 * Read on every vCPU at once: the bookkeeping fields are atomic (last_ns
 * is the last good value any vCPU read; the timekeeper's guard, not this,
 * keeps the clock monotonic). The TSC from read_tsc(ctx): the
 * clocksource's own, or a value its caller read (pvt_pvclock_read_pair).
 */
static inline __attribute__((always_inline)) uint64_t cs_read_with(
    struct pvt_pvclock_clocksource *pcs, pvt_tsc_read_fn read_tsc, void *ctx)
{
    const struct pvt_pvclock_vcpu_time_info *page =
        pcs->page_of ? pcs->page_of(pcs->page_ctx) : pcs->page;
    uint32_t errors;
    uint64_t ns;
    uint8_t flags;

    /* guest checked at init */
    if (page == NULL ||
        pvclock_read(pcs->guest, page, read_tsc, ctx, &ns, &flags) < 0) {
        errors = __atomic_load_n(&pcs->read_errors, __ATOMIC_RELAXED);
        while (errors != UINT32_MAX &&
               !__atomic_compare_exchange_n(&pcs->read_errors, &errors,
                                            errors + 1u, true, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
            ;
        return pvt__atomic_load_u64(&pcs->last_ns, __ATOMIC_RELAXED);
    }
    pvt__atomic_store_u64(&pcs->last_ns, ns, __ATOMIC_RELAXED);
    __atomic_store_n(&pcs->last_flags, flags, __ATOMIC_RELAXED);
    return ns;
}

static uint64_t pvclock_cs_read(struct pvt_clocksource *cs)
{
    struct pvt_pvclock_clocksource *pcs = cs->priv;

    /* read_tsc checked at init */
    return cs_read_with(pcs, pcs->read_tsc, pcs->tsc_ctx);
}

int pvt_pvclock_read_pair(struct pvt_pvclock_clocksource *pcs,
                          struct pvt_pvclock_guest *g,
                          const struct pvt_pvclock_vcpu_time_info *page,
                          uint64_t tsc, uint64_t *cs_ns, uint64_t *ns)
{
    uint8_t f;

    if (pcs == NULL || pcs->guest == NULL || g == NULL || page == NULL ||
        cs_ns == NULL || ns == NULL)
        return -PVT_EINVAL;
    *cs_ns = cs_read_with(pcs, tsc_given, &tsc);
    return pvclock_read(g, page, tsc_given, &tsc, ns, &f);
}

int pvt_pvclock_clocksource_set_page_fn(struct pvt_pvclock_clocksource *pcs,
                                        pvt_pvclock_page_fn page_of, void *ctx)
{
    if (pcs == NULL)
        return -PVT_EINVAL;
    pcs->page_of = page_of;
    pcs->page_ctx = ctx;
    return 0;
}

int pvt_pvclock_clocksource_init(struct pvt_pvclock_clocksource *pcs,
                                 const char *name, struct pvt_pvclock_guest *g,
                                 const struct pvt_pvclock_vcpu_time_info *page,
                                 pvt_tsc_read_fn read_tsc, void *tsc_ctx)
{
    struct pvt_clocksource *cs;

    if (pcs == NULL || g == NULL || page == NULL || read_tsc == NULL)
        return -PVT_EINVAL;
    pcs->guest = g;
    pcs->page = page;
    pcs->page_of = NULL;
    pcs->page_ctx = NULL;
    pcs->read_tsc = read_tsc;
    pcs->tsc_ctx = tsc_ctx;
    pcs->last_ns = 0;
    pcs->read_errors = 0;
    pcs->last_flags = 0;

    /* The counter is already ns: identity conversion, full 64 bits. */
    cs = &pcs->cs;
    cs->name = name != NULL ? name : "pvclock";
    cs->read = pvclock_cs_read;
    cs->priv = pcs;
    cs->mask = UINT64_MAX;
    cs->mult = 1;
    cs->shift = 0;
    cs->rating = 400;
    cs->flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES;
    cs->max_cycles = 0;
    cs->max_ns = 0;
    cs->next = NULL;
    cs->registered = false;
    return pvt_clocksource_init(cs);
}
