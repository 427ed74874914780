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

/*
 * The same with vcpus (2..PVT_CPU_MAX) vCPUs (guest/smp.c): the monitor's
 * VCPU_UP starts the others, each runs its share of the workload on its
 * own device and queue, then the cross-vCPU clock check; each reports its
 * results, vCPU 0 the clock check. Command line: strategy=NAME and
 * duration_us drain_us tsc_cal_ppb tsc_stable remote_permille warp_pairs.
 * Exits as pvt_guest_scenario, or returns 2 or 3 as it does.
 */
int pvt_guest_scenario_smp(const char *args, unsigned int vcpus);

#endif /* PVTIMER_GUEST_SCENARIO_H */
