/*
 * The guest image under QEMU with KVM: the image boots through its PVH
 * entry (guest/boot-pvh.c), finds no pvtimer monitor, says so on the
 * serial port and runs standalone, then exits through QEMU's
 * isa-debug-exit device. Skips, with the reason, without
 * qemu-system-x86_64 in PATH, without /dev/kvm or without the guest image.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/test.h"
#include "spawn.h"

#ifdef PVT_GUEST_IMAGE_PATH

/* QEMU gets this long (timeout(1) then kills it); the test's own timeout
 * in test-list.h is longer. */
#define QEMU_TIMEOUT_S "60"

/*
 * What the guest must print on the serial console when it runs standalone
 * under QEMU, in any order: the line main.c prints when it finds no
 * monitor, then what pvt_guest_standalone prints (extend here as the
 * standalone mode grows).
 */
static const char *const standalone_expect[] = {
    "guest: no pvtimer monitor (not pvtimer's KVM monitor): running "
    "standalone\n",
    "guest: standalone: kvmclock, TSC ",
    /* guest/standalone.c: 300 timers a pass, none early */
    "guest: standalone: lapic-deadline, kvm-clock clock, delta: 300 timers, "
    "0 early",
    "guest: standalone: lapic-deadline, tsc clock, coupled: 300 timers, "
    "0 early",
};

/* The exit status QEMU reports when the guest writes status to the
 * isa-debug-exit port: (status << 1) | 1. */
#define QEMU_EXIT_STATUS(status) (((status) << 1) | 1)

/* Finds name in PATH: its path in buf, or NULL. */
static const char *find_in_path(const char *name, char *buf, size_t size)
{
    const char *path = getenv("PATH");
    const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin";

    while (*p) {
        size_t len = strcspn(p, ":");

        if (len > 0 &&
            (size_t)snprintf(buf, size, "%.*s/%s", (int)len, p, name) < size &&
            access(buf, X_OK) == 0)
            return buf;
        p += len;
        if (*p == ':')
            p++;
    }
    return NULL;
}

TEST_IMPL(qemu_boot)
{
    char qemu[PATH_MAX];
    char timeout[PATH_MAX];
    char why[160];
    const char *argv[32];
    const char *prog = qemu;
    struct pvt_spawn_result r;
    size_t i, n = 0;
    int fd, saved_stdin, null_fd;
    int missing = 0;

    if (!find_in_path("qemu-system-x86_64", qemu, sizeof(qemu)))
        RETURN_SKIP("qemu-system-x86_64 is not in PATH (Debian: apt-get "
                    "install qemu-system-x86)");
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, sizeof(why), "KVM is not available: /dev/kvm: %s",
                 strerror(errno));
        RETURN_SKIP(why);
    }
    close(fd);
    if (access(PVT_GUEST_IMAGE_PATH, R_OK) != 0)
        RETURN_SKIP("the guest image " PVT_GUEST_IMAGE_PATH " is missing");

    /* timeout(1) kills a QEMU that hangs; without it the runner's timeout
     * kills the test's whole process group */
    if (find_in_path("timeout", timeout, sizeof(timeout))) {
        prog = timeout;
        argv[n++] = "timeout";
        argv[n++] = "-k";
        argv[n++] = "5";
        argv[n++] = QEMU_TIMEOUT_S;
        argv[n++] = qemu;
    } else {
        argv[n++] = "qemu-system-x86_64";
    }
    argv[n++] = "-accel";
    argv[n++] = "kvm";
    /* a plain -cpu host aborts on MSR 0x10a in a nested setup */
    argv[n++] = "-cpu";
    argv[n++] = "host,-arch-capabilities";
    argv[n++] = "-m";
    argv[n++] = "64";
    argv[n++] = "-nographic";
    argv[n++] = "-no-reboot";
    argv[n++] = "-device";
    argv[n++] = "isa-debug-exit,iobase=0xf4,iosize=4";
    argv[n++] = "-kernel";
    argv[n++] = PVT_GUEST_IMAGE_PATH;
    argv[n] = NULL;

    /* -nographic puts the serial port and QEMU's monitor on stdio: QEMU
     * must not read (or set raw mode on) the terminal the tests run in */
    fflush(stdout);
    saved_stdin = dup(STDIN_FILENO);
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT(saved_stdin >= 0 && null_fd >= 0);
    ASSERT(dup2(null_fd, STDIN_FILENO) == STDIN_FILENO);
    close(null_fd);
    fd = pvt_spawn(prog, argv, NULL, NULL, &r);
    ASSERT(dup2(saved_stdin, STDIN_FILENO) == STDIN_FILENO);
    close(saved_stdin);
    ASSERT_OK(fd);

    for (i = 0; i < PVT_ARRAY_SIZE(standalone_expect); i++)
        missing |= !pvt_contains(r.out, standalone_expect[i]);
    if (r.status != QEMU_EXIT_STATUS(0) || missing)
        pvt_test_printf("status %d after %ld ms%s\nserial:\n%s\nstderr:\n%s\n",
                        r.status, r.elapsed_ms,
                        r.status == 124 ? " (timed out)" : "", r.out, r.err);
    for (i = 0; i < PVT_ARRAY_SIZE(standalone_expect); i++)
        ASSERT(pvt_contains(r.out, standalone_expect[i]));
    /* the guest exited with status 0 through port 0xf4 (a triple fault
     * under -no-reboot exits with 0, a hang with timeout's 124) */
    ASSERT_EQ(r.status, QEMU_EXIT_STATUS(0));
    {
        /* lateness is never negative, and ordered p50 <= p99 <= max */
        const char *s = r.out;
        int passes = 0;

        while ((s = strstr(s, "lateness p50 ")) != NULL) {
            long p50, p99, max;
            ASSERT_EQ(sscanf(s, "lateness p50 %ld ns, p99 %ld ns, max %ld ns",
                             &p50, &p99, &max),
                      3);
            ASSERT(p50 >= 0 && p50 <= p99 && p99 <= max);
            passes++;
            s++;
        }
        ASSERT_EQ(passes, 2);
    }
    pvt_spawn_free(&r);
    RETURN_OK();
}

#else /* !PVT_GUEST_IMAGE_PATH */

TEST_IMPL(qemu_boot)
{
    RETURN_SKIP("guest image not built (x86-64 Linux only)");
}

#endif /* PVT_GUEST_IMAGE_PATH */
