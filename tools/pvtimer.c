/*
 * pvtimer: the command-line tool.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "pvtimer/pvtimer.h"
#include "sim/params.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

int pvt_cmd_strategies(int argc, char **argv)
{
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: pvtimer strategies\n\nLists the strategies that "
                   "turn a guest deadline into a device deadline.\n");
            return 0;
        }
        char e[128];
        fprintf(stderr, "pvtimer strategies: unexpected argument '%s'\n",
                (pvt_sim_escape(e, sizeof(e), argv[1], strlen(argv[1])), e));
        return 2;
    }
    for (i = 0; i < n; i++)
        printf("%-16s %s\n", all[i]->name, all[i]->summary);
    return 0;
}

static const struct command benchmarks[] = {
    {"clock", pvt_bench_clock, "guest clock reads and device programming"},
    {"queue", pvt_bench_queue,
     "timer queue arm/cancel/expire against a plain binary heap"},
    {"drift", pvt_bench_drift,
     "drift estimator against a PI servo and two-point differencing"},
#ifdef PVT_HAVE_TIMERSVC
    {"service", pvt_bench_service,
     "host timer service against timerfd+epoll and a thread per timer"},
#endif
};

int pvt_cmd_bench(int argc, char **argv)
{
    char e[128];
    size_t i;

    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        /* usage errors go to stderr */
        FILE *f = argc < 2 ? stderr : stdout;

        fprintf(f, "usage: pvtimer bench NAME [--json]\n\nbenchmarks:\n");
        for (i = 0; i < PVT_ARRAY_SIZE(benchmarks); i++)
            fprintf(f, "  %-8s %s\n", benchmarks[i].name, benchmarks[i].help);
        return argc < 2 ? 2 : 0;
    }
    for (i = 0; i < PVT_ARRAY_SIZE(benchmarks); i++)
        if (strcmp(argv[1], benchmarks[i].name) == 0)
            return benchmarks[i].run(argc - 1, argv + 1);
    fprintf(stderr,
            "pvtimer bench: unknown benchmark '%s' (try pvtimer "
            "bench --help)\n",
            (pvt_sim_escape(e, sizeof(e), argv[1], strlen(argv[1])), e));
    return 2;
}

static const struct command commands[] = {
    {"sim", pvt_cmd_sim,
     "simulate hypervisor, vCPU and guest: every strategy side by side"},
    {"merge", pvt_cmd_merge,
     "combine the JSON of fault matrix shards\n"
     "               (`sim --matrix --shard I/N --json`) into the whole run's"},
    {"strategies", pvt_cmd_strategies, "list the programming strategies"},
    {"kvm", pvt_cmd_kvm,
     "the guest kernel under KVM: a scenario for real\n"
     "               (`kvm --scenario NAME`), the core's tests in the guest\n"
     "               (`kvm --selftest`), a guest mode (`kvm --cmdline STR`)"},
    {"drift", pvt_cmd_drift,
     "two clocks against each other: offset, ppm\n"
     "               (`drift --a CLOCK --b CLOCK`; the guest's TSC against\n"
     "               kvmclock: `drift --kvm`)"},
    {"bench", pvt_cmd_bench,
     "benchmarks: `bench clock|queue|drift|service [--json]`"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: pvtimer COMMAND [ARGS...]\n"
               "       pvtimer --help | --version\n\n"
               "Paravirtual timers: guest clocksources, clockevent devices and "
               "the strategies\nthat turn a guest deadline into a hypervisor "
               "deadline.\n\ncommands:\n");
    for (i = 0; i < PVT_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`pvtimer COMMAND --help` describes a command.\n");
}

/*
 * What every command's output needs at its end: stdout flushed, and a
 * write error on it (a full disk, a closed pipe, /dev/full) reported with
 * exit status 1, not lost behind a 0.
 */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "pvtimer: writing standard output: %s\n",
                strerror(errno ? errno : EIO));
        return 1;
    }
    return rc;
}

static int run(int argc, char **argv)
{
    char e[128];
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        if (argc > 2) {
            fprintf(stderr, "pvtimer: --version takes no argument\n");
            return 2;
        }
        printf("pvtimer %d.%d.%d\n", PVTIMER_VERSION_MAJOR,
               PVTIMER_VERSION_MINOR, PVTIMER_VERSION_PATCH);
        return 0;
    }
    for (i = 0; i < PVT_ARRAY_SIZE(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "pvtimer: unknown command '%s' (try pvtimer --help)\n",
            (pvt_sim_escape(e, sizeof(e), argv[1], strlen(argv[1])), e));
    return 2;
}

int main(int argc, char **argv)
{
    return finish(run(argc, argv));
}
