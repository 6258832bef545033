/* version.c: the version of the library that runs, for programs built against another
 * libvsock.h (see libvsock/version.h). */
#include "config.h"

#include "libvsock.h"

unsigned int vsock_version(void)
{
    return VSOCK_VERSION_HEX;
}

const char *vsock_version_string(void)
{
    return VSOCK_VERSION_STRING;
}
