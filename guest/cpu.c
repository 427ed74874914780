/*
 * The IDT, the interrupt entry stubs and the x2APIC. Contracts in cpu.h.
 */
#include "cpu.h"

#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "pvtimer/pvabi.h"
#include "runner/test.h"

struct idt_entry {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type; /* present, DPL 0, 64-bit interrupt gate: 0x8e */
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t zero;
};

_Static_assert(sizeof(struct idt_entry) == 16, "IDT entry");

static struct idt_entry idt[256] __attribute__((aligned(16)));

/* Written by the handlers (interrupts are off everywhere else). */
static volatile struct pvt_irq_state irq;

/* The frame the stubs build: the vector, then what the CPU pushed (an
 * error code, pushed as 0 by the stub when the CPU pushes none). */
struct frame {
    uint64_t vector;
    uint64_t error;
    uint64_t rip, cs, rflags, rsp, ss;
};

void pvt_cpu_trap(struct frame *f);

/* Contract: the stubs call this with interrupts off. */
void pvt_cpu_trap(struct frame *f)
{
    int k = -1;

    if (f->vector < 32) {
        pvt_test_printf("guest: exception %u, error 0x%lx, RIP 0x%lx\n",
                        (unsigned int)f->vector, (unsigned long)f->error,
                        (unsigned long)f->rip);
        pvt_guest_exit(254);
    }
    switch (f->vector) {
    case GUEST_VEC_LAPIC_TIMER:
        k = PVT_IRQ_LAPIC_TIMER;
        break;
    case PVT_VEC_SINGLESHOT:
        k = PVT_IRQ_SINGLESHOT;
        break;
    case PVT_VEC_PERIODIC:
        k = PVT_IRQ_PERIODIC;
        break;
    case PVT_VEC_CONTROL:
        k = PVT_IRQ_CONTROL;
        break;
    default:
        break;
    }
    if (k < 0) {
        irq.spurious++;
    } else {
        if (!(irq.pending & (1u << k)))
            irq.tsc[k] = pvt_rdtsc();
        irq.pending |= 1u << k;
        irq.count[k]++;
    }
    if (f->vector != GUEST_VEC_SPURIOUS)
        pvt_wrmsr(MSR_X2APIC_EOI, 0);
}

/*
 * The stubs: push a 0 error code where the CPU pushes none, push the
 * vector, save the caller-saved registers (the guest uses no SSE: it is
 * built with -mgeneral-regs-only), call pvt_cpu_trap with the frame, and
 * return. The stack is 16-byte aligned at the call.
 */
/* clang-format off */
#define STUB_NOERR(n) \
    ".align 16\n stub_" #n ":\n pushq $0\n pushq $" #n "\n jmp common\n"
#define STUB_ERR(n) \
    ".align 16\n stub_" #n ":\n pushq $" #n "\n jmp common\n"

__asm__(".pushsection .text\n"
        "common:\n"
        "    pushq %rax\n pushq %rcx\n pushq %rdx\n pushq %rsi\n"
        "    pushq %rdi\n pushq %r8\n pushq %r9\n pushq %r10\n pushq %r11\n"
        "    pushq %rbx\n"
        "    leaq 80(%rsp), %rdi\n"
        "    movq %rsp, %rbx\n" /* callee-saved: keeps the unaligned rsp */
        "    andq $-16, %rsp\n"
        "    call pvt_cpu_trap\n"
        "    movq %rbx, %rsp\n"
        "    popq %rbx\n"
        "    popq %r11\n popq %r10\n popq %r9\n popq %r8\n popq %rdi\n"
        "    popq %rsi\n popq %rdx\n popq %rcx\n popq %rax\n"
        "    addq $16, %rsp\n"
        "    iretq\n"
        STUB_NOERR(0) STUB_NOERR(1) STUB_NOERR(2) STUB_NOERR(3)
        STUB_NOERR(4) STUB_NOERR(5) STUB_NOERR(6) STUB_NOERR(7)
        STUB_ERR(8) STUB_NOERR(9) STUB_ERR(10) STUB_ERR(11)
        STUB_ERR(12) STUB_ERR(13) STUB_ERR(14) STUB_NOERR(15)
        STUB_NOERR(16) STUB_ERR(17) STUB_NOERR(18) STUB_NOERR(19)
        STUB_NOERR(20) STUB_ERR(21) STUB_NOERR(22) STUB_NOERR(23)
        STUB_NOERR(24) STUB_NOERR(25) STUB_NOERR(26) STUB_NOERR(27)
        STUB_NOERR(28) STUB_ERR(29) STUB_ERR(30) STUB_NOERR(31)
        STUB_NOERR(48) STUB_NOERR(64) STUB_NOERR(65) STUB_NOERR(66)
        STUB_NOERR(255) STUB_NOERR(256)
        ".popsection\n");
/* clang-format on */

extern const char stub_0[], stub_1[], stub_2[], stub_3[], stub_4[], stub_5[],
    stub_6[], stub_7[], stub_8[], stub_9[], stub_10[], stub_11[], stub_12[],
    stub_13[], stub_14[], stub_15[], stub_16[], stub_17[], stub_18[], stub_19[],
    stub_20[], stub_21[], stub_22[], stub_23[], stub_24[], stub_25[], stub_26[],
    stub_27[], stub_28[], stub_29[], stub_30[], stub_31[], stub_48[], stub_64[],
    stub_65[], stub_66[], stub_255[], stub_256[];

static void set_gate(unsigned int v, const void *fn)
{
    uint64_t a = (uint64_t)(uintptr_t)fn;
    uint16_t cs;

    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    idt[v].off_lo = (uint16_t)a;
    idt[v].sel = cs;
    idt[v].ist = 0;
    idt[v].type = 0x8e;
    idt[v].off_mid = (uint16_t)(a >> 16);
    idt[v].off_hi = (uint32_t)(a >> 32);
    idt[v].zero = 0;
}

/* Contract in cpu.h. */
void pvt_cpu_init_idt(void)
{
    static const char *const exc[32] = {
        stub_0,  stub_1,  stub_2,  stub_3,  stub_4,  stub_5,  stub_6,  stub_7,
        stub_8,  stub_9,  stub_10, stub_11, stub_12, stub_13, stub_14, stub_15,
        stub_16, stub_17, stub_18, stub_19, stub_20, stub_21, stub_22, stub_23,
        stub_24, stub_25, stub_26, stub_27, stub_28, stub_29, stub_30, stub_31,
    };
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr;
    unsigned int v;

    /* every vector the guest does not expect is counted as spurious */
    for (v = 32; v < 256; v++)
        set_gate(v, stub_256);
    for (v = 0; v < 32; v++)
        set_gate(v, exc[v]);
    set_gate(GUEST_VEC_LAPIC_TIMER, stub_48);
    set_gate(PVT_VEC_SINGLESHOT, stub_64);
    set_gate(PVT_VEC_PERIODIC, stub_65);
    set_gate(PVT_VEC_CONTROL, stub_66);
    set_gate(GUEST_VEC_SPURIOUS, stub_255);
    idtr.limit = sizeof(idt) - 1;
    idtr.base = (uint64_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

/* Contract in cpu.h. */
bool pvt_cpu_init_x2apic(void)
{
    uint32_t r[4];

    pvt_cpuid(1, 0, r);
    if (!(r[2] & (1u << 21)))
        return false;
    /* xAPIC enable (bit 11) and x2APIC mode (bit 10) */
    pvt_wrmsr(MSR_APIC_BASE, pvt_rdmsr(MSR_APIC_BASE) | (3u << 10));
    pvt_wrmsr(MSR_X2APIC_SVR, 0x100u | GUEST_VEC_SPURIOUS);
    return true;
}

/* Contract in cpu.h. */
bool pvt_cpu_has_tsc_deadline(void)
{
    uint32_t r[4];

    pvt_cpuid(1, 0, r);
    return (r[2] & (1u << 24)) != 0;
}

static void take(struct pvt_irq_state *out)
{
    unsigned int k;

    out->pending = irq.pending;
    for (k = 0; k < PVT_IRQ_COUNT; k++) {
        out->tsc[k] = irq.tsc[k];
        out->count[k] = irq.count[k];
    }
    out->spurious = irq.spurious;
    irq.pending = 0;
}

/* Contract in cpu.h. */
void pvt_cpu_wait(struct pvt_irq_state *out)
{
    if (!irq.pending)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    take(out);
}

/* Contract in cpu.h. */
void pvt_cpu_take(struct pvt_irq_state *out)
{
    take(out);
}
