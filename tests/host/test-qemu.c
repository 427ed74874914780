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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/test.h"
#include "spawn.h"

#ifdef PVT_GUEST_IMAGE_PATH

/* QEMU gets this long (timeout(1) then kills it); the test's own timeout
 * in test-list.h is longer. */
#define QEMU_TIMEOUT_S     "60"
#define QEMU_SMP_TIMEOUT_S "240"

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

/*
 * Runs QEMU on the guest image with the common flags and `extra`
 * (NULL-terminated), stdin on /dev/null, under timeout(1) when there is
 * one. Returns 0 with *r filled, or -1.
 */
static int run_qemu(const char *qemu, const char *const *extra,
                    const char *timeout_s, struct pvt_spawn_result *r)
{
    char timeout[PATH_MAX];
    const char *argv[40];
    const char *prog = qemu;
    size_t n = 0;
    int fd, saved_stdin, null_fd;

    /* timeout(1) kills a QEMU that hangs; without it the runner's timeout
     * kills the test's whole process group */
    if (find_in_path("timeout", timeout, sizeof(timeout))) {
        prog = timeout;
        argv[n++] = "timeout";
        argv[n++] = "-k";
        argv[n++] = "5";
        argv[n++] = timeout_s;
    }
    argv[n++] = qemu;
    argv[n++] = "-accel";
    argv[n++] = "kvm";
    /* a plain -cpu host aborts on MSR 0x10a in a nested setup */
    argv[n++] = "-cpu";
    argv[n++] = "host,-arch-capabilities";
    argv[n++] = "-m";
    argv[n++] = "64";
    while (*extra && n < PVT_ARRAY_SIZE(argv) - 3)
        argv[n++] = *extra++;
    argv[n++] = "-kernel";
    argv[n++] = PVT_GUEST_IMAGE_PATH;
    argv[n] = NULL;

    /* the serial port (and, with -nographic, QEMU's monitor) is on stdio:
     * QEMU must not read (or set raw mode on) the tests' terminal */
    fflush(stdout);
    saved_stdin = dup(STDIN_FILENO);
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (saved_stdin < 0 || null_fd < 0 ||
        dup2(null_fd, STDIN_FILENO) != STDIN_FILENO)
        return -1;
    close(null_fd);
    fd = pvt_spawn(prog, argv, NULL, NULL, r);
    if (dup2(saved_stdin, STDIN_FILENO) != STDIN_FILENO)
        return -1;
    close(saved_stdin);
    return fd < 0 ? -1 : 0;
}

/* Every pass printed (want_passes: the boot CPU's two, one more per other
 * vCPU), with lateness never negative and p50 <= p99 <= max; no
 * exception. Prints the run when not. */
static int check_output(const struct pvt_spawn_result *r, int want_status,
                        int want_passes)
{
    const char *s = r->out;
    int passes = 0, missing = 0;
    size_t i;

    for (i = 0; i < PVT_ARRAY_SIZE(standalone_expect); i++)
        missing |= !pvt_contains(r->out, standalone_expect[i]);
    if (r->status != want_status || missing ||
        pvt_contains(r->out, "exception"))
        pvt_test_printf("status %d (want %d) after %ld ms%s\nserial:\n%s\n"
                        "stderr:\n%s\n",
                        r->status, want_status, r->elapsed_ms,
                        r->status == 124 ? " (timed out)" : "", r->out, r->err);
    ASSERT(!missing);
    ASSERT(!pvt_contains(r->out, "exception"));
    ASSERT_EQ(r->status, want_status);
    while ((s = strstr(s, "lateness p50 ")) != NULL) {
        long p50, p99, max;
        ASSERT_EQ(sscanf(s, "lateness p50 %ld ns, p99 %ld ns, max %ld ns", &p50,
                         &p99, &max),
                  3);
        ASSERT(p50 >= 0 && p50 <= p99 && p99 <= max);
        passes++;
        s++;
    }
    ASSERT_EQ(passes, want_passes);
    return 0;
}

/* Why QEMU cannot run the guest here (written to why, and true), or
 * false with qemu set to QEMU's path. */
static bool qemu_unusable(char qemu[PATH_MAX], char why[160])
{
    int fd;

    if (!find_in_path("qemu-system-x86_64", qemu, PATH_MAX)) {
        snprintf(why, 160,
                 "qemu-system-x86_64 is not in PATH (Debian: "
                 "apt-get install qemu-system-x86)");
        return true;
    }
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, 160, "KVM is not available: /dev/kvm: %s",
                 strerror(errno));
        return true;
    }
    close(fd);
    if (access(PVT_GUEST_IMAGE_PATH, R_OK) != 0) {
        snprintf(why, 160,
                 "the guest image " PVT_GUEST_IMAGE_PATH " is missing");
        return true;
    }
    return false;
}

TEST_IMPL(qemu_boot)
{
    /* the test's own way out: the guest writes its status to QEMU's
     * isa-debug-exit port (a triple fault under -no-reboot would exit
     * with 0, a hang with timeout's 124) */
    static const char *const debug_exit[] = {
        "-nographic", "-no-reboot", "-device",
        "isa-debug-exit,iobase=0xf4,iosize=4", NULL};
    /* the README's command: no exit device, so the guest powers the
     * machine off (QEMU exits 0); without -no-reboot, a triple fault
     * would reboot it into a loop and time out */
    static const char *const plain[] = {"-display", "none", "-serial", "stdio",
                                        NULL};
    char qemu[PATH_MAX];
    char why[160];
    struct pvt_spawn_result r;

    if (qemu_unusable(qemu, why))
        RETURN_SKIP(why);

    ASSERT_OK(run_qemu(qemu, debug_exit, QEMU_TIMEOUT_S, &r));
    ASSERT_OK(check_output(&r, QEMU_EXIT_STATUS(0), 2));
    pvt_spawn_free(&r);
    ASSERT_OK(run_qemu(qemu, plain, QEMU_TIMEOUT_S, &r));
    ASSERT_OK(check_output(&r, 0, 2));
    pvt_spawn_free(&r);
    RETURN_OK();
}

/*
 * Two vCPUs under QEMU (-smp 2): the guest finds the second in QEMU's
 * firmware configuration, starts it with INIT/SIPI through its real-mode
 * trampoline, both run their TSC-deadline chain (nothing early), then the
 * cross-vCPU clock check: its 10^6 pairs (what the guest asks for), and
 * the clock never stepped back across vCPUs.
 */
TEST_IMPL(qemu_smp)
{
    static const char *const smp[] = {
        "-smp",       "2",       "-nographic",
        "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        NULL};
    char qemu[PATH_MAX];
    char why[160];
    struct pvt_spawn_result r;
    unsigned long reads = 0, pairs = 0, back = 1;
    const char *s;

    if (qemu_unusable(qemu, why))
        RETURN_SKIP(why);

    /* the clock check takes seconds here, minutes on a host too loaded
     * to run the two vCPUs together */
    ASSERT_OK(run_qemu(qemu, smp, QEMU_SMP_TIMEOUT_S, &r));
    ASSERT_OK(check_output(&r, QEMU_EXIT_STATUS(0), 3));
    ASSERT(pvt_contains(r.out, "guest: standalone: 2 vCPUs, the others "
                               "started with INIT/SIPI"));
    ASSERT(pvt_contains(r.out, "guest: standalone: vCPU 1: lapic-deadline, "
                               "kvm-clock clock, delta: 300 timers, 0 early"));
    s = strstr(r.out, "guest: standalone: clock check on 2 vCPUs: ");
    ASSERT(s != NULL);
    ASSERT_EQ(sscanf(s,
                     "guest: standalone: clock check on 2 vCPUs: %lu reads, "
                     "%lu cross-vCPU pairs, %lu went backwards",
                     &reads, &pairs, &back),
              3);
    ASSERT(pairs >= 1000000);
    ASSERT(reads >= pairs);
    ASSERT_EQ(back, 0);
    pvt_spawn_free(&r);
    RETURN_OK();
}

#else /* !PVT_GUEST_IMAGE_PATH */

TEST_IMPL(qemu_boot)
{
    RETURN_SKIP("guest image not built (x86-64 Linux only)");
}

TEST_IMPL(qemu_smp)
{
    RETURN_SKIP("guest image not built (x86-64 Linux only)");
}

#endif /* PVT_GUEST_IMAGE_PATH */
