/*
 * The timekeeper's unchecked entry points, for core code that holds a
 * timekeeper it has already validated (not installed).
 */
#ifndef PVTIMER_CORE_TIMEKEEPING_INTERNAL_H
#define PVTIMER_CORE_TIMEKEEPING_INTERNAL_H

#include "pvtimer/timekeeping.h"

/* pvt_timekeeper_now() / pvt_timekeeper_update() without the argument
 * checks: tk must be initialised (its clocksource usable). Same calling
 * context as the checked versions. */
int64_t pvt__timekeeper_now(struct pvt_timekeeper *tk);
int64_t pvt__timekeeper_update(struct pvt_timekeeper *tk);

#endif /* PVTIMER_CORE_TIMEKEEPING_INTERNAL_H */
