/* test_addr.c: vsock address parsing and formatting (lib/addr.c), success and every
 * error path with its reason text; the version calls (lib/version.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "libvsock.h"
#include "tap.h"

struct cid_case {
    const char *text;
    int rc;
    uint32_t cid;
};

static const struct cid_case cid_cases[] = {
    {"3", 0, 3},
    {"0", 0, 0},
    {"any", 0, VMADDR_CID_ANY},
    {"ANY", 0, VMADDR_CID_ANY},
    {"hypervisor", 0, VMADDR_CID_HYPERVISOR},
    {"local", 0, VMADDR_CID_LOCAL},
    {"Host", 0, VMADDR_CID_HOST},
    {"0x10", 0, 16},
    {"0XfF", 0, 255},
    {"4294967295", 0, 4294967295u},
    {"0xffffffff", 0, 4294967295u},
    {"4294967296", -ERANGE, 0},
    {"0x100000000", -ERANGE, 0},
    {"99999999999999999999999", -ERANGE, 0},
    {"", -EINVAL, 0},
    {"-1", -EINVAL, 0},
    {"+3", -EINVAL, 0},
    {" 3", -EINVAL, 0},
    {"3 ", -EINVAL, 0},
    {"0x", -EINVAL, 0},
    {"12abc", -EINVAL, 0},
    {"hosts", -EINVAL, 0},
};

static void test_parse_cid(void)
{
    for (size_t i = 0; i < sizeof(cid_cases) / sizeof(cid_cases[0]); i++) {
        const struct cid_case *c = &cid_cases[i];
        uint32_t cid = 12345;
        char why[128] = "";
        int rc = vsock_parse_cid(c->text, &cid, why, sizeof(why));

        TAP_IS_INT(rc, c->rc, "parse_cid(\"%s\") returns %d", c->text, c->rc);
        if (c->rc == 0)
            TAP_IS_INT(cid, c->cid, "parse_cid(\"%s\") = %u", c->text, c->cid);
        else
            tap_ok(why[0] != '\0' && cid == 12345,
                   "parse_cid(\"%s\") gives a reason (%s) and leaves the output alone", c->text,
                   why[0] ? why : "none");
    }
}

static void test_parse_port(void)
{
    uint32_t port = 0;
    char why[128] = "";

    TAP_IS_INT(vsock_parse_port("1234", &port, NULL, 0), 0, "port 1234 parses");
    TAP_IS_INT(port, 1234, "port 1234 value");
    TAP_IS_INT(vsock_parse_port("any", &port, NULL, 0), 0, "port any parses");
    TAP_IS_INT(port, VMADDR_PORT_ANY, "port any is VMADDR_PORT_ANY");
    TAP_IS_INT(vsock_parse_port("0x400", &port, NULL, 0), 0, "hex port parses");
    TAP_IS_INT(port, 1024, "hex port value");
    TAP_IS_INT(vsock_parse_port("host", &port, why, sizeof(why)), -EINVAL,
               "CID names are not ports");
    TAP_IS_STR(why, "port must be a number (decimal or 0x hex) or any", "port reason");
    TAP_IS_INT(vsock_parse_port("4294967296", &port, why, sizeof(why)), -ERANGE, "port range");
    TAP_IS_STR(why, "port out of range (0 to 4294967295)", "port range reason");
    TAP_IS_INT(vsock_parse_port(NULL, &port, why, sizeof(why)), -EINVAL, "NULL port");
}

static void test_parse_addr(void)
{
    struct sockaddr_vm a;
    char why[128] = "";

    TAP_IS_INT(vsock_parse_addr("2:1234", &a, NULL, 0), 0, "2:1234 parses");
    TAP_IS_INT(a.svm_family, AF_VSOCK, "family set");
    TAP_IS_INT(a.svm_cid, 2, "cid 2");
    TAP_IS_INT(a.svm_port, 1234, "port 1234");
    TAP_IS_INT(a.svm_zero[0] | a.svm_zero[1] | a.svm_flags | a.svm_reserved1, 0,
               "padding zeroed");
    TAP_IS_INT(vsock_parse_addr("host:0x50", &a, NULL, 0), 0, "host:0x50 parses");
    TAP_IS_INT(a.svm_port, 80, "hex port in address");
    TAP_IS_INT(vsock_parse_addr("any:any", &a, NULL, 0), 0, "any:any parses");
    TAP_IS_INT(a.svm_cid, VMADDR_CID_ANY, "any cid");
    TAP_IS_INT(vsock_parse_addr("1234", &a, why, sizeof(why)), -EINVAL, "no colon");
    TAP_IS_STR(why, "address must be CID:PORT", "no colon reason");
    TAP_IS_INT(vsock_parse_addr("1:2:3", &a, why, sizeof(why)), -EINVAL, "two colons");
    TAP_IS_INT(vsock_parse_addr(":80", &a, why, sizeof(why)), -EINVAL, "empty cid");
    TAP_IS_STR(why, "empty CID", "empty cid reason");
    TAP_IS_INT(vsock_parse_addr("3:", &a, why, sizeof(why)), -EINVAL, "empty port");
    TAP_IS_STR(why, "empty port", "empty port reason");
    TAP_IS_INT(vsock_parse_addr("5000000000:1", &a, why, sizeof(why)), -ERANGE, "cid range");
    TAP_IS_STR(why, "CID out of range (0 to 4294967295)", "cid range reason");
    TAP_IS_INT(vsock_parse_addr("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:1",
                                &a, why, sizeof(why)),
               -EINVAL, "overlong cid text");
}

static void test_version(void)
{
    char text[16];

    snprintf(text, sizeof(text), "%u.%u.%u", vsock_version() >> 16, (vsock_version() >> 8) & 0xff,
             vsock_version() & 0xff);
    TAP_IS_INT(vsock_version(), VSOCK_VERSION_HEX, "vsock_version() is VSOCK_VERSION_HEX");
    TAP_IS_STR(vsock_version_string(), VSOCK_VERSION_STRING,
               "vsock_version_string() is VSOCK_VERSION_STRING");
    TAP_IS_STR(vsock_version_string(), text, "the string and the number agree (%s)", text);
}

static void test_format(void)
{
    struct sockaddr_vm a;
    char buf[VSOCK_ADDR_STRLEN];
    char tiny[4];

    vsock_addr_init(&a, 3, 1234);
    TAP_IS_INT(vsock_format_addr(&a, 0, buf, sizeof(buf)), 6, "format length");
    TAP_IS_STR(buf, "3:1234", "format 3:1234");
    vsock_addr_init(&a, VMADDR_CID_ANY, VMADDR_PORT_ANY);
    TAP_IS_INT(vsock_format_addr(&a, 0, buf, sizeof(buf)), 21, "longest address fits");
    TAP_IS_STR(buf, "4294967295:4294967295", "numeric any");
    vsock_format_addr(&a, VSOCK_FORMAT_NAMES, buf, sizeof(buf));
    TAP_IS_STR(buf, "any:any", "named any");
    TAP_IS_INT(vsock_format_addr(&a, 0, tiny, sizeof(tiny)), -ENOSPC, "small buffer");
    TAP_IS_INT(tiny[3], 0, "truncated text is terminated");
    TAP_IS_INT(vsock_format_addr(&a, 0x2, buf, sizeof(buf)), -EINVAL, "unknown flags refused");
    TAP_IS_STR(vsock_cid_name(2), "host", "name of CID 2");
    TAP_IS_STR(vsock_cid_name(1), "local", "name of CID 1");
    tap_ok(vsock_cid_name(3) == NULL, "CID 3 has no name");
}

static void test_transport_spec_errors(void)
{
    struct vsock_transport *t = (struct vsock_transport *)1;
    char why[256] = "";

    TAP_IS_INT(vsock_transport_open("carrier-pigeon", &t, why, sizeof(why)), -EINVAL,
               "unknown transport is EINVAL");
    tap_ok(t == NULL, "no transport returned on failure");
    tap_ok(strstr(why, "unknown transport 'carrier-pigeon'") != NULL, "reason names the spec: %s",
           why);
    TAP_IS_INT(vsock_transport_open("kernel:extra", &t, why, sizeof(why)), -EINVAL,
               "kernel takes no arguments");
    tap_ok(strstr(why, "takes no arguments") != NULL, "reason: %s", why);
}

int main(void)
{
    test_parse_cid();
    test_parse_port();
    test_parse_addr();
    test_format();
    test_version();
    test_transport_spec_errors();
    return tap_done();
}
