/*
 * `pvtimer kvm`: run the guest kernel under the project's own KVM monitor:
 * a simulator scenario for real (src/kvmrun), the core's tests inside the
 * guest, or a command line of the user's.
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
#include "kvmrun/kvmrun.h"
#include "options.h"
#include "pvtimer/pvtimer.h"

#ifdef PVT_HAVE_KVM
#include "exp.h"
#include "vmm.h"
#endif

#define DEFAULT_MEM_MIB   64u
#define DEFAULT_TIMEOUT_S 60u
/* what the default watchdog adds for the clock check of several vCPUs */
#define SMP_CHECK_TIMEOUT_S 240u

/* "selftest" and its patterns; the guest reads at most 255 bytes. */
#define SELFTEST_CMDLINE_MAX 240u

/* What the command line asks for. */
struct kvm_args {
    const char *scenario, *cmdline, *report, *guest;
    struct pvt_opt_strategies strat;
    struct pvt_opt_list sets, patterns;
    uint64_t seed;
    unsigned long mem_mib, load;
    double timeout_s; /* < 0: not given */
    bool json, selftest;
};

#ifndef PVT_HAVE_KVM
static int no_kvm(void)
{
    fprintf(stderr, "pvtimer kvm: KVM is not available: this build has no "
                    "KVM monitor (x86-64 Linux only)\n");
    return PVT_KVMRUN_NO_KVM;
}
#endif

/* A selftest pattern: a test-name fragment, optionally after a '-' (which
 * drops the tests it names); nothing else, so the guest can split the
 * command line on spaces. */
static int is_pattern(const char *v)
{
    if (*v == '-')
        v++;
    return *v &&
           strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(v);
}

/* The monitor's own --set keys, which the simulator does not have. */
struct monitor_sets {
    bool advance_fixed;
    int64_t advance_ns;
    int service_rt;
    unsigned int service_threads;
};

static const struct monitor_key {
    const char *name;
    long long min, max;
    const char *range; /* what the error says it must be */
} monitor_keys[] = {
    {"advance_ns", -1, 1000000, "-1 (adaptive) or 0 to 1000000 ns"},
    {"service_rt", 0, 99, "0 (no) to 99 (SCHED_FIFO priority)"},
    {"service_threads", 0, 64,
     "0 (one per vCPU, up to the online CPUs) to 64 threads"},
};
#define NMONITOR_KEYS (sizeof(monitor_keys) / sizeof(monitor_keys[0]))

/* The number in v, within key k's range ("adaptive" = -1 for advance_ns).
 * Returns 0, or -1 with a message. */
static int monitor_value(const struct monitor_key *k, const char *v,
                         long long *out)
{
    char *end;

    if (k->min == -1 && strcmp(v, "adaptive") == 0) {
        *out = -1;
        return 0;
    }
    errno = 0;
    *out = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno || *out > k->max || *out < k->min) {
        fprintf(stderr, "pvtimer kvm: %s: '%s' is not %s\n", k->name, v,
                k->range);
        return -1;
    }
    return 0;
}

/*
 * Takes the monitor's own --set keys out of sets (the rest go to the
 * simulator's parameters): advance_ns=N (the timer service's fixed
 * advance, ns >= 0) or -1 / adaptive (KVM's lapic_timer_advance_ns = -1;
 * the default); service_rt=P (the service threads at SCHED_FIFO priority P
 * where the host allows it; 0, the default: the default scheduling);
 * service_threads=N (the service's threads, vCPU i's timer on thread
 * i % N; 0, the default: one per vCPU up to the online CPUs). Returns 0,
 * or -1 with a message.
 */
static int take_monitor_sets(struct pvt_opt_list *sets, struct monitor_sets *m)
{
    size_t i, k = 0, j;

    memset(m, 0, sizeof(*m));
    m->advance_ns = -1;
    for (i = 0; i < sets->n; i++) {
        const char *v = sets->v[i];
        long long x;

        for (j = 0; j < NMONITOR_KEYS; j++) {
            size_t len = strlen(monitor_keys[j].name);

            if (strncmp(v, monitor_keys[j].name, len) == 0 &&
                (v[len] == '=' || v[len] == ' '))
                break;
        }
        if (j == NMONITOR_KEYS) {
            sets->v[k++] = v;
            continue;
        }
        v += strlen(monitor_keys[j].name);
        v += strspn(v, " =");
        if (monitor_value(&monitor_keys[j], v, &x) < 0)
            return -1;
        if (j == 0) {
            m->advance_fixed = x >= 0;
            m->advance_ns = x;
        } else if (j == 1) {
            m->service_rt = (int)x;
        } else {
            m->service_threads = (unsigned int)x;
        }
    }
    sets->n = k;
    return 0;
}

/* --scenario: parameters as pvtimer sim takes them, shortened, then run. */
static int run_scenario(const struct kvm_args *a)
{
    struct pvt_sim_params p;
    struct pvt_opt_list sets = a->sets;
    struct monitor_sets m;
    char err[256];

    if (pvt_sim_params_resolve(&p, a->scenario, err, sizeof(err)) < 0) {
        fprintf(stderr, "pvtimer kvm: %s\n", err);
        return 2;
    }
    pvt_kvmrun_shorten(&p);
    if (take_monitor_sets(&sets, &m) < 0)
        return 2;
    {
        /* several vCPUs: the guest clock is kvmclock from the start (no
         * boot phase, guest/smp.c), unless the user says otherwise */
        struct pvt_sim_params q = p;

        q.boot_s = 0;
        if (pvt_sim_params_apply(&q, sets.v, sets.n, err, sizeof(err)) == 0 &&
            q.vcpus > 1)
            p.boot_s = 0;
    }
    if (pvt_sim_params_apply(&p, sets.v, sets.n, err, sizeof(err))) {
        fprintf(stderr, "pvtimer kvm: %s\n", err);
        return 2;
    }
#ifndef PVT_HAVE_KVM
    return no_kvm();
#else
    {
        struct pvt_kvmrun_opts o;
        double run_s = p.boot_s + p.duration_s + p.drain_s;

        memset(&o, 0, sizeof(o));
        o.scenario = a->scenario;
        o.params = &p;
        o.seed = a->seed;
        o.strategies = a->strat.s;
        o.nstrategies = a->strat.n;
        o.guest = a->guest;
        o.mem_bytes = (uint64_t)a->mem_mib << 20;
        /* the default watchdog grows with the run, and with several
         * vCPUs with their clock check (10^6 cross-vCPU pairs: half a
         * second where the vCPUs have a core each, minutes on a host too
         * loaded to run them together) */
        o.timeout_s =
            a->timeout_s < 0
                ? (unsigned int)(DEFAULT_TIMEOUT_S + 4 * run_s +
                                 (p.vcpus > 1 ? SMP_CHECK_TIMEOUT_S : 0))
                : (unsigned int)ceil(a->timeout_s);
        o.load_processes = (unsigned int)a->load;
        o.console_fd = STDERR_FILENO;
        o.json = a->json;
        o.progress = isatty(STDERR_FILENO);
        o.report = a->report;
        o.kvm_path = getenv("PVT_KVM_DEVICE");
        o.advance_fixed = m.advance_fixed;
        o.advance_ns = m.advance_ns;
        o.service_rt = m.service_rt;
        o.service_threads = m.service_threads;
        return pvt_kvmrun_scenario(&o);
    }
#endif
}

/* --selftest and --cmdline: one VM, its console on stdout. */
static int run_cmdline(const struct kvm_args *a, const char *cmdline)
{
#ifndef PVT_HAVE_KVM
    (void)a;
    (void)cmdline;
    return no_kvm();
#else
    struct pvt_vmm_config cfg;
    /* the experiment's calls served, their results dropped */
    struct pvt_exp_server exp = {0};
    struct pvt_vmm_hypercall hc[PVT_EXP_SERVER_HYPERCALLS];
    struct pvt_vmm vm;
    int rc = 1;

    memset(&cfg, 0, sizeof(cfg));
    cfg.guest_path = a->guest;
    cfg.mem_size = (uint64_t)a->mem_mib << 20;
    cfg.timeout_s =
        a->timeout_s < 0 ? DEFAULT_TIMEOUT_S : (unsigned int)ceil(a->timeout_s);
    cfg.cmdline = cmdline;
    cfg.console_fd = STDOUT_FILENO;
    cfg.kvm_path = getenv("PVT_KVM_DEVICE");
    cfg.hypercalls = hc;
    cfg.hypercall_count =
        pvt_exp_server_hypercalls(&exp, hc, PVT_EXP_SERVER_HYPERCALLS);
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
#endif
}

/* "selftest PATTERN..." into buf; -1 after a message. */
static int selftest_cmdline(const struct kvm_args *a, char *buf, size_t len)
{
    size_t k, used;

    snprintf(buf, len, "selftest");
    used = strlen(buf);
    for (k = 0; k < a->patterns.n; k++) {
        const char *v = a->patterns.v[k];

        if (!is_pattern(v)) {
            fprintf(stderr,
                    "pvtimer kvm: '%s' is no test-name pattern (letters, "
                    "digits, _; a leading - drops)\n",
                    v);
            return -1;
        }
        if (used + 1 + strlen(v) >= len) {
            fprintf(stderr, "pvtimer kvm: too many patterns\n");
            return -1;
        }
        used += (size_t)snprintf(buf + used, len - used, " %s", v);
    }
    return 0;
}

static const char usage[] =
    "usage: pvtimer kvm --scenario NAME|FILE [--strategy LIST|all] "
    "[--seed N]\n"
    "                   [--set key=value ...] [--json] [--report FILE.html] "
    "[--load N]\n"
    "       pvtimer kvm --selftest [PATTERN...]\n"
    "       pvtimer kvm --cmdline STR\n"
    "       (each also takes --guest PATH, --mem MiB, --timeout S)\n\n"
    "Runs the guest kernel under pvtimer's KVM monitor.";

/* Contract in commands.h. */
int pvt_cmd_kvm(int argc, char **argv)
{
    struct kvm_args a = {
        .seed = 1,
        .mem_mib = DEFAULT_MEM_MIB,
        .timeout_s = -1,
    };
    char scenario_help[512], timeout_help[128], selftest[SELFTEST_CMDLINE_MAX];
    const struct pvt_option opts[] = {
        PVT_OPT("--scenario", PVT_OPT_STRING, &a.scenario, "NAME|FILE",
                scenario_help),
        PVT_OPT("--strategy", PVT_OPT_STRATEGIES, &a.strat, "LIST",
                "comma-separated strategy names, or all (default)"),
        PVT_OPT("--seed", PVT_OPT_SEED, &a.seed, "N",
                "workload and preemption seed (default 1)"),
        PVT_OPT("--set", PVT_OPT_LIST, &a.sets, "key=value",
                "override a parameter (as pvtimer sim); also\n"
                "advance_ns=N|-1: the timer service's advance\n"
                "(KVM's lapic_timer_advance_ns; -1, the default:\n"
                "adaptive); service_rt=P: the service threads at\n"
                "SCHED_FIFO priority P where allowed (default 0: no);\n"
                "service_threads=N: the service's threads, vCPU i's\n"
                "timer on thread i % N (default 0: one per vCPU, up\n"
                "to the online CPUs)"),
        PVT_OPT("--json", PVT_OPT_FLAG, &a.json, NULL,
                "JSON in the simulator's schema, \"backend\": \"kvm\""),
        PVT_OPT("--report", PVT_OPT_STRING, &a.report, "FILE.html",
                "the simulator's HTML report"),
        PVT_OPT_RANGE("--load", PVT_OPT_COUNT, &a.load, "N",
                      "N busy host processes during the runs (0 to 64)", 0, 64),
        PVT_OPT("--selftest", PVT_OPT_FLAG, &a.selftest, NULL,
                "run the core's unit tests inside the guest (those whose\n"
                "name contains a PATTERN, when given, and no -PATTERN)"),
        PVT_OPT("--cmdline", PVT_OPT_STRING, &a.cmdline, "STR",
                "hand STR to the guest as its command line:\n"
                "costs: what clock reads, halts and hypercalls cost\n"
                "in ring 0 and ring 3; hostile: bad hypercalls the\n"
                "monitor must refuse, a timer storm, then an unknown\n"
                "hypercall that stops the VM; hostile-struct: a\n"
                "hypercall struct outside guest RAM (selftest,\n"
                "scenario and drift are what --selftest, --scenario\n"
                "and drift --kvm hand it)"),
        PVT_OPT("--guest", PVT_OPT_STRING, &a.guest, "PATH",
                "guest image (default: $PVT_GUEST_PATH, else the built one)"),
        PVT_OPT_RANGE("--mem", PVT_OPT_COUNT, &a.mem_mib, "MiB",
                      "guest RAM in MiB, 4 to 3072 (default 64)", 4, 3072),
        PVT_OPT_TIME("--timeout", &a.timeout_s, "S", timeout_help, 0, false,
                     86400, "s"),
    };
    const struct pvt_command_spec spec = {
        .name = "kvm",
        .usage = usage,
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .epilog = "Exit status: 0 ok, 1 a run failed, 2 bad usage, 77 KVM is "
                  "not available.\n",
        .operands = &a.patterns,
    };
    const char *cmdline;
    int rc;

    snprintf(scenario_help, sizeof(scenario_help),
             "a simulator scenario (pvtimer sim --list), run for real:\n"
             "one VM per strategy, the table (or JSON) with the\n"
             "baselines measured in the same run. Its times are\n"
             "shortened for a real run (boot <= %g s, run <= %g s,\n"
             "drain <= %g s, timers <= %g s, <= %g/s, hz <= %g);\n"
             "--set overrides",
             PVT_KVMRUN_BOOT_S, PVT_KVMRUN_DURATION_S, PVT_KVMRUN_DRAIN_S,
             PVT_KVMRUN_DELTA_MAX_S, PVT_KVMRUN_RATE_HZ, PVT_KVMRUN_HZ);
    snprintf(timeout_help, sizeof(timeout_help),
             "stop a guest still running after S (default %u s,\n"
             "0: never; per VM; units: 90s, 2m)",
             DEFAULT_TIMEOUT_S);
    if (pvt_options_parse(&spec, argc, argv, &rc))
        return rc;
    if (a.patterns.n && !a.selftest) {
        fprintf(stderr,
                "pvtimer kvm: unexpected argument '%s' (try pvtimer kvm "
                "--help)\n",
                a.patterns.v[0]);
        return 2;
    }
    if (a.selftest + (a.cmdline != NULL) + (a.scenario != NULL) != 1) {
        fprintf(stderr, "pvtimer kvm: say what to run: --scenario, "
                        "--selftest or --cmdline (one of them)\n");
        return 2;
    }
    if (!a.strat.given)
        pvt_options_strategies("kvm", "all", &a.strat);
    if (a.guest == NULL)
        a.guest = getenv("PVT_GUEST_PATH");
#ifdef PVT_HAVE_KVM
    if (a.guest == NULL || *a.guest == '\0')
        a.guest = PVT_GUEST_DEFAULT_PATH;
#endif
    if (a.scenario)
        return run_scenario(&a);
    cmdline = a.cmdline;
    if (a.selftest) {
        if (selftest_cmdline(&a, selftest, sizeof(selftest)) < 0)
            return 2;
        cmdline = selftest;
    }
    return run_cmdline(&a, cmdline);
}
