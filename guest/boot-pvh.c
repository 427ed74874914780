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
#include <stdint.h>

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
