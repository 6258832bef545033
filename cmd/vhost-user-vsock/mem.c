/* mem.c: the region table from SET_MEM_TABLE and address translation. Everything here
 * comes from the front-end and is checked before use: counts, sizes, overflow, overlap,
 * the fd's real size (a short file would SIGBUS on first touch), the file system (its page
 * faults must not wait on another process). A file the front-end shrinks later faults
 * with SIGBUS: the mappings are listed for mem_fault_absorb(), the handler's half. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mem.h"

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen; /* callers ensured no wrap */
}

int mem_table_parse(const void *payload, size_t size, unsigned int nfds,
                    struct vhost_user_mem_region *regs, unsigned int *n, const char **why)
{
    const size_t head = offsetof(struct vhost_user_mem_table, regions);
    uint32_t count;

    *n = 0;
    if (size < head) {
        *why = "memory table shorter than its header";
        return -EINVAL;
    }
    memcpy(&count, payload, sizeof(count));
    if (count == 0 || count > VHOST_USER_MEM_REGIONS_MAX) {
        *why = "region count not in 1..8";
        return -EINVAL;
    }
    if (size != head + count * sizeof(struct vhost_user_mem_region)) {
        *why = "memory table size does not match its region count";
        return -EINVAL;
    }
    if (nfds != count) {
        *why = "memory table needs one fd per region";
        return -EINVAL;
    }
    memcpy(regs, (const uint8_t *)payload + head, count * sizeof(*regs));
    for (unsigned int i = 0; i < count; i++) {
        const struct vhost_user_mem_region *r = &regs[i];

        if (r->memory_size == 0) {
            *why = "empty memory region";
            return -EINVAL;
        }
        if (r->guest_phys_addr + r->memory_size < r->guest_phys_addr ||
            r->userspace_addr + r->memory_size < r->userspace_addr ||
            r->mmap_offset + r->memory_size < r->mmap_offset ||
            r->mmap_offset + r->memory_size > (uint64_t)SIZE_MAX / 2) {
            *why = "memory region wraps around or is too large";
            return -EINVAL;
        }
        for (unsigned int j = 0; j < i; j++) {
            if (ranges_overlap(r->guest_phys_addr, r->memory_size, regs[j].guest_phys_addr,
                               regs[j].memory_size) ||
                ranges_overlap(r->userspace_addr, r->memory_size, regs[j].userspace_addr,
                               regs[j].memory_size)) {
                *why = "memory regions overlap";
                return -EINVAL;
            }
        }
    }
    *n = count;
    return 0;
}

/* File systems whose pages the kernel itself provides: memory (memfd and /dev/shm are
 * tmpfs; MFD_HUGETLB memfds hugetlbfs) and local disks. A page fault on FUSE waits for
 * the process serving it, which may be the front-end, and only SIGKILL ends that wait;
 * network and stacked file systems (overlayfs may sit on FUSE) are refused too. */
static const struct {
    unsigned long magic;
    const char *name;
} mem_fs_table[] = {
    {TMPFS_MAGIC, "tmpfs"},
    {HUGETLBFS_MAGIC, "hugetlbfs"},
    {RAMFS_MAGIC, "ramfs"},
    {EXT4_SUPER_MAGIC, "ext2/3/4"},
    {XFS_SUPER_MAGIC, "xfs"},
    {BTRFS_SUPER_MAGIC, "btrfs"},
    {F2FS_SUPER_MAGIC, "f2fs"},
    {0xca451a4e, "bcachefs"}, /* not in linux/magic.h */
    {0x2fc12fc1, "zfs"},      /* out of tree */
};

const char *mem_fs_allowed(unsigned long magic)
{
    for (size_t i = 0; i < sizeof(mem_fs_table) / sizeof(mem_fs_table[0]); i++)
        if (mem_fs_table[i].magic == magic)
            return mem_fs_table[i].name;
    return NULL;
}

/* Seals fd against shrinking where the front-end allowed sealing (QEMU's memfds and
 * libvsock's do): then no SIGBUS can come from it. Files that cannot be sealed (disk,
 * /dev/shm and hugetlbfs files, memfds without MFD_ALLOW_SEALING) are mapped anyway:
 * a fault in them drops the front-end (mem_fault_absorb). */
static void seal_shrink(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);

    if (seals >= 0 && !(seals & F_SEAL_SHRINK))
        (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
}

/* ---- the mappings a SIGBUS may hit ------------------------------------------------------ */

/* Read by mem_fault_absorb() in a SIGBUS handler, which runs on the loop's thread at a
 * guest memory access, never inside mem_table_map/unmap (they touch no guest memory):
 * a fixed array of words is all it needs; len is stored last and cleared first. */
#define MEM_GUARD_SLOTS (2 * VHOST_USER_MEM_REGIONS_MAX) /* the old table and the new */
static struct {
    uintptr_t start, len;
} mem_guard[MEM_GUARD_SLOTS];

static void guard_add(void *start, size_t len)
{
    for (size_t i = 0; i < MEM_GUARD_SLOTS; i++) {
        if (__atomic_load_n(&mem_guard[i].len, __ATOMIC_RELAXED) != 0)
            continue;
        __atomic_store_n(&mem_guard[i].start, (uintptr_t)start, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __atomic_store_n(&mem_guard[i].len, (uintptr_t)len, __ATOMIC_RELAXED);
        return;
    }
}

static void guard_remove(void *start)
{
    for (size_t i = 0; i < MEM_GUARD_SLOTS; i++)
        if (__atomic_load_n(&mem_guard[i].start, __ATOMIC_RELAXED) == (uintptr_t)start)
            __atomic_store_n(&mem_guard[i].len, 0, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

int mem_fault_absorb(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;

    for (size_t i = 0; i < MEM_GUARD_SLOTS; i++) {
        uintptr_t len = __atomic_load_n(&mem_guard[i].len, __ATOMIC_RELAXED);
        uintptr_t start = __atomic_load_n(&mem_guard[i].start, __ATOMIC_RELAXED);

        if (len == 0 || a < start || a - start >= len)
            continue;
        /* Zero pages in place of the whole mapping: the faulting access and every later
         * one complete, reading zeros (which every check treats as any other guest
         * value), until the loop drops the front-end and unmaps it. mmap is a plain
         * system call here, safe in a handler. */
        if (mmap((void *)start, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            return -1;
        return 1;
    }
    return 0;
}

int mem_table_map(struct mem_table *t, const struct vhost_user_mem_region *regs,
                  unsigned int n, const int *fds, const char **why)
{
    int rc;

    t->n = 0;
    for (unsigned int i = 0; i < n; i++) {
        struct mem_region *m = &t->r[i];
        size_t len = (size_t)(regs[i].mmap_offset + regs[i].memory_size);
        struct statfs fs;
        struct stat st;
        void *p;

        if (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode)) {
            *why = "memory region fd is not a regular file (memfd, shm, hugetlbfs or disk)";
            rc = -EINVAL;
            goto fail;
        }
        if ((uint64_t)st.st_size < len) {
            *why = "memory region extends beyond the end of its file";
            rc = -EINVAL;
            goto fail;
        }
        if (fstatfs(fds[i], &fs) < 0 || mem_fs_allowed((unsigned long)fs.f_type) == NULL) {
            *why = "memory region file is not on tmpfs, hugetlbfs, ramfs or a local disk "
                   "file system (its page faults could wait on another process)";
            rc = -EPERM;
            goto fail;
        }
        seal_shrink(fds[i]);
        /* Huge pages are unmapped (and replaced after a fault) whole. */
        if ((unsigned long)fs.f_type == HUGETLBFS_MAGIC && st.st_blksize > 0)
            len = (len + (size_t)st.st_blksize - 1) / (size_t)st.st_blksize *
                  (size_t)st.st_blksize;
        /* Map from offset 0: mmap_offset need not be page-aligned. */
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
        if (p == MAP_FAILED) {
            rc = -errno;
            *why = "cannot map a memory region";
            goto fail;
        }
        guard_add(p, len);
        m->gpa = regs[i].guest_phys_addr;
        m->size = regs[i].memory_size;
        m->uva = regs[i].userspace_addr;
        m->map = p;
        m->map_len = len;
        m->host = (uint8_t *)p + regs[i].mmap_offset;
        t->n = i + 1;
    }
    return 0;

fail:
    mem_table_unmap(t);
    return rc;
}

int mem_table_add(struct mem_table *t, uint64_t gpa, uint64_t size, uint64_t uva, void *host)
{
    struct mem_region *m;

    if (t->n >= VHOST_USER_MEM_REGIONS_MAX || size == 0 || gpa + size < gpa ||
        uva + size < uva)
        return -EINVAL;
    m = &t->r[t->n++];
    memset(m, 0, sizeof(*m));
    m->gpa = gpa;
    m->size = size;
    m->uva = uva;
    m->host = host;
    return 0;
}

void mem_table_unmap(struct mem_table *t)
{
    for (unsigned int i = 0; i < t->n; i++) {
        if (t->r[i].map != NULL) {
            guard_remove(t->r[i].map);
            munmap(t->r[i].map, t->r[i].map_len);
        }
    }
    memset(t, 0, sizeof(*t));
}

/* One lookup for both address spaces: base selects which start field to compare. */
static void *mem_lookup(const struct mem_table *t, uint64_t addr, uint64_t len, int by_uva)
{
    for (unsigned int i = 0; i < t->n; i++) {
        const struct mem_region *m = &t->r[i];
        uint64_t start = by_uva ? m->uva : m->gpa;
        uint64_t off;

        if (addr < start)
            continue;
        off = addr - start;
        if (off >= m->size || len > m->size - off)
            continue;
        return m->host + off;
    }
    return NULL;
}

void *mem_gpa_to_ptr(const struct mem_table *t, uint64_t gpa, uint64_t len)
{
    return mem_lookup(t, gpa, len, 0);
}

void *mem_uva_to_ptr(const struct mem_table *t, uint64_t uva, uint64_t len)
{
    return mem_lookup(t, uva, len, 1);
}
