/*
 * pvtimer: the whole public API of the core.
 *
 *   base.h         error codes, time constants, overflow-safe arithmetic
 *   clocksource.h  clocksources, mult/shift, the registry, jiffies
 *   pvclock.h      the pvclock ABI (KVM/Xen), its reader and writer
 *   timekeeping.h  the guest monotonic clock
 *   clockevent.h   clockevent devices and programming
 *   strategy.h     guest deadline -> device deadline conversions
 *   drift.h        drift estimation, the `compensated` strategy's estimator
 *   histogram.h    log histograms of ns values (lateness, device error)
 *   ladder.h       the ordered container of the timer queue, usable alone
 *   timerqueue.h   the never-early timer queue
 *   tick.h         periodic / emulated / high-res tick, tickless idle
 */
#ifndef PVTIMER_PVTIMER_H
#define PVTIMER_PVTIMER_H

#include "pvtimer/base.h"
#include "pvtimer/clockevent.h"
#include "pvtimer/clocksource.h"
#include "pvtimer/drift.h"
#include "pvtimer/histogram.h"
#include "pvtimer/ladder.h"
#include "pvtimer/pvclock.h"
#include "pvtimer/strategy.h"
#include "pvtimer/tick.h"
#include "pvtimer/timekeeping.h"
#include "pvtimer/timerqueue.h"

#define PVTIMER_VERSION_MAJOR 0
#define PVTIMER_VERSION_MINOR 1
#define PVTIMER_VERSION_PATCH 0

#endif /* PVTIMER_PVTIMER_H */
