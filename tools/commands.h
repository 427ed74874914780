/*
 * The subcommands of the `pvtimer` tool. Each takes the arguments after
 * its name (argv[0] is the subcommand) and returns the process exit
 * status: 0 success, 1 failure, 2 bad usage (options: options.h).
 */
#ifndef PVTIMER_TOOLS_COMMANDS_H
#define PVTIMER_TOOLS_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

int pvt_cmd_sim(int argc, char **argv);
/* `pvtimer sim --matrix[=FILE]` and `pvtimer merge` (tools/cmd-matrix.c). */
int pvt_cmd_sim_matrix(int argc, char **argv);
int pvt_cmd_merge(int argc, char **argv);
int pvt_cmd_bench(int argc, char **argv);
int pvt_cmd_strategies(int argc, char **argv);
/* `pvtimer drift`: two clocks of this host (tools/cmd-drift.c). */
int pvt_cmd_drift(int argc, char **argv);
/* `pvtimer kvm`: the guest under the KVM monitor (tools/cmd-kvm.c). */
int pvt_cmd_kvm(int argc, char **argv);
/* `pvtimer drift --kvm` (tools/kvm-drift.c): exit 77 without KVM. */
int pvt_kvm_drift(double duration_s, double interval_ms, double tsc_cal_ppm,
                  bool json);

/* Benchmarks, dispatched by pvt_cmd_bench; argv[0] is the benchmark's
 * name, the options follow. Same exit statuses. */
int pvt_bench_clock(int argc, char **argv);
int pvt_bench_queue(int argc, char **argv);
int pvt_bench_drift(int argc, char **argv);
/* Where the timer service is built (Linux: PVT_HAVE_TIMERSVC). */
int pvt_bench_service(int argc, char **argv);

#endif /* PVTIMER_TOOLS_COMMANDS_H */
