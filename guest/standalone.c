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
 *
 * With several CPUs (QEMU's -smp N, N <= PVT_CPU_MAX), the boot CPU
 * starts the others the way a kernel must without our monitor (INIT/SIPI
 * through a real-mode trampoline, boot-pvh.c); each registers its own
 * kvmclock page and runs the kvm-clock / delta chain on its own LAPIC
 * timer while the boot CPU runs its first pass, then all run the
 * cross-vCPU clock check (warp.h) on kvmclock, each reading its own page,
 * with the last-value guard where the pages do not promise a stable TSC.
 * The boot CPU prints every CPU's chain and the check (one writer on the
 * serial port).
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "guest.h"
#include "platform.h"
#include "pvtimer/pvtimer.h"
#include "warp.h"

#define STANDALONE_TIMERS 300u
/* the clock check's cross-CPU read pairs */
#define STANDALONE_WARP_PAIRS 1000000u

struct pass {
    struct pvt_cs_registry reg;
    struct pvt_timekeeper tk;
    struct pvt_timer_queue q;
    struct pvt_timer t;
    unsigned int armed, fired, early;
    uint32_t seed;
    int64_t late[STANDALONE_TIMERS];
};

/* Per CPU: its clocks (its kvmclock page), devices and pass. */
struct cpu {
    struct pvt_guest_clocks clocks;
    struct pvt_guest_devices dev;
    struct pass pass;
    int result;          /* its chain's: 0, or 1 */
    volatile bool ready; /* set up, in user mode */
    volatile bool done;  /* chain and clock check done */
};

static struct cpu cpus[PVT_CPU_MAX];
static unsigned int ncpu = 1;
static volatile bool go_check;
static struct pvt_guest_warp W;
static struct pvt_pvclock_guest warp_pvg;

/* Delays from 20 us to about 5 ms, from a fixed LCG: the same chain in
 * both passes and every run. */
static int64_t next_delay(struct pass *P)
{
    P->seed = P->seed * 1103515245u + 12345u;
    return 20000 + (int64_t)((P->seed >> 8) % 5000u) * 1000;
}

static void fired(struct pvt_timer *t)
{
    struct pass *P = t->data;
    int64_t now = pvt_timekeeper_now(&P->tk);

    if (now < t->expires)
        P->early++;
    P->late[P->fired++] = now - t->expires;
    if (P->armed < STANDALONE_TIMERS) {
        P->armed++;
        pvt_tq_arm_after(&P->q, &P->t, next_delay(P));
    }
}

static uint64_t read_tsc_ctx(void *ctx)
{
    (void)ctx;
    return pvt_rdtsc_ordered();
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

/* One pass of CPU c's chain (nothing printed: CPU 0 prints, see
 * print_pass); returns 0 when nothing was early and everything fired. */
static int pass(struct cpu *c, struct pvt_clocksource *cs,
                const struct pvt_strategy *strategy)
{
    struct pass *P = &c->pass;
    struct pvt_irq_state st;
    int rc;

    P->armed = P->fired = P->early = 0;
    P->seed = 1;
    if ((rc = pvt_timekeeper_init(&P->tk, cs, 0)) < 0 ||
        (rc = pvt_cs_registry_init(&P->reg, pvt_timekeeper_follow, &P->tk)) <
            0 ||
        (rc = pvt_cs_registry_add(&P->reg, cs)) < 0 ||
        (rc = pvt_clockevent_register(&c->dev.lapic, &P->tk)) < 0 ||
        (rc = pvt_clockevent_set_strategy(&c->dev.lapic, strategy, NULL)) < 0 ||
        (rc = pvt_tq_init(&P->q, &P->tk)) < 0 ||
        (rc = pvt_tq_set_device(&P->q, &c->dev.lapic)) < 0)
        return 2;
    pvt_timer_init(&P->t, fired, P);
    P->armed = 1;
    pvt_tq_arm_after(&P->q, &P->t, next_delay(P));
    while (P->fired < STANDALONE_TIMERS) {
        pvt_cpu_wait(&st);
        if (st.pending & (1u << PVT_IRQ_LAPIC_TIMER))
            pvt_clockevent_event(&c->dev.lapic);
    }
    sort(P->late, P->fired);
    pvt_tq_set_device(&P->q, NULL);
    pvt_clockevent_unregister(&c->dev.lapic);
    return P->early ? 1 : 0;
}

static void print_pass(unsigned int i, const char *clock,
                       const struct pvt_strategy *strategy)
{
    const struct pass *P = &cpus[i].pass;

    if (i > 0)
        pvt_guest_printf("guest: standalone: vCPU %u: ", i);
    else
        pvt_guest_printf("guest: standalone: ");
    if (P->fired == 0) {
        pvt_guest_printf("setup failed\n");
        return;
    }
    pvt_guest_printf(
        "lapic-deadline, %s clock, %s: %u "
        "timers, %u early, %lu spurious, lateness p50 %ld ns, "
        "p99 %ld ns, max %ld ns\n",
        clock, strategy->name, P->fired, P->early,
        (unsigned long)P->q.stats.spurious, (long)P->late[P->fired / 2],
        (long)P->late[P->fired * 99 / 100], (long)P->late[P->fired - 1]);
}

/* The clock check's clock: kvmclock from this CPU's own page. */
static int64_t kvmclock_now(void *ctx)
{
    struct cpu *c = ctx;
    uint64_t ns = 0;

    pvt_pvclock_read(&warp_pvg, &c->clocks.page, read_tsc_ctx, NULL, &ns, NULL);
    return (int64_t)ns;
}

static _Noreturn void run_user(void *arg)
{
    struct cpu *c = &cpus[0];
    unsigned int i;
    int bad = 0;

    (void)arg;
    for (i = 1; i < ncpu; i++)
        while (!cpus[i].ready)
            __asm__ volatile("pause");
    bad |= pass(c, &c->clocks.kvmclock.cs, &pvt_strategy_delta) != 0;
    print_pass(0, c->clocks.kvmclock.cs.name, &pvt_strategy_delta);
    /* the device counts the TSC clocksource's cycles: coupled is exact */
    c->dev.lapic.coupled_cs = &c->clocks.tsc;
    bad |= pass(c, &c->clocks.tsc, &pvt_strategy_coupled) != 0;
    print_pass(0, c->clocks.tsc.name, &pvt_strategy_coupled);
    if (ncpu > 1) {
        go_check = true;
        pvt_guest_warp_run(&W, 0, STANDALONE_WARP_PAIRS, kvmclock_now, c);
        for (i = 1; i < ncpu; i++) {
            while (!cpus[i].done)
                __asm__ volatile("pause");
            print_pass(i, cpus[i].clocks.kvmclock.cs.name, &pvt_strategy_delta);
            bad |= cpus[i].result != 0;
        }
        pvt_guest_printf(
            "guest: standalone: clock check on %u vCPUs: %lu "
            "reads, %lu cross-vCPU pairs, %lu went backwards "
            "(largest step %lu ns; pages %s, guard %s)\n",
            ncpu, (unsigned long)W.reads, (unsigned long)W.pairs,
            (unsigned long)W.backwards, (unsigned long)W.backwards_max,
            (c->clocks.page.flags & PVT_PVCLOCK_TSC_STABLE) ? "TSC_STABLE"
                                                            : "not stable",
            (c->clocks.page.flags & warp_pvg.valid_flags &
             PVT_PVCLOCK_TSC_STABLE)
                ? "off"
                : "on");
        bad |= W.backwards != 0;
    }
    pvt_guest_exit(bad);
}

/* An application processor, in user mode: its chain while CPU 0 runs its
 * first pass, then the clock check. */
static _Noreturn void ap_user(void *arg)
{
    struct cpu *c = arg;
    unsigned int me = (unsigned int)(c - cpus);

    c->ready = true;
    c->result = pass(c, &c->clocks.kvmclock.cs, &pvt_strategy_delta);
    while (!go_check)
        __asm__ volatile("pause");
    pvt_guest_warp_run(&W, me, STANDALONE_WARP_PAIRS, kvmclock_now, c);
    c->done = true;
    pvt_cpu_stop(false);
}

static void ap_user_entry(void *arg)
{
    ap_user(arg);
}

/* An application processor, in kernel mode: its APIC, its kvmclock page,
 * its LAPIC timer. */
static void ap_kernel(unsigned int index, void *arg)
{
    struct cpu *c = &cpus[index];
    const char *why = "";

    (void)arg;
    if (!pvt_cpu_init_x2apic() ||
        pvt_guest_clocks_init(&c->clocks, 0, &why) < 0 ||
        pvt_guest_devices_init(&c->dev, &c->clocks, false, &why) < 0) {
        c->result = 3;
        c->ready = true;
        c->done = true;
        return;
    }
    pvt_cpu_run_user(ap_user_entry, c);
}

static void run_user_entry(void *arg)
{
    run_user(arg);
}

/* Contract in guest.h. */
int pvt_guest_standalone(void)
{
    struct cpu *c = &cpus[0];
    const char *why = "";
    unsigned int i;

    pvt_cpu_init_idt();
    if (!pvt_cpu_init_x2apic()) {
        pvt_guest_puts("guest: standalone: no x2APIC\n");
        return 3;
    }
    if (pvt_guest_clocks_init(&c->clocks, 0, &why) < 0 ||
        pvt_guest_devices_init(&c->dev, &c->clocks, false, &why) < 0) {
        pvt_guest_printf("guest: standalone: %s\n", why);
        return 3;
    }
    pvt_guest_printf("guest: standalone: kvmclock, TSC %lu kHz, LAPIC "
                     "TSC-deadline\n",
                     (unsigned long)c->clocks.tsc_khz);
    ncpu = pvt_guest_pvh_cpus();
    if (ncpu > PVT_CPU_MAX)
        ncpu = PVT_CPU_MAX;
    /* the clock check's guard: as Linux, only where the pages do not
     * promise a stable TSC and the host says it sets that bit right */
    pvt_pvclock_guest_init(&warp_pvg, c->clocks.pvg.valid_flags);
    for (i = 1; i < ncpu; i++) {
        if (pvt_guest_pvh_start_ap(i, ap_kernel, NULL, c->clocks.tsc_khz) < 0) {
            pvt_guest_printf("guest: standalone: vCPU %u did not start\n", i);
            return 3;
        }
    }
    if (ncpu > 1)
        pvt_guest_printf("guest: standalone: %u vCPUs, the others started "
                         "with INIT/SIPI\n",
                         ncpu);
    pvt_cpu_run_user(run_user_entry, NULL);
}
