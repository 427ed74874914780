/*
 * `pvtimer kvm`: run the guest kernel under the project's own KVM monitor.
 *
 *   pvtimer kvm --scenario NAME|FILE [--strategy LIST|all] [--seed N]
 *               [--set key=value ...] [--json] [--report FILE.html]
 *               [--load N]
 *   pvtimer kvm --selftest [PATTERN...]
 *   pvtimer kvm --cmdline STR
 *   (each also takes --guest PATH, --mem MiB, --timeout S)
 *
 * A scenario's console messages go to stderr; with --selftest and
 * --cmdline the guest's console goes to stdout. Exit status: 0 when the
 * guest(s) exited with status 0; 1 when one exited otherwise or the
 * monitor stopped it (the reason on stderr); 2 for bad usage; 77 when KVM
 * is not available here ("KVM is not available: ...").
 * The guest image: --guest, else $PVT_GUEST_PATH, else the one the build
 * produced. The KVM device: $PVT_KVM_DEVICE, else /dev/kvm.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "pvtimer/pvtimer.h"
#include "kvmrun/kvmrun.h"

#ifdef PVT_HAVE_KVM
#include "vmm.h"
#endif

#define MAX_SETS    64

#define DEFAULT_MEM_MIB   64u
#define DEFAULT_TIMEOUT_S 60u

/* "selftest" and its patterns; the guest reads at most 255 bytes. */
#define SELFTEST_CMDLINE_MAX 240u

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: pvtimer kvm --scenario NAME|FILE [--strategy LIST|all] "
        "[--seed N]\n"
        "                   [--set key=value ...] [--json] [--report "
        "FILE.html] [--load N]\n"
        "       pvtimer kvm --selftest [PATTERN...]\n"
        "       pvtimer kvm --cmdline STR\n"
        "       (each also takes --guest PATH, --mem MiB, --timeout S)\n\n"
        "Runs the guest kernel under pvtimer's KVM monitor.\n"
        "  --scenario NAME|FILE  a simulator scenario (pvtimer sim --list), "
        "run for real:\n"
        "                        one VM per strategy, the table (or JSON) "
        "with the\n"
        "                        baselines measured in the same run. Its "
        "times are\n"
        "                        shortened for a real run (boot <= %g s, "
        "run <= %g s,\n"
        "                        drain <= %g s, timers <= %g s, <= %g/s, "
        "hz <= %g);\n"
        "                        --set overrides\n"
        "  --strategy LIST       comma-separated strategy names, or all "
        "(default)\n"
        "  --seed N              workload and preemption seed (default 1)\n"
        "  --set key=value       override a parameter (as pvtimer sim)\n"
        "  --json                JSON in the simulator's schema, \"backend\": "
        "\"kvm\"\n"
        "  --report FILE.html    the simulator's HTML report\n"
        "  --load N              N busy host processes during the runs\n"
        "  --selftest            run the core's unit tests inside the guest "
        "(those whose\n"
        "                        name contains a PATTERN, when given, and "
        "no -PATTERN)\n"
        "  --cmdline STR         hand STR to the guest as its command "
        "line\n"
        "  --guest PATH          guest image (default: $PVT_GUEST_PATH, "
        "else the built one)\n"
        "  --mem MiB             guest RAM (default %u)\n"
        "  --timeout S           stop a guest still running after S "
        "seconds (default %u,\n"
        "                        0: never; per VM)\n"
        "Exit status: 0 ok, 1 a run failed, 2 bad usage, 77 KVM is not "
        "available.\n",
        PVT_KVMRUN_BOOT_S, PVT_KVMRUN_DURATION_S, PVT_KVMRUN_DRAIN_S, PVT_KVMRUN_DELTA_MAX_S, PVT_KVMRUN_RATE_HZ,
        PVT_KVMRUN_HZ, DEFAULT_MEM_MIB, DEFAULT_TIMEOUT_S);
}

/* Parses a decimal unsigned number in [min, max]. */
static int parse_uint(const char *s, unsigned long min, unsigned long max,
                      unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A selftest pattern: a test-name fragment, optionally after a '-' (which
 * drops the tests it names); nothing else, so the guest can split the
 * command line on spaces. */
static int is_pattern(const char *v)
{
    if (v == NULL)
        return 0;
    if (*v == '-')
        v++;
    return *v &&
           strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(v);
}

/* --scenario: parameters as pvtimer sim takes them, shortened, then run. */
static int run_scenario(const char *scenario, const char *strategy_list,
                        const char *const *sets, size_t nsets,
                        unsigned long long seed, bool json, const char *report,
                        const char *guest, unsigned long mem_mib,
                        unsigned long timeout_s, unsigned long load)
{
    const struct pvt_ce_strategy *strategies[16];
    struct sim_params p;
    size_t nstrat = 0, k;
    char err[256];
    const char *name = scenario;

    if (sim_params_resolve(&p, scenario, err, sizeof(err)) < 0) {
        fprintf(stderr, "pvtimer kvm: %s\n", err);
        return 2;
    }
    pvt_kvmrun_shorten(&p);
    for (k = 0; k < nsets; k++)
        if (sim_params_set(&p, sets[k], err, sizeof(err)) < 0) {
            fprintf(stderr, "pvtimer kvm: %s\n", err);
            return 2;
        }
    if (sim_params_check(&p, err, sizeof(err)) < 0) {
        fprintf(stderr, "pvtimer kvm: %s\n", err);
        return 2;
    }
    if (pvt_parse_strategies("kvm", strategy_list, strategies, &nstrat) < 0)
        return 2;
#ifndef PVT_HAVE_KVM
    (void)seed;
    (void)json;
    (void)report;
    (void)guest;
    (void)mem_mib;
    (void)timeout_s;
    (void)load;
    (void)name;
    fprintf(stderr, "pvtimer kvm: KVM is not available: this build has no "
                    "KVM monitor (x86-64 Linux only)\n");
    return PVT_KVMRUN_NO_KVM;
#else
    {
        struct pvt_kvmrun_opts o;
        double run_s = p.boot_s + p.duration_s + p.drain_s;

        memset(&o, 0, sizeof(o));
        o.scenario = name;
        o.params = &p;
        o.seed = seed;
        o.strategies = strategies;
        o.nstrategies = nstrat;
        o.guest = guest && *guest ? guest : PVT_GUEST_DEFAULT_PATH;
        o.mem_bytes = (uint64_t)mem_mib << 20;
        /* the default watchdog grows with the run */
        o.timeout_s = timeout_s == DEFAULT_TIMEOUT_S
                          ? (unsigned int)(DEFAULT_TIMEOUT_S + 4 * run_s)
                          : (unsigned int)timeout_s;
        o.load_processes = (unsigned int)load;
        o.console_fd = STDERR_FILENO;
        o.json = json;
        o.progress = isatty(STDERR_FILENO);
        o.report = report;
        o.kvm_path = getenv("PVT_KVM_DEVICE");
        return pvt_kvmrun_scenario(&o);
    }
#endif
}

/* Contract in commands.h. */
int pvt_cmd_kvm(int argc, char **argv)
{
    char selftest[SELFTEST_CMDLINE_MAX];
    const char *guest = NULL;
    const char *cmdline = NULL;
    const char *scenario = NULL;
    const char *strategy_list = "all";
    const char *report = NULL;
    const char *sets[MAX_SETS];
    size_t nsets = 0;
    unsigned long long seed = 1;
    unsigned long mem_mib = DEFAULT_MEM_MIB;
    unsigned long timeout_s = DEFAULT_TIMEOUT_S;
    unsigned long load = 0;
    bool json = false;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--selftest") == 0) {
            size_t len;

            if (cmdline) {
                fprintf(stderr, "pvtimer kvm: --cmdline and --selftest "
                                "exclude each other\n");
                return 2;
            }
            strcpy(selftest, "selftest");
            len = strlen(selftest);
            while (is_pattern(v)) {
                if (len + 1 + strlen(v) >= sizeof(selftest)) {
                    fprintf(stderr, "pvtimer kvm: too many patterns\n");
                    return 2;
                }
                selftest[len++] = ' ';
                strcpy(selftest + len, v);
                len += strlen(v);
                i++;
                v = i + 1 < argc ? argv[i + 1] : NULL;
            }
            cmdline = selftest;
        } else if (strcmp(a, "--scenario") == 0 && v) {
            scenario = v;
            i++;
        } else if (strcmp(a, "--strategy") == 0 && v) {
            strategy_list = v;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            char *end;
            errno = 0;
            seed = strtoull(v, &end, 10);
            if (errno || *end || *v < '0' || *v > '9') {
                fprintf(stderr, "pvtimer kvm: --seed takes a number\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--set") == 0 && v) {
            if (nsets == MAX_SETS) {
                fprintf(stderr, "pvtimer kvm: too many --set\n");
                return 2;
            }
            sets[nsets++] = v;
            i++;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--report") == 0 && v) {
            report = v;
            i++;
        } else if (strcmp(a, "--load") == 0) {
            if (parse_uint(v, 0, 64, &load) < 0) {
                fprintf(stderr, "pvtimer kvm: --load takes 0..64 threads\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--cmdline") == 0 && v) {
            if (cmdline) {
                fprintf(stderr, "pvtimer kvm: --cmdline and --selftest "
                                "exclude each other\n");
                return 2;
            }
            cmdline = v;
            i++;
        } else if (strcmp(a, "--guest") == 0 && v) {
            guest = v;
            i++;
        } else if (strcmp(a, "--mem") == 0) {
            if (parse_uint(v, 4, 3072, &mem_mib) < 0) {
                fprintf(stderr, "pvtimer kvm: --mem takes MiB in 4..3072\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--timeout") == 0) {
            if (parse_uint(v, 0, 86400, &timeout_s) < 0) {
                fprintf(stderr,
                        "pvtimer kvm: --timeout takes seconds in 0..86400\n");
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "pvtimer kvm: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if ((cmdline == NULL) == (scenario == NULL)) {
        fprintf(stderr, "pvtimer kvm: say what to run: --scenario, "
                        "--selftest or --cmdline (one of them)\n");
        usage(stderr);
        return 2;
    }
    if (guest == NULL)
        guest = getenv("PVT_GUEST_PATH");
    if (scenario)
        return run_scenario(scenario, strategy_list, sets, nsets, seed, json,
                            report, guest, mem_mib, timeout_s, load);

#ifndef PVT_HAVE_KVM
    (void)guest;
    (void)mem_mib;
    (void)timeout_s;
    fprintf(stderr, "pvtimer kvm: KVM is not available: this build has no "
                    "KVM monitor (x86-64 Linux only)\n");
    return PVT_KVMRUN_NO_KVM;
#else
    {
        struct pvt_vmm_config cfg;
        struct pvt_vmm vm;
        int rc = 1;

        if (guest == NULL || *guest == '\0')
            guest = PVT_GUEST_DEFAULT_PATH;
        memset(&cfg, 0, sizeof(cfg));
        cfg.guest_path = guest;
        cfg.mem_size = (uint64_t)mem_mib << 20;
        cfg.timeout_s = (unsigned int)timeout_s;
        cfg.cmdline = cmdline;
        cfg.console_fd = STDOUT_FILENO;
        cfg.kvm_path = getenv("PVT_KVM_DEVICE");
        fflush(stdout);

        if (pvt_vmm_init(&vm, &cfg) < 0 || pvt_vmm_elf_load(&vm) < 0 ||
            pvt_vmm_kvm_setup(&vm) < 0 || pvt_vmm_run(&vm) < 0) {
            fprintf(stderr, "pvtimer kvm: %s\n", vm.err);
            if (vm.kvm_unavailable)
                rc = PVT_KVMRUN_NO_KVM;
            goto out;
        }
        if (vm.guest_status != 0) {
            fprintf(stderr, "pvtimer kvm: the guest exited with status %d\n",
                    vm.guest_status);
            goto out;
        }
        rc = 0;
    out:
        pvt_vmm_destroy(&vm);
        return rc;
    }
#endif
}
