/* libvsock/version.h: the version of libvsock, and of vsock-tools: configure.ac reads
 * the three numbers below (keep each "#define VSOCK_VERSION_X N" on one line), so this
 * is the one place a release changes it. Included by libvsock.h. */
#ifndef LIBVSOCK_VERSION_H
#define LIBVSOCK_VERSION_H

#define VSOCK_VERSION_MAJOR 0
#define VSOCK_VERSION_MINOR 1
#define VSOCK_VERSION_PATCH 0

/* 0xMMmmpp: compare with >= (VSOCK_VERSION_HEX >= 0x000100 is 0.1.0 or later). */
#define VSOCK_VERSION_HEX \
    ((VSOCK_VERSION_MAJOR << 16) | (VSOCK_VERSION_MINOR << 8) | VSOCK_VERSION_PATCH)

#define VSOCK_VERSION_STR_(n) #n
#define VSOCK_VERSION_XSTR_(n) VSOCK_VERSION_STR_(n)
/* "0.1.0" */
#define VSOCK_VERSION_STRING                                                             \
    VSOCK_VERSION_XSTR_(VSOCK_VERSION_MAJOR) "." VSOCK_VERSION_XSTR_(VSOCK_VERSION_MINOR) \
        "." VSOCK_VERSION_XSTR_(VSOCK_VERSION_PATCH)

#endif
