/*
 * The guest's clocks and timer devices. Contracts in platform.h.
 */
#include "platform.h"

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "guest.h"

/* CPUID 0x40000001 EAX: kvmclock at the new MSRs; the stable bit honoured */
#define KVM_FEATURE_CLOCKSOURCE2       (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE (1u << 24)

/* The pvclock reader's TSC: read inside its seqlock, so ordered. */
static uint64_t read_tsc(void *ctx)
{
    (void)ctx;
    return pvt_rdtsc_ordered();
}

static uint64_t tsc_cs_read(struct pvt_clocksource *cs)
{
    (void)cs;
    return pvt_rdtsc();
}

/* Is this KVM, with kvmclock? Returns its feature bits, or 0. */
static uint32_t kvm_features(void)
{
    uint32_t r[4];
    uint32_t base;

    for (base = 0x40000000u; base < 0x40010000u; base += 0x100) {
        pvt_cpuid(base, 0, r);
        /* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX */
        if (r[1] == 0x4b4d564bu && r[2] == 0x564b4d56u && r[3] == 0x4du) {
            pvt_cpuid(base + 1, 0, r);
            return r[0];
        }
    }
    return 0;
}

/* Contract in platform.h. */
int pvt_guest_clocks_init(struct pvt_guest_clocks *c, int64_t tsc_cal_ppb,
                          const char **why)
{
    uint32_t f = kvm_features();
    uint64_t khz;
    int64_t cal;

    if (!(f & KVM_FEATURE_CLOCKSOURCE2)) {
        *why = "no kvmclock (CPUID 0x40000001 lacks clocksource2)";
        return -1;
    }
    pvt_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&c->page | 1);
    if (pvt_pvclock_guest_init(&c->pvg, (f & KVM_FEATURE_CLOCKSOURCE_STABLE)
                                            ? PVT_PVCLOCK_TSC_STABLE
                                            : 0) ||
        pvt_pvclock_clocksource_init(&c->kvmclock, "kvm-clock", &c->pvg,
                                     &c->page, read_tsc, NULL)) {
        *why = "pvclock setup failed";
        return -1;
    }
    if (pvt_pvclock_tsc_khz(c->page.tsc_to_system_mul, c->page.tsc_shift,
                            &khz) ||
        khz == 0) {
        *why = "the kvmclock page gives no TSC frequency";
        return -1;
    }
    c->tsc_khz = khz;
    c->true_tsc = (struct pvt_clocksource){
        .name = "true-tsc",
        .read = tsc_cs_read,
        .mask = UINT64_MAX,
        .rating = 1,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    /* the calibration error, in whole Hz */
    cal = (int64_t)(khz * 1000) +
          (int64_t)(khz * 1000) / 1000000 * tsc_cal_ppb / 1000;
    c->tsc = (struct pvt_clocksource){
        .name = "tsc",
        .read = tsc_cs_read,
        .mask = UINT64_MAX,
        .rating = 300,
        .flags = PVT_CS_CONTINUOUS | PVT_CS_VALID_FOR_HRES,
    };
    if (cal <= 0 || pvt_clocksource_init_hz(&c->true_tsc, khz * 1000, 0) ||
        pvt_clocksource_init_hz(&c->tsc, (uint64_t)cal, 0)) {
        *why = "TSC clocksource setup failed";
        return -1;
    }
    return 0;
}

/* Contract in platform.h. */
uint64_t pvt_guest_kvmclock_ns(struct pvt_guest_clocks *c)
{
    uint64_t ns = 0;

    pvt_pvclock_read(&c->pvg, &c->page, read_tsc, NULL, &ns, NULL);
    return ns;
}

/* ---- pv-singleshot and pv-periodic: pvtimer's monitor ---- */

static uint64_t pv_timebase(struct pvt_clockevent *dev)
{
    struct pvt_guest_devices *d = dev->priv;

    return pvt_guest_kvmclock_ns(d->clocks);
}

static void note_set(struct pvt_guest_devices *d, uint64_t deadline,
                     uint64_t now, int32_t ret)
{
    d->last.hv_deadline = deadline;
    d->last.hv_at_set = now;
    if (deadline <= now)
        d->last.past_sets++;
    if (ret < 0)
        d->last.errors++;
}

static int pv_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    struct pvt_guest_devices *d = dev->priv;
    struct pvt_hc_timer_singleshot a = {0};
    uint64_t now = pvt_guest_kvmclock_ns(d->clocks);

    a.deadline_ns = when;
    pvt_guest_hypercall(PVT_HC_TIMER_SINGLESHOT, &a);
    note_set(d, when, now, a.ret);
    return a.ret < 0 ? -PVT_ETIME : 0;
}

static int pv_set_rel(struct pvt_clockevent *dev, uint64_t ticks)
{
    struct pvt_guest_devices *d = dev->priv;
    struct pvt_hc_timer_relative a = {0};
    uint64_t now = pvt_guest_kvmclock_ns(d->clocks);

    a.delta_ns = ticks;
    pvt_guest_hypercall(PVT_HC_TIMER_RELATIVE, &a);
    /* the deadline the monitor made, from its own now: what a delayed
     * call cost is in it */
    note_set(d, a.ret == 0 ? a.deadline_ns : now + ticks, now, a.ret);
    return a.ret < 0 ? -PVT_ETIME : 0;
}

static int pv_stop(struct pvt_clockevent *dev)
{
    struct pvt_hc_timer_stop a = {0};

    (void)dev;
    pvt_guest_hypercall(PVT_HC_TIMER_STOP, &a);
    return a.ret < 0 ? -PVT_EINVAL : 0;
}

static int pv_periodic(struct pvt_clockevent *dev, uint64_t period_ns)
{
    struct pvt_hc_timer_periodic a = {0};

    (void)dev;
    a.period_ns = period_ns;
    pvt_guest_hypercall(PVT_HC_TIMER_PERIODIC, &a);
    return a.ret < 0 ? -PVT_EINVAL : 0;
}

static int pv_periodic_stop(struct pvt_clockevent *dev)
{
    return pv_periodic(dev, 0);
}

/* ---- lapic-deadline ---- */

static int lapic_set_abs(struct pvt_clockevent *dev, uint64_t when)
{
    (void)dev;
    /* 0 disarms: a deadline of 0 is long past anyway, so ask for 1 */
    pvt_cpu_set_tsc_deadline(when ? when : 1);
    return 0;
}

static uint64_t lapic_timebase(struct pvt_clockevent *dev)
{
    (void)dev;
    return pvt_rdtsc();
}

static int lapic_stop(struct pvt_clockevent *dev)
{
    (void)dev;
    pvt_cpu_set_tsc_deadline(0);
    return 0;
}

/* Contract in platform.h. */
int pvt_guest_devices_init(struct pvt_guest_devices *d,
                           struct pvt_guest_clocks *c, bool pv,
                           const char **why)
{
    uint64_t tsc_hz = c->tsc_khz * 1000;

    d->clocks = c;
    if (pv) {
        /* 1 ns ticks; the delta a programming takes is 32 bits of ns, as
         * in the simulator */
        d->single = (struct pvt_clockevent){
            .name = "pv-singleshot",
            .features = PVT_CE_FEAT_ONESHOT,
            .rating = 500,
            .set_next_event = pv_set_rel,
            .set_next_abs = pv_set_abs,
            .read_timebase = pv_timebase,
            .set_state_shutdown = pv_stop,
            .coupled_cs = &c->kvmclock.cs,
            .priv = d,
        };
        d->periodic = (struct pvt_clockevent){
            .name = "pv-periodic",
            .features = PVT_CE_FEAT_PERIODIC,
            .rating = 100,
            .set_state_periodic = pv_periodic,
            .set_state_shutdown = pv_periodic_stop,
            .priv = d,
        };
        if (pvt_clockevent_config(&d->single, PVT_NSEC_PER_SEC, 1000,
                                  UINT32_MAX) ||
            pvt_clockevent_config(&d->periodic, PVT_NSEC_PER_SEC, 1000,
                                  UINT32_MAX)) {
            *why = "pv device setup failed";
            return -1;
        }
    }
    if (!pvt_cpu_has_tsc_deadline()) {
        *why = "no LAPIC TSC-deadline timer (CPUID.1:ECX[24])";
        return -1;
    }
    pvt_wrmsr(MSR_X2APIC_LVT_TIMER, (2u << 17) | GUEST_VEC_LAPIC_TIMER);
    d->lapic = (struct pvt_clockevent){
        .name = "lapic-deadline",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 400,
        .set_next_abs = lapic_set_abs,
        .read_timebase = lapic_timebase,
        .set_state_shutdown = lapic_stop,
        .coupled_cs = &c->true_tsc,
        .priv = d,
    };
    /* up to 60 s ahead per programming (the queue splits longer waits) */
    if (tsc_hz > UINT32_MAX ||
        pvt_clockevent_config(&d->lapic, tsc_hz, 100, tsc_hz * 60)) {
        *why = "LAPIC device setup failed";
        return -1;
    }
    return 0;
}
