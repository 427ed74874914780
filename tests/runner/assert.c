/*
 * The freestanding half of the test harness: a small printf, the assert
 * back-ends that print both sides of a failed comparison, and skip.
 *
 * No libc: everything leaves through pvt_test_platform_write and a failure
 * ends through pvt_test_platform_fail, so this file links unchanged into the
 * host runner and into the KVM guest. No floating point either (the guest
 * builds with -mgeneral-regs-only).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvtimer/base.h"
#include "runner/test.h"

/* Output buffered on the stack before each platform write. */
#define PRINTF_BUF_SIZE 128

/* Widths above this are clamped: a typo like %99999999d must not spin. */
#define MAX_WIDTH 256

/*
 * Where formatted characters go. snprintf: into the caller's buffer, the
 * excess counted but dropped. printf: into a stack buffer written out
 * through the platform whenever it fills up.
 */
struct sink {
    char *buf;
    size_t cap;   /* characters buf holds (snprintf: size - 1) */
    size_t pos;   /* characters in buf */
    size_t total; /* characters produced so far */
    bool flush;   /* write out when full instead of dropping */
};

static void sink_putc(struct sink *s, char c)
{
    if (s->pos == s->cap && s->flush) {
        pvt_test_platform_write(s->buf, s->pos);
        s->pos = 0;
    }
    if (s->pos < s->cap)
        s->buf[s->pos++] = c;
    s->total++;
}

static void sink_puts(struct sink *s, const char *str)
{
    while (*str)
        sink_putc(s, *str++);
}

static void sink_pad(struct sink *s, char c, size_t n)
{
    while (n--)
        sink_putc(s, c);
}

/* The layout of one conversion: field width and the flags that matter. */
struct spec {
    size_t width;
    bool zero; /* pad numbers with zeros after sign / prefix */
    bool left; /* pad on the right */
};

/*
 * Prints a number given as sign and magnitude, so INT64_MIN needs no
 * negation in its own type. prefix ("0x") is part of the field width.
 */
static void put_number(struct sink *s, const struct spec *sp, bool neg,
                       uint64_t mag, unsigned int base, bool upper,
                       const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24]; /* 2^64 - 1 has 20 decimal digits */
    size_t n = 0;
    size_t len;
    size_t pad;
    size_t plen = 0;

    do {
        tmp[n++] = digits[mag % base];
        mag /= base;
    } while (mag != 0);
    while (prefix[plen])
        plen++;
    len = n + plen + (neg ? 1u : 0u);
    pad = sp->width > len ? sp->width - len : 0;

    if (!sp->left && !sp->zero)
        sink_pad(s, ' ', pad);
    if (neg)
        sink_putc(s, '-');
    sink_puts(s, prefix);
    if (!sp->left && sp->zero)
        sink_pad(s, '0', pad);
    while (n)
        sink_putc(s, tmp[--n]);
    if (sp->left)
        sink_pad(s, ' ', pad);
}

static void put_string(struct sink *s, const struct spec *sp, const char *str)
{
    size_t len = 0;
    size_t pad;

    if (str == NULL)
        str = "(null)";
    while (str[len])
        len++;
    pad = sp->width > len ? sp->width - len : 0;
    if (!sp->left)
        sink_pad(s, ' ', pad);
    sink_puts(s, str);
    if (sp->left)
        sink_pad(s, ' ', pad);
}

/* Length modifiers. */
enum length { LEN_INT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static int64_t arg_signed(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_INT:
        return va_arg(*ap, int);
    case LEN_LONG:
        return va_arg(*ap, long);
    case LEN_LLONG:
        return va_arg(*ap, long long);
    case LEN_SIZE:
        /* the signed type corresponding to size_t, as %zd expects */
        return va_arg(*ap, ptrdiff_t);
    }
    return 0;
}

static uint64_t arg_unsigned(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_INT:
        return va_arg(*ap, unsigned int);
    case LEN_LONG:
        return va_arg(*ap, unsigned long);
    case LEN_LLONG:
        return va_arg(*ap, unsigned long long);
    case LEN_SIZE:
        return va_arg(*ap, size_t);
    }
    return 0;
}

/* The printf engine behind every entry point; see test.h for the subset. */
static void format(struct sink *s, const char *fmt, va_list *ap)
{
    const char *p = fmt;

    while (*p) {
        struct spec sp = {0, false, false};
        enum length len = LEN_INT;

        if (*p != '%') {
            sink_putc(s, *p++);
            continue;
        }
        p++;
        for (;; p++) {
            if (*p == '0')
                sp.zero = true;
            else if (*p == '-')
                sp.left = true;
            else
                break;
        }
        while (*p >= '0' && *p <= '9') {
            if (sp.width < MAX_WIDTH)
                sp.width = sp.width * 10 + (size_t)(*p - '0');
            p++;
        }
        if (sp.width > MAX_WIDTH)
            sp.width = MAX_WIDTH;
        if (*p == 'l') {
            len = LEN_LONG;
            if (*++p == 'l') {
                len = LEN_LLONG;
                p++;
            }
        } else if (*p == 'z') {
            len = LEN_SIZE;
            p++;
        }

        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = arg_signed(ap, len);
            /* 0 - (uint64_t)v is |v| even for INT64_MIN */
            uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            put_number(s, &sp, v < 0, mag, 10, false, "");
            break;
        }
        case 'u':
            put_number(s, &sp, false, arg_unsigned(ap, len), 10, false, "");
            break;
        case 'x':
        case 'X':
            put_number(s, &sp, false, arg_unsigned(ap, len), 16, *p == 'X', "");
            break;
        case 'p': {
            const void *v = va_arg(*ap, const void *);
            put_number(s, &sp, false, (uint64_t)(uintptr_t)v, 16, false, "0x");
            break;
        }
        case 's':
            put_string(s, &sp, va_arg(*ap, const char *));
            break;
        case 'c': {
            char c = (char)va_arg(*ap, int);
            size_t pad = sp.width > 1 ? sp.width - 1 : 0;
            if (!sp.left)
                sink_pad(s, ' ', pad);
            sink_putc(s, c);
            if (sp.left)
                sink_pad(s, ' ', pad);
            break;
        }
        case '%':
            sink_putc(s, '%');
            break;
        case '\0':
            /* a lone '%' at the end: report it, do not read past the NUL */
            sink_putc(s, '?');
            continue;
        default:
            sink_putc(s, '?');
            break;
        }
        p++;
    }
}

/* Contract in test.h: formats through a stack buffer to the platform. */
void pvt_test_vprintf(const char *fmt, va_list ap)
{
    char buf[PRINTF_BUF_SIZE];
    struct sink s = {buf, sizeof(buf), 0, 0, true};
    va_list aq;

    va_copy(aq, ap);
    format(&s, fmt, &aq);
    va_end(aq);
    if (s.pos)
        pvt_test_platform_write(buf, s.pos);
}

/* Contract in test.h. */
void pvt_test_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pvt_test_vprintf(fmt, ap);
    va_end(ap);
}

/* Contract in test.h: NUL-terminates when size > 0, returns the untruncated
 * length; buf may be NULL when size is 0. */
size_t pvt_test_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    struct sink s = {buf, size ? size - 1 : 0, 0, 0, false};
    va_list ap;

    va_start(ap, fmt);
    format(&s, fmt, &ap);
    va_end(ap);
    if (size)
        buf[s.pos] = '\0';
    return s.total;
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
    char buf[PRINTF_BUF_SIZE];
    struct sink s = {buf, sizeof(buf), 0, 0, true};
    const char *hex = "0123456789abcdef";

    if (str == NULL) {
        sink_puts(&s, "(null)");
    } else {
        sink_putc(&s, '"');
        for (; *str; str++) {
            unsigned char c = (unsigned char)*str;
            if (c == '"' || c == '\\') {
                sink_putc(&s, '\\');
                sink_putc(&s, (char)c);
            } else if (c == '\n') {
                sink_puts(&s, "\\n");
            } else if (c == '\t') {
                sink_puts(&s, "\\t");
            } else if (c == '\r') {
                sink_puts(&s, "\\r");
            } else if (c < 0x20 || c >= 0x7f) {
                sink_puts(&s, "\\x");
                sink_putc(&s, hex[c >> 4]);
                sink_putc(&s, hex[c & 0xf]);
            } else {
                sink_putc(&s, (char)c);
            }
        }
        sink_putc(&s, '"');
    }
    if (s.pos)
        pvt_test_platform_write(buf, s.pos);
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
    char buf[PRINTF_BUF_SIZE];
    struct sink s = {buf, sizeof(buf), 0, 0, true};

    sink_puts(&s, "SKIP: ");
    if (reason != NULL) {
        for (; *reason; reason++) {
            unsigned char c = (unsigned char)*reason;
            sink_putc(&s, c < 0x20 || c == 0x7f ? ' ' : (char)c);
        }
    }
    sink_putc(&s, '\n');
    pvt_test_platform_write(buf, s.pos);
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
