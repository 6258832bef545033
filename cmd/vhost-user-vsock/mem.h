/* mem.h: the front-end's memory as the backend sees it: up to 8 regions from
 * SET_MEM_TABLE, each mapped from its fd, and the two translations the protocol needs
 * (guest-physical for descriptors, front-end virtual for ring addresses). A translation
 * succeeds only if the whole range lies inside one region. */
#ifndef MEM_H
#define MEM_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/wire.h"

struct mem_region {
    uint64_t gpa;   /* guest-physical start */
    uint64_t size;
    uint64_t uva;   /* front-end virtual start */
    uint8_t *host;  /* our address of gpa */
    void *map;      /* what munmap needs (NULL for regions added by tests) */
    size_t map_len;
};

struct mem_table {
    unsigned int n;
    struct mem_region r[VHOST_USER_MEM_REGIONS_MAX];
};

/* Checks a SET_MEM_TABLE payload of size bytes sent with nfds descriptors: region count
 * 1..8 matching nfds and the size, no empty or wrapping region, no overlap in either
 * address space. Fills regs and *n. Returns 0 or -EINVAL with *why set. */
int mem_table_parse(const void *payload, size_t size, unsigned int nfds,
                    struct vhost_user_mem_region *regs, unsigned int *n, const char **why);

/* Maps validated regions from their fds into t (replacing nothing: t must be empty):
 * regular files at least as long as the region, on a file system mem_fs_allowed()
 * names, sealed against shrinking where sealing is allowed. Returns 0 or a negative
 * errno with *why set; on failure t is left empty. */
int mem_table_map(struct mem_table *t, const struct vhost_user_mem_region *regs,
                  unsigned int n, const int *fds, const char **why);

/* The name of a file system (statfs f_type) guest memory may live on, or NULL. */
const char *mem_fs_allowed(unsigned long magic);

/* For a SIGBUS handler (async-signal-safe): if addr lies in a mapping of a table, maps
 * zero pages over that whole mapping so the faulting access completes, and returns 1;
 * 0 if addr is not guest memory; -1 if the zero pages could not be mapped. */
int mem_fault_absorb(const void *addr);

/* Adds a region backed by memory the caller owns (tests). Returns 0 or -EINVAL. */
int mem_table_add(struct mem_table *t, uint64_t gpa, uint64_t size, uint64_t uva, void *host);

void mem_table_unmap(struct mem_table *t);

/* Our pointer to [gpa, gpa + len) or [uva, uva + len), NULL unless inside one region. */
void *mem_gpa_to_ptr(const struct mem_table *t, uint64_t gpa, uint64_t len);
void *mem_uva_to_ptr(const struct mem_table *t, uint64_t uva, uint64_t len);

#endif
