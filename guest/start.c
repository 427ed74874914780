/*
 * The guest's entry point. The monitor enters it in 64-bit long mode with
 * paging on (identity mapped), interrupts off and a provisional stack; the
 * stub switches to the image's own stack and calls pvt_guest_main.
 */
#include <stdint.h>

#include "guest.h"

/* The guest's stack (256 KiB): the core's tests keep some tables on it.
 * A plain number: the assembler below reads it too. */
#define STACK_SIZE 262144

#define XSTR(x) #x
#define STR(x)  XSTR(x)

__attribute__((aligned(16), used)) static uint8_t stack[STACK_SIZE];

/* At the call the stack is 16-byte aligned, as the SysV ABI wants. */
/* clang-format off */
__asm__(".pushsection .text.start, \"ax\"\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    leaq stack + " STR(STACK_SIZE) "(%rip), %rsp\n"
        "    xorl %ebp, %ebp\n"
        "    call pvt_guest_main\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n"
        ".size _start, . - _start\n"
        ".popsection\n");
/* clang-format on */
