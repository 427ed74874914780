/*
 * The freestanding half of the test harness: printing (through the
 * project's formatter, src/lib/fmt.h), the assert back-ends that print
 * both sides of a failed comparison, and skip.
 *
 * No libc: everything leaves through pvt_test_platform_write and a failure
 * ends through pvt_test_platform_fail, so this file links unchanged into the
 * host runner and into the KVM guest. No floating point either (the guest
 * builds with -mgeneral-regs-only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fmt.h"
#include "pvtimer/base.h"
#include "runner/test.h"

/* The platform's write, in the shape the formatter's stream wants. */
static void platform_write(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    pvt_test_platform_write(buf, len);
}

/* Contract in test.h: formats through a stack buffer to the platform. */
void pvt_test_vprintf(const char *fmt, va_list ap)
{
    pvt_fmt_vprint(platform_write, NULL, fmt, ap);
}

/* Contract in test.h. */
void pvt_test_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pvt_test_vprintf(fmt, ap);
    va_end(ap);
}

/* ---- asserts ---- */

static void fail_header(const char *file, int line, const char *ea,
                        const char *op, const char *eb)
{
    pvt_test_printf("Assertion failed in %s:%d: %s %s %s\n", file, line, ea, op,
                    eb);
}

/* Contract in test.h: prints the failed expression, then fails the test. */
_Noreturn void pvt_test__fail(const char *file, int line, const char *expr)
{
    pvt_test_printf("Assertion failed in %s:%d: %s\n", file, line, expr);
    pvt_test_platform_fail();
}

/* Contract in test.h: prints both sides in decimal and hex, then fails. */
_Noreturn void pvt_test__fail_int(const char *file, int line, const char *ea,
                                  const char *op, const char *eb, int64_t a,
                                  int64_t b)
{
    fail_header(file, line, ea, op, eb);
    pvt_test_printf("  %s: %lld (0x%llx)\n", ea, (long long)a,
                    (unsigned long long)(uint64_t)a);
    pvt_test_printf("  %s: %lld (0x%llx)\n", eb, (long long)b,
                    (unsigned long long)(uint64_t)b);
    pvt_test_platform_fail();
}

/* Contract in test.h: prints both sides in decimal and hex, then fails. */
_Noreturn void pvt_test__fail_uint(const char *file, int line, const char *ea,
                                   const char *op, const char *eb, uint64_t a,
                                   uint64_t b)
{
    fail_header(file, line, ea, op, eb);
    pvt_test_printf("  %s: %llu (0x%llx)\n", ea, (unsigned long long)a,
                    (unsigned long long)a);
    pvt_test_printf("  %s: %llu (0x%llx)\n", eb, (unsigned long long)b,
                    (unsigned long long)b);
    pvt_test_platform_fail();
}

/* Contract in test.h: prints both pointers, then fails. */
_Noreturn void pvt_test__fail_ptr(const char *file, int line, const char *ea,
                                  const char *op, const char *eb, const void *a,
                                  const void *b)
{
    fail_header(file, line, ea, op, eb);
    pvt_test_printf("  %s: %p\n", ea, a);
    pvt_test_printf("  %s: %p\n", eb, b);
    pvt_test_platform_fail();
}

/*
 * Prints str as a C string literal, so trailing blanks, newlines and
 * control bytes in a mismatch are visible; NULL prints as (null).
 */
static void print_quoted(const char *str)
{
    char buf[PVT_FMT_CHUNK];
    struct pvt_fmt_sink s;
    const char *hex = "0123456789abcdef";

    pvt_fmt_sink_init(&s, buf, sizeof(buf), platform_write, NULL);
    if (str == NULL) {
        pvt_fmt_puts(&s, "(null)");
    } else {
        pvt_fmt_putc(&s, '"');
        for (; *str; str++) {
            unsigned char c = (unsigned char)*str;
            if (c == '"' || c == '\\') {
                pvt_fmt_putc(&s, '\\');
                pvt_fmt_putc(&s, (char)c);
            } else if (c == '\n') {
                pvt_fmt_puts(&s, "\\n");
            } else if (c == '\t') {
                pvt_fmt_puts(&s, "\\t");
            } else if (c == '\r') {
                pvt_fmt_puts(&s, "\\r");
            } else if (c < 0x20 || c >= 0x7f) {
                pvt_fmt_puts(&s, "\\x");
                pvt_fmt_putc(&s, hex[c >> 4]);
                pvt_fmt_putc(&s, hex[c & 0xf]);
            } else {
                pvt_fmt_putc(&s, (char)c);
            }
        }
        pvt_fmt_putc(&s, '"');
    }
    pvt_fmt_flush(&s);
}

/* Contract in test.h: prints both strings quoted (NULL as (null)), fails. */
_Noreturn void pvt_test__fail_str(const char *file, int line, const char *ea,
                                  const char *op, const char *eb, const char *a,
                                  const char *b)
{
    fail_header(file, line, ea, op, eb);
    pvt_test_printf("  %s: ", ea);
    print_quoted(a);
    pvt_test_printf("\n  %s: ", eb);
    print_quoted(b);
    pvt_test_printf("\n");
    pvt_test_platform_fail();
}

/*
 * Contract in test.h. The runner takes the reason from the last line that
 * starts with "SKIP: ", so control characters in it become spaces to keep
 * it on one line.
 */
int pvt_test__skip(const char *reason)
{
    char buf[PVT_FMT_CHUNK];
    struct pvt_fmt_sink s;

    pvt_fmt_sink_init(&s, buf, sizeof(buf), platform_write, NULL);
    pvt_fmt_puts(&s, "SKIP: ");
    if (reason != NULL) {
        for (; *reason; reason++) {
            unsigned char c = (unsigned char)*reason;
            pvt_fmt_putc(&s, c < 0x20 || c == 0x7f ? ' ' : (char)c);
        }
    }
    pvt_fmt_putc(&s, '\n');
    pvt_fmt_flush(&s);
    return PVT_TEST_SKIP;
}

/* Contract in test.h: compares as unsigned char; returns -1, 0 or 1. */
int pvt_test__strcmp(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b ? 0 : (a == NULL ? -1 : 1);
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a;
        unsigned char cb = (unsigned char)*b;
        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (ca == '\0')
            return 0;
    }
}
