/*
 * `pvtimer drift --kvm` inside the guest: the guest's TSC clocksource (A,
 * at the whole-kHz frequency it calibrates from the kvmclock page, off by
 * an optional injected error) against kvmclock (B), through the core's
 * drift estimator, in the manner of phc2sys: every interval several
 * (A, B, A) brackets, the narrowest kept; each update goes to the monitor
 * (PVT_HC_RESULT, PVT_RESULT_DRIFT).
 *
 * Command line: `drift interval_us=N samples=N tsc_cal_ppb=N`. It runs
 * in ring 3 (cpu.h) and sleeps between samples on the LAPIC TSC-deadline
 * timer. A change of the kvmclock page's scale or flags (a migration, a
 * pause) is the samples' epoch: the estimator restarts instead of
 * smearing.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "drift.h"
#include "guest.h"
#include "platform.h"
#include "pvtimer/pvexp.h"
#include "pvtimer/pvtimer.h"

#define BRACKETS 5 /* tries per sample, as phc2sys's default */

static struct pvt_guest_clocks clocks;
static struct pvt_guest_devices dev;
static struct pvt_timekeeper tk; /* A: the TSC clocksource as ns */
static struct pvt_drift est;
static struct pvt_result_drift out[PVT_RESULT_DRIFT_BATCH_MAX];
static uint32_t nout;
static int64_t interval_us = 100000, samples = 101, tsc_cal_ppb;

static uint64_t read_a(void *ctx)
{
    (void)ctx;
    return (uint64_t)pvt_timekeeper_now(&tk);
}

static uint64_t read_b(void *ctx)
{
    (void)ctx;
    return pvt_guest_kvmclock_ns(&clocks);
}

static uint64_t tsc_read(void *ctx)
{
    (void)ctx;
    return pvt_rdtsc();
}

static void flush(void)
{
    struct pvt_hc_result a = {0};

    if (nout == 0)
        return;
    a.type = PVT_RESULT_DRIFT;
    a.count = nout;
    a.data = (uint64_t)(uintptr_t)out;
    pvt_guest_hypercall(PVT_HC_RESULT, &a);
    if (a.ret < 0) {
        pvt_guest_printf("guest: drift: the monitor refused updates (%d)\n",
                         (int)a.ret);
        pvt_guest_exit(3);
    }
    nout = 0;
}

/* Sleeps until the TSC reaches tsc (interrupts wake it early: it
 * re-checks). */
static void sleep_until(uint64_t tsc)
{
    struct pvt_irq_state st;

    while (pvt_rdtsc() < tsc) {
        pvt_cpu_set_tsc_deadline(tsc);
        pvt_cpu_wait(&st);
    }
}

static _Noreturn void run_user(void *arg)
{
    uint64_t start_tsc, step;
    int64_t start;
    uint64_t n = 0;

    (void)arg;
    struct pvt_drift_config cfg;

    /* the sampling interval is the caller's: keep every sample */
    pvt_drift_config_default(&cfg);
    cfg.min_interval_ns = 0;
    if (pvt_timekeeper_init(&tk, &clocks.tsc, 0) < 0 ||
        pvt_drift_init(&est, &cfg) < 0)
        pvt_guest_exit(3);
    step = (uint64_t)interval_us * clocks.tsc_khz / 1000;
    start_tsc = pvt_rdtsc();
    start = pvt_timekeeper_now(&tk);
    /* a sample count, not a duration in the guest's clock: a TSC
     * calibrated wrong must not make more updates than asked for */
    while (n < (uint64_t)samples) {
        struct pvt_pvclock_snapshot snap;
        struct pvt_drift_sample s;
        struct pvt_drift_estimate e;
        struct pvt_result_drift *u;
        int64_t now = pvt_timekeeper_now(&tk) - start;

        if (pvt_drift_measure(read_a, NULL, read_b, NULL, BRACKETS, &s) == 0) {
            if (pvt_pvclock_snapshot(&clocks.pvg, &clocks.page, tsc_read, NULL,
                                     &snap) == 0)
                pvt_pvclock_epoch(&snap, &s.epoch);
            pvt_drift_feed(&est, &s);
            pvt_drift_get(&est, &e);
            u = &out[nout++];
            u->t_ns = now;
            u->offset_ns = e.offset_ns;
            u->slope_q48 = e.slope_q48;
            u->delay_ns = s.delay_ns;
            u->state = (uint32_t)e.state;
            u->window = e.window;
            u->steps = e.steps;
            u->dropped = e.dropped;
            if (nout == PVT_RESULT_DRIFT_BATCH_MAX)
                flush();
        }
        n++;
        sleep_until(start_tsc + n * step);
    }
    flush();
    pvt_guest_exit(0);
}

static void run_user_entry(void *arg)
{
    run_user(arg);
}

/* Contract in drift.h. */
int pvt_guest_drift(const char *args)
{
    const char *why = "";

    if (pvt_guest_arg_int(args, "interval_us", &interval_us) < 0 ||
        pvt_guest_arg_int(args, "samples", &samples) < 0 ||
        pvt_guest_arg_int(args, "tsc_cal_ppb", &tsc_cal_ppb) < 0 ||
        interval_us < 1000 || interval_us > 60000000 || samples <= 0 ||
        samples > 100000000 || tsc_cal_ppb <= -1000000000 ||
        tsc_cal_ppb >= 1000000000) {
        pvt_guest_printf("guest: drift: bad arguments '%s'\n", args);
        return 2;
    }
    pvt_cpu_init_idt();
    if (!pvt_cpu_init_x2apic()) {
        pvt_guest_printf("guest: drift: no x2APIC\n");
        return 3;
    }
    if (pvt_guest_clocks_init(&clocks, tsc_cal_ppb, &why) < 0 ||
        pvt_guest_devices_init(&dev, &clocks, false, &why) < 0) {
        pvt_guest_printf("guest: drift: %s\n", why);
        return 3;
    }
    pvt_cpu_run_user(run_user_entry, NULL);
}
