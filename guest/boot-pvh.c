/*
 * The PVH entry: how QEMU (`-kernel pvtimer-guest.elf`) and Xen enter the
 * image. Our own monitor enters at _start in long mode and never runs this.
 *
 * The x86/HVM direct boot ABI (Xen's docs/misc/pvh.pandoc): a loader that
 * finds the XEN_ELFNOTE_PHYS32_ENTRY note in a PT_NOTE segment loads the
 * PT_LOAD segments and jumps to the note's physical address in 32-bit
 * protected mode: paging off, CR0 = PE (other writable bits clear), CR4 = 0,
 * CS a flat 32-bit code segment, DS/ES flat data segments, interrupts off,
 * %ebx the physical address of the hvm_start_info struct; the stack pointer
 * and every other register are unspecified.
 *
 * The stub builds what our monitor would have built (a GDT with its
 * selectors, identity page tables with 2 MiB pages, the same CR0/CR4/EFER),
 * enters long mode and joins the monitor's path at _start, which switches
 * to the image's stack. It needs no stack itself. Its tables live in the
 * image's .bss (above 1 MiB), which the loader zeroes.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "guest.h"

/* Identity mapped by the PVH stub: the first 4 GiB (RAM and the local
 * APIC, I/O APIC and HPET windows below 4 GiB), 4 directories of 512
 * 2 MiB pages. */
#define PVH_MAP_GIB 4

#define XSTR(x) #x
#define STR(x)  XSTR(x)

/* Contract in guest.h. */
uint32_t pvt_guest_pvh_start_info;

__attribute__((aligned(4096), used)) static uint64_t pvh_pml4[512];
__attribute__((aligned(4096), used)) static uint64_t pvh_pdpt[512];
__attribute__((aligned(4096), used)) static uint64_t pvh_pd[PVH_MAP_GIB][512];

/* The GDT: the monitor's selectors (0x08 64-bit code, 0x10 data), so
 * code that names them works after either entry. In .data, not .rodata:
 * the CPU sets the accessed bits when it loads a segment. */
__attribute__((aligned(16), used)) static uint64_t pvh_gdt[3] = {
    0, 0x00af9b000000ffffull, /* code: present, DPL 0, exec/read, L, G */
    0x00cf93000000ffffull,    /* data: present, DPL 0, read/write, D/B, G */
};

/* lgdt's operand: limit, then base (8 bytes, usable from either mode). */
struct __attribute__((packed)) pvh_gdt_ptr {
    uint16_t limit;
    uint64_t base;
};
__attribute__((used)) static const struct pvh_gdt_ptr pvh_gdt_desc = {
    sizeof(pvh_gdt) - 1, (uint64_t)(uintptr_t)pvh_gdt};

/*
 * The note: namesz, descsz, type, "Xen\0", then the 32-bit entry address
 * as an 8-byte value (QEMU reads a pointer-sized value from a 64-bit ELF,
 * as Linux writes it). Aligned to 4 with nothing else in the section: the
 * PT_NOTE segment's alignment is 4, which QEMU's note parser assumes.
 */
/* clang-format off */
__asm__(".pushsection .note.Xen, \"a\", @note\n"
        ".balign 4\n"
        ".long 4\n"                     /* namesz: "Xen\0" */
        ".long 8\n"                     /* descsz */
        ".long 18\n"                    /* XEN_ELFNOTE_PHYS32_ENTRY */
        ".asciz \"Xen\"\n"
        ".balign 4\n"
        ".quad pvt_guest_pvh_entry\n"
        ".balign 4\n"
        ".popsection\n");

__asm__(".pushsection .text.pvh, \"ax\"\n"
        ".code32\n"
        ".globl pvt_guest_pvh_entry\n"
        ".type pvt_guest_pvh_entry, @function\n"
        "pvt_guest_pvh_entry:\n"
        "    cli\n"
        "    cld\n"
        /* where the start info is; also says which entry ran */
        "    movl %ebx, pvt_guest_pvh_start_info\n"
        /* PD entries: (i << 21) | P | RW | US | PS over PVH_MAP_GIB GiB (US:
         * the guest runs its timing work in ring 3, see cpu.h) */
        "    movl $pvh_pd, %edi\n"
        "    movl $0x87, %eax\n" /* P, RW, US, PS */
        "    movl $512 * " STR(PVH_MAP_GIB) ", %ecx\n"
        "1:  movl %eax, (%edi)\n"
        "    movl $0, 4(%edi)\n"
        "    addl $0x200000, %eax\n"
        "    addl $8, %edi\n"
        "    decl %ecx\n"
        "    jnz 1b\n"
        /* PDPT entries: the directories; PML4 entry 0: the PDPT */
        "    movl $pvh_pdpt, %edi\n"
        "    movl $pvh_pd + 0x7, %eax\n"
        "    movl $" STR(PVH_MAP_GIB) ", %ecx\n"
        "2:  movl %eax, (%edi)\n"
        "    movl $0, 4(%edi)\n"
        "    addl $0x1000, %eax\n"
        "    addl $8, %edi\n"
        "    decl %ecx\n"
        "    jnz 2b\n"
        "    movl $pvh_pdpt + 0x7, pvh_pml4\n"
        "    movl $0, pvh_pml4 + 4\n"
        "    lgdt pvh_gdt_desc\n"
        /* CR4 = PAE | OSFXSR | OSXMMEXCPT, CR3 = the PML4 */
        "    movl $0x620, %eax\n"
        "    movl %eax, %cr4\n"
        "    movl $pvh_pml4, %eax\n"
        "    movl %eax, %cr3\n"
        /* EFER.LME */
        "    movl $0xc0000080, %ecx\n"
        "    rdmsr\n"
        "    orl $0x100, %eax\n"
        "    wrmsr\n"
        /* CR0 = PE | MP | ET | NE | WP | AM | PG: long mode is active */
        "    movl $0x80050033, %eax\n"
        "    movl %eax, %cr0\n"
        "    ljmpl $0x08, $3f\n"
        ".code64\n"
        "3:  movl $0x10, %eax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %es\n"
        "    movw %ax, %ss\n"
        "    movw %ax, %fs\n"
        "    movw %ax, %gs\n"
        "    jmp _start\n"
        ".size pvt_guest_pvh_entry, . - pvt_guest_pvh_entry\n"
        ".popsection\n");
/* clang-format on */

/* ---- the other CPUs, without pvtimer's monitor: INIT/SIPI ---- */

/*
 * A CPU that gets INIT and then a startup IPI with vector V starts in real
 * mode at V << 12 (CS = V << 8, IP = 0). The trampoline below is copied
 * there, below 1 MiB, and takes the CPU from real mode through 32-bit
 * protected mode into long mode with the boot CPU's page tables, then to
 * pvt_cpu_ap_entry on its own kernel stack with its index in rdi, as our
 * monitor's VCPU_UP would have started it. Its GDT: 0x08 64-bit code and
 * 0x10 data (the selectors the rest of the guest uses), 0x18 32-bit code
 * for the way there. One CPU at a time: its four words (CR3, stack, index,
 * target) are written into the copy before each start.
 */
#define TRAMPOLINE_PA     0x8000u
#define TRAMPOLINE_VECTOR (TRAMPOLINE_PA >> 12)

/* clang-format off */
#define TRAMP(x) "(" #x " - pvt_ap_tramp_start + " STR(TRAMPOLINE_PA) ")"
__asm__(".pushsection .rodata.trampoline, \"a\"\n"
        ".globl pvt_ap_tramp_start, pvt_ap_tramp_end\n"
        ".globl pvt_ap_tramp_cr3, pvt_ap_tramp_rsp, pvt_ap_tramp_arg\n"
        ".globl pvt_ap_tramp_target\n"
        ".code16\n"
        "pvt_ap_tramp_start:\n"
        "    cli\n"
        "    cld\n"
        "    xorw %ax, %ax\n"
        "    movw %ax, %ds\n"
        "    lgdtl " TRAMP(tramp_gdt_desc) "\n"
        "    movl %cr0, %eax\n"
        "    orl $1, %eax\n"
        "    movl %eax, %cr0\n"
        "    ljmpl $0x18, $" TRAMP(tramp32) "\n"
        ".code32\n"
        "tramp32:\n"
        "    movl $0x10, %eax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %es\n"
        "    movw %ax, %ss\n"
        /* as the boot CPU: PAE | OSFXSR | OSXMMEXCPT, its PML4, LME, then
         * PE | MP | ET | NE | WP | AM | PG */
        "    movl $0x620, %eax\n"
        "    movl %eax, %cr4\n"
        "    movl " TRAMP(pvt_ap_tramp_cr3) ", %eax\n"
        "    movl %eax, %cr3\n"
        "    movl $0xc0000080, %ecx\n"
        "    rdmsr\n"
        "    orl $0x100, %eax\n"
        "    wrmsr\n"
        "    movl $0x80050033, %eax\n"
        "    movl %eax, %cr0\n"
        "    ljmpl $0x08, $" TRAMP(tramp64) "\n"
        ".code64\n"
        "tramp64:\n"
        "    movl $0x10, %eax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %es\n"
        "    movw %ax, %ss\n"
        "    movw %ax, %fs\n"
        "    movw %ax, %gs\n"
        "    movq " TRAMP(pvt_ap_tramp_rsp) ", %rsp\n"
        "    movq " TRAMP(pvt_ap_tramp_arg) ", %rdi\n"
        "    movq " TRAMP(pvt_ap_tramp_target) ", %rax\n"
        "    jmp *%rax\n"
        ".balign 8\n"
        "tramp_gdt:\n"
        "    .quad 0\n"
        "    .quad 0x00af9a000000ffff\n"
        "    .quad 0x00cf92000000ffff\n"
        "    .quad 0x00cf9a000000ffff\n"
        "tramp_gdt_desc:\n"
        "    .word 31\n"
        "    .long " TRAMP(tramp_gdt) "\n"
        ".balign 8\n"
        "pvt_ap_tramp_cr3: .quad 0\n"
        "pvt_ap_tramp_rsp: .quad 0\n"
        "pvt_ap_tramp_arg: .quad 0\n"
        "pvt_ap_tramp_target: .quad 0\n"
        "pvt_ap_tramp_end:\n"
        ".popsection\n");
/* clang-format on */

extern const char pvt_ap_tramp_start[], pvt_ap_tramp_end[], pvt_ap_tramp_cr3[],
    pvt_ap_tramp_rsp[], pvt_ap_tramp_arg[], pvt_ap_tramp_target[];
extern const char pvt_cpu_ap_entry[];

/* QEMU's firmware configuration device: selector and data ports. */
#define FW_CFG_PORT_SEL  0x510u
#define FW_CFG_PORT_DATA 0x511u
#define FW_CFG_SIGNATURE 0x00u
#define FW_CFG_NB_CPUS   0x05u

/* INIT and startup IPIs: delivery modes 101 and 110, level assert. */
#define ICR_INIT    0x4500u
#define ICR_STARTUP 0x4600u

static void fw_cfg_select(uint16_t key)
{
    __asm__ volatile("outw %0, %1"
                     :
                     : "a"(key), "Nd"((uint16_t)FW_CFG_PORT_SEL));
}

static uint8_t fw_cfg_byte(void)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"((uint16_t)FW_CFG_PORT_DATA));
    return v;
}

/* Contract in guest.h. */
unsigned int pvt_guest_pvh_cpus(void)
{
    static const char sig[4] = {'Q', 'E', 'M', 'U'};
    unsigned int i, n;

    fw_cfg_select(FW_CFG_SIGNATURE);
    for (i = 0; i < 4; i++)
        if (fw_cfg_byte() != (uint8_t)sig[i])
            return 1;
    fw_cfg_select(FW_CFG_NB_CPUS);
    n = fw_cfg_byte();
    n |= (unsigned int)fw_cfg_byte() << 8;
    return n ? n : 1;
}

static void delay_us(uint64_t tsc_khz, uint64_t us)
{
    uint64_t end = pvt_rdtsc() + tsc_khz * us / 1000;

    while (pvt_rdtsc() < end)
        __asm__ volatile("pause");
}

static void put64(uint8_t *copy, const char *field, uint64_t v)
{
    uint64_t *p = (uint64_t *)(void *)(copy + (field - pvt_ap_tramp_start));

    *(volatile uint64_t *)p = v;
}

/* Contract in guest.h. */
int pvt_guest_pvh_start_ap(unsigned int index, void (*fn)(unsigned int, void *),
                           void *arg, uint64_t tsc_khz)
{
    uint8_t *copy = (uint8_t *)(uintptr_t)TRAMPOLINE_PA;
    size_t len = (size_t)(pvt_ap_tramp_end - pvt_ap_tramp_start);
    uint64_t cr3, rsp, waited;
    size_t i;

    if (index == 0 || index >= PVT_CPU_MAX || fn == NULL || tsc_khz == 0)
        return -1;
    for (i = 0; i < len; i++)
        copy[i] = (uint8_t)pvt_ap_tramp_start[i];
    __asm__ volatile("movq %%cr3, %0" : "=r"(cr3));
    pvt_cpu_prepare_ap(index, fn, arg, &rsp);
    put64(copy, pvt_ap_tramp_cr3, cr3);
    put64(copy, pvt_ap_tramp_rsp, rsp);
    put64(copy, pvt_ap_tramp_arg, index);
    put64(copy, pvt_ap_tramp_target, (uint64_t)(uintptr_t)pvt_cpu_ap_entry);
    __asm__ volatile("mfence" ::: "memory");
    /* INIT, 10 ms, then startup IPIs 200 us apart until it runs (the
     * sequence Intel's MP specification gives) */
    pvt_wrmsr(MSR_X2APIC_ICR, (uint64_t)index << 32 | ICR_INIT);
    delay_us(tsc_khz, 10000);
    for (i = 0; i < 2 && !pvt_cpu_ap_started(index); i++) {
        pvt_wrmsr(MSR_X2APIC_ICR,
                  (uint64_t)index << 32 | ICR_STARTUP | TRAMPOLINE_VECTOR);
        delay_us(tsc_khz, 200);
    }
    for (waited = 0; !pvt_cpu_ap_started(index) && waited < 1000000;
         waited += 100)
        delay_us(tsc_khz, 100);
    return pvt_cpu_ap_started(index) ? 0 : -1;
}
