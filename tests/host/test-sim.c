/*
 * The simulator: parameters and units, determinism, and the invariants
 * every strategy must keep (nothing lost, nothing early).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvtimer/pvtimer.h"
#include "runner/test.h"
#include "sim/params.h"
#include "sim/report.h"
#include "sim/sim.h"
#include "spawn.h"

TEST_IMPL(sim_params_units)
{
    struct pvt_sim_params p;
    char err[256];

    pvt_sim_params_default(&p);
    ASSERT_OK(pvt_sim_params_set(&p, "boot_s=500ms", err, sizeof(err)));
    ASSERT(p.boot_s == 0.5);
    ASSERT_OK(pvt_sim_params_set(&p, " slop_us = 0.1 ms ", err, sizeof(err)));
    ASSERT(p.slop_us == 100);
    ASSERT_OK(pvt_sim_params_set(&p, "timer_rate_hz=2kHz", err, sizeof(err)));
    ASSERT(p.timer_rate_hz == 2000);
    ASSERT_OK(
        pvt_sim_params_set(&p, "boot_drift_ppm=-250000ppb", err, sizeof(err)));
    ASSERT(p.boot_drift_ppm == -250);
    ASSERT_OK(pvt_sim_params_set(&p, "cancel_fraction=25%", err, sizeof(err)));
    ASSERT(p.cancel_fraction == 0.25);

    ASSERT_EQ(pvt_sim_params_set(&p, "boot_s=3Hz", err, sizeof(err)), -1);
    ASSERT(strstr(err, "bad unit") != NULL);
    ASSERT_EQ(pvt_sim_params_set(&p, "nosuch_key=1", err, sizeof(err)), -1);
    ASSERT(strstr(err, "unknown parameter 'nosuch_key'") != NULL);
    ASSERT_EQ(pvt_sim_params_set(&p, "cancel_fraction=2", err, sizeof(err)),
              -1);
    ASSERT(strstr(err, "out of range") != NULL);
    ASSERT_EQ(pvt_sim_params_set(&p, "hz=250.5", err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_set(&p, "hz=", err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_set(&p, "hz", err, sizeof(err)), -1);
    ASSERT_EQ(pvt_sim_params_scenario(&p, "nope", err, sizeof(err)), -1);
    RETURN_OK();
}

TEST_IMPL(sim_every_strategy_keeps_the_queue_promise)
{
    struct pvt_sim_params p;
    struct pvt_sim_result *r = calloc(1, sizeof(*r));
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);
    char err[256];

    ASSERT_NOT_NULL(r);
    /* a short seed-boot with heavy preemption: 2 s boot, 6 s run */
    ASSERT_OK(pvt_sim_params_scenario(&p, "preempt", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_set(&p, "boot_s=2", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_set(&p, "duration_s=6", err, sizeof(err)));
    ASSERT_OK(pvt_sim_params_set(&p, "drain_s=5", err, sizeof(err)));
    for (i = 0; i < n; i++) {
        ASSERT_OK(pvt_sim_run(&p, 7, all[i], r, NULL, NULL, err, sizeof(err)));
        ASSERT_GT(r->timers, 1000);
        ASSERT_EQ(r->lost, 0);
        ASSERT_EQ(r->early_callbacks, 0);
        ASSERT_EQ(r->fired + r->cancelled + r->pending, r->timers);
        ASSERT_EQ(r->lateness.negative, 0);
        /* the switch to high-res happened at the end of the boot phase
         * (2 s of the model's time; the guest's clock, slow and missing
         * ticks, reads less then, never more) */
        ASSERT_GT(r->highres_at_s, 0);
        ASSERT_LE(r->highres_at_s, 2.0);
    }
    free(r);
    RETURN_OK();
}

#define SIM(r, ...) PVT_TOOL(r, "sim", __VA_ARGS__)

TEST_IMPL(sim_cli_deterministic_and_errors)
{
    struct pvt_spawn_result a, b;

    SIM(&a, "--json", "--seed", "3", "--set", "duration_s=3", "--set",
        "boot_s=1", "--strategy", "delta,abs-boot-offset");
    SIM(&b, "--json", "--seed", "3", "--set", "duration_s=3", "--set",
        "boot_s=1", "--strategy", "delta,abs-boot-offset");
    ASSERT_EQ(a.status, 0);
    ASSERT_EQ(b.status, 0);
    ASSERT_STR_EQ(a.out, b.out);
    ASSERT(pvt_contains(a.out, "\"backend\": \"sim\""));
    ASSERT(pvt_contains(a.out, "\"strategy\": \"delta\""));
    ASSERT(pvt_contains(a.out, "\"aim_error_ns\": {\"p50\": "));
    pvt_spawn_free(&a);
    pvt_spawn_free(&b);

    SIM(&a, "--set", "boot_s=3Hz");
    ASSERT_EQ(a.status, 2);
    ASSERT(pvt_contains(a.err, "bad unit"));
    pvt_spawn_free(&a);
    SIM(&a, "--set", "frobs=1");
    ASSERT_EQ(a.status, 2);
    pvt_spawn_free(&a);
    SIM(&a, "--scenario", "no-such-scenario");
    ASSERT_EQ(a.status, 2);
    pvt_spawn_free(&a);
    SIM(&a, "--strategy", "sideways");
    ASSERT_EQ(a.status, 2);
    pvt_spawn_free(&a);
    SIM(&a, "--set", "boot_s=200");
    ASSERT_EQ(a.status, 2); /* boot after the end */
    pvt_spawn_free(&a);
    SIM(&a, "--list");
    ASSERT_EQ(a.status, 0);
    ASSERT(pvt_contains(a.out, "steady-drift"));
    ASSERT(pvt_contains(a.out, "hv_uptime_s"));
    pvt_spawn_free(&a);
    RETURN_OK();
}

TEST_IMPL(sim_html_report)
{
    char dir[] = "/tmp/pvt-report-XXXXXX", path[64], png[64], shot[80],
         profile[80];
    struct pvt_spawn_result a;
    char *html;
    size_t n, i;
    const struct pvt_strategy *const *all = pvt_strategies(&n);

    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/r.html", dir);
    SIM(&a, "--set", "duration_s=4", "--set", "boot_s=1", "--report", path);
    ASSERT_EQ(a.status, 0);
    pvt_spawn_free(&a);
    html = pvt_slurp(path);
    ASSERT_NOT_NULL(html);
    /* one self-contained page: four plots, no scripts, nothing fetched */
    ASSERT_EQ(pvt_count(html, "<svg"), 4);
    ASSERT_EQ(pvt_count(html, "</svg>"), 4);
    ASSERT_EQ(pvt_count(html, "<script"), 0);
    ASSERT_EQ(pvt_count(html, "http://") - pvt_count(html, "xmlns=\"http://"),
              0);
    ASSERT(pvt_contains(html, "</html>"));
    for (i = 0; i < n; i++) {
        char title[96];
        size_t j;
        /* every strategy has panels of its own, titled in its colour,
         * one colour per strategy */
        snprintf(title, sizeof(title), "fill=\"%s\">%s</text>",
                 pvt_sim_strategy_color(all[i]->name), all[i]->name);
        ASSERT_EQ(pvt_count(html, title), 4); /* aim, device, lateness,
                                               interrupts */
        for (j = 0; j < i; j++)
            ASSERT(strcmp(pvt_sim_strategy_color(all[i]->name),
                          pvt_sim_strategy_color(all[j]->name)) != 0);
    }
    /* the 0 lane of the log scales is labelled */
    ASSERT_EQ(pvt_count(html, ">0 ns</text>"), 2 * n);
    /* the table's figures are the terminal table's */
    SIM(&a, "--set", "duration_s=4", "--set", "boot_s=1");
    ASSERT_EQ(a.status, 0);
    for (i = 0; i < n; i++) {
        /* the row of the strategy: "%-16s" and the counts, then the
         * three "p50 / p99" columns at 68, 90 and 112, 21 wide */
        char line[48];
        const char *row;
        int c;
        snprintf(line, sizeof(line), "\n%-16s ", all[i]->name);
        row = strstr(a.out, line);
        ASSERT_NOT_NULL(row);
        row++;
        for (c = 0; c < 3; c++) {
            char cell[32];
            size_t len = 21;
            memcpy(cell, row + 68 + 22 * c, len);
            while (len > 0 && cell[len - 1] == ' ')
                len--;
            cell[len] = 0;
            ASSERT(strstr(cell, " / ") != NULL);
            if (!pvt_contains(html, cell))
                pvt_test_printf("not in the page: '%s'\n", cell);
            ASSERT(pvt_contains(html, cell));
        }
    }
    pvt_spawn_free(&a);
    free(html);

    /* colours follow the strategy, not its place in the run */
    SIM(&a, "--set", "duration_s=2", "--set", "boot_s=1", "--strategy",
        "coupled,delta", "--report", path);
    ASSERT_EQ(a.status, 0);
    pvt_spawn_free(&a);
    html = pvt_slurp(path);
    ASSERT_NOT_NULL(html);
    {
        char title[96];
        snprintf(title, sizeof(title), "fill=\"%s\">delta</text>",
                 pvt_sim_strategy_color("delta"));
        ASSERT_EQ(pvt_count(html, title), 4);
    }
    free(html);

    /* no timers: no data, said so, not "0 ns" */
    SIM(&a, "--set", "duration_s=2", "--set", "boot_s=1", "--set",
        "timer_rate_hz=0", "--report", path);
    ASSERT_EQ(a.status, 0);
    ASSERT(pvt_contains(a.out, "no data"));
    pvt_spawn_free(&a);
    html = pvt_slurp(path);
    ASSERT_NOT_NULL(html);
    ASSERT(pvt_contains(html, "<td>no data</td>"));
    ASSERT_EQ(pvt_count(html, ">no data</text>"), n); /* lateness panels */
    ASSERT_EQ(pvt_count(html, "no data (no timer fired)"), n);
    free(html);

    SIM(&a, "--set", "duration_s=4", "--set", "boot_s=1", "--report", path);
    ASSERT_EQ(a.status, 0);
    pvt_spawn_free(&a);

    /* and it renders: a headless browser makes a picture of it (not under
     * valgrind, which a browser does not survive) */
    if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
        unlink(path);
        rmdir(dir);
        RETURN_SKIP("under valgrind: the page was checked, not rendered");
    }
    if (access("/usr/bin/chromium", X_OK) != 0) {
        unlink(path);
        rmdir(dir);
        RETURN_SKIP("chromium is not installed: the page was checked, not "
                    "rendered");
    }
    snprintf(png, sizeof(png), "%s/r.png", dir);
    snprintf(shot, sizeof(shot), "--screenshot=%s", png);
    snprintf(profile, sizeof(profile), "--user-data-dir=%s/profile", dir);
    {
        char url[80];
        snprintf(url, sizeof(url), "file://%s", path);
        ASSERT_OK(
            pvt_spawn("/usr/bin/chromium",
                      (const char *const[]){
                          "chromium", "--headless", "--no-sandbox",
                          "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          profile, "--window-size=1000,1900", shot, url, NULL},
                      NULL, NULL, &a));
    }
    ASSERT_EQ(a.status, 0);
    pvt_spawn_free(&a);
    html = pvt_slurp(png);
    ASSERT_NOT_NULL(html);
    /* a PNG, and not a blank one: the plots take room */
    ASSERT_EQ(memcmp(html, "\x89PNG", 4), 0);
    free(html);
    {
        struct stat st;
        ASSERT_OK(stat(png, &st));
        ASSERT_GT(st.st_size, 20000);
    }
    ASSERT_OK(pvt_spawn("/bin/rm",
                        (const char *const[]){"rm", "-rf", dir, NULL}, NULL,
                        NULL, &a));
    pvt_spawn_free(&a);
    RETURN_OK();
}

/*
 * The drift sign (docs/design.md): the guest clock against the
 * hypervisor's, positive when the guest clock runs fast. steady-drift's
 * TSC is calibrated 100 ppm low (tsc_cal_ppm=-100), so the guest clock
 * gains: the header says +100 ppm and compensated's estimate, turned into
 * the guest's drift, is +100 ppm to within the TSC clocksource's
 * mult/shift rounding; the JSON keeps the estimator's own frequency (the
 * hypervisor clock against the guest's), about minus that.
 */
TEST_IMPL(sim_drift_sign)
{
    struct pvt_spawn_result a;
    const char *v;
    double ppm;

    SIM(&a, "--scenario", "steady-drift", "--set", "duration_s=20",
        "--strategy", "delta,compensated");
    ASSERT_EQ(a.status, 0);
    ASSERT(pvt_contains(a.out, "(boot 0 s on the TSC, drift +100 ppm)"));
    v = strstr(a.out, "\n  compensated      drift ");
    ASSERT_NOT_NULL(v);
    ppm = strtod(v + strlen("\n  compensated      drift "), NULL);
    ASSERT(ppm > 99.5 && ppm < 100.5);
    pvt_spawn_free(&a);

    SIM(&a, "--scenario", "steady-drift", "--set", "duration_s=20",
        "--strategy", "compensated", "--json");
    ASSERT_EQ(a.status, 0);
    v = strstr(a.out, "\"drift_freq_ppb\": ");
    ASSERT_NOT_NULL(v);
    ppm = strtod(v + strlen("\"drift_freq_ppb\": "), NULL) / 1e3;
    ASSERT(ppm < -99.5 && ppm > -100.5);
    ASSERT(pvt_contains(a.out, "\"verdict\": \"drift +"));
    pvt_spawn_free(&a);
    /* the conversion, exactly: r = 1 + f, the guest's 1 / r - 1 */
    ASSERT(fabs(pvt_sim_guest_drift_ppm(-100000) - 100.010001) < 1e-5);
    ASSERT(fabs(pvt_sim_guest_drift_ppm(0)) < 1e-12);
    RETURN_OK();
}

TEST_IMPL(sim_scenario_files)
{
    char dir[] = "/tmp/pvt-scenario-XXXXXX", good[64], bad[64];
    struct pvt_sim_params p;
    char err[256];
    FILE *f;

    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(good, sizeof(good), "%s/good.scn", dir);
    snprintf(bad, sizeof(bad), "%s/bad.scn", dir);
    f = fopen(good, "w");
    ASSERT_NOT_NULL(f);
    fprintf(f, "# a heavier preempt scenario\nscenario = preempt\n\n"
               "  boot_s = 1500 ms   # with units\nslop_us=10\n");
    ASSERT_OK(fclose(f));
    ASSERT_OK(pvt_sim_params_load_file(&p, good, err, sizeof(err)));
    ASSERT(p.boot_s == 1.5);
    ASSERT(p.slop_us == 10);
    ASSERT(p.preempt_rate_hz == 200); /* from the preempt scenario */

    f = fopen(bad, "w");
    ASSERT_NOT_NULL(f);
    fprintf(f, "hz = 100\nfrobs = 3\n");
    ASSERT_OK(fclose(f));
    ASSERT_EQ(pvt_sim_params_load_file(&p, bad, err, sizeof(err)), -1);
    /* the message names the file and the line */
    ASSERT(strstr(err, "bad.scn:2:") != NULL);
    ASSERT(strstr(err, "frobs") != NULL);
    ASSERT_EQ(
        pvt_sim_params_load_file(&p, "/nonexistent/x.scn", err, sizeof(err)),
        -1);
    unlink(good);
    unlink(bad);
    rmdir(dir);
    RETURN_OK();
}
