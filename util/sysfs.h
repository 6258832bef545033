/* sysfs.h: reading the small text files and links of /sys and /proc (PCI functions,
 * their drivers, the kernel command line). All return 0 or a count, or a negative errno. */
#ifndef VSOCK_UTIL_SYSFS_H
#define VSOCK_UTIL_SYSFS_H

#include <stddef.h>

/* Reads a whole small file into buf, NUL-terminated (truncated to size - 1 bytes).
 * Returns the length read. */
int sysfs_read_text(const char *path, char *buf, size_t size);

/* Reads a file holding one hexadecimal number ("0x1af4\n", as PCI ids are). */
int sysfs_read_hex(const char *path, unsigned long *value);

/* The last component of a symlink's target ("driver" -> "uio_pci_generic") into out, or
 * "" if path is no link or the name does not fit. */
void sysfs_link_name(const char *path, char *out, size_t size);

#endif
