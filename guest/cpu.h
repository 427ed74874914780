/*
 * The guest's CPU: MSRs, the TSC, CPUID, the GDT/TSS/IDT, the x2APIC and
 * user mode.
 *
 * Interrupt handlers never call into the core: a handler notes the vector
 * and the TSC at its entry, sends the EOI and returns; the guest's loop
 * does the work when it next looks (pvt_cpu_wait). So the core is never
 * re-entered, whether interrupts are on (user mode) or off (kernel mode,
 * where they are taken only inside pvt_cpu_wait's atomic `sti; hlt`).
 * Exceptions are fatal: the handler prints the vector, error code and RIP
 * and exits with status 254.
 *
 * User mode: the timing work runs in ring 3 (pvt_cpu_run_user), because
 * on a KVM that emulates a guest's ring 0 instruction by instruction (PVM,
 * as on the machines this project is measured on) ring 0 code is thousands
 * of times slower than ring 3 code, which runs natively. Ring 3 keeps
 * IOPL 3, but the hypervisor may not honour it: a port write from ring 3
 * that faults is made by ring 0 (cpu.c); what needs ring 0 (writing
 * the TSC-deadline MSR, halting) is a system call (a trapping `hlt`, see
 * cpu.c), taken by the
 * same stubs as interrupts.
 */
#ifndef PVTIMER_GUEST_CPU_H
#define PVTIMER_GUEST_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_APIC_BASE           0x1bu
#define MSR_TSC_DEADLINE        0x6e0u
#define MSR_X2APIC_EOI          0x80bu
#define MSR_X2APIC_SVR          0x80fu
#define MSR_X2APIC_LVT_TIMER    0x832u
#define MSR_X2APIC_ICR          0x830u
#define MSR_X2APIC_ID           0x802u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

/* The LAPIC timer's vector (the monitor's are in pvtimer/pvabi.h). */
#define GUEST_VEC_LAPIC_TIMER 0x30u
#define GUEST_VEC_IPI         0x31u /* another CPU's kick */

/* CPUs the guest takes (each has its stacks and TSS in the image). */
#define PVT_CPU_MAX        16u
#define GUEST_VEC_SPURIOUS 0xffu

static inline uint64_t pvt_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static inline void pvt_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr"
                     :
                     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                     : "memory");
}

static inline uint64_t pvt_rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The TSC read after every earlier instruction has completed (LFENCE,
 * as Linux's rdtsc_ordered): what a pvclock read needs inside its
 * seqlock, and a read inside a lock needs to be the lock holder's. */
static inline uint64_t pvt_rdtsc_ordered(void)
{
    uint32_t lo, hi;

    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return (uint64_t)hi << 32 | lo;
}

static inline void pvt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

/* Interrupts seen since the last pvt_cpu_wait: one bit per vector class,
 * with the TSC at the first handler entry of each. */
enum pvt_irq {
    PVT_IRQ_LAPIC_TIMER = 0,
    PVT_IRQ_SINGLESHOT,
    PVT_IRQ_PERIODIC,
    PVT_IRQ_CONTROL,
    PVT_IRQ_IPI,
    PVT_IRQ_COUNT
};

struct pvt_irq_state {
    uint32_t pending;              /* 1 << enum pvt_irq */
    uint64_t tsc[PVT_IRQ_COUNT];   /* TSC at the handler's entry */
    uint64_t count[PVT_IRQ_COUNT]; /* all handled */
    uint64_t spurious;             /* other vectors */
};

/* Builds the GDT (kernel and user segments, a TSS per CPU whose RSP0 is
 * that CPU's interrupt stack) and the IDT (exceptions fatal, the vectors
 * above noted, system calls through #GP), and loads them as CPU 0.
 * Kernel mode only, on the boot CPU, before any AP starts. */
void pvt_cpu_init_idt(void);

/* The calling CPU's index (0 for the boot CPU); either mode. */
unsigned int pvt_cpu_index(void);

/* Sends vector to CPU cpu (its x2APIC ID), from either mode. */
void pvt_cpu_send_ipi(unsigned int cpu, uint32_t vector);

/*
 * Starts CPU index (1..PVT_CPU_MAX-1) under pvtimer's monitor (VCPU_UP):
 * it loads the tables as CPU index, on its own kernel stack, and calls
 * fn(index, arg) in kernel mode, interrupts off; when fn returns it stops.
 * Call after pvt_cpu_init_idt. Returns 0, or -1 when the monitor refused.
 */
int pvt_cpu_start_ap(unsigned int index, void (*fn)(unsigned int, void *),
                     void *arg);

/* The same without the monitor (INIT/SIPI, boot-pvh.c): records fn and
 * arg for CPU index and gives the stack top it must start on at
 * pvt_cpu_ap_entry with index in rdi. */
void pvt_cpu_prepare_ap(unsigned int index, void (*fn)(unsigned int, void *),
                        void *arg, uint64_t *rsp);

/* Has CPU index reached its fn? */
bool pvt_cpu_ap_started(unsigned int index);

/*
 * Runs fn(arg) in ring 3 with interrupts on, on a user stack of its own;
 * fn must not return (it ends with pvt_guest_exit, a hypercall, which ring 3
 * may make). Call after pvt_cpu_init_idt. Never returns.
 */
_Noreturn void pvt_cpu_run_user(void (*fn)(void *), void *arg);

/* Stop this vCPU for good: interrupts off, halted, in ring 0 (from ring 3
 * through a system call; a `cli` there would fault). With power_off, first
 * ask the machine to power off through ACPI as QEMU's machines take it;
 * only where no pvtimer monitor runs (its ports are hypercalls). */
_Noreturn void pvt_cpu_stop(bool power_off);

/* Arms the TSC-deadline timer (0 disarms), from either mode. */
void pvt_cpu_set_tsc_deadline(uint64_t tsc);

/* Masks the legacy PICs and enables the x2APIC (software-enabled,
 * spurious vector 0xff). Returns
 * false when the CPU has no x2APIC. */
bool pvt_cpu_init_x2apic(void);

/* Does CPUID say TSC-deadline? */
bool pvt_cpu_has_tsc_deadline(void);

/* Waits for an interrupt unless one is pending (interrupts are otherwise
 * off), then takes and clears the pending set into *out. */
void pvt_cpu_wait(struct pvt_irq_state *out);

#endif /* PVTIMER_GUEST_CPU_H */
