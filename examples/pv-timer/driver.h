/*
 * A minimal guest timer driver on pvtimer's core: the part of a guest
 * kernel that a guest-OS developer writes. It is freestanding (no libc)
 * and uses only the installed headers.
 *
 * The platform it drives is a paravirtual one, as under Xen or KVM:
 *   - a pvclock page the hypervisor publishes (the guest's clocksource),
 *     read with the vCPU's TSC;
 *   - a singleshot timer that takes an absolute deadline in hypervisor ns
 *     (Xen's VCPUOP_set_singleshot_timer, pvtimer's TIMER_SET hypercall);
 *     its interrupt calls pv_timer_interrupt().
 * What the platform provides is a struct of function pointers, so the same
 * driver runs under a real hypervisor and in main.c's in-process model.
 */
#ifndef PV_TIMER_DRIVER_H
#define PV_TIMER_DRIVER_H

#include <pvtimer/pvtimer.h>

struct pv_platform {
    /* The vCPU's TSC now. */
    uint64_t (*read_tsc)(void *ctx);
    /* Arm the singleshot timer at hv_ns (hypervisor ns); 0 or -PVT_ETIME. */
    int (*set_singleshot)(void *ctx, uint64_t hv_ns);
    /* Stop it. */
    void (*stop_singleshot)(void *ctx);
    /* This vCPU's pvclock page (written by the hypervisor). */
    const struct pvt_pvclock_vcpu_time_info *pvclock_page;
    void *ctx;
};

/* Everything the driver owns for one vCPU: caller-allocated, no globals. */
struct pv_timer_cpu {
    const struct pv_platform *plat;
    struct pvt_pvclock_guest pvg;      /* one per guest in an SMP guest */
    struct pvt_pvclock_clocksource pcs; /* the guest's clocksource */
    struct pvt_timekeeper tk;          /* the guest's monotonic clock */
    struct pvt_clockevent dev;         /* the singleshot timer */
    struct pvt_timer_queue queue;      /* this vCPU's timers */
};

/*
 * Bring timekeeping and the timer up on plat: the guest clock starts at 0
 * (its boot), the device is programmed with the `delta` strategy, and the
 * queue owns it. Returns 0 or a negative PVT_E* code from the core.
 * Context: boot, interrupts off.
 */
int pv_timer_init(struct pv_timer_cpu *c, const struct pv_platform *plat);

/* The singleshot timer's interrupt handler. Context: interrupt. */
void pv_timer_interrupt(struct pv_timer_cpu *c);

#endif /* PV_TIMER_DRIVER_H */
