/*
 * The console: CONSOLE_WRITE hypercalls under our monitor, a 16550 serial
 * port without it; and the ways out (exit, panic).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "guest.h"
#include "lib/fmt.h"

/* The first PC serial port (COM1) and its registers. */
#define COM1     0x3f8
#define UART_THR 0 /* transmit holding (DLAB 0) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB 1) */
#define UART_IER 1 /* interrupt enable (DLAB 0) */
#define UART_DLM 1 /* divisor latch, high byte (DLAB 1) */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_8N1  0x03
#define LCR_DLAB 0x80
#define LSR_THRE 0x20 /* the transmit holding register is empty */

/* Set once by pvt_guest_console_use_serial: no monitor, the ports are
 * the machine's (only then may COM1 and the exit port be touched: our
 * monitor stops the VM on a port it does not serve). */
static int use_serial;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* Contract in guest.h. */
void pvt_guest_console_use_serial(void)
{
    outb(COM1 + UART_IER, 0x00);     /* no interrupts */
    outb(COM1 + UART_LCR, LCR_DLAB); /* divisor 1: 115200 baud */
    outb(COM1 + UART_DLL, 0x01);
    outb(COM1 + UART_DLM, 0x00);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, 0x07); /* FIFOs on and cleared */
    outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
    use_serial = 1;
}

/* Contract in guest.h. */
bool pvt_guest_console_serial(void)
{
    return use_serial != 0;
}

/* Writes one byte to COM1 once the transmitter has room; gives up waiting
 * after a while (a port nobody serves reads as 0xff: "room"). */
static void serial_putc(char c)
{
    unsigned int spin;

    for (spin = 0; spin < 100000; spin++)
        if (inb(COM1 + UART_LSR) & LSR_THRE)
            break;
    outb(COM1 + UART_THR, (uint8_t)c);
}

/* Contract in guest.h. */
void pvt_guest_console_write(const char *buf, size_t len)
{
    if (use_serial) {
        while (len--)
            serial_putc(*buf++);
        return;
    }
    while (len) {
        struct pvt_hc_console_write a = {0};
        size_t n = len < PVT_HC_CONSOLE_MAX ? len : PVT_HC_CONSOLE_MAX;

        a.data = (uint64_t)(uintptr_t)buf;
        a.len = n;
        pvt_guest_hypercall(PVT_HC_CONSOLE_WRITE, &a);
        if (a.ret < 0)
            return;
        buf += n;
        len -= n;
    }
}

/* Contract in guest.h. */
void pvt_guest_puts(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    pvt_guest_console_write(s, n);
}

static void console_sink(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    pvt_guest_console_write(buf, len);
}

/* Contract in guest.h. */
void pvt_guest_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pvt_fmt_vprint(console_sink, NULL, fmt, ap);
    va_end(ap);
}
