/*
 * The four functions every freestanding C environment must provide (the
 * compiler may emit calls to them). Built with
 * -fno-tree-loop-distribute-patterns, so these loops are not turned back
 * into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* Copies n bytes; the areas must not overlap. Returns dst. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    while (n--)
        *d++ = *s++;
    return dst;
}

/* Copies n bytes; the areas may overlap. Returns dst. */
void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if ((uintptr_t)d <= (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) {
        while (n--)
            *d++ = *s++;
    } else {
        /* dst overlaps the end of src: copy backwards */
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

/* Fills n bytes with (unsigned char)c. Returns dst. */
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

/* Compares n bytes as unsigned char: <0, 0 or >0. */
int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a;
    const unsigned char *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}
