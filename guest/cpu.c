/*
 * The GDT and TSS, the IDT, the interrupt and system-call entry stubs, user
 * mode and the x2APIC, and stopping the machine (pvt_cpu_stop, and
 * pvt_guest_exit with a status). Contracts in cpu.h and guest.h.
 */
#include "cpu.h"

#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "pvtimer/pvabi.h"

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

/* Selectors of the guest's own GDT (kernel ones as the monitor's). */
#define SEL_KCODE 0x08u
#define SEL_KDATA 0x10u
#define SEL_UDATA 0x18u
#define SEL_UCODE 0x20u
#define SEL_TSS   0x28u
#define RPL3      3u

/*
 * System calls: ring 3 executes `hlt` (0xf4), which it may not, with the
 * call number in rax and the argument in rdi; the #GP handler sees the
 * instruction, serves the call, and resumes after it. (Not `int 0x80`:
 * the KVM this project is measured on raises #UD for it in ring 3, and
 * `syscall` would need an entry stack switch of its own.)
 */
#define SYSCALL_INSN 0xf4u
enum { SYS_WAIT = 1, SYS_TSC_DEADLINE = 2, SYS_STOP = 3, SYS_IPI = 4 };

/* x2APIC interrupt command: fixed delivery, physical destination, level
 * assert, edge; the destination's x2APIC ID in the high half. */
#define ICR_ASSERT (1u << 14)

/* The ACPI power-off of QEMU's pc and q35 machines (their firmware puts
 * the PM I/O block at 0x600): PM1a_CNT, SLP_EN with sleep type 0 (S5
 * there). */
#define ACPI_PM1A_CNT_PORT 0x604u
#define ACPI_PM1A_CNT_S5   0x2000u

/* The 64-bit TSS: only RSP0 (the stack ring 3 interrupts switch to). */
struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "TSS layout");

/*
 * Per CPU: its TSS (RSP0: its kernel stack, which is also the stack an
 * application processor starts on), its user stack, its interrupt state
 * and what an AP runs. The GS base of each CPU points at its own (self
 * first), so ring 0 and ring 3 alike find it with one load (pvt_cpu_self).
 * CPU 0's user stack is larger: the core's tests run there.
 */
#define KSTACK_SIZE    32768u
#define USTACK_SIZE    262144u
#define AP_USTACK_SIZE 65536u

struct percpu {
    struct percpu *self; /* at %gs:0 */
    unsigned int index;
    struct tss tss __attribute__((aligned(16)));
    /* written by the handlers, read where interrupts are off */
    volatile struct pvt_irq_state irq;
    void (*ap_fn)(unsigned int, void *);
    void *ap_arg;
    volatile bool ap_started;
    uint8_t kstack[KSTACK_SIZE] __attribute__((aligned(16)));
};

/* GDT: null, kernel code and data, user data and code, then a 64-bit TSS
 * (two slots) per CPU. */
#define GDT_TSS_FIRST 5u
static uint64_t gdt[GDT_TSS_FIRST + 2 * PVT_CPU_MAX]
    __attribute__((aligned(16)));
static struct percpu cpus[PVT_CPU_MAX];
static uint8_t ustack0[USTACK_SIZE] __attribute__((aligned(16)));
static uint8_t ap_ustack[PVT_CPU_MAX - 1][AP_USTACK_SIZE]
    __attribute__((aligned(16)));
static bool tables_built;

#define MSR_GS_BASE 0xc0000101u

static inline struct percpu *self(void)
{
    struct percpu *c;

    __asm__ volatile("movq %%gs:0, %0" : "=r"(c));
    return c;
}

/* The frame the stubs build: the saved registers, the TSC at the entry,
 * the vector, then what the CPU pushed (an error code, pushed as 0 by the
 * stub when the CPU pushes none). A system call's result goes back in
 * rax. */
struct frame {
    uint64_t rbx, r11, r10, r9, r8, rdi, rsi, tsc, rdx, rcx, rax;
    uint64_t vector;
    uint64_t error;
    uint64_t rip, cs, rflags, rsp, ss;
};

void pvt_cpu_trap(struct frame *f);

static void take(struct pvt_irq_state *out);

static void send_ipi(uint64_t cpu, uint64_t vector)
{
    pvt_wrmsr(MSR_X2APIC_ICR, cpu << 32 | ICR_ASSERT | (vector & 0xff));
}

/* System calls from ring 3: rax the number, rdi (and rsi) the arguments. */
static void syscall(struct frame *f)
{
    switch (f->rax) {
    case SYS_WAIT:
        if (!self()->irq.pending)
            __asm__ volatile("sti; hlt; cli" ::: "memory");
        take((struct pvt_irq_state *)(uintptr_t)f->rdi);
        f->rax = 0;
        break;
    case SYS_IPI:
        if (f->rdi < PVT_CPU_MAX && f->rsi >= 32 && f->rsi < 256) {
            send_ipi(f->rdi, f->rsi);
            f->rax = 0;
        } else {
            f->rax = (uint64_t)-1;
        }
        break;
    case SYS_TSC_DEADLINE:
        pvt_wrmsr(MSR_TSC_DEADLINE, f->rdi);
        f->rax = 0;
        break;
    case SYS_STOP:
        pvt_cpu_stop(f->rdi != 0);
    default:
        f->rax = (uint64_t)-1;
        break;
    }
}

/*
 * Port I/O that ring 3 tried and the hypervisor refused: the forms the
 * guest uses (out/in through %dx, out to an 8-bit port), made here. The
 * instruction is ring 3's own code, so reading it is safe. Returns
 * whether it was one.
 */
static bool port_io(struct frame *f, uint8_t insn)
{
    const uint8_t *ip = (const uint8_t *)(uintptr_t)f->rip;
    uint16_t dx = (uint16_t)f->rdx;

    switch (insn) {
    case 0xef: /* out %eax, (%dx) */
        __asm__ volatile("outl %0, %1"
                         :
                         : "a"((uint32_t)f->rax), "d"(dx)
                         : "memory");
        f->rip += 1;
        return true;
    case 0xee: /* out %al, (%dx) */
        __asm__ volatile("outb %0, %1"
                         :
                         : "a"((uint8_t)f->rax), "d"(dx)
                         : "memory");
        f->rip += 1;
        return true;
    case 0xec: { /* in (%dx), %al */
        uint8_t v;
        __asm__ volatile("inb %1, %0" : "=a"(v) : "d"(dx) : "memory");
        f->rax = (f->rax & ~0xffull) | v;
        f->rip += 1;
        return true;
    }
    case 0xe7: { /* out %eax, $imm8 */
        uint16_t port = ip[1];
        __asm__ volatile("outl %0, %1"
                         :
                         : "a"((uint32_t)f->rax), "d"(port)
                         : "memory");
        f->rip += 2;
        return true;
    }
    case 0xe6: { /* out %al, $imm8 */
        uint16_t port = ip[1];
        __asm__ volatile("outb %0, %1"
                         :
                         : "a"((uint8_t)f->rax), "d"(port)
                         : "memory");
        f->rip += 2;
        return true;
    }
    default:
        return false;
    }
}

/* Contract: the stubs call this with interrupts off. */
void pvt_cpu_trap(struct frame *f)
{
    volatile struct pvt_irq_state *irq = &self()->irq;
    int k = -1;

    /* ring 3's #GPs that are requests: a system call (`hlt`, see
     * SYSCALL_INSN) or a hypercall (`out %eax, (%dx)`: the hypervisor
     * does not give guest user mode the I/O privilege IOPL 3 asks for, so
     * ring 0 makes the port write for it) */
    if (f->vector == 13 && (f->cs & 3) == 3) {
        uint8_t insn = *(const uint8_t *)(uintptr_t)f->rip;

        if (insn == SYSCALL_INSN) {
            syscall(f);
            f->rip += 1;
            return;
        }
        if (port_io(f, insn))
            return;
    }
    if (f->vector < 32) {
        pvt_guest_printf("guest: exception %u, error 0x%lx, RIP 0x%lx\n",
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
    case GUEST_VEC_IPI:
        k = PVT_IRQ_IPI;
        break;
    default:
        break;
    }
    if (k < 0) {
        irq->spurious++;
    } else {
        if (!(irq->pending & (1u << k)))
            irq->tsc[k] = f->tsc;
        irq->pending |= 1u << k;
        irq->count[k]++;
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
        "    pushq %rax\n pushq %rcx\n pushq %rdx\n"
        /* the TSC first: the rest of the entry is emulated, slowly, on
         * some hypervisors (cpu.h); it goes into the frame */
        "    rdtsc\n shlq $32, %rdx\n orq %rdx, %rax\n"
        "    pushq %rax\n"
        "    pushq %rsi\n"
        "    pushq %rdi\n pushq %r8\n pushq %r9\n pushq %r10\n pushq %r11\n"
        "    pushq %rbx\n"
        "    movq %rsp, %rdi\n"
        "    movq %rsp, %rbx\n" /* callee-saved: keeps the unaligned rsp */
        "    andq $-16, %rsp\n"
        "    call pvt_cpu_trap\n"
        "    movq %rbx, %rsp\n"
        "    popq %rbx\n"
        "    popq %r11\n popq %r10\n popq %r9\n popq %r8\n popq %rdi\n"
        "    popq %rsi\n addq $8, %rsp\n popq %rdx\n popq %rcx\n popq %rax\n"
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
        STUB_NOERR(48) STUB_NOERR(49) STUB_NOERR(64) STUB_NOERR(65) STUB_NOERR(66)
        STUB_NOERR(255) STUB_NOERR(256)
        ".popsection\n");
/* clang-format on */

extern const char stub_0[], stub_1[], stub_2[], stub_3[], stub_4[], stub_5[],
    stub_6[], stub_7[], stub_8[], stub_9[], stub_10[], stub_11[], stub_12[],
    stub_13[], stub_14[], stub_15[], stub_16[], stub_17[], stub_18[], stub_19[],
    stub_20[], stub_21[], stub_22[], stub_23[], stub_24[], stub_25[], stub_26[],
    stub_27[], stub_28[], stub_29[], stub_30[], stub_31[], stub_48[], stub_49[],
    stub_64[], stub_65[], stub_66[], stub_255[], stub_256[];

static void set_gate(unsigned int v, const void *fn)
{
    uint64_t a = (uint64_t)(uintptr_t)fn;

    idt[v].off_lo = (uint16_t)a;
    idt[v].sel = SEL_KCODE;
    idt[v].ist = 0;
    idt[v].type = 0x8e; /* present, DPL 0, interrupt gate: IF off inside */
    idt[v].off_mid = (uint16_t)(a >> 16);
    idt[v].off_hi = (uint32_t)(a >> 32);
    idt[v].zero = 0;
}

/* The GDT and IDT every CPU loads: built once, by CPU 0. */
static void build_tables(void)
{
    static const char *const exc[32] = {
        stub_0,  stub_1,  stub_2,  stub_3,  stub_4,  stub_5,  stub_6,  stub_7,
        stub_8,  stub_9,  stub_10, stub_11, stub_12, stub_13, stub_14, stub_15,
        stub_16, stub_17, stub_18, stub_19, stub_20, stub_21, stub_22, stub_23,
        stub_24, stub_25, stub_26, stub_27, stub_28, stub_29, stub_30, stub_31,
    };
    unsigned int v, i;

    /* null, kernel code and data (as the monitor's), user data and code,
     * a 64-bit TSS (two slots) per CPU */
    gdt[0] = 0;
    gdt[1] = 0x00af9b000000ffffull;
    gdt[2] = 0x00cf93000000ffffull;
    gdt[3] = 0x00cff3000000ffffull;
    gdt[4] = 0x00affb000000ffffull;
    for (i = 0; i < PVT_CPU_MAX; i++) {
        struct percpu *c = &cpus[i];
        uint64_t t = (uint64_t)(uintptr_t)&c->tss;

        c->self = c;
        c->index = i;
        c->tss.rsp[0] = (uint64_t)(uintptr_t)(c->kstack + sizeof(c->kstack));
        c->tss.iomap_base = sizeof(c->tss); /* no I/O bitmap: IOPL decides */
        gdt[GDT_TSS_FIRST + 2 * i] = (sizeof(c->tss) - 1) |
                                     (t & 0xffffff) << 16 | 0x89ull << 40 |
                                     ((t >> 24) & 0xff) << 56;
        gdt[GDT_TSS_FIRST + 2 * i + 1] = t >> 32;
    }

    /* every vector the guest does not expect is counted as spurious */
    for (v = 32; v < 256; v++)
        set_gate(v, stub_256);
    for (v = 0; v < 32; v++)
        set_gate(v, exc[v]);
    set_gate(GUEST_VEC_LAPIC_TIMER, stub_48);
    set_gate(GUEST_VEC_IPI, stub_49);
    set_gate(PVT_VEC_SINGLESHOT, stub_64);
    set_gate(PVT_VEC_PERIODIC, stub_65);
    set_gate(PVT_VEC_CONTROL, stub_66);
    set_gate(GUEST_VEC_SPURIOUS, stub_255);
    tables_built = true;
}

/* Loads the tables on the calling CPU, as CPU `index`. */
static void load_tables(unsigned int index)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr, gdtr;
    struct percpu *c = &cpus[index];

    gdtr.limit = sizeof(gdt) - 1;
    gdtr.base = (uint64_t)(uintptr_t)gdt;
    __asm__ volatile("lgdt %0\n"
                     "ltr %w1\n"
                     :
                     : "m"(gdtr), "r"((uint16_t)(SEL_TSS + 16 * index))
                     : "memory");
    idtr.limit = sizeof(idt) - 1;
    idtr.base = (uint64_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
    /* GS holds the user data selector, which ring 3 keeps (an iretq to
     * ring 3 nulls a DPL 0 one), and its base is this CPU's percpu */
    __asm__ volatile("movw %w0, %%gs" : : "r"((uint16_t)(SEL_UDATA | RPL3)));
    pvt_wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)c);
}

/* Contract in cpu.h. */
void pvt_cpu_init_idt(void)
{
    if (!tables_built)
        build_tables();
    load_tables(0);
}

/* Contract in cpu.h. */
unsigned int pvt_cpu_index(void)
{
    return self()->index;
}

/* Contract in cpu.h. */
void pvt_cpu_send_ipi(unsigned int cpu, uint32_t vector)
{
    uint16_t cs;

    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    if ((cs & 3) == 3) {
        uint64_t rax = SYS_IPI;
        __asm__ volatile("hlt"
                         : "+a"(rax)
                         : "D"((uint64_t)cpu), "S"((uint64_t)vector)
                         : "memory", "rcx", "rdx", "r8", "r9", "r10", "r11");
        return;
    }
    send_ipi(cpu, vector);
}

/* The 64-bit entry of an application processor: the monitor (VCPU_UP) or
 * the real-mode trampoline (boot-pvh.c) starts it here on its kernel
 * stack, interrupts off, its index in rdi. */
_Noreturn void pvt_cpu_ap_main(uint64_t index);

_Noreturn void pvt_cpu_ap_main(uint64_t index)
{
    struct percpu *c;

    if (index == 0 || index >= PVT_CPU_MAX)
        for (;;)
            __asm__ volatile("cli; hlt");
    c = &cpus[index];
    load_tables((unsigned int)index);
    c->ap_started = true;
    c->ap_fn((unsigned int)index, c->ap_arg);
    pvt_cpu_stop(false);
}

/* clang-format off */
__asm__(".pushsection .text\n"
        ".globl pvt_cpu_ap_entry\n"
        "pvt_cpu_ap_entry:\n"
        "    xorl %ebp, %ebp\n"
        "    andq $-16, %rsp\n"
        "    call pvt_cpu_ap_main\n"
        "1:  cli\n hlt\n jmp 1b\n"
        ".popsection\n");
/* clang-format on */

extern const char pvt_cpu_ap_entry[];

/* Contract in cpu.h. */
int pvt_cpu_start_ap(unsigned int index, void (*fn)(unsigned int, void *),
                     void *arg)
{
    struct pvt_hc_vcpu_up a = {0};
    struct percpu *c;

    if (index == 0 || index >= PVT_CPU_MAX || fn == NULL || !tables_built)
        return -1;
    c = &cpus[index];
    c->ap_fn = fn;
    c->ap_arg = arg;
    a.vcpu = index;
    a.rip = (uint64_t)(uintptr_t)pvt_cpu_ap_entry;
    a.rsp = (uint64_t)(uintptr_t)(c->kstack + sizeof(c->kstack));
    a.arg = index;
    pvt_guest_hypercall(PVT_HC_VCPU_UP, &a);
    return a.ret == 0 ? 0 : -1;
}

/* Contract in cpu.h. */
void pvt_cpu_prepare_ap(unsigned int index, void (*fn)(unsigned int, void *),
                        void *arg, uint64_t *rsp)
{
    struct percpu *c = &cpus[index];

    c->ap_fn = fn;
    c->ap_arg = arg;
    *rsp = (uint64_t)(uintptr_t)(c->kstack + sizeof(c->kstack));
}

/* Contract in cpu.h. */
bool pvt_cpu_ap_started(unsigned int index)
{
    return index < PVT_CPU_MAX && cpus[index].ap_started;
}

/* Contract in cpu.h. */
bool pvt_cpu_init_x2apic(void)
{
    uint32_t r[4];

    pvt_cpuid(1, 0, r);
    if (!(r[2] & (1u << 21)))
        return false;
    /* mask the legacy 8259 PICs, which a BIOS leaves running (the PIT at
     * vector 8 under QEMU); KVM's in-kernel irqchip serves these ports */
    __asm__ volatile("outb %b0, $0x21\n"
                     "outb %b0, $0xa1\n"
                     :
                     : "a"(0xff)
                     : "memory");
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
    volatile struct pvt_irq_state *irq = &self()->irq;
    unsigned int k;

    out->pending = irq->pending;
    for (k = 0; k < PVT_IRQ_COUNT; k++) {
        out->tsc[k] = irq->tsc[k];
        out->count[k] = irq->count[k];
    }
    out->spurious = irq->spurious;
    irq->pending = 0;
}

static bool in_user(void)
{
    uint16_t cs;

    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return (cs & 3) == 3;
}

/* Contract in cpu.h. */
void pvt_cpu_wait(struct pvt_irq_state *out)
{
    if (in_user()) {
        uint64_t rax = SYS_WAIT;
        __asm__ volatile("hlt"
                         : "+a"(rax)
                         : "D"(out)
                         : "memory", "rcx", "rdx", "rsi", "r8", "r9", "r10",
                           "r11");
        return;
    }
    if (!self()->irq.pending)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    take(out);
}

/* Contract in cpu.h. */
void pvt_cpu_set_tsc_deadline(uint64_t tsc)
{
    if (in_user()) {
        uint64_t rax = SYS_TSC_DEADLINE;
        __asm__ volatile("hlt"
                         : "+a"(rax)
                         : "D"(tsc)
                         : "memory", "rcx", "rdx", "rsi", "r8", "r9", "r10",
                           "r11");
        return;
    }
    pvt_wrmsr(MSR_TSC_DEADLINE, tsc);
}

/* Contract in cpu.h. */
_Noreturn void pvt_cpu_stop(bool power_off)
{
    uint16_t cs;

    /* the privilege level now, not in_user: ring 0 comes here from the
     * system call too */
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    if ((cs & 3) == 3) {
        uint64_t rax = SYS_STOP;
        __asm__ volatile("hlt"
                         : "+a"(rax)
                         : "D"((uint64_t)power_off)
                         : "memory");
    }
    __asm__ volatile("cli");
    if (power_off)
        __asm__ volatile("outw %0, %1"
                         :
                         : "a"((uint16_t)ACPI_PM1A_CNT_S5),
                           "Nd"((uint16_t)ACPI_PM1A_CNT_PORT));
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Contract in cpu.h. */
_Noreturn void pvt_cpu_run_user(void (*fn)(void *), void *arg)
{
    unsigned int i = self()->index;
    uint64_t top = i == 0 ? (uint64_t)(uintptr_t)(ustack0 + sizeof(ustack0))
                          : (uint64_t)(uintptr_t)(ap_ustack[i - 1] +
                                                  sizeof(ap_ustack[i - 1]));

    /* iretq to ring 3: SS, RSP, RFLAGS (IF, IOPL 3), CS, RIP; fn(arg)
     * starts as if called (rsp = 8 mod 16; it must not return) */
    __asm__ volatile("movq %0, %%rdi\n"
                     "pushq %1\n"
                     "pushq %2\n"
                     "pushq $0x3202\n"
                     "pushq %3\n"
                     "pushq %4\n"
                     "movw %w1, %%ax\n"
                     "movw %%ax, %%ds\n"
                     "movw %%ax, %%es\n"
                     "iretq\n"
                     :
                     : "r"(arg), "r"((uint64_t)(SEL_UDATA | RPL3)),
                       "r"(top - 8), "r"((uint64_t)(SEL_UCODE | RPL3)),
                       "r"((uint64_t)(uintptr_t)fn)
                     : "memory", "rax", "rdi");
    __builtin_unreachable();
}

/* ---- stopping the machine with a status ------------------------------ */

/* QEMU's isa-debug-exit device (`-device isa-debug-exit,iobase=0xf4`):
 * writing v makes QEMU exit with status (v << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4

/* Contract in guest.h. */
_Noreturn void pvt_guest_exit(int status)
{
    bool serial = pvt_guest_console_serial();

    if (serial) {
        uint32_t v = (uint32_t)status;

        __asm__ volatile("outl %0, %1"
                         :
                         : "a"(v), "Nd"((uint16_t)DEBUG_EXIT_PORT));
    } else {
        struct pvt_hc_exit a = {0};

        a.status = status;
        pvt_guest_hypercall(PVT_HC_EXIT, &a);
    }
    /* a monitor that returns from EXIT, or no exit device: without our
     * monitor, power off (QEMU without isa-debug-exit); else, or when
     * that does not take either, stop here, cleanly */
    pvt_cpu_stop(serial);
}

/* Contract in guest.h. */
_Noreturn void pvt_guest_panic(const char *msg)
{
    pvt_guest_puts("panic: ");
    pvt_guest_puts(msg);
    pvt_guest_puts("\n");
    pvt_guest_exit(255);
}
