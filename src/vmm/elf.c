/*
 * The guest image loader: ELF64, x86-64, statically linked, identity mapped.
 *
 * Everything in the file is untrusted: the header and every program header
 * are checked (offsets and sizes against the file, addresses against guest
 * RAM, all sums for overflow) before a single byte is copied into RAM.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

/* More program headers than any sane guest has. */
#define MAX_PHNUM 64

/* Reads the whole file into a malloc'd buffer of at most PVT_VMM_IMAGE_MAX
 * bytes; *size receives its length. */
static int read_image(struct pvt_vmm *vm, const char *path, uint8_t **out,
                      size_t *size)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t len;
    size_t done = 0;
    int fd;
    int rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pvt_vmm_fail(vm, errno, "%s: cannot open: %s", path,
                            strerror(errno));
    if (fstat(fd, &st) < 0) {
        rc = pvt_vmm_fail(vm, errno, "%s: cannot stat: %s", path,
                          strerror(errno));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = pvt_vmm_fail(vm, ENOEXEC, "%s: not a regular file", path);
        goto out_close;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > PVT_VMM_IMAGE_MAX) {
        rc = pvt_vmm_fail(vm, EFBIG,
                          "%s: %lld bytes, more than the %llu a guest image "
                          "may have",
                          path, (long long)st.st_size,
                          (unsigned long long)PVT_VMM_IMAGE_MAX);
        goto out_close;
    }
    len = (size_t)st.st_size;
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        rc = pvt_vmm_fail(vm, ENOMEM, "%s: out of memory", path);
        goto out_close;
    }
    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = pvt_vmm_fail(vm, errno, "%s: read: %s", path, strerror(errno));
            goto out_free;
        }
        if (n == 0)
            break; /* shrank while we read: validate what we have */
        done += (size_t)n;
    }
    close(fd);
    *out = buf;
    *size = done;
    return 0;

out_free:
    free(buf);
out_close:
    close(fd);
    return rc;
}

/* Checks the ELF header into *eh; on success e_phnum program headers lie
 * inside the file at e_phoff. */
static int check_header(struct pvt_vmm *vm, const char *path,
                        const uint8_t *file, size_t size, Elf64_Ehdr *eh)
{
    uint64_t ph_bytes;

    if (size < sizeof(*eh))
        return pvt_vmm_fail(vm, ENOEXEC, "%s: truncated ELF header (%zu bytes)",
                            path, size);
    memcpy(eh, file, sizeof(*eh));
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return pvt_vmm_fail(vm, ENOEXEC, "%s: not an ELF file (bad magic)",
                            path);
    if (eh->e_ident[EI_CLASS] != ELFCLASS64)
        return pvt_vmm_fail(vm, ENOEXEC, "%s: not a 64-bit ELF file", path);
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return pvt_vmm_fail(vm, ENOEXEC, "%s: not a little-endian ELF file",
                            path);
    if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return pvt_vmm_fail(vm, ENOEXEC, "%s: unknown ELF version", path);
    if (eh->e_type != ET_EXEC)
        return pvt_vmm_fail(vm, ENOEXEC, "%s: not an executable (ELF type %u)",
                            path, (unsigned int)eh->e_type);
    if (eh->e_machine != EM_X86_64)
        return pvt_vmm_fail(vm, ENOEXEC,
                            "%s: not an x86-64 executable (machine %u)", path,
                            (unsigned int)eh->e_machine);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return pvt_vmm_fail(vm, ENOEXEC, "%s: bad program header size %u", path,
                            (unsigned int)eh->e_phentsize);
    if (eh->e_phnum == 0 || eh->e_phnum > MAX_PHNUM)
        return pvt_vmm_fail(vm, ENOEXEC,
                            "%s: %u program headers (1..%d expected)", path,
                            (unsigned int)eh->e_phnum, MAX_PHNUM);
    ph_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    if (eh->e_phoff > size || ph_bytes > size - eh->e_phoff)
        return pvt_vmm_fail(vm, ENOEXEC,
                            "%s: program headers beyond the end of the file",
                            path);
    return 0;
}

/* Checks one PT_LOAD segment against the file and guest RAM. */
static int check_load(struct pvt_vmm *vm, const char *path, size_t size,
                      unsigned int i, const Elf64_Phdr *ph)
{
    if (ph->p_filesz > ph->p_memsz)
        return pvt_vmm_fail(vm, ENOEXEC,
                            "%s: segment %u: file size 0x%llx exceeds "
                            "memory size 0x%llx",
                            path, i, (unsigned long long)ph->p_filesz,
                            (unsigned long long)ph->p_memsz);
    if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
        return pvt_vmm_fail(vm, ENOEXEC,
                            "%s: segment %u: offset 0x%llx + size 0x%llx "
                            "beyond the end of the file (%zu bytes)",
                            path, i, (unsigned long long)ph->p_offset,
                            (unsigned long long)ph->p_filesz, size);
    if (ph->p_vaddr != ph->p_paddr)
        return pvt_vmm_fail(vm, ENOEXEC,
                            "%s: segment %u: virtual address 0x%llx != "
                            "physical 0x%llx (the guest is identity mapped)",
                            path, i, (unsigned long long)ph->p_vaddr,
                            (unsigned long long)ph->p_paddr);
    if (ph->p_paddr < PVT_VMM_LOAD_MIN ||
        !pvt_vmm_gpa_ok(vm, ph->p_paddr, ph->p_memsz))
        return pvt_vmm_fail(vm, ENOEXEC,
                            "%s: segment %u: [0x%llx, +0x%llx) outside "
                            "guest RAM [0x%x, 0x%llx)",
                            path, i, (unsigned long long)ph->p_paddr,
                            (unsigned long long)ph->p_memsz, PVT_VMM_LOAD_MIN,
                            (unsigned long long)vm->cfg.mem_size);
    return 0;
}

/* Contract in vmm.h. */
int pvt_vmm_elf_load(struct pvt_vmm *vm)
{
    const char *path;
    uint8_t *file = NULL;
    size_t size = 0;
    int rc;

    if (vm == NULL)
        return -EINVAL;
    path = vm->cfg.guest_path;
    if (path == NULL)
        return pvt_vmm_fail(vm, EINVAL, "no guest image given");
    if ((rc = read_image(vm, path, &file, &size)) < 0)
        return rc;
    rc = pvt_vmm_elf_load_image(vm, path, file, size);
    free(file);
    return rc;
}

/* Contract in vmm.h. */
int pvt_vmm_elf_load_image(struct pvt_vmm *vm, const char *path,
                           const uint8_t *file, size_t size)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    unsigned int i;
    unsigned int loads = 0;
    bool entry_ok = false;
    int rc;

    if (vm == NULL)
        return -EINVAL;
    if (path == NULL || (file == NULL && size > 0) || vm->mem == NULL)
        return pvt_vmm_fail(vm, EINVAL, "no guest image given");
    if (size > PVT_VMM_IMAGE_MAX)
        return pvt_vmm_fail(vm, EFBIG,
                            "%s: %zu bytes, more than the %llu a guest image "
                            "may have",
                            path, size, (unsigned long long)PVT_VMM_IMAGE_MAX);
    if ((rc = check_header(vm, path, file, size, &eh)) < 0)
        return rc;

    /* pass 1: validate every segment, copy nothing */
    for (i = 0; i < eh.e_phnum; i++) {
        memcpy(&ph, file + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if ((rc = check_load(vm, path, size, i, &ph)) < 0)
            return rc;
        loads++;
        /* checked above: p_vaddr + p_memsz does not wrap */
        if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr &&
            eh.e_entry < ph.p_vaddr + ph.p_memsz)
            entry_ok = true;
    }
    if (loads == 0)
        return pvt_vmm_fail(vm, ENOEXEC, "%s: no loadable segment", path);
    if (!entry_ok)
        return pvt_vmm_fail(
            vm, ENOEXEC,
            "%s: entry point 0x%llx is not in an executable segment", path,
            (unsigned long long)eh.e_entry);

    /* pass 2: load */
    for (i = 0; i < eh.e_phnum; i++) {
        memcpy(&ph, file + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        memcpy(vm->mem + ph.p_paddr, file + ph.p_offset, ph.p_filesz);
        memset(vm->mem + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    }
    vm->entry = eh.e_entry;
    return 0;
}
