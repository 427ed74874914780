/*
 * pvtimer: the pvclock ABI shared by KVM's kvmclock and Xen's
 * vcpu_time_info, its guest-side reader and its hypervisor-side writer.
 *
 * The hypervisor publishes, per vCPU, a snapshot (tsc_timestamp,
 * system_time) and a TSC-to-ns scale; the guest extrapolates:
 *
 *     d  = tsc - tsc_timestamp
 *     d  = tsc_shift >= 0 ? d << tsc_shift : d >> -tsc_shift
 *     ns = system_time + (d * tsc_to_system_mul) >> 32
 *
 * The page is guarded by a version seqlock: the writer makes the version
 * odd, writes, makes it even again; the reader retries while the version is
 * odd or changed under it.
 *
 * Calling context: the reader (snapshot, read, clear_stopped) runs in any
 * context, interrupts included, concurrently on every vCPU, and against a
 * writer rewriting the page at the same time; its retries are bounded
 * (-PVT_EAGAIN, never a hang). One pvt_pvclock_guest is shared by every
 * vCPU of a guest (its last-value guard is an atomic max); guest_init and
 * guest_resume are serialised by the caller against every read. One
 * writer per page (the hypervisor serialises its own updates). The maths
 * (scale_delta, tsc_khz, time_scale, epoch) touches no shared state.
 */
#ifndef PVTIMER_PVCLOCK_H
#define PVTIMER_PVCLOCK_H

#include "pvtimer/base.h"
#include "pvtimer/clocksource.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags in pvt_pvclock_vcpu_time_info.flags. */
#define PVT_PVCLOCK_TSC_STABLE (1u << 0) /* TSC is synchronised across vCPUs */
#define PVT_PVCLOCK_GUEST_STOPPED                                              \
    (1u << 1) /* host paused us; guest clears it */

/* The ABI: 32 bytes, little endian, binary compatible with KVM and Xen. */
struct pvt_pvclock_vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
};

_Static_assert(sizeof(struct pvt_pvclock_vcpu_time_info) == 32,
               "pvclock ABI is 32 bytes");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, version) == 0, "");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, pad0) == 4, "");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, tsc_timestamp) == 8,
               "");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, system_time) == 16,
               "");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, tsc_to_system_mul) ==
                   24,
               "");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, tsc_shift) == 28,
               "");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, flags) == 29, "");
_Static_assert(offsetof(struct pvt_pvclock_vcpu_time_info, pad) == 30, "");

/* A consistent copy of the page's fields, taken under the seqlock. */
struct pvt_pvclock_snapshot {
    uint32_t version; /* even */
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t mul;
    int8_t shift;
    uint8_t flags;
    uint64_t tsc; /* the TSC value read inside the seqlock */
};

/*
 * Per-guest reader state, shared by all vCPUs of one guest (not a global:
 * one process can host many guests). Lives in caller memory.
 */
struct pvt_pvclock_guest {
    uint64_t last_value;  /* highest ns returned while TSC_STABLE is absent;
                             accessed atomically */
    uint8_t valid_flags;  /* flags the guest honours (e.g. TSC_STABLE only
                             when CPUID says the host sets it correctly) */
    uint32_t max_retries; /* seqlock retries before -PVT_EAGAIN */
    uint64_t clamped;     /* readings the guard raised to last_value;
                             accessed atomically (pvt_pvclock_guest_get_clamped) */
};

#define PVT_PVCLOCK_DEFAULT_RETRIES (1u << 20)

/* Reads the (guest) TSC; called inside the seqlock, so it must be ordered. */
typedef uint64_t (*pvt_tsc_read_fn)(void *ctx);

/*
 * Scale a TSC delta to ns: (shift >= 0 ? d << shift : d >> -shift) * mul
 * >> 32, without losing bits of the 64x32 product. Shifts outside
 * [-63, 63] are treated as giving 0 / saturating; when d << shift
 * overflows, the exact d * mul * 2^shift >> 32 is used, saturating at
 * UINT64_MAX.
 */
uint64_t pvt_pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift);

/*
 * Initialise per-guest reader state: valid_flags says which page flags to
 * honour (pass PVT_PVCLOCK_TSC_STABLE when the hypervisor advertises a
 * reliable stable bit, 0 to always apply the last-value guard).
 * Returns 0 or -PVT_EINVAL (NULL, or unknown bits in valid_flags).
 */
int pvt_pvclock_guest_init(struct pvt_pvclock_guest *g, uint8_t valid_flags);

/*
 * Take a consistent snapshot of *src, reading the TSC with read_tsc(ctx)
 * inside the seqlock. Returns 0, -PVT_EINVAL (NULL argument), or
 * -PVT_EAGAIN when the version was odd or changing for g->max_retries
 * consecutive attempts (a writer that died mid-update must not hang the
 * reader). g may be NULL for PVT_PVCLOCK_DEFAULT_RETRIES.
 */
int pvt_pvclock_snapshot(const struct pvt_pvclock_guest *g,
                         const struct pvt_pvclock_vcpu_time_info *src,
                         pvt_tsc_read_fn read_tsc, void *ctx,
                         struct pvt_pvclock_snapshot *out);

/*
 * ns at snap->tsc: system_time + scaled (tsc - tsc_timestamp), saturating;
 * a tsc before tsc_timestamp extrapolates backwards (floor 0), not wraps.
 */
uint64_t pvt_pvclock_snapshot_ns(const struct pvt_pvclock_snapshot *snap);

/*
 * Read the clock: snapshot, convert, and, unless the page has TSC_STABLE
 * and g->valid_flags honours it, clamp to the guest's last value so that
 * time never goes backwards across vCPUs (an atomic max on g->last_value).
 * *ns receives the time; *flags (may be NULL) receives the page's flags, so
 * the caller sees GUEST_STOPPED. Returns 0, -PVT_EINVAL or -PVT_EAGAIN.
 */
int pvt_pvclock_read(struct pvt_pvclock_guest *g,
                     const struct pvt_pvclock_vcpu_time_info *src,
                     pvt_tsc_read_fn read_tsc, void *ctx, uint64_t *ns,
                     uint8_t *flags);

/*
 * pvt_pvclock_read() at a TSC value the caller read before: the page's
 * time at `tsc`, with the same snapshot, conversion and guard. For a
 * device that pairs two clocks derived from one TSC (read_paired,
 * clockevent.h): one rdtsc, then each page at that value. Reading the TSC
 * outside the seqlock is sound: a page describes the line through its
 * snapshot for any TSC value. Returns 0, -PVT_EINVAL (g, src or ns NULL)
 * or -PVT_EAGAIN.
 */
int pvt_pvclock_read_tsc(struct pvt_pvclock_guest *g,
                         const struct pvt_pvclock_vcpu_time_info *src,
                         uint64_t tsc, uint64_t *ns, uint8_t *flags);

/*
 * If GUEST_STOPPED is set in *src, clear it (atomically, on the flags byte)
 * and return 1; else 0. -PVT_EINVAL for NULL. The guest calls this from its
 * watchdog/resume path after it has dealt with the pause.
 */
int pvt_pvclock_clear_stopped(struct pvt_pvclock_vcpu_time_info *src);

/*
 * How many readings the last-value guard has clamped since guest_init: a
 * reading below the last value any vCPU was returned (a vCPU whose TSC or
 * page lags another's) and returned that value instead. Counted atomically
 * by every vCPU; read at any time, from any context (a snapshot). Returns
 * 0 and *count, or -PVT_EINVAL (NULL).
 */
int pvt_pvclock_guest_get_clamped(struct pvt_pvclock_guest *g, uint64_t *count);

/*
 * Forget the last-value guard (after resume or migration, when the new
 * host's clock may legitimately restart lower). Returns 0 or -PVT_EINVAL.
 */
int pvt_pvclock_guest_resume(struct pvt_pvclock_guest *g);

/*
 * TSC frequency in kHz encoded by mul/shift: (10^6 << 32) / mul, then
 * shifted left by -shift when shift < 0, right by shift otherwise. Returns
 * 0 and *khz, or -PVT_EINVAL (NULL, mul == 0, shift outside [-31, 31]),
 * -PVT_EOVERFLOW when the frequency does not fit in 64 bits.
 */
int pvt_pvclock_tsc_khz(uint32_t mul, int8_t shift, uint64_t *khz);

/*
 * An epoch for drift samples whose clock B is a pvclock (kvmclock, Xen;
 * pvt_drift_sample.epoch): what in a snapshot changes when the guest was
 * migrated or paused, hashed (FNV-1a): the scale (mul, shift: a new host's
 * TSC rate) and the TSC_STABLE and GUEST_STOPPED flags. Not the version,
 * which changes at every refresh of the page. Any context. Returns 0 and
 * *epoch, or -PVT_EINVAL (NULL).
 */
int pvt_pvclock_epoch(const struct pvt_pvclock_snapshot *snap, uint32_t *epoch);

/* ---------------------------------------------------------------------- */
/* Hypervisor side.                                                        */

/*
 * The (mul, shift) pair a hypervisor publishes so that TSC cycles at
 * base_hz scale to ns (scaled_hz = 10^9): chosen so that
 * (d << shift or >> -shift) * mul >> 32 ~= d * scaled_hz / base_hz with mul
 * using as many bits as it can (the same pair KVM computes for its guests).
 * Precision: about 2^-31 from mul, plus what KVM's method loses when it
 * halves base_hz (truncating) down to about scaled_hz: up to 1 /
 * min(scaled_hz, 2^32), 10^-9 for ns (scaled_hz = 10^9), but 2 % for a
 * scaled_hz of 10 (found by the pvclock fuzz target; kept, for the same
 * pair as KVM's). Returns 0, or -PVT_EINVAL for NULL pointers or zero frequencies, or
 * -PVT_ERANGE when the ratio cannot be expressed (scaled_hz / base_hz out of
 * [2^-32, 2^31]).
 */
int pvt_pvclock_time_scale(uint64_t scaled_hz, uint64_t base_hz, int8_t *shift,
                           uint32_t *mul);

/* What the writer publishes. */
struct pvt_pvclock_params {
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t mul;
    int8_t shift;
    uint8_t flags;
};

/*
 * Publish params in *dst with the seqlock protocol: version = (v + 1) | 1,
 * release barrier, fields, release barrier, version = that + 1 (even).
 * Only one writer per page at a time (the hypervisor serialises its own
 * updates). Returns 0 or -PVT_EINVAL (NULL, mul == 0, unknown flag bits).
 */
int pvt_pvclock_write(struct pvt_pvclock_vcpu_time_info *dst,
                      const struct pvt_pvclock_params *params);

/* ---------------------------------------------------------------------- */
/* The pvclock as a guest clocksource (what kvmclock and Xen's "xen" are).  */

/* The page of the vCPU that calls it (Linux's this_cpu_pvti()). */
typedef const struct pvt_pvclock_vcpu_time_info *(*pvt_pvclock_page_fn)(
    void *ctx);

/*
 * One clocksource for the whole guest (the timekeeper has one), read on
 * every vCPU: with a page function it reads the calling vCPU's page, and
 * read_tsc must then read that vCPU's TSC (the caller keeps the reader on
 * one vCPU between the two, as a kernel does with preemption off). The
 * fields below cs are written atomically by the reads of every vCPU.
 */
struct pvt_pvclock_clocksource {
    struct pvt_clocksource cs; /* first: cs pointer == container pointer */
    struct pvt_pvclock_guest *guest;
    const struct pvt_pvclock_vcpu_time_info *page; /* without page_of */
    pvt_pvclock_page_fn page_of; /* the calling vCPU's page, or NULL */
    void *page_ctx;
    pvt_tsc_read_fn read_tsc;
    void *tsc_ctx;
    uint64_t last_ns;     /* returned if the page cannot be read */
    uint32_t read_errors; /* saturating */
    uint8_t last_flags;   /* flags seen at the last read */
};

/*
 * Make a clocksource that reads `page` through pvt_pvclock_read(): counter
 * in ns (mult 1, shift 0, 64-bit mask), rating 400, continuous, valid for
 * high-res, named `name` (NULL: "pvclock"). A failed read (-PVT_EAGAIN,
 * or no page from the page function) returns the last good value and
 * counts read_errors. Returns 0 or -PVT_EINVAL. Context: before the
 * clocksource is used; its reads then run in any context, on every vCPU.
 */
int pvt_pvclock_clocksource_init(struct pvt_pvclock_clocksource *pcs,
                                 const char *name, struct pvt_pvclock_guest *g,
                                 const struct pvt_pvclock_vcpu_time_info *page,
                                 pvt_tsc_read_fn read_tsc, void *tsc_ctx);

/*
 * Two clocks at one TSC value the caller read, in one call: *cs_ns gets
 * what pcs's read would have returned at `tsc` (its page, its guest's
 * guard, its bookkeeping: a page it cannot read gives the last good value
 * and counts read_errors), *ns the time of a second page at `tsc`, read
 * as pvt_pvclock_read_tsc() reads it with g. What a device whose
 * timebase the guest reads from a pvclock-style page does in read_paired
 * (clockevent.h) beside a pvclock clocksource: one rdtsc, both pages at
 * that value. Returns 0, -PVT_EINVAL (a NULL argument, pcs not
 * initialised; nothing written) or -PVT_EAGAIN (the second page could not
 * be read; *cs_ns set). Context: as the clocksource's read.
 */
int pvt_pvclock_read_pair(struct pvt_pvclock_clocksource *pcs,
                          struct pvt_pvclock_guest *g,
                          const struct pvt_pvclock_vcpu_time_info *page,
                          uint64_t tsc, uint64_t *cs_ns, uint64_t *ns);

/*
 * Read, from now on, the page page_of(ctx) returns on the calling vCPU
 * instead of the page given to init (NULL page_of: that page again), for a
 * guest with a page per vCPU. Returns 0 or -PVT_EINVAL (NULL pcs).
 * Context: as init, before the clocksource is used.
 */
int pvt_pvclock_clocksource_set_page_fn(struct pvt_pvclock_clocksource *pcs,
                                        pvt_pvclock_page_fn page_of, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* PVTIMER_PVCLOCK_H */
