/*
 * The guest's clocks and timer devices, as a kernel's drivers would set
 * them up, for the core to use:
 *
 *   kvmclock   the pvclock page KVM fills (MSR_KVM_SYSTEM_TIME_NEW), read
 *              by the core's pvclock reader: the hypervisor's clock
 *   tsc        the TSC at the frequency the guest calibrated: KVM's
 *              pvclock scale turned into whole kHz (as Linux's
 *              kvm_get_tsc_khz does), optionally off by an injected error
 *   true_tsc   the TSC at the uncorrupted whole-kHz frequency: the run's
 *              reference time (workload arrivals, milestones), which a
 *              kvmclock jump does not move
 *
 *   pv-singleshot  pvtimer's monitor's singleshot timer: absolute kvmclock
 *                  ns (set_next_abs), or the relative op (set_next_event)
 *   pv-periodic    its periodic timer (the boot tick)
 *   lapic-deadline the LAPIC TSC-deadline timer: absolute guest TSC, the
 *                  device `coupled` pairs with a TSC clocksource
 */
#ifndef PVTIMER_GUEST_PLATFORM_H
#define PVTIMER_GUEST_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "pvtimer/pvtimer.h"

struct pvt_guest_clocks {
    struct pvt_pvclock_vcpu_time_info page __attribute__((aligned(64)));
    struct pvt_pvclock_guest pvg;
    struct pvt_pvclock_clocksource kvmclock;
    uint64_t tsc_khz; /* whole kHz, from the pvclock scale */
    struct pvt_clocksource tsc;
    struct pvt_clocksource true_tsc;
};

/*
 * Finds KVM's paravirtual clock (CPUID 0x40000000 "KVMKVMKVM", feature
 * clocksource2), installs the page and the three clocksources; the tsc one
 * is calibrated tsc_cal_ppb parts per 10^9 off. Returns 0, or -1 with a
 * reason in *why.
 */
int pvt_guest_clocks_init(struct pvt_guest_clocks *c, int64_t tsc_cal_ppb,
                          const char **why);

/* The hypervisor's clock now (kvmclock ns), read without the clocksource's
 * bookkeeping. */
uint64_t pvt_guest_kvmclock_ns(struct pvt_guest_clocks *c);

/* What a pv-singleshot programming asked the hypervisor for. */
struct pvt_guest_pv_last {
    uint64_t hv_deadline; /* kvmclock ns asked for (relative: what the
                             monitor made of it, its now + delta) */
    uint64_t hv_at_set;   /* kvmclock when it was set */
    uint64_t past_sets;   /* deadlines already past when set */
    uint64_t errors;      /* hypercalls the monitor refused */
};

struct pvt_guest_devices {
    struct pvt_guest_clocks *clocks;
    struct pvt_clockevent single;   /* pv-singleshot */
    struct pvt_clockevent periodic; /* pv-periodic */
    struct pvt_clockevent lapic;    /* lapic-deadline */
    struct pvt_guest_pv_last last;
};

/*
 * Fills in and configures the devices (not registered: the caller
 * registers each with its timekeeper). The pv devices use pvtimer's
 * monitor; the LAPIC timer needs the x2APIC and TSC-deadline, and its LVT
 * is set to TSC-deadline mode at GUEST_VEC_LAPIC_TIMER. Returns 0 or -1
 * with a reason in *why.
 */
int pvt_guest_devices_init(struct pvt_guest_devices *d,
                           struct pvt_guest_clocks *c, bool pv,
                           const char **why);

#endif /* PVTIMER_GUEST_PLATFORM_H */
