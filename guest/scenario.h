/*
 * The guest's scenario run (guest/scenario.c).
 */
#ifndef PVTIMER_GUEST_SCENARIO_H
#define PVTIMER_GUEST_SCENARIO_H

/*
 * Runs one strategy through the scenario that args describes
 * ("strategy=NAME key=value ...", see scenario.c) under pvtimer's monitor,
 * reporting samples and a summary with PVT_HC_RESULT. Returns the guest's
 * exit status: 0 done, 2 bad arguments, 3 a setup or monitor failure.
 */
int pvt_guest_scenario(const char *args);

#endif /* PVTIMER_GUEST_SCENARIO_H */
