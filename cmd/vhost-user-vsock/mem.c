/* mem.c: the region table from SET_MEM_TABLE and address translation. Everything here
 * comes from the front-end and is checked before use: counts, sizes, overflow, overlap,
 * the fd's real size (a short file would SIGBUS on first touch). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

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

/* True if fd cannot shrink any more: sealed against it (before, or now by us), or not
 * a memfd (shm and hugetlbfs files cannot be sealed; SECURITY.md lists that risk). */
static int shrink_sealed(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);

    if (seals < 0)
        return errno == EINVAL;
    if (seals & F_SEAL_SHRINK)
        return 1;
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0;
}

int mem_table_map(struct mem_table *t, const struct vhost_user_mem_region *regs,
                  unsigned int n, const int *fds, const char **why)
{
    int rc;

    t->n = 0;
    for (unsigned int i = 0; i < n; i++) {
        struct mem_region *m = &t->r[i];
        size_t len = (size_t)(regs[i].mmap_offset + regs[i].memory_size);
        struct stat st;
        void *p;

        if (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode)) {
            *why = "memory region fd is not a regular file (memfd, shm or hugetlbfs)";
            rc = -EINVAL;
            goto fail;
        }
        if ((uint64_t)st.st_size < len) {
            *why = "memory region extends beyond the end of its file";
            rc = -EINVAL;
            goto fail;
        }
        /* A front-end that shrank the file later would turn our next ring access into
         * SIGBUS: a memfd must be sealed against shrinking (QEMU and libvsock seal
         * theirs; we add the seal where the front-end allowed sealing). */
        if (!shrink_sealed(fds[i])) {
            *why = "memory region is a memfd that could shrink under us (create it with "
                   "MFD_ALLOW_SEALING or seal it with F_SEAL_SHRINK)";
            rc = -EPERM;
            goto fail;
        }
        /* Map from offset 0: mmap_offset need not be page-aligned. */
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
        if (p == MAP_FAILED) {
            rc = -errno;
            *why = "cannot map a memory region";
            goto fail;
        }
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
    for (unsigned int i = 0; i < t->n; i++)
        if (t->r[i].map != NULL)
            munmap(t->r[i].map, t->r[i].map_len);
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
