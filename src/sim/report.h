/*
 * Simulator output: the table for people, JSON for programs, CSV series.
 */
#ifndef PVTIMER_SIM_REPORT_H
#define PVTIMER_SIM_REPORT_H

#include <stdio.h>

#include "params.h"
#include "sim.h"

void pvt_sim_report_table(FILE *f, const char *scenario, uint64_t seed,
                          const struct pvt_sim_params *p,
                          const struct pvt_sim_result *r, size_t n);
void pvt_sim_report_json(FILE *f, const char *scenario, uint64_t seed,
                         const struct pvt_sim_params *p,
                         const struct pvt_sim_result *r, size_t n);
/* How another backend (pvtimer kvm) labels the same report: backend names
 * it ("sim" when meta is NULL); extra_json, if set, prints more members
 * of the top-level object, each preceded by ", ". */
struct pvt_sim_report_meta {
    const char *backend;
    void (*extra_json)(FILE *f, void *ctx);
    void *extra_ctx;
};

void pvt_sim_report_table_ex(FILE *f, const struct pvt_sim_report_meta *meta,
                             const char *scenario, uint64_t seed,
                             const struct pvt_sim_params *p,
                             const struct pvt_sim_result *r, size_t n);
void pvt_sim_report_json_ex(FILE *f, const struct pvt_sim_report_meta *meta,
                            const char *scenario, uint64_t seed,
                            const struct pvt_sim_params *p,
                            const struct pvt_sim_result *r, size_t n);
void pvt_sim_report_html_ex(FILE *f, const struct pvt_sim_report_meta *meta,
                            const char *scenario, uint64_t seed,
                            const struct pvt_sim_params *p,
                            const struct pvt_sim_result *r, size_t n);
void pvt_sim_report_csv(FILE *f, const struct pvt_sim_result *r, size_t n);
/* One self-contained HTML page with the table and inline SVG plots. */
void pvt_sim_report_html(FILE *f, const char *scenario, uint64_t seed,
                         const struct pvt_sim_params *p,
                         const struct pvt_sim_result *r, size_t n);

/* ns as a short figure with its unit: "812 ns", "3.2 us", "41.0 ms",
 * "1.23 s"; compact: three significant digits ("32.8 us"). */
const char *pvt_sim_format_ns(char *buf, size_t len, double ns, bool compact);

/* "p50 / p99" of h's magnitudes as the table prints them ("17.4 us / 4.0
 * ms") into buf, or "no data" when h is empty or NULL; returns buf ("" for
 * a NULL buf or len 0). */
const char *pvt_sim_format_p50_p99(char *buf, size_t len,
                                   const struct pvt_sim_hist *h);

/* Drift as docs/design.md defines it: the guest clock's rate in the
 * hypervisor's time, minus one, in ppm (positive: the guest clock runs
 * fast). The boot clocksource's, from the parameters (boot_drift_ppm for
 * jiffies, about -tsc_cal_ppm for the TSC), and the one the estimator's
 * final frequency implies (freq_ppb: the hypervisor clock against the
 * guest clock, drift.h's B against A). */
double pvt_sim_boot_drift_ppm(const struct pvt_sim_params *p); /* NULL: 0 */
double pvt_sim_guest_drift_ppm(int64_t freq_ppb);

/* The colour a strategy is drawn in, by name: the same in every report
 * (a strategy without its own colour, or NULL, gets a spare one). */
const char *pvt_sim_strategy_color(const char *name);

/* One vCPU's figures of a result, whatever the vCPU count (with one vCPU
 * they are the run's own). */
struct pvt_sim_vcpu_view {
    uint64_t timers, fired, cancelled, pending, lost, early_callbacks;
    uint64_t device_interrupts, spurious_interrupts, remote_armed, ipis;
    int64_t tsc_offset_ns;
    const struct pvt_sim_hist *lateness, *device_error, *aim_error;
};

/* vCPU i's figures of r into *out. Returns 0, or -1 for NULL arguments or
 * i not below r->vcpus (a result of one vCPU has vCPU 0). */
int pvt_sim_vcpu_view(const struct pvt_sim_result *r, unsigned int i,
                      struct pvt_sim_vcpu_view *out);

/* The one-line verdict for a strategy's result. */
const char *pvt_sim_verdict(const struct pvt_sim_params *p,
                            const struct pvt_sim_result *r, char *buf,
                            size_t len);

#endif /* PVTIMER_SIM_REPORT_H */
