/*
 * `pvtimer kvm`: run the guest kernel under the project's own KVM monitor.
 *
 *   pvtimer kvm --selftest [PATTERN...] [--guest PATH] [--mem MiB]
 *               [--timeout S]
 *   pvtimer kvm --cmdline STR [--guest PATH] [--mem MiB] [--timeout S]
 *
 * The guest's console goes to stdout. Exit status: 0 when the guest exited
 * with status 0; 1 when it exited otherwise, the monitor stopped it (the
 * reason on stderr) or KVM is not available ("KVM is not available: ...");
 * 2 for bad usage and for what is not implemented yet (--scenario).
 * The guest image: --guest, else $PVT_GUEST_PATH, else the one the build
 * produced.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

#ifdef PVT_HAVE_KVM
#include "vmm.h"
#endif

#define DEFAULT_MEM_MIB   64u
#define DEFAULT_TIMEOUT_S 60u

/* "selftest" and its patterns; the guest reads at most 255 bytes. */
#define SELFTEST_CMDLINE_MAX 240u

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pvtimer kvm --selftest [PATTERN...] [--guest PATH] "
            "[--mem MiB] [--timeout S]\n"
            "       pvtimer kvm --cmdline STR [--guest PATH] [--mem MiB] "
            "[--timeout S]\n\n"
            "Runs the guest kernel under pvtimer's KVM monitor; its console "
            "goes to stdout.\n"
            "  --selftest    run the core's unit tests inside the guest (those "
            "whose name\n"
            "                contains a PATTERN, when given, and no "
            "-PATTERN)\n"
            "  --cmdline STR hand STR to the guest as its command line\n"
            "  --guest PATH  guest image (default: $PVT_GUEST_PATH, else the "
            "built one)\n"
            "  --mem MiB     guest RAM (default %u)\n"
            "  --timeout S   stop a guest still running after S seconds "
            "(default %u, 0: never)\n"
            "  --scenario    not implemented yet\n",
            DEFAULT_MEM_MIB, DEFAULT_TIMEOUT_S);
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

/* Contract in commands.h. */
int pvt_cmd_kvm(int argc, char **argv)
{
    char selftest[SELFTEST_CMDLINE_MAX];
    const char *guest = NULL;
    const char *cmdline = NULL;
    unsigned long mem_mib = DEFAULT_MEM_MIB;
    unsigned long timeout_s = DEFAULT_TIMEOUT_S;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--selftest") == 0) {
            size_t len;

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
        } else if (strcmp(a, "--scenario") == 0) {
            fprintf(stderr, "pvtimer kvm: --scenario is not implemented yet "
                            "(only --selftest is)\n");
            return 2;
        } else if (strcmp(a, "--cmdline") == 0 && v) {
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
    if (cmdline == NULL) {
        fprintf(stderr, "pvtimer kvm: say what to run (--selftest)\n");
        usage(stderr);
        return 2;
    }
    if (guest == NULL)
        guest = getenv("PVT_GUEST_PATH");

#ifndef PVT_HAVE_KVM
    (void)guest;
    (void)mem_mib;
    (void)timeout_s;
    fprintf(stderr, "pvtimer kvm: KVM is not available: this build has no "
                    "KVM monitor (x86-64 Linux only)\n");
    return 1;
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
        fflush(stdout);

        if (pvt_vmm_init(&vm, &cfg) < 0 || pvt_vmm_elf_load(&vm) < 0 ||
            pvt_vmm_kvm_setup(&vm) < 0 || pvt_vmm_run(&vm) < 0) {
            fprintf(stderr, "pvtimer kvm: %s\n", vm.err);
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
