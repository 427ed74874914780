/*
 * `pvtimer kvm`'s stage breakdown of the paravirtual timer's path
 * ("path_ns") and its advance_ns parameter, in a short real run: the
 * stages are there with samples, the advance is the one asked for, a fixed
 * advance of 0 never busy-waits, nothing fires early. Timings are not
 * asserted.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/test.h"
#include "spawn.h"

#define KVM(r, ...) PVT_TOOL(r, "kvm", __VA_ARGS__)

static const char *kvm_unusable(void)
{
#ifndef PVT_HAVE_KVM
    return "built without the KVM monitor";
#else
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return "KVM is not available: /dev/kvm";
    close(fd);
    return NULL;
#endif
}

static int run(struct pvt_spawn_result *r, const char *advance)
{
    return pvt_spawn(
        PVT_TOOL_PATH,
        (const char *const[]){"pvtimer", "kvm", "--scenario", "seed-boot",
                              "--strategy", "delta", "--json", "--set",
                              "duration_s=2", "--set", "boot_s=0.5", "--set",
                              "drain_s=0.5", "--set", "timer_rate_hz=100",
                              "--set", advance, NULL},
        NULL, NULL, r);
}

TEST_IMPL(kvm_path_breakdown)
{
    static const char *const host_stages[] = {
        "deadline_to_host_timer", "host_timer_to_thread", "thread_to_injected",
        "deadline_to_injected"};
    static const char *const guest_stages[] = {"injected_to_guest",
                                               "deadline_to_guest"};
    struct pvt_spawn_result r;
    const char *path, *why = kvm_unusable();
    double fires, matched;
    size_t k;

    if (why)
        RETURN_SKIP(why);
    /* a fixed advance of 0: no busy-wait at all */
    ASSERT_OK(run(&r, "advance_ns=0"));
    if (r.status != 0)
        pvt_test_printf("stdout:\n%s\nstderr:\n%s\n", r.out, r.err);
    ASSERT_EQ(r.status, 0);
    path = strstr(r.out, "\"path_ns\": {");
    ASSERT_NOT_NULL(path);
    ASSERT(pvt_number_after(r.out, "early_callbacks") == 0);
    ASSERT(pvt_number_after(path, "advance_ns") == 0);
    ASSERT(pvt_number_after(path, "advance_final_ns") == 0);
    ASSERT(pvt_number_after(path, "busy_waits") == 0);
    fires = pvt_number_after(path, "fires");
    matched = pvt_number_after(path, "matched");
    ASSERT(fires > 0);
    ASSERT(matched > 0);
    ASSERT(matched <= fires);
    for (k = 0; k < PVT_ARRAY_SIZE(host_stages); k++)
        ASSERT(pvt_number_after(strstr(path, host_stages[k]), "samples") > 0);
    for (k = 0; k < PVT_ARRAY_SIZE(guest_stages); k++)
        ASSERT(pvt_number_after(strstr(path, guest_stages[k]), "samples") ==
               matched);
    /* the guest's device error, split at the switch: the run boots for
     * 0.5 s on jiffies, then runs 2 s on kvmclock */
    ASSERT(pvt_number_after(strstr(path, "device_error_before_switch"),
                            "samples") > 0);
    ASSERT(pvt_number_after(strstr(path, "device_error_after_switch"),
                            "samples") > 0);
    /* one vCPU: one service thread */
    ASSERT(pvt_number_after(path, "service_threads") == 1);
    /* the in-kernel timer's lateness of the same run, beside it */
    ASSERT_NOT_NULL(strstr(path, "\"kvm_tsc_deadline_lateness\""));
    pvt_spawn_free(&r);

    /* the default: adaptive, within its bounds */
    ASSERT_OK(run(&r, "advance_ns=-1"));
    ASSERT_EQ(r.status, 0);
    path = strstr(r.out, "\"path_ns\": {");
    ASSERT_NOT_NULL(path);
    ASSERT(pvt_number_after(r.out, "early_callbacks") == 0);
    ASSERT(pvt_number_after(path, "advance_ns") == -1);
    ASSERT(pvt_number_after(path, "advance_final_ns") >= 0);
    ASSERT(pvt_number_after(path, "advance_final_ns") <= 200000);
    pvt_spawn_free(&r);
    RETURN_OK();
}

TEST_IMPL(kvm_path_bad_advance)
{
    static const char *const bad[] = {"advance_ns=-2", "advance_ns=fast",
                                      "advance_ns=", "advance_ns=2000000"};
    struct pvt_spawn_result r;
    size_t k;

    for (k = 0; k < PVT_ARRAY_SIZE(bad); k++) {
        KVM(&r, "--scenario", "seed-boot", "--set", bad[k]);
        ASSERT_EQ(r.status, 2);
        ASSERT(strstr(r.err, "advance_ns") != NULL);
        pvt_spawn_free(&r);
    }
    RETURN_OK();
}
