/*
 * The guest's scenario run (guest/scenario.c).
 */
#ifndef PVTIMER_GUEST_SCENARIO_H
#define PVTIMER_GUEST_SCENARIO_H

/*
 * Runs one strategy through the scenario that args describes
 * ("strategy=NAME key=value ...", see scenario.c) under pvtimer's monitor,
 * reporting samples and a summary with PVT_HC_RESULT; the timing work runs
 * in user mode (cpu.h says why). Exits the guest with status 0 when done,
 * 3 on a setup or monitor failure; returns 2 for bad arguments, 3 when
 * the CPU or the monitor lacks something, before user mode.
 */
int pvt_guest_scenario(const char *args);

#endif /* PVTIMER_GUEST_SCENARIO_H */
