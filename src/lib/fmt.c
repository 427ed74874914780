/*
 * The freestanding formatter (contracts and the subset in fmt.h). Numbers
 * are printed from sign and magnitude in uint64_t, so INT64_MIN needs no
 * negation in its own type and no libgcc helper is needed on x86-64.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fmt.h"

/* Contract in fmt.h. */
void pvt_fmt_sink_init(struct pvt_fmt_sink *s, char *buf, size_t cap,
                       void (*write)(void *ctx, const char *buf, size_t len),
                       void *ctx)
{
    s->buf = buf;
    s->cap = buf ? cap : 0;
    s->pos = 0;
    s->total = 0;
    s->write = write;
    s->ctx = ctx;
}

/* Contract in fmt.h. */
void pvt_fmt_flush(struct pvt_fmt_sink *s)
{
    if (s->write && s->pos) {
        s->write(s->ctx, s->buf, s->pos);
        s->pos = 0;
    }
}

/* Contract in fmt.h. */
void pvt_fmt_putc(struct pvt_fmt_sink *s, char c)
{
    if (s->pos == s->cap)
        pvt_fmt_flush(s);
    if (s->pos < s->cap)
        s->buf[s->pos++] = c;
    s->total++;
}

/* Contract in fmt.h. */
void pvt_fmt_puts(struct pvt_fmt_sink *s, const char *str)
{
    if (str == NULL)
        return;
    while (*str)
        pvt_fmt_putc(s, *str++);
}

static void pad(struct pvt_fmt_sink *s, char c, size_t n)
{
    while (n--)
        pvt_fmt_putc(s, c);
}

/* The layout of one conversion: field width and the flags that matter. */
struct spec {
    size_t width;
    bool zero; /* pad numbers with zeros after sign / prefix */
    bool left; /* pad on the right */
};

/* A number as sign and magnitude; prefix ("0x") counts in the width. */
static void put_number(struct pvt_fmt_sink *s, const struct spec *sp, bool neg,
                       uint64_t mag, unsigned int base, bool upper,
                       const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24]; /* 2^64 - 1 has 20 decimal digits */
    size_t n = 0;
    size_t len;
    size_t fill;
    size_t plen = 0;

    do {
        tmp[n++] = digits[mag % base];
        mag /= base;
    } while (mag != 0);
    while (prefix[plen])
        plen++;
    len = n + plen + (neg ? 1u : 0u);
    fill = sp->width > len ? sp->width - len : 0;

    if (!sp->left && !sp->zero)
        pad(s, ' ', fill);
    if (neg)
        pvt_fmt_putc(s, '-');
    pvt_fmt_puts(s, prefix);
    if (!sp->left && sp->zero)
        pad(s, '0', fill);
    while (n)
        pvt_fmt_putc(s, tmp[--n]);
    if (sp->left)
        pad(s, ' ', fill);
}

/* len characters of str in a field of sp->width. */
static void put_field(struct pvt_fmt_sink *s, const struct spec *sp,
                      const char *str, size_t len)
{
    size_t fill = sp->width > len ? sp->width - len : 0;
    size_t i;

    if (!sp->left)
        pad(s, ' ', fill);
    for (i = 0; i < len; i++)
        pvt_fmt_putc(s, str[i]);
    if (sp->left)
        pad(s, ' ', fill);
}

static void put_string(struct pvt_fmt_sink *s, const struct spec *sp,
                       const char *str)
{
    size_t len = 0;

    if (str == NULL)
        str = "(null)";
    while (str[len])
        len++;
    put_field(s, sp, str, len);
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

/* Reads flags, width and length of the conversion at *p (just past the
 * '%'); leaves *p at the conversion character. */
static enum length parse_spec(const char **p, struct spec *sp)
{
    const char *q = *p;
    enum length len = LEN_INT;

    for (;; q++) {
        if (*q == '0')
            sp->zero = true;
        else if (*q == '-')
            sp->left = true;
        else
            break;
    }
    while (*q >= '0' && *q <= '9') {
        if (sp->width < PVT_FMT_WIDTH_MAX)
            sp->width = sp->width * 10 + (size_t)(*q - '0');
        q++;
    }
    if (sp->width > PVT_FMT_WIDTH_MAX)
        sp->width = PVT_FMT_WIDTH_MAX;
    if (*q == 'l') {
        len = LEN_LONG;
        if (*++q == 'l') {
            len = LEN_LLONG;
            q++;
        }
    } else if (*q == 'z') {
        len = LEN_SIZE;
        q++;
    }
    *p = q;
    return len;
}

/* The engine behind every entry point, on a va_list the caller owns. */
static void format(struct pvt_fmt_sink *s, const char *fmt, va_list *ap)
{
    const char *p = fmt;

    while (*p) {
        struct spec sp = {0, false, false};
        enum length len;

        if (*p != '%') {
            pvt_fmt_putc(s, *p++);
            continue;
        }
        p++;
        len = parse_spec(&p, &sp);
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
            put_field(s, &sp, &c, 1);
            break;
        }
        case '%':
            pvt_fmt_putc(s, '%');
            break;
        case '\0':
            /* a lone '%' at the end: report it, do not read past the NUL */
            pvt_fmt_putc(s, '?');
            continue;
        default:
            pvt_fmt_putc(s, '?');
            break;
        }
        p++;
    }
}

/* Contract in fmt.h. */
void pvt_fmt_vformat(struct pvt_fmt_sink *s, const char *fmt, va_list ap)
{
    va_list aq;

    va_copy(aq, ap);
    format(s, fmt, &aq);
    va_end(aq);
}

/* Contract in fmt.h. */
size_t pvt_fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct pvt_fmt_sink s;

    pvt_fmt_sink_init(&s, buf, size ? size - 1 : 0, NULL, NULL);
    pvt_fmt_vformat(&s, fmt, ap);
    if (buf && size)
        buf[s.pos] = '\0';
    return s.total;
}

/* Contract in fmt.h. */
size_t pvt_fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = pvt_fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* Contract in fmt.h. */
size_t pvt_fmt_vprint(void (*write)(void *ctx, const char *buf, size_t len),
                      void *ctx, const char *fmt, va_list ap)
{
    char buf[PVT_FMT_CHUNK];
    struct pvt_fmt_sink s;

    pvt_fmt_sink_init(&s, buf, sizeof(buf), write, ctx);
    pvt_fmt_vformat(&s, fmt, ap);
    pvt_fmt_flush(&s);
    return s.total;
}
