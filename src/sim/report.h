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

/* The one-line verdict for a strategy's result. */
const char *pvt_sim_verdict(const struct pvt_sim_params *p,
                            const struct pvt_sim_result *r, char *buf,
                            size_t len);

#endif /* PVTIMER_SIM_REPORT_H */
