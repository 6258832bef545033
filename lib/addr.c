/* addr.c: text <-> struct sockaddr_vm. Pure functions, no I/O. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "libvsock.h"
#include "util/why.h"

struct cid_name {
    const char *name;
    uint32_t cid;
};

static const struct cid_name cid_names[] = {
    {"any", VMADDR_CID_ANY},
    {"hypervisor", VMADDR_CID_HYPERVISOR},
    {"local", VMADDR_CID_LOCAL},
    {"host", VMADDR_CID_HOST},
};

static int fail(char *why, size_t why_size, const char *reason, int err)
{
    why_set(why, why_size, "%s", reason);
    return err;
}

/* Strict unsigned 32-bit number: decimal or 0x hex, no sign, no spaces, no suffix. */
static int parse_u32(const char *text, uint32_t *out, char *why, size_t why_size,
                     const char *what_empty, const char *what_bad, const char *what_range)
{
    unsigned int base = 10;
    uint64_t v = 0;
    const char *p = text;

    if (*p == '\0')
        return fail(why, why_size, what_empty, -EINVAL);
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (*p == '\0')
            return fail(why, why_size, what_bad, -EINVAL);
    }
    for (; *p != '\0'; p++) {
        unsigned int d;

        if (*p >= '0' && *p <= '9')
            d = (unsigned int)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned int)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned int)(*p - 'A' + 10);
        else
            return fail(why, why_size, what_bad, -EINVAL);
        v = v * base + d;
        if (v > UINT32_MAX)
            return fail(why, why_size, what_range, -ERANGE);
    }
    *out = (uint32_t)v;
    return 0;
}

int vsock_parse_cid(const char *text, uint32_t *cid, char *why, size_t why_size)
{
    if (text == NULL)
        return fail(why, why_size, "missing CID", -EINVAL);
    for (size_t i = 0; i < sizeof(cid_names) / sizeof(cid_names[0]); i++) {
        if (strcasecmp(text, cid_names[i].name) == 0) {
            *cid = cid_names[i].cid;
            return 0;
        }
    }
    return parse_u32(text, cid, why, why_size, "empty CID",
                     "CID must be a number (decimal or 0x hex) or any, hypervisor, local, host",
                     "CID out of range (0 to 4294967295)");
}

int vsock_parse_port(const char *text, uint32_t *port, char *why, size_t why_size)
{
    if (text == NULL)
        return fail(why, why_size, "missing port", -EINVAL);
    if (strcasecmp(text, "any") == 0) {
        *port = VMADDR_PORT_ANY;
        return 0;
    }
    return parse_u32(text, port, why, why_size, "empty port",
                     "port must be a number (decimal or 0x hex) or any",
                     "port out of range (0 to 4294967295)");
}

void vsock_addr_init(struct sockaddr_vm *addr, uint32_t cid, uint32_t port)
{
    memset(addr, 0, sizeof(*addr));
    addr->svm_family = AF_VSOCK;
    addr->svm_cid = cid;
    addr->svm_port = port;
}

int vsock_parse_addr(const char *text, struct sockaddr_vm *addr, char *why, size_t why_size)
{
    char cid_text[64];
    const char *colon;
    uint32_t cid, port;
    int rc;

    if (text == NULL)
        return fail(why, why_size, "missing address", -EINVAL);
    colon = strchr(text, ':');
    if (colon == NULL)
        return fail(why, why_size, "address must be CID:PORT", -EINVAL);
    if ((size_t)(colon - text) >= sizeof(cid_text))
        return fail(why, why_size,
                    "CID must be a number (decimal or 0x hex) or any, hypervisor, local, host",
                    -EINVAL);
    memcpy(cid_text, text, (size_t)(colon - text));
    cid_text[colon - text] = '\0';
    rc = vsock_parse_cid(cid_text, &cid, why, why_size);
    if (rc < 0)
        return rc;
    if (strchr(colon + 1, ':') != NULL)
        return fail(why, why_size, "address must be CID:PORT (one colon)", -EINVAL);
    rc = vsock_parse_port(colon + 1, &port, why, why_size);
    if (rc < 0)
        return rc;
    vsock_addr_init(addr, cid, port);
    return 0;
}

const char *vsock_cid_name(uint32_t cid)
{
    for (size_t i = 0; i < sizeof(cid_names) / sizeof(cid_names[0]); i++)
        if (cid_names[i].cid == cid)
            return cid_names[i].name;
    return NULL;
}

int vsock_format_addr(const struct sockaddr_vm *addr, unsigned int flags, char *buf,
                      size_t size)
{
    int names = (flags & VSOCK_FORMAT_NAMES) != 0;
    char cid[16], port[16];
    int n;

    if (flags & ~VSOCK_FORMAT_NAMES)
        return -EINVAL;
    if (names && addr->svm_cid == VMADDR_CID_ANY)
        snprintf(cid, sizeof(cid), "any");
    else
        snprintf(cid, sizeof(cid), "%u", addr->svm_cid);
    if (names && addr->svm_port == VMADDR_PORT_ANY)
        snprintf(port, sizeof(port), "any");
    else
        snprintf(port, sizeof(port), "%u", addr->svm_port);
    n = snprintf(buf, size, "%s:%s", cid, port);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= size)
        return -ENOSPC;
    return n;
}
