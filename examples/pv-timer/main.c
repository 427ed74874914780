/*
 * Runs the driver of driver.c on an in-process model of its platform, so
 * that the example is built and run anywhere (CI does): a TSC at 2.4 GHz,
 * a hypervisor whose clock has been up for three days, its pvclock page,
 * and a singleshot timer that fires 20 us after its deadline (the
 * hypervisor's delivery latency). The guest arms 1,000 timers, each of
 * which re-arms itself once from its callback, and checks that every one
 * runs exactly once per arming and never before its deadline.
 *
 * Exit status: 0 when all of that holds, 1 otherwise.
 */
#include <stdio.h>

#include "driver.h"

#define TSC_HZ        2400000000ull
#define HV_UPTIME_NS  (3ull * 86400 * PVT_NSEC_PER_SEC)
#define LATENCY_NS    20000u
#define STEP_CYCLES   (TSC_HZ / 1000000) /* the model advances 1 us a step */
#define NTIMERS       1000

struct model {
    uint64_t tsc;
    struct pvt_pvclock_vcpu_time_info page;
    uint64_t deadline; /* hypervisor ns, 0: not armed */
};

static uint64_t model_tsc(void *ctx)
{
    return ((struct model *)ctx)->tsc;
}

static int model_set(void *ctx, uint64_t hv_ns)
{
    ((struct model *)ctx)->deadline = hv_ns ? hv_ns : 1;
    return 0;
}

static void model_stop(void *ctx)
{
    ((struct model *)ctx)->deadline = 0;
}

/* The hypervisor's view of its clock: the page's own conversion. */
static uint64_t model_hv_ns(struct model *m)
{
    struct pvt_pvclock_snapshot s;

    if (pvt_pvclock_snapshot(NULL, &m->page, model_tsc, m, &s))
        return 0;
    return pvt_pvclock_snapshot_ns(&s);
}

struct guest_timer {
    struct pvt_timer t;
    struct pv_timer_cpu *cpu;
    int64_t deadline;
    int runs;
};

static unsigned long early, fired;
static int64_t max_late;

static void on_timer(struct pvt_timer *t)
{
    struct guest_timer *g = t->data;
    int64_t now = pvt_timekeeper_now(&g->cpu->tk);

    fired++;
    if (now < g->deadline)
        early++;
    else if (now - g->deadline > max_late)
        max_late = now - g->deadline;
    /* re-arm once, from the callback, 1 ms on */
    if (++g->runs == 1) {
        g->deadline = now + 1000000;
        if (pvt_tq_arm(&g->cpu->queue, &g->t, g->deadline))
            early++; /* counted as a failure */
    }
}

int main(void)
{
    static struct model m;
    static struct pv_timer_cpu cpu;
    static struct guest_timer timers[NTIMERS];
    struct pvt_pvclock_params pp = {.system_time = HV_UPTIME_NS};
    struct pv_platform plat = {
        .read_tsc = model_tsc,
        .set_singleshot = model_set,
        .stop_singleshot = model_stop,
        .pvclock_page = &m.page,
        .ctx = &m,
    };
    uint64_t seed = 1, irqs = 0;
    int64_t last_deadline = 0;
    int i, rc;

    m.tsc = 1000;
    pp.tsc_timestamp = m.tsc;
    pp.flags = PVT_PVCLOCK_TSC_STABLE;
    if (pvt_pvclock_time_scale(PVT_NSEC_PER_SEC, TSC_HZ, &pp.shift, &pp.mul) ||
        pvt_pvclock_write(&m.page, &pp)) {
        fprintf(stderr, "pv-timer: cannot publish the pvclock page\n");
        return 1;
    }
    rc = pv_timer_init(&cpu, &plat);
    if (rc) {
        fprintf(stderr, "pv-timer: driver init: %s\n", pvt_strerror(rc));
        return 1;
    }

    /* deadlines from 10 us to about 500 ms, in no particular order */
    for (i = 0; i < NTIMERS; i++) {
        struct guest_timer *g = &timers[i];
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        g->cpu = &cpu;
        g->deadline = 10000 + (int64_t)((seed >> 33) % 500000000u);
        if (g->deadline > last_deadline)
            last_deadline = g->deadline;
        if (pvt_timer_init(&g->t, on_timer, g) ||
            pvt_tq_arm(&cpu.queue, &g->t, g->deadline)) {
            fprintf(stderr, "pv-timer: cannot arm timer %d\n", i);
            return 1;
        }
    }

    /* the hypervisor: time passes; the singleshot timer fires LATENCY_NS
     * after its deadline and interrupts the vCPU */
    while (pvt_tq_earliest(&cpu.queue) != PVT_TIME_MAX) {
        m.tsc += STEP_CYCLES;
        if (m.deadline && model_hv_ns(&m) >= m.deadline + LATENCY_NS) {
            m.deadline = 0;
            irqs++;
            pv_timer_interrupt(&cpu);
        }
        if (pvt_timekeeper_now(&cpu.tk) > last_deadline + 2 * 1000000000ll)
            break; /* something is lost: stop and report it */
    }

    printf("pv-timer: %lu callbacks for %d timers armed twice, %lu early, "
           "%llu interrupts, lateness max %lld ns\n",
           fired, NTIMERS, early, (unsigned long long)irqs,
           (long long)max_late);
    if (fired != 2 * NTIMERS || early) {
        fprintf(stderr, "pv-timer: FAILED\n");
        return 1;
    }
    return 0;
}
