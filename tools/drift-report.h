/*
 * The output of `pvtimer drift`, for both of its sources: two clocks of
 * this host (tools/cmd-drift.c) and the guest's TSC against kvmclock
 * under the KVM monitor (tools/kvm-drift.c). phc2sys-style lines for
 * people, one JSON object for programs.
 */
#ifndef PVTIMER_TOOLS_DRIFT_REPORT_H
#define PVTIMER_TOOLS_DRIFT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvtimer/drift.h"

struct pvt_drift_update {
    double t_s;
    int64_t offset_ns;
    double freq_ppm;
    uint64_t delay_ns;
    enum pvt_drift_state state;
};

/* The estimator's last word, for the summary. */
struct pvt_drift_final {
    int64_t offset_ns;
    double freq_ppm;
    enum pvt_drift_state state;
    uint32_t window;
    uint64_t steps, dropped;
};

/* rate - 1 as 16.48 -> ppm */
double pvt_drift_report_ppm(int64_t slope_q48);

/* The header lines (not with --json). note may be NULL. */
void pvt_drift_report_header(const char *a, const char *b, double interval_ms,
                             double duration_s, const char *note);

/* One update line (not with --json). */
void pvt_drift_report_update(const struct pvt_drift_update *u);

/* The summary (text), or the whole JSON object: {"a", "b", "updates":
 * [...], "summary": {"offset_ns", "freq_ppm", "freq_ppm_stddev",
 * "delay_ns", "state"}}. The stddev is over the locked updates, the delay
 * the median. Returns -1 when out of memory. */
int pvt_drift_report_summary(bool json, const char *a, const char *b,
                             const struct pvt_drift_update *ups, size_t n,
                             const struct pvt_drift_final *fin);

#endif /* PVTIMER_TOOLS_DRIFT_REPORT_H */
