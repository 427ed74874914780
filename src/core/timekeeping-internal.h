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

/* pvt_timekeeper_ns_to_cycles() without the argument checks (tk
 * initialised, cycles not NULL). */
int pvt__timekeeper_ns_to_cycles(const struct pvt_timekeeper *tk, int64_t ns,
                                 uint64_t *cycles);

struct pvt_clockevent;

/*
 * pvt__timekeeper_now and dev's timebase at the same instant: one
 * read_paired of dev when the current clocksource is dev->paired_cs (see
 * clockevent.h), else the guest clock then dev->read_timebase. *dnow gets
 * the device's reading.
 */
int64_t pvt__timekeeper_now_paired(struct pvt_timekeeper *tk,
                                   struct pvt_clockevent *dev, uint64_t *dnow);

#endif /* PVTIMER_CORE_TIMEKEEPING_INTERNAL_H */
