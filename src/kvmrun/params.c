/*
 * A scenario's parameters for a real run (contract in kvmrun.h).
 */
#include <math.h>
#include <stddef.h>

#include "kvmrun.h"

int pvt_kvmrun_shorten(struct pvt_sim_params *p)
{
    double scale;

    if (p == NULL)
        return -1;
    scale = p->duration_s > PVT_KVMRUN_DURATION_S
                ? PVT_KVMRUN_DURATION_S / p->duration_s
                : 1.0;
    if (p->migrate_at_s >= 0)
        p->migrate_at_s *= scale;
    p->boot_s = fmin(p->boot_s, PVT_KVMRUN_BOOT_S);
    p->duration_s = fmin(p->duration_s, PVT_KVMRUN_DURATION_S);
    p->drain_s = fmin(p->drain_s, PVT_KVMRUN_DRAIN_S);
    p->delta_max_s = fmin(p->delta_max_s, PVT_KVMRUN_DELTA_MAX_S);
    if (p->delta_min_us * 1e3 > p->delta_max_s * 1e9)
        p->delta_min_us = p->delta_max_s * 1e6 / 10;
    p->timer_rate_hz = fmin(p->timer_rate_hz, PVT_KVMRUN_RATE_HZ);
    p->hz = fmin(p->hz, PVT_KVMRUN_HZ);
    return 0;
}
