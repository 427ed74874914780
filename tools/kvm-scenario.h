/*
 * `pvtimer kvm --scenario`: a simulator scenario run for real, one VM per
 * strategy (tools/kvm-scenario.c).
 */
#ifndef PVTIMER_TOOLS_KVM_SCENARIO_H
#define PVTIMER_TOOLS_KVM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/params.h"

struct pvt_ce_strategy;

struct kvm_scenario_opts {
    const char *scenario;            /* its name, for the report */
    const struct sim_params *params; /* checked */
    uint64_t seed;
    const struct pvt_ce_strategy *const *strategies;
    size_t nstrategies;
    const char *guest; /* image path */
    uint64_t mem_bytes;
    unsigned int timeout_s; /* per VM */
    unsigned int load_processes;
    int console_fd;       /* the guest's console (its error messages) */
    const char *kvm_path; /* NULL: /dev/kvm */
    bool json;
    bool progress;      /* a line per strategy on stderr */
    const char *report; /* HTML file, or NULL */
};

/*
 * Runs every strategy, prints the table (or JSON) on stdout and writes the
 * report. Returns the exit status: 0, 1 (a run failed: the reason on
 * stderr), 2 (the parameters ask for more than the guest takes), 77 (KVM
 * is not available here).
 */
int pvt_kvm_scenario(const struct kvm_scenario_opts *o);

#endif /* PVTIMER_TOOLS_KVM_SCENARIO_H */
