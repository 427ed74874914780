/*
 * What the guest runs without pvtimer's monitor (under QEMU with KVM, or
 * any KVM): the kvmclock and LAPIC TSC-deadline paths, with nothing of
 * pvtimer's hypercall interface.
 *
 * Two passes over the same timer chain on the LAPIC TSC-deadline timer,
 * each timer armed when the previous one fires, STANDALONE_TIMERS of them
 * with delays from 20 us to 5 ms:
 *   kvm-clock / delta   the guest clock is kvmclock; the device counts
 *                       TSC cycles, so `delta` converts each deadline
 *   tsc / coupled       the guest clock is the TSC (calibrated from the
 *                       kvmclock page), the clock the device counts, so
 *                       `coupled` converts exactly
 * Each prints its timers, early callbacks (must be 0), spurious
 * interrupts and lateness p50 / p99 / max on the console (the serial port
 * under QEMU); the guest exits 0 when no callback was early and every
 * timer fired.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "guest.h"
#include "platform.h"
#include "pvtimer/pvtimer.h"

#define STANDALONE_TIMERS 300u

struct pass {
    struct pvt_cs_registry reg;
    struct pvt_timekeeper tk;
    struct pvt_timer_queue q;
    struct pvt_timer t;
    unsigned int armed, fired, early;
    uint32_t seed;
    int64_t late[STANDALONE_TIMERS];
};

static struct pvt_guest_clocks clocks;
static struct pvt_guest_devices dev;
static struct pass P;

/* Delays from 20 us to about 5 ms, from a fixed LCG: the same chain in
 * both passes and every run. */
static int64_t next_delay(void)
{
    P.seed = P.seed * 1103515245u + 12345u;
    return 20000 + (int64_t)((P.seed >> 8) % 5000u) * 1000;
}

static void fired(struct pvt_timer *t)
{
    int64_t now = pvt_timekeeper_now(&P.tk);

    if (now < t->expires)
        P.early++;
    P.late[P.fired++] = now - t->expires;
    if (P.armed < STANDALONE_TIMERS) {
        P.armed++;
        pvt_tq_arm_after(&P.q, &P.t, next_delay());
    }
}

static void sort(int64_t *v, unsigned int n)
{
    unsigned int i, j;

    for (i = 1; i < n; i++) {
        int64_t x = v[i];
        for (j = i; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* One pass; returns 0 when nothing was early and everything fired. */
static int pass(struct pvt_clocksource *cs, const struct pvt_strategy *strategy)
{
    struct pvt_irq_state st;
    int rc;

    P.armed = P.fired = P.early = 0;
    P.seed = 1;
    if ((rc = pvt_timekeeper_init(&P.tk, cs, 0)) < 0 ||
        (rc = pvt_cs_registry_init(&P.reg, pvt_timekeeper_follow, &P.tk)) < 0 ||
        (rc = pvt_cs_registry_add(&P.reg, cs)) < 0 ||
        (rc = pvt_clockevent_register(&dev.lapic, &P.tk)) < 0 ||
        (rc = pvt_clockevent_set_strategy(&dev.lapic, strategy, NULL)) < 0 ||
        (rc = pvt_tq_init(&P.q, &P.tk)) < 0 ||
        (rc = pvt_tq_set_device(&P.q, &dev.lapic)) < 0) {
        pvt_guest_printf("guest: standalone: setup: %s\n", pvt_strerror(rc));
        return 1;
    }
    pvt_timer_init(&P.t, fired, NULL);
    P.armed = 1;
    pvt_tq_arm_after(&P.q, &P.t, next_delay());
    while (P.fired < STANDALONE_TIMERS) {
        pvt_cpu_wait(&st);
        if (st.pending & (1u << PVT_IRQ_LAPIC_TIMER))
            pvt_clockevent_event(&dev.lapic);
    }
    sort(P.late, P.fired);
    pvt_guest_printf(
        "guest: standalone: lapic-deadline, %s clock, %s: %u "
        "timers, %u early, %lu spurious, lateness p50 %ld ns, "
        "p99 %ld ns, max %ld ns\n",
        cs->name, strategy->name, P.fired, P.early,
        (unsigned long)P.q.stats.spurious, (long)P.late[P.fired / 2],
        (long)P.late[P.fired * 99 / 100], (long)P.late[P.fired - 1]);
    pvt_tq_set_device(&P.q, NULL);
    pvt_clockevent_unregister(&dev.lapic);
    return P.early ? 1 : 0;
}

static _Noreturn void run_user(void *arg)
{
    int bad = 0;

    (void)arg;
    bad |= pass(&clocks.kvmclock.cs, &pvt_strategy_delta);
    /* the device counts the TSC clocksource's cycles: coupled is exact */
    dev.lapic.coupled_cs = &clocks.tsc;
    bad |= pass(&clocks.tsc, &pvt_strategy_coupled);
    pvt_guest_exit(bad);
}

static void run_user_entry(void *arg)
{
    run_user(arg);
}

/* Contract in guest.h. */
int pvt_guest_standalone(void)
{
    const char *why = "";

    pvt_cpu_init_idt();
    if (!pvt_cpu_init_x2apic()) {
        pvt_guest_puts("guest: standalone: no x2APIC\n");
        return 3;
    }
    if (pvt_guest_clocks_init(&clocks, 0, &why) < 0 ||
        pvt_guest_devices_init(&dev, &clocks, false, &why) < 0) {
        pvt_guest_printf("guest: standalone: %s\n", why);
        return 3;
    }
    pvt_guest_printf("guest: standalone: kvmclock, TSC %lu kHz, LAPIC "
                     "TSC-deadline\n",
                     (unsigned long)clocks.tsc_khz);
    pvt_cpu_run_user(run_user_entry, NULL);
}
