/*
 * Between the clockevent layer and the strategies (not installed).
 */
#ifndef PVTIMER_CORE_CLOCKEVENT_INTERNAL_H
#define PVTIMER_CORE_CLOCKEVENT_INTERNAL_H

#include "pvtimer/clockevent.h"

/* Hand the device a relative delta in ticks / an absolute time in its
 * timebase, recording it in dev->last. Return the driver's result. */
int pvt__ce_set_relative(struct pvt_clockevent *dev, uint64_t ticks);
int pvt__ce_set_absolute(struct pvt_clockevent *dev, uint64_t when);

#endif /* PVTIMER_CORE_CLOCKEVENT_INTERNAL_H */
