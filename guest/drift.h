/*
 * The guest's drift measurement (guest/drift.c).
 */
#ifndef PVTIMER_GUEST_DRIFT_H
#define PVTIMER_GUEST_DRIFT_H

/*
 * Measures the guest's TSC clocksource against kvmclock as args
 * ("interval_us=N samples=N tsc_cal_ppb=N", each optional) says,
 * sending the estimator's updates with PVT_HC_RESULT; runs in user mode
 * and exits the guest with status 0 when done (3 on a monitor failure).
 * Returns 2 for bad arguments, 3 when the CPU lacks something, before
 * user mode.
 */
int pvt_guest_drift(const char *args);

#endif /* PVTIMER_GUEST_DRIFT_H */
