/*
 * The driver itself (see driver.h): about forty lines between the platform
 * and the core.
 */
#include "driver.h"

static struct pv_timer_cpu *cpu_of(struct pvt_clockevent *dev)
{
    return dev->priv;
}

/* The device's timebase is the hypervisor's clock: the pvclock itself. */
static uint64_t read_hv_clock(struct pvt_clockevent *dev)
{
    struct pv_timer_cpu *c = cpu_of(dev);
    uint64_t ns = 0;

    if (pvt_pvclock_read(&c->pvg, c->plat->pvclock_page, c->plat->read_tsc,
                         c->plat->ctx, &ns, NULL) != 0)
        return c->pcs.last_ns; /* a page being rewritten: last good time */
    return ns;
}

static int set_abs(struct pvt_clockevent *dev, uint64_t hv_ns)
{
    struct pv_timer_cpu *c = cpu_of(dev);

    return c->plat->set_singleshot(c->plat->ctx, hv_ns);
}

static int shutdown(struct pvt_clockevent *dev)
{
    struct pv_timer_cpu *c = cpu_of(dev);

    c->plat->stop_singleshot(c->plat->ctx);
    return 0;
}

int pv_timer_init(struct pv_timer_cpu *c, const struct pv_platform *plat)
{
    int rc;

    if (!c || !plat || !plat->read_tsc || !plat->set_singleshot ||
        !plat->stop_singleshot || !plat->pvclock_page)
        return -PVT_EINVAL;
    c->plat = plat;
    /* The guest clock: the pvclock page as a clocksource, honouring the
     * page's TSC-stable flag, starting at 0 at the guest's boot. */
    rc = pvt_pvclock_guest_init(&c->pvg, PVT_PVCLOCK_TSC_STABLE);
    if (rc == 0)
        rc = pvt_pvclock_clocksource_init(&c->pcs, "pvclock", &c->pvg,
                                          plat->pvclock_page, plat->read_tsc,
                                          plat->ctx);
    if (rc == 0)
        rc = pvt_timekeeper_init(&c->tk, &c->pcs.cs, 0);
    if (rc)
        return rc;

    /* The device: oneshot, 1 ns ticks, absolute deadlines in hypervisor
     * ns; the hypervisor's slop (100 us) as the shortest delta and a 32-bit
     * nanosecond count as the longest, as Linux's Xen driver does. */
    c->dev = (struct pvt_clockevent){
        .name = "pv-singleshot",
        .features = PVT_CE_FEAT_ONESHOT,
        .rating = 500,
        .set_next_abs = set_abs,
        .read_timebase = read_hv_clock,
        .set_state_shutdown = shutdown,
        .priv = c,
    };
    rc = pvt_clockevent_config(&c->dev, PVT_NSEC_PER_SEC, 100000, UINT32_MAX);
    if (rc == 0)
        rc = pvt_clockevent_register(&c->dev, &c->tk);
    /* delta: hypervisor now + (deadline - guest now), read afresh at every
     * programming, so the two clocks' different origins and rates never
     * accumulate (docs/design.md) */
    if (rc == 0)
        rc = pvt_clockevent_set_strategy(&c->dev, pvt_strategy_find("delta"),
                                         NULL);
    if (rc == 0)
        rc = pvt_tq_init(&c->queue, &c->tk);
    if (rc == 0)
        rc = pvt_tq_set_device(&c->queue, &c->dev);
    return rc;
}

void pv_timer_interrupt(struct pv_timer_cpu *c)
{
    /* the core runs the timers that are due (never one early) and
     * programs the device for the next */
    (void)pvt_clockevent_event(&c->dev);
}
