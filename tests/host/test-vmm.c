/*
 * The monitor's hypercall dispatch without /dev/kvm: pvt_vmm_init maps
 * guest RAM, the test points vm->run at a run area of its own and drives
 * pvt_vmm_handle_io with the port I/O exits a guest's `out` would make.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/test.h"
#include "test-list.h"

#ifdef PVT_HAVE_KVM
#include <linux/kvm.h>

#include "exp.h"
#include "pvtimer/pvabi.h"
#include "pvtimer/pvexp.h"
#include "vmm.h"

/* Where the tests put a call's struct in guest RAM. */
#define ARGS_GPA 0x10000u

/* A VM with no KVM behind it and a run area the test owns. */
struct fake {
    struct pvt_vmm vm;
    union {
        struct kvm_run run;
        uint8_t bytes[sizeof(struct kvm_run) + 64];
    } area;
};

static struct fake *fake_new(const struct pvt_vmm_hypercall *hc, size_t n)
{
    struct pvt_vmm_config cfg;
    struct fake *f = calloc(1, sizeof(*f));

    ASSERT_NOT_NULL(f);
    memset(&cfg, 0, sizeof(cfg));
    cfg.mem_size = PVT_VMM_MEM_MIN;
    cfg.console_fd = -1;
    cfg.no_timers = true;
    cfg.hypercalls = hc;
    cfg.hypercall_count = n;
    if (pvt_vmm_init(&f->vm, &cfg) < 0)
        pvt_test_printf("pvt_vmm_init: %s\n", f->vm.err);
    ASSERT_NOT_NULL(f->vm.mem);
    f->vm.run = &f->area.run;
    f->vm.run_size = sizeof(f->area);
    return f;
}

static void fake_free(struct fake *f)
{
    f->vm.run = NULL; /* not the monitor's to unmap */
    pvt_vmm_destroy(&f->vm);
    free(f);
}

/* The exit a guest's `outl gpa, PVT_HC_PIO(nr)` makes. */
static int fake_call(struct fake *f, uint32_t nr, uint32_t gpa)
{
    struct kvm_run *run = &f->area.run;

    run->exit_reason = KVM_EXIT_IO;
    run->io.direction = KVM_EXIT_IO_OUT;
    run->io.size = 4;
    run->io.port = (uint16_t)PVT_HC_PIO(nr);
    run->io.count = 1;
    run->io.data_offset = sizeof(struct kvm_run);
    memcpy(f->area.bytes + sizeof(struct kvm_run), &gpa, sizeof(gpa));
    return pvt_vmm_handle_io(&f->vm);
}

/*
 * A number nobody registered stops the VM with -ENOSYS and "unknown
 * hypercall N" (pvabi.h's "no handler" rule), in the platform's range and
 * in the experiment's when its server is not registered; a platform call
 * is served.
 */
TEST_IMPL(vmm_unregistered_hypercall)
{
    struct fake *f = fake_new(NULL, 0);
    struct pvt_hc_info info;
    char want[64];

    memset(&info, 0, sizeof(info));
    info.abi_version = PVT_ABI_VERSION;
    memcpy(f->vm.mem + ARGS_GPA, &info, sizeof(info));
    ASSERT_EQ(fake_call(f, PVT_HC_INFO, ARGS_GPA), 0);
    memcpy(&info, f->vm.mem + ARGS_GPA, sizeof(info));
    ASSERT_EQ(info.ret, 0);
    ASSERT_UEQ(info.magic, PVT_ABI_MAGIC);
    ASSERT_UEQ(info.mem_size, PVT_VMM_MEM_MIN);

    ASSERT_EQ(fake_call(f, PVT_HC_PLATFORM_END, ARGS_GPA), -ENOSYS);
    snprintf(want, sizeof(want), "unknown hypercall %u", PVT_HC_PLATFORM_END);
    ASSERT(strstr(f->vm.err, want) != NULL);
    ASSERT_EQ(fake_call(f, PVT_HC_RESULT, ARGS_GPA), -ENOSYS);
    snprintf(want, sizeof(want), "unknown hypercall %u", PVT_HC_RESULT);
    ASSERT(strstr(f->vm.err, want) != NULL);
    ASSERT_EQ(fake_call(f, PVT_HC_PIO_COUNT - 1, ARGS_GPA), -ENOSYS);
    ASSERT_UEQ(f->vm.stats.hypercalls[PVT_HC_INFO], 1);
    ASSERT_UEQ(f->vm.stats.hypercalls[PVT_HC_RESULT], 0);

    /* not a 32-bit out, or a struct outside RAM: stopped as well */
    f->area.run.io.size = 2;
    ASSERT_EQ(pvt_vmm_handle_io(&f->vm), -EINVAL);
    ASSERT_EQ(fake_call(f, PVT_HC_INFO, PVT_VMM_MEM_MIN - 8), -EFAULT);
    ASSERT(strstr(f->vm.err, "outside guest RAM") != NULL);
    fake_free(f);
    RETURN_OK();
}

/* A call of the test's own: 16 bytes, IN a, b; OUT sum, ret. */
struct add_args {
    uint32_t a, b;
    uint32_t sum;
    int32_t ret;
};

struct add_ctx {
    unsigned int calls;
    int result; /* what the handler returns */
};

static int hc_add(struct pvt_vmm *vm, void *args, void *ctx)
{
    struct add_args *a = args;
    struct add_ctx *c = ctx;

    (void)vm;
    c->calls++;
    if (a->a > UINT32_MAX - a->b) {
        a->ret = -PVT_HC_ERANGE;
        return 0;
    }
    a->sum = a->a + a->b;
    a->ret = 0;
    if (c->result < 0)
        return pvt_vmm_fail(vm, -c->result, "add refused");
    return c->result;
}

/*
 * A registered handler gets the monitor's copy of its struct and its ctx;
 * what it writes goes back to guest RAM; its return decides whether the VM
 * goes on. Entries with a bad number, size or no handler, or a number
 * taken, are refused by pvt_vmm_init.
 */
TEST_IMPL(vmm_registered_hypercall)
{
    struct add_ctx ctx = {0, 0};
    const uint32_t nr = PVT_HC_EXP_END + 3; /* unused by both headers */
    struct pvt_vmm_hypercall hc = {nr, sizeof(struct add_args), hc_add, &ctx};
    struct pvt_vmm_hypercall bad[2];
    struct add_args args = {40, 2, 0, 99};
    struct fake *f = fake_new(&hc, 1);
    struct pvt_vmm vm2;
    struct pvt_vmm_config cfg;

    memcpy(f->vm.mem + ARGS_GPA, &args, sizeof(args));
    ASSERT_EQ(fake_call(f, nr, ARGS_GPA), 0);
    memcpy(&args, f->vm.mem + ARGS_GPA, sizeof(args));
    ASSERT_UEQ(ctx.calls, 1);
    ASSERT_UEQ(args.a, 40); /* IN fields go back as they came */
    ASSERT_UEQ(args.sum, 42);
    ASSERT_EQ(args.ret, 0);
    ASSERT_UEQ(f->vm.stats.hypercalls[nr], 1);

    /* the handler checks its copy: an overflow is the guest's error */
    args.a = UINT32_MAX;
    args.b = 1;
    memcpy(f->vm.mem + ARGS_GPA, &args, sizeof(args));
    ASSERT_EQ(fake_call(f, nr, ARGS_GPA), 0);
    memcpy(&args, f->vm.mem + ARGS_GPA, sizeof(args));
    ASSERT_EQ(args.ret, -PVT_HC_ERANGE);

    /* its return: end the run, or stop the VM with its code */
    args.a = 1;
    memcpy(f->vm.mem + ARGS_GPA, &args, sizeof(args));
    ctx.result = PVT_VMM_HC_EXIT;
    ASSERT_EQ(fake_call(f, nr, ARGS_GPA), PVT_VMM_HC_EXIT);
    ctx.result = -EPROTO;
    ASSERT_EQ(fake_call(f, nr, ARGS_GPA), -EPROTO);
    ASSERT_STR_EQ(f->vm.err, "add refused");
    fake_free(f);

    memset(&cfg, 0, sizeof(cfg));
    cfg.mem_size = PVT_VMM_MEM_MIN;
    cfg.hypercalls = bad;
    cfg.hypercall_count = 1;
    bad[0] = hc;
    bad[0].nr = PVT_HC_CONSOLE_WRITE; /* the platform's */
    ASSERT_EQ(pvt_vmm_init(&vm2, &cfg), -EEXIST);
    pvt_vmm_destroy(&vm2);
    bad[0] = hc;
    bad[1] = hc;
    cfg.hypercall_count = 2;
    ASSERT_EQ(pvt_vmm_init(&vm2, &cfg), -EEXIST);
    pvt_vmm_destroy(&vm2);
    cfg.hypercall_count = 1;
    bad[0].nr = PVT_HC_PIO_COUNT;
    ASSERT_EQ(pvt_vmm_init(&vm2, &cfg), -EINVAL);
    pvt_vmm_destroy(&vm2);
    bad[0] = hc;
    bad[0].size = PVT_VMM_HC_SIZE_MAX + 1;
    ASSERT_EQ(pvt_vmm_init(&vm2, &cfg), -EINVAL);
    pvt_vmm_destroy(&vm2);
    bad[0] = hc;
    bad[0].handle = NULL;
    ASSERT_EQ(pvt_vmm_init(&vm2, &cfg), -EINVAL);
    pvt_vmm_destroy(&vm2);
    cfg.hypercalls = NULL;
    ASSERT_EQ(pvt_vmm_init(&vm2, &cfg), -EINVAL);
    pvt_vmm_destroy(&vm2);
    ASSERT_EQ(pvt_vmm_init(NULL, &cfg), -EINVAL);
    ASSERT_EQ(pvt_vmm_init(&vm2, NULL), -EINVAL);
    pvt_vmm_destroy(&vm2);
    RETURN_OK();
}

struct sink {
    size_t samples;
    int64_t last_value;
};

static int take_samples(void *ctx, unsigned int vcpu,
                        const struct pvt_result_sample *s, size_t n)
{
    struct sink *k = ctx;

    if (vcpu != 0) /* no vCPU thread here: the calls are vCPU 0's */
        return -1;
    k->samples += n;
    k->last_value = s[n - 1].value;
    return 0;
}

/* The experiment's server, registered: RESULT validated before its sink
 * sees anything; WORKLOAD copies the items asked for. */
TEST_IMPL(vmm_exp_server)
{
    struct sink k = {0, 0};
    struct pvt_exp_server srv;
    struct pvt_vmm_hypercall hc[PVT_EXP_SERVER_HYPERCALLS];
    struct pvt_workload_item items[3] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
    struct pvt_result_sample s[2];
    struct pvt_hc_result res;
    struct pvt_hc_workload wl;
    struct pvt_workload_item got[2];
    struct fake *f;

    memset(&srv, 0, sizeof(srv));
    srv.on_samples = take_samples;
    srv.ctx = &k;
    srv.workload = items;
    srv.workload_count = 3;
    ASSERT_UEQ(pvt_exp_server_hypercalls(&srv, hc, 1), 0);
    ASSERT_UEQ(pvt_exp_server_hypercalls(NULL, hc, PVT_ARRAY_SIZE(hc)), 0);
    ASSERT_UEQ(pvt_exp_server_hypercalls(&srv, hc, PVT_ARRAY_SIZE(hc)),
               PVT_EXP_SERVER_HYPERCALLS);
    f = fake_new(hc, PVT_ARRAY_SIZE(hc));

    memset(s, 0, sizeof(s));
    s[0].kind = PVT_SAMPLE_LATENESS;
    s[1].kind = PVT_SAMPLE_AIM_ERROR;
    s[1].value = -17;
    memcpy(f->vm.mem + ARGS_GPA + 0x100, s, sizeof(s));
    memset(&res, 0, sizeof(res));
    res.type = PVT_RESULT_SAMPLES;
    res.count = 2;
    res.data = ARGS_GPA + 0x100;
    memcpy(f->vm.mem + ARGS_GPA, &res, sizeof(res));
    ASSERT_EQ(fake_call(f, PVT_HC_RESULT, ARGS_GPA), 0);
    memcpy(&res, f->vm.mem + ARGS_GPA, sizeof(res));
    ASSERT_EQ(res.ret, 0);
    ASSERT_UEQ(k.samples, 2);
    ASSERT_EQ(k.last_value, -17);

    /* an unknown kind: refused whole, the sink sees none of the batch */
    s[1].kind = PVT_SAMPLE_KIND_MAX;
    memcpy(f->vm.mem + ARGS_GPA + 0x100, s, sizeof(s));
    ASSERT_EQ(fake_call(f, PVT_HC_RESULT, ARGS_GPA), 0);
    memcpy(&res, f->vm.mem + ARGS_GPA, sizeof(res));
    ASSERT_EQ(res.ret, -PVT_HC_EINVAL);
    ASSERT_UEQ(k.samples, 2);
    /* data outside RAM */
    res.data = PVT_VMM_MEM_MIN - sizeof(s[0]);
    memcpy(f->vm.mem + ARGS_GPA, &res, sizeof(res));
    ASSERT_EQ(fake_call(f, PVT_HC_RESULT, ARGS_GPA), 0);
    memcpy(&res, f->vm.mem + ARGS_GPA, sizeof(res));
    ASSERT_EQ(res.ret, -PVT_HC_EFAULT);

    memset(&wl, 0, sizeof(wl));
    wl.buf = ARGS_GPA + 0x100;
    wl.first = 1;
    wl.max_items = 2;
    memcpy(f->vm.mem + ARGS_GPA, &wl, sizeof(wl));
    ASSERT_EQ(fake_call(f, PVT_HC_WORKLOAD, ARGS_GPA), 0);
    memcpy(&wl, f->vm.mem + ARGS_GPA, sizeof(wl));
    ASSERT_EQ(wl.ret, 0);
    ASSERT_UEQ(wl.count, 2);
    ASSERT_UEQ(wl.total, 3);
    memcpy(got, f->vm.mem + ARGS_GPA + 0x100, sizeof(got));
    ASSERT_UEQ(got[0].at_ns, 4);
    ASSERT_UEQ(got[1].cancel_after_ns, 9);
    fake_free(f);
    RETURN_OK();
}

/*
 * Several vCPUs: INFO says how many; VCPU_UP refuses, with -EINVAL and
 * the VM running on, vCPU 0 (which runs), an index the VM does not have,
 * a reserved field, an entry or a stack outside guest RAM; a request it
 * accepts for a vCPU KVM never created (there is no KVM here) stops the
 * VM with the reason, and the same vCPU cannot be claimed twice.
 * pvt_vmm_init refuses more than PVT_VMM_MAX_VCPUS.
 */
TEST_IMPL(vmm_vcpu_up)
{
    struct pvt_vmm_config cfg;
    struct pvt_vmm vm;
    struct fake *f;
    struct pvt_hc_info info;
    struct pvt_hc_vcpu_up up, bad[6];
    size_t i;

    memset(&cfg, 0, sizeof(cfg));
    cfg.mem_size = PVT_VMM_MEM_MIN;
    cfg.vcpus = PVT_VMM_MAX_VCPUS + 1;
    ASSERT_EQ(pvt_vmm_init(&vm, &cfg), -EINVAL);
    ASSERT(strstr(vm.err, "vCPUs") != NULL);
    pvt_vmm_destroy(&vm);
    cfg.vcpus = 2;
    cfg.service_threads = PVT_VMM_MAX_VCPUS + 1;
    ASSERT_EQ(pvt_vmm_init(&vm, &cfg), -EINVAL);
    ASSERT(strstr(vm.err, "timer service threads") != NULL);
    pvt_vmm_destroy(&vm);
    cfg.service_threads = 0;

    f = calloc(1, sizeof(*f));
    ASSERT_NOT_NULL(f);
    cfg.vcpus = 3;
    cfg.console_fd = -1;
    cfg.no_timers = true;
    ASSERT_EQ(pvt_vmm_init(&f->vm, &cfg), 0);
    f->vm.run = &f->area.run;
    f->vm.run_size = sizeof(f->area);

    memset(&info, 0, sizeof(info));
    info.abi_version = PVT_ABI_VERSION;
    memcpy(f->vm.mem + ARGS_GPA, &info, sizeof(info));
    ASSERT_EQ(fake_call(f, PVT_HC_INFO, ARGS_GPA), 0);
    memcpy(&info, f->vm.mem + ARGS_GPA, sizeof(info));
    ASSERT_UEQ(info.vcpus, 3);

    memset(&up, 0, sizeof(up));
    up.vcpu = 1;
    up.rip = PVT_VMM_LOAD_MIN;
    up.rsp = PVT_VMM_LOAD_MIN + 0x1000;
    for (i = 0; i < PVT_ARRAY_SIZE(bad); i++)
        bad[i] = up;
    bad[0].vcpu = 0;
    bad[1].vcpu = 3;
    bad[2].vcpu = UINT32_MAX;
    bad[3].reserved = 1;
    bad[4].rip = PVT_VMM_MEM_MIN;
    bad[5].rsp = 8;
    for (i = 0; i < PVT_ARRAY_SIZE(bad); i++) {
        memcpy(f->vm.mem + ARGS_GPA, &bad[i], sizeof(bad[i]));
        ASSERT_EQ(fake_call(f, PVT_HC_VCPU_UP, ARGS_GPA), 0);
        memcpy(&up, f->vm.mem + ARGS_GPA, sizeof(up));
        ASSERT_EQ(up.ret, -PVT_HC_EINVAL);
    }
    /* accepted, but no KVM vCPU behind it */
    up = bad[0];
    up.vcpu = 2;
    memcpy(f->vm.mem + ARGS_GPA, &up, sizeof(up));
    ASSERT_EQ(fake_call(f, PVT_HC_VCPU_UP, ARGS_GPA), -EINVAL);
    ASSERT(strstr(f->vm.err, "vCPU 2 was not set up") != NULL);
    ASSERT_EQ(fake_call(f, PVT_HC_VCPU_UP, ARGS_GPA), 0);
    memcpy(&up, f->vm.mem + ARGS_GPA, sizeof(up));
    ASSERT_EQ(up.ret, -PVT_HC_EINVAL);
    fake_free(f);
    RETURN_OK();
}

#else /* !PVT_HAVE_KVM */

TEST_IMPL(vmm_unregistered_hypercall)
{
    RETURN_SKIP("KVM monitor not built (x86-64 Linux only)");
}

TEST_IMPL(vmm_registered_hypercall)
{
    RETURN_SKIP("KVM monitor not built (x86-64 Linux only)");
}

TEST_IMPL(vmm_exp_server)
{
    RETURN_SKIP("KVM monitor not built (x86-64 Linux only)");
}

TEST_IMPL(vmm_vcpu_up)
{
    RETURN_SKIP("KVM monitor not built (x86-64 Linux only)");
}

#endif
