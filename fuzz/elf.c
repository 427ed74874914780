/*
 * The guest image loader (src/vmm/elf.c, pvt_vmm_elf_load_image) on any
 * bytes; seeded with the real guest image (run.sh adds it).
 *
 * Checked against an independent reading of the ELF64 rules vmm.h states:
 * the loader accepts exactly the images that are ELF64 little-endian
 * x86-64 executables of the current version, with 1 to 64 program headers
 * inside the file, every PT_LOAD inside the file, file size <= memory
 * size, vaddr == paddr, [paddr, paddr + memsz) inside guest RAM at or
 * above PVT_VMM_LOAD_MIN without wrapping, and the entry point inside an
 * executable PT_LOAD; a refused image changes no byte of guest RAM and
 * gets -ENOEXEC with a message; an accepted one leaves guest RAM exactly
 * as copying each PT_LOAD's bytes and zeroing the rest of it, in order,
 * makes it (the reference builds that image and compares), with the entry
 * point set. (A refused image's ranges are compared at their edges only,
 * for speed.)
 */
#include <elf.h>
#include <errno.h>

#include "fuzz.h"
#include "vmm/vmm.h"

static struct pvt_vmm vm;
static uint8_t *expect;

/* Compare guest RAM with the expected image; plain loads (no ASan
 * instrumentation: both buffers are known to be valid and this is the hot
 * loop). */
__attribute__((no_sanitize("address", "coverage"))) static size_t
first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            break;
    }
    for (; i < n; i++)
        if (a[i] != b[i])
            return i;
    return n;
}

static bool valid_image(const uint8_t *f, size_t size, uint64_t mem)
{
    Elf64_Ehdr eh;
    unsigned int i, loads = 0;
    bool entry = false;

    if (size < sizeof(eh))
        return false;
    memcpy(&eh, f, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT ||
        eh.e_type != ET_EXEC || eh.e_machine != EM_X86_64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
        eh.e_phnum > 64)
        return false;
    if ((unsigned __int128)eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr) > size)
        return false;
    for (i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, f + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_filesz > ph.p_memsz ||
            (unsigned __int128)ph.p_offset + ph.p_filesz > size ||
            ph.p_vaddr != ph.p_paddr || ph.p_paddr < PVT_VMM_LOAD_MIN ||
            (unsigned __int128)ph.p_paddr + ph.p_memsz > mem)
            return false;
        loads++;
        if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr &&
            eh.e_entry - ph.p_vaddr < ph.p_memsz)
            entry = true;
    }
    return loads > 0 && entry;
}

/* The PT_LOAD ranges the image names, clipped to RAM and widened by a
 * page on each side: where a loader bug (a copy before the checks, an
 * edge off by one) would write. Calls fn on each. */
static void for_each_range(const uint8_t *f, size_t size,
                           void (*fn)(uint64_t start, uint64_t len))
{
    Elf64_Ehdr eh;
    unsigned int i;
    uint64_t mem = vm.cfg.mem_size;

    if (size < sizeof(eh))
        return;
    memcpy(&eh, f, sizeof(eh));
    for (i = 0; i < eh.e_phnum && i < 64; i++) {
        Elf64_Phdr ph;
        uint64_t a, b;
        if (eh.e_phoff > size ||
            (unsigned __int128)eh.e_phoff + (i + 1) * sizeof(ph) > size)
            break;
        memcpy(&ph, f + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        a = ph.p_paddr > 4096 ? ph.p_paddr - 4096 : 0;
        b = (unsigned __int128)ph.p_paddr + ph.p_memsz + 4096 > mem
                ? mem
                : ph.p_paddr + ph.p_memsz + 4096;
        if (a < b)
            fn(a, b - a);
    }
}

static size_t bad_at;
static bool whole; /* compare whole ranges (an accepted image), else edges */

#define EDGE (8u << 10)

static void compare_span(uint64_t start, uint64_t len)
{
    size_t d = first_difference(vm.mem + start, expect + start, len);
    if (d < len && bad_at == SIZE_MAX)
        bad_at = start + d;
}

/* A refused image writes nothing: its ranges' edges (where a copy before
 * the checks, or one off by a byte, would show) are compared, not the
 * megabytes between, which keeps the target fast. */
static void compare(uint64_t start, uint64_t len)
{
    if (whole || len <= 2 * EDGE) {
        compare_span(start, len);
        return;
    }
    compare_span(start, EDGE);
    compare_span(start + len - EDGE, EDGE);
}

static void clear(uint64_t start, uint64_t len)
{
    if (!whole && len > 2 * EDGE) {
        clear(start, EDGE);
        clear(start + len - EDGE, EDGE);
        return;
    }
    memset(vm.mem + start, 0, len);
    memset(expect + start, 0, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc;
    bool valid;

    if (!expect) {
        /* the least RAM a VM has: the real guest image's BSS (7 MB) does
         * not fit, so it is refused at that segment, after its header and
         * first segment passed; 16 MiB, where it loads, made the target
         * five times slower (the valid images' copies and comparisons) */
        struct pvt_vmm_config cfg = {
            .mem_size = PVT_VMM_MEM_MIN, .console_fd = -1, .no_timers = true};
        FUZZ_CHECK(pvt_vmm_init(&vm, &cfg) == 0, "vmm_init: %s", vm.err);
        expect = calloc(1, cfg.mem_size);
        FUZZ_CHECK(expect != NULL, "out of memory");
    }
    valid = valid_image(data, size, vm.cfg.mem_size);
    vm.err[0] = '\0';
    vm.entry = 0;
    rc = pvt_vmm_elf_load_image(&vm, "fuzz.elf", data, size);
    if (!valid) {
        FUZZ_CHECK(rc == -ENOEXEC, "an invalid image: %d (%s)", rc, vm.err);
        FUZZ_CHECK(vm.err[0] != '\0', "refused without a message");
        FUZZ_CHECK(vm.entry == 0, "entry set for a refused image");
    } else {
        Elf64_Ehdr eh;
        unsigned int i;
        FUZZ_CHECK(rc == 0, "a valid image refused: %d (%s)", rc, vm.err);
        memcpy(&eh, data, sizeof(eh));
        FUZZ_CHECK(vm.entry == eh.e_entry, "entry");
        for (i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
            if (ph.p_type != PT_LOAD)
                continue;
            memcpy(expect + ph.p_paddr, data + ph.p_offset, ph.p_filesz);
            memset(expect + ph.p_paddr + ph.p_filesz, 0,
                   ph.p_memsz - ph.p_filesz);
        }
    }
    /* every range a segment names (valid or not), a page either side; the
     * first 64 KiB of RAM, and its last page */
    bad_at = SIZE_MAX;
    whole = valid;
    for_each_range(data, size, compare);
    compare(0, 64u << 10);
    compare(vm.cfg.mem_size - 4096, 4096);
    FUZZ_CHECK(bad_at == SIZE_MAX,
               "guest RAM at 0x%zx is 0x%02x, expected 0x%02x (%s image)",
               bad_at, vm.mem[bad_at], expect[bad_at],
               valid ? "valid" : "refused");
    for_each_range(data, size, clear);
    return 0;
}
