/*
 * `pvtimer sim`: run a scenario for each strategy and report.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "pvtimer/pvtimer.h"
#include "sim/report.h"
#include "sim/sim.h"

#define MAX_SETS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pvtimer sim [--scenario NAME|FILE] [--strategy LIST|all] "
            "[--seed N]\n"
            "                   [--set key=value ...] [--json] [--csv FILE] "
            "[--bench]\n"
            "                   [--report FILE.html]\n"
            "       pvtimer sim --list\n\n"
            "Simulates a hypervisor, a vCPU and a guest kernel running the "
            "pvtimer core,\nonce per strategy on identical worlds, and "
            "reports timers, interrupts and\nthe three error measures "
            "(lateness, device error, aim error) per strategy.\n\n"
            "  --scenario NAME|FILE  a built-in scenario (default seed-boot) "
            "or a scenario file\n"
            "  --strategy LIST       comma-separated strategy names, or all "
            "(default)\n"
            "  --seed N              random seed (default 1)\n"
            "  --set key=value       override a parameter (units allowed: "
            "boot_s=500ms)\n"
            "  --json                one JSON object on stdout\n"
            "  --csv FILE            the per-uptime series of every strategy "
            "as CSV\n"
            "  --report FILE.html    a self-contained page with the table and "
            "plots\n"
            "  --bench               also print simulated events per second "
            "(on stderr)\n"
            "  --list                scenarios and parameters\n");
}

static void list(void)
{
    size_t n, i;
    const struct sim_scenario *sc = sim_scenarios(&n);
    const struct sim_param_def *d;
    struct sim_params p;

    printf("scenarios:\n");
    for (i = 0; i < n; i++)
        printf("  %-13s %s\n", sc[i].name, sc[i].summary);
    printf("\nparameters (default = seed-boot):\n");
    printf("  %-18s %-5s %12s  %s\n", "key", "unit", "default", "meaning");
    sim_params_default(&p);
    d = sim_param_defs(&n);
    for (i = 0; i < n; i++)
        printf("  %-18s %-5s %12g  %s\n", d[i].name, d[i].unit,
               sim_param_get(&p, &d[i]), d[i].help);
    printf("\nScenario files: `key = value` lines, `#` comments, and an "
           "optional first line\n`scenario = NAME` to start from a built-in "
           "scenario. Values may carry a unit\nof the key's dimension "
           "(ns us ms s m h d; Hz kHz MHz GHz; ppm ppb; %%).\n");
}

/* Contract in commands.h. */
int pvt_parse_strategies(const char *cmd, const char *arg,
                         const struct pvt_ce_strategy **out, size_t *n)
{
    size_t count, i;
    const struct pvt_ce_strategy *const *all = pvt_strategies(&count);
    char buf[256], *tok, *save = NULL;

    *n = 0;
    if (strcmp(arg, "all") == 0) {
        for (i = 0; i < count; i++)
            out[(*n)++] = all[i];
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        const struct pvt_ce_strategy *s = pvt_strategy_find(tok);
        if (!s) {
            fprintf(stderr,
                    "pvtimer %s: unknown strategy '%s' (pvtimer strategies "
                    "lists them)\n",
                    cmd, tok);
            return -1;
        }
        for (i = 0; i < *n; i++)
            if (out[i] == s)
                break;
        if (i == *n)
            out[(*n)++] = s;
    }
    if (*n == 0) {
        fprintf(stderr, "pvtimer %s: --strategy names no strategy\n", cmd);
        return -1;
    }
    return 0;
}

#define MAX_STRATEGIES 16

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A progress bar on a terminal, once the runs take more than a second. */
struct bar {
    double start;
    size_t n;
    bool tty, shown;
};

static void bar_show(void *ctx, double frac)
{
    struct bar *b = ctx;
    int width = 30, filled = (int)(frac * width), j;

    if (!b->tty || wall_now() - b->start < 1.0)
        return;
    fprintf(stderr, "\rsimulating %zu strategies [", b->n);
    for (j = 0; j < width; j++)
        fputc(j < filled ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", (int)(frac * 100));
    fflush(stderr);
    b->shown = true;
}

int pvt_cmd_sim(int argc, char **argv)
{
    const char *scenario = "seed-boot", *csv_path = NULL, *report_path = NULL;
    const char *sets[MAX_SETS];
    size_t nsets = 0, nstrat = 0, i;
    const struct pvt_ce_strategy *strategies[MAX_STRATEGIES];
    struct sim_result *results;
    struct sim_params p;
    char err[512];
    uint64_t seed = 1;
    bool json = false, bench = false, strategies_given = false;
    int a, rc = 0;

    for (a = 1; a < argc; a++) {
        const char *arg = argv[a];
        const char *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--list") == 0) {
            list();
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            json = true;
        } else if (strcmp(arg, "--bench") == 0) {
            bench = true;
        } else if (strcmp(arg, "--scenario") == 0 ||
                   strcmp(arg, "--strategy") == 0 ||
                   strcmp(arg, "--seed") == 0 || strcmp(arg, "--set") == 0 ||
                   strcmp(arg, "--csv") == 0 || strcmp(arg, "--report") == 0) {
            if (!val) {
                fprintf(stderr, "pvtimer sim: %s needs a value\n", arg);
                return 2;
            }
            a++;
            if (strcmp(arg, "--scenario") == 0) {
                scenario = val;
            } else if (strcmp(arg, "--strategy") == 0) {
                if (pvt_parse_strategies("sim", val, strategies, &nstrat))
                    return 2;
                strategies_given = true;
            } else if (strcmp(arg, "--seed") == 0) {
                char *end;
                unsigned long long s;
                errno = 0;
                s = strtoull(val, &end, 0);
                if (*val == '-' || *end || errno) {
                    fprintf(stderr,
                            "pvtimer sim: --seed takes a number, not "
                            "'%s'\n",
                            val);
                    return 2;
                }
                seed = s;
            } else if (strcmp(arg, "--set") == 0) {
                if (nsets == MAX_SETS) {
                    fprintf(stderr, "pvtimer sim: too many --set\n");
                    return 2;
                }
                sets[nsets++] = val;
            } else if (strcmp(arg, "--report") == 0) {
                report_path = val;
            } else {
                csv_path = val;
            }
        } else {
            fprintf(stderr, "pvtimer sim: unknown option '%s' (try --help)\n",
                    arg);
            return 2;
        }
    }
    if (!strategies_given)
        pvt_parse_strategies("sim", "all", strategies, &nstrat);

    if (sim_params_resolve(&p, scenario, err, sizeof(err))) {
        fprintf(stderr, "pvtimer sim: %s\n", err);
        return 2;
    }
    for (i = 0; i < nsets; i++) {
        if (sim_params_set(&p, sets[i], err, sizeof(err))) {
            fprintf(stderr, "pvtimer sim: %s\n", err);
            return 2;
        }
    }
    if (sim_params_check(&p, err, sizeof(err))) {
        fprintf(stderr, "pvtimer sim: %s\n", err);
        return 2;
    }

    results = calloc(nstrat, sizeof(*results));
    if (!results) {
        fprintf(stderr, "pvtimer sim: out of memory\n");
        return 1;
    }
    {
        struct bar bar = {wall_now(), nstrat, isatty(STDERR_FILENO) != 0,
                          false};
        double t0 = wall_now();
        uint64_t events = 0, expiries = 0;
        int failed = sim_run_all(&p, seed, strategies, nstrat, results,
                                 bar_show, &bar, err, sizeof(err));

        if (bar.shown)
            fprintf(stderr, "\r%-60s\r", "");
        if (failed) {
            fprintf(stderr, "pvtimer sim: %s\n", err);
            free(results);
            return 1;
        }
        for (i = 0; i < nstrat; i++) {
            events += results[i].events;
            expiries += results[i].guest_expiries;
        }
        if (bench) {
            double dt = wall_now() - t0;
            fprintf(stderr,
                    "bench: %llu simulated events (%llu in the model, %llu "
                    "guest timer expiries) in %.3f s: %.2f million events/s\n",
                    (unsigned long long)(events + expiries),
                    (unsigned long long)events, (unsigned long long)expiries,
                    dt, (double)(events + expiries) / dt / 1e6);
        }
    }

    if (json)
        sim_report_json(stdout, scenario, seed, &p, results, nstrat);
    else
        sim_report_table(stdout, scenario, seed, &p, results, nstrat);
    if (csv_path) {
        FILE *f = fopen(csv_path, "w");
        if (!f) {
            fprintf(stderr, "pvtimer sim: %s: %s\n", csv_path, strerror(errno));
            rc = 1;
        } else {
            sim_report_csv(f, results, nstrat);
            if (fclose(f)) {
                fprintf(stderr, "pvtimer sim: %s: %s\n", csv_path,
                        strerror(errno));
                rc = 1;
            }
        }
    }
    if (report_path) {
        FILE *f = fopen(report_path, "w");
        if (!f) {
            fprintf(stderr, "pvtimer sim: %s: %s\n", report_path,
                    strerror(errno));
            rc = 1;
        } else {
            sim_report_html(f, scenario, seed, &p, results, nstrat);
            if (fclose(f)) {
                fprintf(stderr, "pvtimer sim: %s: %s\n", report_path,
                        strerror(errno));
                rc = 1;
            }
        }
    }
    free(results);
    return rc;
}
