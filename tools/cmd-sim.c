/*
 * `pvtimer sim`: run a scenario for each strategy and report.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
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
            "  --bench               also print simulated events per second\n"
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

static int parse_strategies(const char *arg, const struct pvt_ce_strategy **out,
                            size_t *n)
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
                    "pvtimer sim: unknown strategy '%s' (pvtimer strategies "
                    "lists them)\n",
                    tok);
            return -1;
        }
        for (i = 0; i < *n; i++)
            if (out[i] == s)
                break;
        if (i == *n)
            out[(*n)++] = s;
    }
    if (*n == 0) {
        fprintf(stderr, "pvtimer sim: --strategy names no strategy\n");
        return -1;
    }
    return 0;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress {
    bool on;
    double start;
    const char *label;
    bool shown;
};

static void show_progress(void *ctx, double frac)
{
    struct progress *pg = ctx;
    int width = 30, filled = (int)(frac * width), i;

    if (!pg->on || wall_s() - pg->start < 1.0)
        return;
    pg->shown = true;
    fprintf(stderr, "\r%-16s [", pg->label);
    for (i = 0; i < width; i++)
        fputc(i < filled ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", (int)(frac * 100));
    fflush(stderr);
}

int pvt_cmd_sim(int argc, char **argv)
{
    const char *scenario = "seed-boot", *csv_path = NULL;
    const char *sets[MAX_SETS];
    size_t nsets = 0, nstrat = 0, i;
    const struct pvt_ce_strategy *strategies[16];
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
                   strcmp(arg, "--csv") == 0) {
            if (!val) {
                fprintf(stderr, "pvtimer sim: %s needs a value\n", arg);
                return 2;
            }
            a++;
            if (strcmp(arg, "--scenario") == 0) {
                scenario = val;
            } else if (strcmp(arg, "--strategy") == 0) {
                if (parse_strategies(val, strategies, &nstrat))
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
        parse_strategies("all", strategies, &nstrat);

    /* a built-in name, else a file */
    if (sim_scenario_find(scenario)) {
        sim_params_scenario(&p, scenario, err, sizeof(err));
    } else if (strchr(scenario, '/') || strchr(scenario, '.') ||
               access(scenario, F_OK) == 0) {
        if (sim_params_load_file(&p, scenario, err, sizeof(err))) {
            fprintf(stderr, "pvtimer sim: %s\n", err);
            return 2;
        }
    } else {
        fprintf(stderr,
                "pvtimer sim: unknown scenario '%s' (pvtimer sim --list shows "
                "them; a file path works too)\n",
                scenario);
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
        struct progress pg = {.on = isatty(STDERR_FILENO) != 0,
                              .start = wall_s()};
        double t0 = wall_s();
        uint64_t events = 0;
        for (i = 0; i < nstrat; i++) {
            pg.label = strategies[i]->name;
            if (sim_run(&p, seed, strategies[i], &results[i], show_progress,
                        &pg, err, sizeof(err))) {
                fprintf(stderr, "pvtimer sim: %s\n", err);
                free(results);
                return 1;
            }
            events += results[i].events;
        }
        if (pg.shown)
            fprintf(stderr, "\r%-60s\r", "");
        if (bench) {
            double dt = wall_s() - t0;
            fprintf(stdout,
                    "bench: %llu simulated events in %.3f s: %.2f million "
                    "events/s\n",
                    (unsigned long long)events, dt, (double)events / dt / 1e6);
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
    free(results);
    return rc;
}
