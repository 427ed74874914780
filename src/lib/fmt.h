/*
 * A small freestanding formatter: the printf subset the guest kernel and
 * the test harness print with. No libc, no allocation, no floating point
 * (the guest builds with -mgeneral-regs-only); only memcpy-class functions
 * may be referenced, as in the core.
 *
 * Conversions: %d %i %u %x %X %c %s %p %%, with the length modifiers l,
 * ll and z, the flags '0' (zero padding after the sign or 0x) and '-'
 * (left justified), and a field width (clamped to PVT_FMT_WIDTH_MAX). %p
 * prints 0x and lower case hex (0x0 for NULL); %s prints NULL as (null).
 * An unknown conversion prints "?" and consumes no argument. No precision,
 * no '+', ' ' or '#' flags, no '*' width.
 */
#ifndef PVTIMER_LIB_FMT_H
#define PVTIMER_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Widths above this are clamped: a typo like %99999999d must not spin. */
#define PVT_FMT_WIDTH_MAX 256u

/* Bytes pvt_fmt_vprint buffers on the stack between two writes. */
#define PVT_FMT_CHUNK 128u

/*
 * Where formatted characters go: cap characters of buf, then either the
 * excess is dropped and only counted (write NULL: a string), or buf is
 * handed to write(ctx, buf, len) and reused (a stream).
 */
struct pvt_fmt_sink {
    char *buf;
    size_t cap;   /* characters buf holds */
    size_t pos;   /* characters in buf */
    size_t total; /* characters produced so far */
    void (*write)(void *ctx, const char *buf, size_t len);
    void *ctx;
};

/* A sink over buf[0 .. cap - 1] (write NULL: excess dropped, else written
 * out whenever buf is full). buf may be NULL when cap is 0. */
void pvt_fmt_sink_init(struct pvt_fmt_sink *s, char *buf, size_t cap,
                       void (*write)(void *ctx, const char *buf, size_t len),
                       void *ctx);

/* One character, a NUL-terminated string (NULL prints nothing), into s. */
void pvt_fmt_putc(struct pvt_fmt_sink *s, char c);
void pvt_fmt_puts(struct pvt_fmt_sink *s, const char *str);

/* Formats into s (the subset above). s and fmt must not be NULL. */
void pvt_fmt_vformat(struct pvt_fmt_sink *s, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Writes out what a stream sink holds (nothing for a string sink). */
void pvt_fmt_flush(struct pvt_fmt_sink *s);

/*
 * Formats into buf: at most size - 1 characters and a NUL (nothing when
 * size is 0; buf may then be NULL). Returns the length the whole output
 * has, so a return >= size means it was cut. Any context.
 */
size_t pvt_fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t pvt_fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * Formats through a PVT_FMT_CHUNK-byte stack buffer to write(ctx, buf,
 * len), called once per full buffer and once at the end (never with len
 * 0). Returns the number of characters written. write must not be NULL;
 * the calling context is write's.
 */
size_t pvt_fmt_vprint(void (*write)(void *ctx, const char *buf, size_t len),
                      void *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif /* PVTIMER_LIB_FMT_H */
