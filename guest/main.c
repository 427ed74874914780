/*
 * The guest kernel's main: find the monitor, read the command line, run
 * what it names.
 *
 *   selftest [PATTERN...]
 *                   the core's freestanding tests (selftest.c) whose name
 *                   contains a PATTERN (all without one) and none of the
 *                   -PATTERNs, in ring 3: TAP lines and
 *                   "N passed, N failed, N skipped"; exits 0 when none
 *                   failed
 *   scenario strategy=NAME key=value...
 *                   a simulator scenario run for real (scenario.c)
 *   drift [key=value...]
 *                   the TSC against kvmclock through the estimator (drift.c)
 *   costs           what basic operations cost here, in ring 0 and ring 3
 *   hostile         bad hypercalls the monitor must refuse with an error
 *                   code, a timer storm, then an unknown hypercall it must
 *                   stop the VM on
 *   hostile-struct  a hypercall whose struct lies outside guest RAM
 * Without pvtimer's monitor it runs pvt_guest_standalone instead.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "drift.h"
#include "guest.h"
#include "platform.h"
#include "pvtimer/pvexp.h"
#include "scenario.h"

static char cmdline[1024];

/* ---- hostile: what the monitor must survive ---- */

static int expect(const char *what, int32_t got, int32_t want)
{
    pvt_guest_printf("hostile: %s -> %d (%s)\n", what, (int)got,
                     got == want ? "refused as expected" : "UNEXPECTED");
    return got == want ? 0 : 1;
}

static int console_call(uint64_t data, uint64_t len)
{
    struct pvt_hc_console_write a = {0};

    a.data = data;
    a.len = len;
    pvt_guest_hypercall(PVT_HC_CONSOLE_WRITE, &a);
    return a.ret;
}

static int hostile_timers(void)
{
    struct pvt_hc_timer_relative rel = {0};
    struct pvt_hc_timer_periodic per = {0};
    struct pvt_hc_timer_stop stop = {0};
    struct pvt_hc_result res = {0};
    struct pvt_hc_workload wl = {0};
    struct pvt_hc_suspend sus = {0};
    static struct pvt_result_summary sum;
    int bad = 0;

    rel.delta_ns = PVT_HC_MAX_AHEAD_NS + 1;
    pvt_guest_hypercall(PVT_HC_TIMER_RELATIVE, &rel);
    bad |= expect("relative delta beyond 2^50 ns", rel.ret, -PVT_HC_ERANGE);
    per.period_ns = 1;
    pvt_guest_hypercall(PVT_HC_TIMER_PERIODIC, &per);
    bad |= expect("periodic timer every 1 ns", per.ret, -PVT_HC_ERANGE);
    per.period_ns = UINT64_MAX;
    pvt_guest_hypercall(PVT_HC_TIMER_PERIODIC, &per);
    bad |= expect("periodic timer every 2^64 - 1 ns", per.ret, -PVT_HC_ERANGE);
    stop.reserved = 1;
    pvt_guest_hypercall(PVT_HC_TIMER_STOP, &stop);
    bad |= expect("stop with a reserved field set", stop.ret, -PVT_HC_EINVAL);
    res.type = 99;
    res.count = 1;
    res.data = (uintptr_t)&sum;
    pvt_guest_hypercall(PVT_HC_RESULT, &res);
    bad |= expect("result of an unknown type", res.ret, -PVT_HC_EINVAL);
    res.type = PVT_RESULT_SAMPLES;
    res.count = PVT_RESULT_BATCH_MAX + 1;
    pvt_guest_hypercall(PVT_HC_RESULT, &res);
    bad |= expect("too many samples in one call", res.ret, -PVT_HC_EINVAL);
    res.count = 2;
    res.data = UINT64_MAX - 16;
    pvt_guest_hypercall(PVT_HC_RESULT, &res);
    bad |= expect("samples outside RAM", res.ret, -PVT_HC_EFAULT);
    res.type = PVT_RESULT_SUMMARY;
    res.count = 1;
    res.data = (uintptr_t)&sum;
    for (unsigned int i = 0; i < sizeof(sum.strategy); i++)
        sum.strategy[i] = 'x'; /* not NUL-terminated */
    pvt_guest_hypercall(PVT_HC_RESULT, &res);
    bad |= expect("summary without a terminated name", res.ret, -PVT_HC_EINVAL);
    wl.buf = (uintptr_t)&sum;
    wl.max_items = 0;
    pvt_guest_hypercall(PVT_HC_WORKLOAD, &wl);
    bad |= expect("workload of 0 items", wl.ret, -PVT_HC_EINVAL);
    sus.reserved = 7;
    pvt_guest_hypercall(PVT_HC_SUSPEND, &sus);
    bad |= expect("suspend with a reserved field set", sus.ret, -PVT_HC_EINVAL);
    {
        /* vCPU indices: 0 runs already, the VM has one vCPU here */
        static const uint32_t bad_vcpu[] = {0, 1, 64, UINT32_MAX};
        struct pvt_hc_vcpu_up up = {0};

        for (unsigned int i = 0; i < sizeof(bad_vcpu) / sizeof(bad_vcpu[0]);
             i++) {
            up.vcpu = bad_vcpu[i];
            up.rip = (uintptr_t)&sum;
            up.rsp = (uintptr_t)&sum + 64;
            pvt_guest_hypercall(PVT_HC_VCPU_UP, &up);
            bad |= expect("vcpu_up of a vCPU the VM does not have", up.ret,
                          -PVT_HC_EINVAL);
        }
    }
    return bad;
}

/*
 * A timer storm: singleshot deadlines in the past, armed again as soon as
 * each fires. The monitor must fire each at once but never two closer
 * than PVT_HC_MIN_INTERVAL_NS: the guest times STORM_FIRES of them.
 */
#define STORM_FIRES 500u

static int storm(void)
{
    static struct pvt_guest_clocks c;
    struct pvt_irq_state st;
    const char *why = "";
    uint64_t t0, t1, fires = 0, calls = 0;

    if (pvt_guest_clocks_init(&c, 0, &why) < 0) {
        pvt_guest_printf("hostile: storm: %s\n", why);
        return 1;
    }
    pvt_cpu_init_idt();
    if (!pvt_cpu_init_x2apic()) {
        pvt_guest_printf("hostile: storm: no x2APIC\n");
        return 1;
    }
    /* the default periodic timer would add its own interrupts */
    {
        struct pvt_hc_timer_periodic per = {0};
        pvt_guest_hypercall(PVT_HC_TIMER_PERIODIC, &per);
    }
    t0 = pvt_guest_kvmclock_ns(&c);
    while (fires < STORM_FIRES) {
        struct pvt_hc_timer_singleshot ss = {0};

        ss.deadline_ns = 1; /* long past */
        pvt_guest_hypercall(PVT_HC_TIMER_SINGLESHOT, &ss);
        calls++;
        if (ss.ret != 0) {
            pvt_guest_printf("hostile: storm: singleshot refused (%d)\n",
                             (int)ss.ret);
            return 1;
        }
        pvt_cpu_wait(&st);
        if (st.pending & (1u << PVT_IRQ_SINGLESHOT))
            fires++;
    }
    t1 = pvt_guest_kvmclock_ns(&c);
    pvt_guest_printf("hostile: storm: %lu fires in %lu ns (%lu calls), at "
                     "least %lu ns apart on average\n",
                     (unsigned long)fires, (unsigned long)(t1 - t0),
                     (unsigned long)calls, (unsigned long)((t1 - t0) / fires));
    return 0;
}

static _Noreturn void hostile(uint64_t mem_size)
{
    struct pvt_hc_info info = {0};
    struct pvt_hc_timer_singleshot ss = {0};
    int bad = 0;

    bad |= expect("console write outside RAM", console_call(mem_size, 16),
                  -PVT_HC_EFAULT);
    bad |= expect("console write wrapping around",
                  console_call(UINT64_MAX - 8, 64), -PVT_HC_EFAULT);
    bad |= expect("console write too long",
                  console_call((uintptr_t)cmdline, PVT_HC_CONSOLE_MAX + 1),
                  -PVT_HC_EINVAL);
    info.abi_version = PVT_ABI_VERSION;
    info.cmdline = mem_size - 8;
    info.cmdline_size = 64;
    pvt_guest_hypercall(PVT_HC_INFO, &info);
    bad |= expect("command line buffer past the end of RAM", info.ret,
                  -PVT_HC_EFAULT);
    ss.deadline_ns = UINT64_MAX;
    pvt_guest_hypercall(PVT_HC_TIMER_SINGLESHOT, &ss);
    bad |= expect("singleshot deadline 2^64 - 1 ns", ss.ret, -PVT_HC_ERANGE);
    bad |= hostile_timers();
    bad |= storm();
    if (bad)
        pvt_guest_exit(3);
    pvt_guest_puts("hostile: unknown hypercall next\n");
    pvt_guest_hypercall(PVT_HC_PLATFORM_END, &info);
    pvt_guest_panic("the monitor returned from an unknown hypercall");
}

static _Noreturn void hostile_struct(uint64_t mem_size)
{
    pvt_guest_puts("hostile: console struct outside RAM next\n");
    pvt_guest_hypercall(PVT_HC_CONSOLE_WRITE,
                        (void *)(uintptr_t)(mem_size - 8));
    pvt_guest_panic("the monitor accepted a struct outside RAM");
}

/* ---- costs: what the guest's basic operations take here ---- */

static volatile uint64_t sink;

static struct pvt_guest_clocks cost_clocks;

/* TSC cycles per operation `what`, averaged over n. */
static uint64_t cycles_of(int what, unsigned int n)
{
    struct pvt_guest_clocks *c = &cost_clocks;
    uint64_t t0, t1;
    unsigned int i;

    t0 = pvt_rdtsc();
    for (i = 0; i < n; i++) {
        switch (what) {
        case 0:
            sink += i;
            break;
        case 1:
            sink += pvt_guest_kvmclock_ns(c);
            break;
        case 2: {
            struct pvt_hc_timer_stop a = {0};
            pvt_guest_hypercall(PVT_HC_TIMER_STOP, &a);
            break;
        }
        default:
            pvt_cpu_set_tsc_deadline(0); /* a system call in ring 3 */
            break;
        }
    }
    t1 = pvt_rdtsc();
    return (t1 - t0) / n;
}

static const char *const cost_names[] = {"loop iteration", "kvmclock read",
                                         "hypercall (TIMER_STOP)",
                                         "TSC-deadline write"};

static void print_costs(const char *ring)
{
    unsigned int k;

    for (k = 0; k < 4; k++)
        pvt_guest_printf(
            "guest: %s %-24s %8lu TSC cycles\n", ring, cost_names[k],
            (unsigned long)cycles_of((int)k, k == 0 ? 20000 : 200));
}

static void costs_user(void *arg)
{
    (void)arg;
    print_costs("ring 3");
    pvt_guest_exit(0);
}

/*
 * What the basic operations cost in this guest, in ring 0 and in ring 3
 * (which differ by orders of magnitude where the hypervisor emulates a
 * guest's ring 0: see cpu.h).
 */
static int costs(void)
{
    const char *why = "";

    pvt_cpu_init_idt();
    if (!pvt_cpu_init_x2apic() ||
        pvt_guest_clocks_init(&cost_clocks, 0, &why) < 0) {
        pvt_guest_printf("guest: costs: %s\n", why);
        return 3;
    }
    print_costs("ring 0");
    pvt_cpu_run_user(costs_user, NULL);
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

/* Contract in guest.h. */
_Noreturn void pvt_guest_main(void)
{
    struct pvt_hc_info info = {0};

    info.abi_version = PVT_ABI_VERSION;
    info.cmdline = (uint64_t)(uintptr_t)cmdline;
    info.cmdline_size = sizeof(cmdline);
    pvt_guest_hypercall(PVT_HC_INFO, &info);
    if (info.magic != PVT_ABI_MAGIC) {
        pvt_guest_console_use_serial();
        pvt_guest_puts("guest: no pvtimer monitor (not pvtimer's KVM "
                       "monitor): running standalone\n");
        pvt_guest_exit(pvt_guest_standalone());
    }
    if (info.ret != 0 || info.host_abi != PVT_ABI_VERSION) {
        pvt_guest_printf("guest: ABI version %u, the monitor speaks %u (%d)\n",
                         PVT_ABI_VERSION, (unsigned int)info.host_abi,
                         (int)info.ret);
        pvt_guest_exit(3);
    }
    if (info.cmdline_len >= sizeof(cmdline))
        pvt_guest_panic("command line too long");

    if (streq(cmdline, "selftest") || starts_with(cmdline, "selftest ")) {
        /* in ring 3, where this machine's KVM runs the guest natively */
        pvt_cpu_init_idt();
        pvt_cpu_run_user(pvt_guest_selftest, cmdline + (cmdline[8] ? 9 : 8));
    }
    if (streq(cmdline, "costs"))
        pvt_guest_exit(costs());
    if (streq(cmdline, "drift") || starts_with(cmdline, "drift "))
        pvt_guest_exit(pvt_guest_drift(cmdline + 5));
    if (starts_with(cmdline, "scenario "))
        pvt_guest_exit(info.vcpus > 1
                           ? pvt_guest_scenario_smp(cmdline + 9, info.vcpus)
                           : pvt_guest_scenario(cmdline + 9));
    if (streq(cmdline, "hostile"))
        hostile(info.mem_size);
    if (streq(cmdline, "hostile-struct"))
        hostile_struct(info.mem_size);
    pvt_guest_printf("guest: unknown command line '%s' (it takes selftest "
                     "[PATTERN...], scenario ..., drift [key=value...], "
                     "costs, hostile, hostile-struct)\n",
                     cmdline);
    pvt_guest_exit(2);
}
