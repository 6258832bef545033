/* test_vhost_mem.c: the backend's memory table (cmd/vhost-user-vsock/mem.c): translation
 * only inside one region, in both address spaces, with ranges at and across every edge
 * and lengths that would wrap; mapping real memfds with the checks a front-end's bad
 * table must fail; and a mapped file shrunk under us: the SIGBUS is absorbed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"
#include "tap.h"

static uint8_t ram_a[4096], ram_b[8192];

static void test_translation(void)
{
    struct mem_table t;

    memset(&t, 0, sizeof(t));
    TAP_IS_INT(mem_table_add(&t, 0x1000, sizeof(ram_a), 0x7f0000001000ull, ram_a), 0,
               "region A added");
    TAP_IS_INT(mem_table_add(&t, 0x2000, sizeof(ram_b), 0x7f0000100000ull, ram_b), 0,
               "region B added (adjacent in guest-physical space)");
    tap_ok(mem_gpa_to_ptr(&t, 0x1000, 16) == ram_a, "gpa at the start of A");
    tap_ok(mem_gpa_to_ptr(&t, 0x1ff0, 16) == ram_a + 0xff0, "gpa range ending at A's end");
    tap_ok(mem_gpa_to_ptr(&t, 0x1ff0, 17) == NULL, "gpa range one byte past A refused");
    tap_ok(mem_gpa_to_ptr(&t, 0x1ff0, 32) == NULL,
           "gpa range spanning A and B refused (one region per range)");
    tap_ok(mem_gpa_to_ptr(&t, 0x2000, 8192) == ram_b, "gpa range covering all of B");
    tap_ok(mem_gpa_to_ptr(&t, 0x0fff, 1) == NULL, "gpa below every region refused");
    tap_ok(mem_gpa_to_ptr(&t, 0x4000, 1) == NULL, "gpa just past B refused");
    tap_ok(mem_gpa_to_ptr(&t, 0x1000, UINT64_MAX) == NULL, "huge length refused");
    tap_ok(mem_gpa_to_ptr(&t, UINT64_MAX - 4, 16) == NULL, "range wrapping 2^64 refused");
    tap_ok(mem_gpa_to_ptr(&t, 0x1800, 0xfffffffffffff900ull) == NULL,
           "length that wraps address + len back into the region refused");
    tap_ok(mem_uva_to_ptr(&t, 0x7f0000100000ull + 100, 100) == ram_b + 100,
           "front-end virtual address inside B");
    tap_ok(mem_uva_to_ptr(&t, 0x1000, 16) == NULL,
           "a guest-physical address is not a front-end virtual one");
    tap_ok(mem_gpa_to_ptr(&t, 0x7f0000001000ull, 16) == NULL,
           "a front-end virtual address is not a guest-physical one");
    tap_ok(mem_uva_to_ptr(&t, 0x7f0000001000ull + 4090, 8) == NULL,
           "virtual range past A's end refused");
    TAP_IS_INT(mem_table_add(&t, UINT64_MAX - 10, 100, 0, ram_a), -EINVAL,
               "a region wrapping 2^64 cannot be added");
}

static void put_region(uint8_t *payload, unsigned int i, uint64_t gpa, uint64_t size,
                       uint64_t uva, uint64_t off)
{
    struct vhost_user_mem_region r = {gpa, size, uva, off};

    memcpy(payload + 8 + i * sizeof(r), &r, sizeof(r));
}

static int parse(const uint8_t *payload, size_t size, unsigned int nfds)
{
    struct vhost_user_mem_region regs[VHOST_USER_MEM_REGIONS_MAX];
    const char *why = NULL;
    unsigned int n;

    return mem_table_parse(payload, size, nfds, regs, &n, &why);
}

static void test_parse(void)
{
    uint8_t p[8 + 9 * 32];
    uint32_t count;

    memset(p, 0, sizeof(p));
    count = 2;
    memcpy(p, &count, 4);
    put_region(p, 0, 0, 0x10000, 0x100000, 0);
    put_region(p, 1, 0x10000, 0x10000, 0x200000, 0);
    TAP_IS_INT(parse(p, 8 + 64, 2), 0, "two disjoint regions parse");
    TAP_IS_INT(parse(p, 8 + 64, 1), -EINVAL, "one fd for two regions refused");
    TAP_IS_INT(parse(p, 8 + 32, 2), -EINVAL, "payload shorter than the count says refused");
    TAP_IS_INT(parse(p, 4, 0), -EINVAL, "payload shorter than the table header refused");
    count = 0;
    memcpy(p, &count, 4);
    TAP_IS_INT(parse(p, 8, 0), -EINVAL, "zero regions refused");
    count = 9;
    memcpy(p, &count, 4);
    TAP_IS_INT(parse(p, 8 + 9 * 32, 8), -EINVAL, "nine regions refused");
    count = 2;
    memcpy(p, &count, 4);
    put_region(p, 1, 0x8000, 0x10000, 0x200000, 0);
    TAP_IS_INT(parse(p, 8 + 64, 2), -EINVAL, "overlapping guest-physical ranges refused");
    put_region(p, 1, 0x10000, 0x10000, 0x108000, 0);
    TAP_IS_INT(parse(p, 8 + 64, 2), -EINVAL, "overlapping virtual ranges refused");
    put_region(p, 1, UINT64_MAX - 0xff, 0x1000, 0x200000, 0);
    TAP_IS_INT(parse(p, 8 + 64, 2), -EINVAL, "region wrapping 2^64 refused");
    put_region(p, 1, 0x10000, 0, 0x200000, 0);
    TAP_IS_INT(parse(p, 8 + 64, 2), -EINVAL, "empty region refused");
    put_region(p, 1, 0x10000, 0x1000, 0x200000, UINT64_MAX - 0x10);
    TAP_IS_INT(parse(p, 8 + 64, 2), -EINVAL, "mmap_offset + size wrapping refused");
}

static void test_map(void)
{
    struct vhost_user_mem_region r = {0x40000, 0x2000, 0x500000, 0x1000};
    struct mem_table t;
    const char *why = NULL;
    int fd = memfd_create("test_vhost_mem", MFD_CLOEXEC | MFD_ALLOW_SEALING), pipefd[2];
    uint8_t *p;

    memset(&t, 0, sizeof(t));
    tap_ok(fd >= 0 && ftruncate(fd, 0x2000) == 0, "memfd of 8 KiB");
    TAP_IS_INT(mem_table_map(&t, &r, 1, &fd, &why), -EINVAL,
               "region reaching past the end of its file refused (would SIGBUS)");
    TAP_IS_INT(t.n, 0, "a refused table stays empty");
    tap_ok(ftruncate(fd, 0x3000) == 0, "memfd grown to 12 KiB");
    TAP_IS_INT(mem_table_map(&t, &r, 1, &fd, &why), 0, "region with mmap_offset 4 KiB maps");
    tap_ok(pwrite(fd, "vsock", 5, 0x1000 + 0x10) == 5, "bytes written through the fd");
    p = mem_gpa_to_ptr(&t, 0x40010, 5);
    tap_ok(p != NULL && memcmp(p, "vsock", 5) == 0,
           "translation honours mmap_offset (same bytes through the mapping)");
    mem_table_unmap(&t);
    TAP_IS_INT(t.n, 0, "unmapped table is empty");
    tap_ok((fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK) != 0,
           "the backend sealed the memfd against shrinking");
    tap_ok(ftruncate(fd, 0x1000) < 0, "so the front-end can no longer shrink it");
    {
        int unsealable = memfd_create("test_vhost_mem_noseal", MFD_CLOEXEC);
        tap_ok(unsealable >= 0 && ftruncate(unsealable, 0x3000) == 0,
               "a memfd created without MFD_ALLOW_SEALING");
        TAP_IS_INT(mem_table_map(&t, &r, 1, &unsealable, &why), 0,
                   "maps too: a shrink is absorbed (test_fault)");
        mem_table_unmap(&t);
        close(unsealable);
    }
    tap_ok(pipe(pipefd) == 0, "a pipe");
    r.mmap_offset = 0;
    TAP_IS_INT(mem_table_map(&t, &r, 1, &pipefd[0], &why), -EINVAL,
               "a pipe is not memory: refused");
    close(pipefd[0]);
    close(pipefd[1]);
    close(fd);
}

/* The front-end truncates a file it shared: our next access would fault. The SIGBUS
 * handler's mem_fault_absorb() (called here as the handler would, with the faulting
 * address: a real fault is the bats test's, valgrind cannot resume one) replaces the
 * mapping with zero pages, so the access completes. */
static void test_fault(void)
{
    struct vhost_user_mem_region r = {0x40000, 0x2000, 0x500000, 0x1000};
    struct mem_table t;
    const char *why = NULL;
    int fd = memfd_create("test_vhost_mem_shrinks", MFD_CLOEXEC);
    volatile uint8_t *p;
    uint8_t outside = 0;

    memset(&t, 0, sizeof(t));
    tap_ok(fd >= 0 && ftruncate(fd, 0x3000) == 0 && pwrite(fd, "x", 1, 0x1000) == 1,
           "an unsealable memfd of 12 KiB");
    TAP_IS_INT(mem_table_map(&t, &r, 1, &fd, &why), 0, "mapped");
    p = mem_gpa_to_ptr(&t, 0x40000, 0x2000);
    tap_ok(p != NULL && p[0] == 'x', "its bytes read through the mapping");
    tap_ok(ftruncate(fd, 0) == 0, "the front-end truncates it to 0");
    TAP_IS_INT(mem_fault_absorb(&outside), 0, "an address outside guest memory is not ours");
    TAP_IS_INT(mem_fault_absorb((const void *)(p + 0x1000)), 1,
               "the faulting address is: zero pages mapped over its region");
    TAP_IS_INT(p[0x1000], 0, "the access completes, reading a zero");
    p[0x10] = 7;
    TAP_IS_INT(p[0x10], 7, "the region is ordinary memory now: writes stick");
    TAP_IS_INT(mem_fault_absorb((const void *)(t.r[0].map)), 1,
               "the region's first byte (mmap_offset before it) is covered too");
    mem_table_unmap(&t);
    TAP_IS_INT(mem_fault_absorb((const void *)p), 0, "nothing after the unmap");
    close(fd);
}

static void test_fs_types(void)
{
    tap_ok(mem_fs_allowed(TMPFS_MAGIC) != NULL, "tmpfs (memfd, /dev/shm) is allowed");
    tap_ok(mem_fs_allowed(HUGETLBFS_MAGIC) != NULL, "hugetlbfs is allowed");
    tap_ok(mem_fs_allowed(EXT4_SUPER_MAGIC) != NULL, "ext4 is allowed");
    tap_ok(mem_fs_allowed(FUSE_SUPER_MAGIC) == NULL,
           "FUSE is not (a fault waits on its server)");
    tap_ok(mem_fs_allowed(OVERLAYFS_SUPER_MAGIC) == NULL,
           "overlayfs is not (it may sit on FUSE)");
    tap_ok(mem_fs_allowed(NFS_SUPER_MAGIC) == NULL, "NFS is not");
}

int main(void)
{
    test_translation();
    test_parse();
    test_map();
    test_fault();
    test_fs_types();
    return tap_done();
}
