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
#include "options.h"
#include "progress.h"
#include "pvtimer/pvtimer.h"
#include "sim/params.h"
#include "sim/report.h"
#include "sim/sim.h"

static void list(void)
{
    size_t n, i;
    const struct pvt_sim_scenario *sc = pvt_sim_scenarios(&n);
    const struct pvt_sim_param_def *d;
    struct pvt_sim_params p;

    printf("scenarios:\n");
    for (i = 0; i < n; i++)
        printf("  %-13s %s\n", sc[i].name, sc[i].summary);
    printf("\nparameters (default = seed-boot):\n");
    printf("  %-18s %-5s %12s  %s\n", "key", "unit", "default", "meaning");
    pvt_sim_params_default(&p);
    d = pvt_sim_param_defs(&n);
    for (i = 0; i < n; i++)
        printf("  %-18s %-5s %12g  %s\n", d[i].name, d[i].unit,
               pvt_sim_param_get(&p, &d[i]), d[i].help);
    printf("\nScenario files: `key = value` lines (each key once), `#` "
           "comments, and an\noptional first setting `scenario = NAME` to "
           "start from a built-in scenario.\nValues are decimal numbers and "
           "may carry a unit of the key's dimension\n(ns us ms s m h d; Hz "
           "kHz MHz GHz; ppm ppb; %%).\n");
}

static void print_bench(const struct pvt_sim_result *r, size_t n, double dt)
{
    uint64_t events = 0, expiries = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        events += r[i].events;
        expiries += r[i].guest_expiries;
    }
    fprintf(stderr,
            "bench: %llu simulated events (%llu in the model, %llu "
            "guest timer expiries) in %.3f s: %.2f million events/s\n",
            (unsigned long long)(events + expiries), (unsigned long long)events,
            (unsigned long long)expiries, dt,
            (double)(events + expiries) / dt / 1e6);
}

/* What the HTML page says besides the results. */
struct page {
    const char *scenario;
    uint64_t seed;
    const struct pvt_sim_params *p;
};

/* Opens an output file before the run, so that a path that cannot be
 * created is refused before minutes of simulation; NULL after a message. */
static FILE *open_output(const char *path)
{
    FILE *f = fopen(path, "w");
    char e[256];

    if (!f)
        fprintf(stderr, "pvtimer sim: %s: %s\n",
                (pvt_sim_escape(e, sizeof(e), path, strlen(path)), e),
                strerror(errno));
    return f;
}

/* The series as CSV (page NULL) or the HTML page into f, which it closes;
 * 0, or -1 after a message (a write error anywhere in it, the device
 * full, included). */
static int write_file(FILE *f, const char *path, const struct page *page,
                      const struct pvt_sim_result *r, size_t n)
{
    char e[256];
    int bad;

    if (page)
        pvt_sim_report_html(f, page->scenario, page->seed, page->p, r, n);
    else
        pvt_sim_report_csv(f, r, n);
    bad = fflush(f) != 0 || ferror(f);
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        fprintf(stderr, "pvtimer sim: writing %s: %s\n",
                (pvt_sim_escape(e, sizeof(e), path, strlen(path)), e),
                strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

static const char usage[] =
    "usage: pvtimer sim [--scenario NAME|FILE] [--strategy LIST|all] "
    "[--seed N]\n"
    "                   [--set key=value ...] [--json] [--csv FILE] "
    "[--bench]\n"
    "                   [--report FILE.html]\n"
    "       pvtimer sim --list\n"
    "       pvtimer sim --matrix[=FILE] ... (the fault matrix: "
    "--matrix --help)\n\n"
    "Simulates a hypervisor, one vCPU or more (vcpus=N) and a guest kernel "
    "running\nthe pvtimer core, once per strategy on identical worlds, and "
    "reports timers,\ninterrupts and the three error measures (lateness, "
    "device error, aim error)\nper strategy, and per vCPU with several.";

int pvt_cmd_sim(int argc, char **argv)
{
    const char *scenario = "seed-boot", *csv_path = NULL, *report_path = NULL;
    struct pvt_opt_list sets = {0};
    struct pvt_opt_strategies strat = {0};
    uint64_t seed = 1;
    bool json = false, bench = false, want_list = false;
    const struct pvt_option opts[] = {
        PVT_OPT("--scenario", PVT_OPT_STRING, &scenario, "NAME|FILE",
                "a built-in scenario (default seed-boot) or a scenario file"),
        PVT_OPT("--strategy", PVT_OPT_STRATEGIES, &strat, "LIST",
                "comma-separated strategy names, or all (default)"),
        PVT_OPT("--seed", PVT_OPT_SEED, &seed, "N", "random seed (default 1)"),
        PVT_OPT("--set", PVT_OPT_LIST, &sets, "key=value",
                "override a parameter (units allowed: boot_s=500ms)"),
        PVT_OPT_JSON(&json),
        PVT_OPT("--csv", PVT_OPT_STRING, &csv_path, "FILE",
                "the per-uptime series of every strategy as CSV"),
        PVT_OPT("--report", PVT_OPT_STRING, &report_path, "FILE.html",
                "a self-contained page with the table and plots"),
        PVT_OPT("--bench", PVT_OPT_FLAG, &bench, NULL,
                "also print simulated events per second (on stderr)"),
        PVT_OPT("--list", PVT_OPT_FLAG, &want_list, NULL,
                "scenarios and parameters"),
    };
    const struct pvt_command_spec spec = PVT_COMMAND_SPEC("sim", usage, opts);
    struct pvt_sim_result *results = NULL;
    FILE *csv = NULL, *report = NULL;
    struct pvt_sim_params p;
    struct page page;
    char err[512];
    int rc = 0, i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--matrix") == 0 ||
            strncmp(argv[i], "--matrix=", 9) == 0)
            return pvt_cmd_sim_matrix(argc, argv);
    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    if (want_list) {
        list();
        return 0;
    }
    if (!strat.given)
        pvt_options_strategies("sim", "all", &strat);

    if (pvt_sim_params_resolve(&p, scenario, err, sizeof(err))) {
        fprintf(stderr, "pvtimer sim: %s\n", err);
        return 2;
    }
    if (pvt_sim_params_apply(&p, sets.v, sets.n, err, sizeof(err))) {
        fprintf(stderr, "pvtimer sim: %s\n", err);
        return 2;
    }

    if (csv_path && (csv = open_output(csv_path)) == NULL)
        return 1;
    if (report_path && (report = open_output(report_path)) == NULL) {
        if (csv)
            fclose(csv);
        return 1;
    }
    results = calloc(strat.n, sizeof(*results));
    if (!results) {
        fprintf(stderr, "pvtimer sim: out of memory\n");
        rc = 1;
        goto out;
    }
    {
        struct pvt_progress bar;
        char label[64];
        int failed;

        snprintf(label, sizeof(label), "simulating %zu strategies", strat.n);
        pvt_progress_start(&bar, label);
        failed = pvt_sim_run_all(&p, seed, strat.s, strat.n, results,
                                 pvt_progress_show, &bar, err, sizeof(err));
        pvt_progress_end(&bar);
        if (failed) {
            fprintf(stderr, "pvtimer sim: %s\n", err);
            rc = 1;
            goto out;
        }
        if (bench)
            print_bench(results, strat.n, pvt_wall_now() - bar.start);
    }

    page.scenario = scenario;
    page.seed = seed;
    page.p = &p;
    if (json)
        pvt_sim_report_json(stdout, scenario, seed, &p, results, strat.n);
    else
        pvt_sim_report_table(stdout, scenario, seed, &p, results, strat.n);
    if (csv && write_file(csv, csv_path, NULL, results, strat.n) < 0)
        rc = 1;
    csv = NULL;
    if (report && write_file(report, report_path, &page, results, strat.n) < 0)
        rc = 1;
    report = NULL;
    /* stdout's own write errors: main() checks them for every command */
out:
    if (csv)
        fclose(csv);
    if (report)
        fclose(report);
    free(results);
    return rc;
}
