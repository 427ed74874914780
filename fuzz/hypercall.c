/*
 * The monitor's hypercall decoder (pvt_vmm_handle_io) and the handlers it
 * dispatches to, the platform's (pvtimer/pvabi.h) and the experiment
 * server's (pvtimer/pvexp.h), driven as a hostile guest would: any port,
 * direction, size and count, any struct address, any struct contents and
 * buffers, over a fake guest memory (no /dev/kvm: the seam vmm.h keeps).
 *
 * Checked: the return code is one vmm.h lists, with a message whenever it
 * is an error; -ENOSYS exactly for a number nobody serves, -EFAULT exactly
 * for a struct outside RAM, -EINVAL exactly for an access that is not a
 * 32-bit out to the window; guest RAM changes only inside the call's
 * struct and the buffers it names for output (INFO's command line,
 * WORKLOAD's items); the sinks see only validated results (known kinds,
 * flags and states, counts in range, a NUL-terminated strategy this
 * build knows, at most PVT_RESULT_RUNS_MAX summaries); WORKLOAD copies
 * exactly the items asked for; the console never takes more than its
 * budget; the OUT codes of INFO and CONSOLE_WRITE are as documented.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <unistd.h>

#include "fuzz.h"
#include "pvtimer/pvabi.h"
#include "pvtimer/pvexp.h"
#include "pvtimer/pvtimer.h"
#include "vmm/exp.h"
#include "vmm/vmm.h"

/* Where the fuzzer's addresses mostly land, and what it compares. */
#define WINDOW (16u << 10)

static struct pvt_vmm vm;
static struct pvt_exp_server srv;
static struct pvt_vmm_hypercall table[PVT_EXP_SERVER_HYPERCALLS];
static union {
    struct kvm_run run;
    uint8_t bytes[sizeof(struct kvm_run) + 64];
} area;
static uint8_t shadow[WINDOW];
static struct pvt_workload_item items[40];
static bool refuse;
static uint64_t summaries;

static int on_samples(void *ctx, unsigned int vcpu,
                      const struct pvt_result_sample *s, size_t n)
{
    size_t i;

    (void)ctx;
    FUZZ_CHECK(vcpu == 0, "samples from vCPU %u of a 1-vCPU VM", vcpu);
    FUZZ_CHECK(n >= 1 && n <= PVT_RESULT_BATCH_MAX, "%zu samples", n);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(s[i].kind >= 1 && s[i].kind < PVT_SAMPLE_KIND_MAX &&
                       !(s[i].flags & ~PVT_SAMPLE_FLAGS),
                   "sample kind %u flags %u reached the sink", s[i].kind,
                   s[i].flags);
    return refuse ? -1 : 0;
}

static int on_summary(void *ctx, unsigned int vcpu,
                      const struct pvt_result_summary *sum)
{
    (void)ctx;
    FUZZ_CHECK(vcpu == 0, "a summary from vCPU %u of a 1-vCPU VM", vcpu);
    FUZZ_CHECK(memchr(sum->strategy, 0, sizeof(sum->strategy)) != NULL &&
                   pvt_strategy_find(sum->strategy) != NULL,
               "a summary of an unknown strategy reached the sink");
    FUZZ_CHECK(++summaries <= PVT_RESULT_RUNS_MAX, "summary %llu",
               (unsigned long long)summaries);
    return refuse ? -1 : 0;
}

static int on_drift(void *ctx, const struct pvt_result_drift *u, size_t n)
{
    size_t i;

    (void)ctx;
    FUZZ_CHECK(n >= 1 && n <= PVT_RESULT_DRIFT_BATCH_MAX, "%zu updates", n);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(u[i].state <= 3, "drift state %u reached the sink",
                   u[i].state);
    return refuse ? -1 : 0;
}

static void setup(void)
{
    struct pvt_vmm_config cfg = {0};
    size_t i;

    srv.on_samples = on_samples;
    srv.on_summary = on_summary;
    srv.on_drift = on_drift;
    for (i = 0; i < PVT_ARRAY_SIZE(items); i++)
        items[i] = (struct pvt_workload_item){i + 1, 1000 * i, 7 * i};
    srv.workload = items;
    srv.workload_count = PVT_ARRAY_SIZE(items);
    FUZZ_CHECK(pvt_exp_server_hypercalls(&srv, table, PVT_ARRAY_SIZE(table)) ==
                   PVT_EXP_SERVER_HYPERCALLS,
               "exp table");
    cfg.mem_size = PVT_VMM_MEM_MIN;
    cfg.console_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cfg.no_timers = true;
    cfg.cmdline = "scenario=fuzz seed=1";
    cfg.hypercalls = table;
    cfg.hypercall_count = PVT_ARRAY_SIZE(table);
    FUZZ_CHECK(cfg.console_fd >= 0, "/dev/null");
    FUZZ_CHECK(pvt_vmm_init(&vm, &cfg) == 0, "vmm_init: %s", vm.err);
    vm.run = &area.run;
    vm.run_size = sizeof(area);
}

static bool served(uint32_t nr)
{
    return nr <= PVT_HC_TIMER_STOP || nr == PVT_HC_SUSPEND ||
           nr == PVT_HC_VCPU_UP || nr == PVT_HC_RESULT || nr == PVT_HC_WORKLOAD;
}

static uint32_t struct_size(uint32_t nr)
{
    switch (nr) {
    case PVT_HC_INFO:
        return sizeof(struct pvt_hc_info);
    case PVT_HC_CONSOLE_WRITE:
        return sizeof(struct pvt_hc_console_write);
    case PVT_HC_EXIT:
        return sizeof(struct pvt_hc_exit);
    case PVT_HC_TIMER_SINGLESHOT:
        return sizeof(struct pvt_hc_timer_singleshot);
    case PVT_HC_TIMER_RELATIVE:
        return sizeof(struct pvt_hc_timer_relative);
    case PVT_HC_TIMER_PERIODIC:
        return sizeof(struct pvt_hc_timer_periodic);
    case PVT_HC_TIMER_STOP:
        return sizeof(struct pvt_hc_timer_stop);
    case PVT_HC_SUSPEND:
        return sizeof(struct pvt_hc_suspend);
    case PVT_HC_VCPU_UP:
        return sizeof(struct pvt_hc_vcpu_up);
    case PVT_HC_RESULT:
        return sizeof(struct pvt_hc_result);
    case PVT_HC_WORKLOAD:
        return sizeof(struct pvt_hc_workload);
    default:
        return 0;
    }
}

/* An address: mostly inside the window, sometimes anywhere. */
static uint64_t address(struct fuzz_in *in)
{
    uint8_t how = fuzz_u8(in);

    if (how < 200)
        return fuzz_u16(in) % WINDOW;
    if (how < 240)
        return fuzz_u32(in);
    return fuzz_u64(in);
}

/* The first i >= from where a and b differ, or n: a plain loop, kept out
 * of the coverage and ASan instrumentation (it is the hot loop, and its
 * comparisons are not the code under test). */
__attribute__((no_sanitize("address", "coverage"))) static size_t
next_difference(const uint8_t *a, const uint8_t *b, size_t from, size_t n)
{
    size_t i = from;

    while (i + 8 <= n) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            break;
        i += 8;
    }
    for (; i < n; i++)
        if (a[i] != b[i])
            return i;
    return n;
}

/* May [a, a + len) hold output of this call? */
static bool in_range(uint64_t off, uint64_t a, uint64_t len)
{
    return off >= a && off - a < len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};

    if (!vm.mem)
        setup();
    memset(vm.mem, 0, WINDOW);
    vm.console_bytes = 0;
    srv.summaries = 0;
    summaries = 0;

    while (fuzz_left(&in)) {
        struct kvm_run *run = &area.run;
        uint8_t kind = fuzz_u8(&in);
        uint32_t nr, gpa, sz;
        uint64_t out_a = 0, out_len = 0; /* a buffer the call writes */
        uint64_t before_console = vm.console_bytes;
        _Alignas(8) uint8_t args[PVT_VMM_HC_SIZE_MAX];
        bool proper;
        int rc;
        size_t i;

        /* guest memory: a few bytes anywhere in the window */
        if (kind & 1) {
            uint32_t at = fuzz_u16(&in) % WINDOW;
            uint32_t len = fuzz_u8(&in);
            if (len > WINDOW - at)
                len = WINDOW - at;
            fuzz_bytes(&in, vm.mem + at, len);
        }
        nr = fuzz_u8(&in);
        if (nr == 0xff)
            nr = fuzz_u32(&in); /* outside the window too */
        gpa = (uint32_t)address(&in);
        sz = struct_size(nr);
        /* the call's struct, at gpa (when it lies inside RAM) */
        fuzz_bytes(&in, args, sizeof(args));
        if (nr == PVT_HC_RESULT && (kind & 2))
            ((struct pvt_hc_result *)args)->data = address(&in);
        if (nr == PVT_HC_WORKLOAD && (kind & 2)) {
            ((struct pvt_hc_workload *)args)->buf = address(&in);
            ((struct pvt_hc_workload *)args)->max_items %= 64;
            ((struct pvt_hc_workload *)args)->first %= 64;
        }
        if (nr == PVT_HC_CONSOLE_WRITE && (kind & 2)) {
            ((struct pvt_hc_console_write *)args)->data = address(&in);
            ((struct pvt_hc_console_write *)args)->len %= 8192;
        }
        if (nr == PVT_HC_INFO && (kind & 2)) {
            ((struct pvt_hc_info *)args)->abi_version = PVT_ABI_VERSION;
            ((struct pvt_hc_info *)args)->cmdline = address(&in);
            ((struct pvt_hc_info *)args)->cmdline_size %= 64;
        }
        if (sz && pvt_vmm_gpa_ok(&vm, gpa, sz))
            memcpy(vm.mem + gpa, args, sz);
        refuse = (kind & 0xc0) == 0xc0;

        /* the exit a guest's `out` makes (or not quite) */
        memset(&area, 0, sizeof(area));
        run->exit_reason = KVM_EXIT_IO;
        run->io.direction = KVM_EXIT_IO_OUT;
        run->io.size = 4;
        run->io.port = (uint16_t)PVT_HC_PIO(nr);
        run->io.count = 1;
        run->io.data_offset = sizeof(struct kvm_run);
        if (kind & 4) {
            run->io.direction = fuzz_u8(&in) & 1;
            run->io.size = fuzz_u8(&in);
            run->io.count = fuzz_u8(&in);
            run->io.data_offset =
                fuzz_u8(&in) ? sizeof(struct kvm_run) : fuzz_u64(&in);
        }
        memcpy(area.bytes + sizeof(struct kvm_run), &gpa, sizeof(gpa));
        proper = nr < PVT_HC_PIO_COUNT &&
                 run->io.port == (uint16_t)PVT_HC_PIO(nr) &&
                 run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4 &&
                 run->io.count == 1;

        /* what the call may write besides its struct */
        if (sz && pvt_vmm_gpa_ok(&vm, gpa, sz)) {
            if (nr == PVT_HC_INFO) {
                struct pvt_hc_info a;
                memcpy(&a, vm.mem + gpa, sizeof(a));
                out_a = a.cmdline;
                out_len = a.cmdline_size;
            } else if (nr == PVT_HC_WORKLOAD) {
                struct pvt_hc_workload a;
                memcpy(&a, vm.mem + gpa, sizeof(a));
                out_a = a.buf;
                out_len =
                    (uint64_t)a.max_items * sizeof(struct pvt_workload_item);
            }
        }
        memcpy(shadow, vm.mem, WINDOW);
        vm.err[0] = '\0';
        rc = pvt_vmm_handle_io(&vm);

        FUZZ_CHECK(rc == 0 || rc == PVT_VMM_HC_EXIT || rc == -EINVAL ||
                       rc == -ENOSYS || rc == -EFAULT || rc == -ECANCELED,
                   "handle_io: %d (%s)", rc, vm.err);
        if (rc < 0)
            FUZZ_CHECK(vm.err[0] != '\0', "error %d without a message", rc);
        if (run->io.port != (uint16_t)PVT_HC_PIO(nr) || nr >= PVT_HC_PIO_COUNT)
            continue; /* a port outside the window: -EINVAL, checked */
        if (!proper) {
            FUZZ_CHECK(rc == -EINVAL, "an improper access: %d", rc);
            continue;
        }
        if (!served(nr)) {
            FUZZ_CHECK(rc == -ENOSYS, "unserved %u: %d", nr, rc);
            continue;
        }
        if (run->io.data_offset != sizeof(struct kvm_run)) {
            if (run->io.data_offset > sizeof(area) ||
                sizeof(area) - run->io.data_offset < 4)
                FUZZ_CHECK(rc == -EINVAL, "data outside the run area: %d", rc);
            continue;
        }
        if (!pvt_vmm_gpa_ok(&vm, gpa, sz)) {
            FUZZ_CHECK(rc == -EFAULT, "struct outside RAM: %d", rc);
            continue;
        }
        FUZZ_CHECK(rc != -EFAULT && rc != -ENOSYS && rc != -EINVAL,
                   "a proper call of %u: %d (%s)", nr, rc, vm.err);
        if (nr == PVT_HC_EXIT)
            FUZZ_CHECK(rc == PVT_VMM_HC_EXIT, "exit: %d", rc);
        if (rc == -ECANCELED)
            FUZZ_CHECK(refuse && (nr == PVT_HC_RESULT), "refused: %d", rc);

        /* RAM: only the struct and the call's output buffer changed */
        i = 0;
        while ((i = next_difference(vm.mem, shadow, i, WINDOW)) < WINDOW) {
            FUZZ_CHECK(in_range(i, gpa, sz) || in_range(i, out_a, out_len),
                       "call %u wrote guest RAM at 0x%zx (struct at 0x%x)", nr,
                       i, gpa);
            i++;
        }
        if (rc < 0)
            continue;
        if (nr == PVT_HC_INFO) {
            struct pvt_hc_info a;
            memcpy(&a, vm.mem + gpa, sizeof(a));
            FUZZ_CHECK(a.magic == PVT_ABI_MAGIC &&
                           a.mem_size == vm.cfg.mem_size,
                       "info OUT fields");
            if (a.abi_version != PVT_ABI_VERSION)
                FUZZ_CHECK(a.ret == -PVT_HC_EOPNOTSUPP, "info ret %d", a.ret);
            else if (a.cmdline_size &&
                     !pvt_vmm_gpa_ok(&vm, a.cmdline, a.cmdline_size))
                FUZZ_CHECK(a.ret == -PVT_HC_EFAULT, "info ret %d", a.ret);
            else
                FUZZ_CHECK(a.ret == 0, "info ret %d", a.ret);
        } else if (nr == PVT_HC_CONSOLE_WRITE) {
            struct pvt_hc_console_write a;
            memcpy(&a, vm.mem + gpa, sizeof(a));
            if (a.len > PVT_HC_CONSOLE_MAX)
                FUZZ_CHECK(a.ret == -PVT_HC_EINVAL, "console ret %d", a.ret);
            else if (!pvt_vmm_gpa_ok(&vm, a.data, a.len))
                FUZZ_CHECK(a.ret == -PVT_HC_EFAULT, "console ret %d", a.ret);
            else
                FUZZ_CHECK(a.ret == (int32_t)a.len &&
                               vm.console_bytes == before_console + a.len,
                           "console ret %d for %llu bytes", a.ret,
                           (unsigned long long)a.len);
            FUZZ_CHECK(vm.console_bytes <= PVT_HC_CONSOLE_BUDGET, "budget");
        } else if (nr == PVT_HC_WORKLOAD) {
            struct pvt_hc_workload a;
            memcpy(&a, vm.mem + gpa, sizeof(a));
            FUZZ_CHECK(a.total == PVT_ARRAY_SIZE(items), "total");
            if (a.ret == 0 && a.count) {
                uint32_t want = a.first < a.total ? a.total - a.first : 0;
                if (want > a.max_items)
                    want = a.max_items;
                FUZZ_CHECK(a.count == want, "workload count %u, want %u",
                           a.count, want);
                /* the struct may overlap the items it asked for: compare
                 * only when it does not */
                if (a.buf >= gpa + sz ||
                    a.buf + (uint64_t)a.count * sizeof(items[0]) <= gpa)
                    FUZZ_CHECK(memcmp(vm.mem + a.buf, items + a.first,
                                      a.count * sizeof(items[0])) == 0,
                               "workload items");
            }
        }
    }
    return 0;
}
