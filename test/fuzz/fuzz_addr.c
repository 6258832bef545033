/* fuzz_addr.c: libvsock's address parsers (lib/addr.c) on arbitrary text. Checks the
 * contracts, not just survival: a failure leaves the output alone and gives a reason, a
 * success formats back to text that parses to the same address. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "libvsock.h"

static void roundtrip(const struct sockaddr_vm *a)
{
    char text[VSOCK_ADDR_STRLEN], small[8];
    struct sockaddr_vm back;
    char why[128];

    for (unsigned int flags = 0; flags <= VSOCK_FORMAT_NAMES; flags++) {
        int n = vsock_format_addr(a, flags, text, sizeof(text));

        if (n <= 0 || (size_t)n >= sizeof(text) || strlen(text) != (size_t)n)
            abort(); /* VSOCK_ADDR_STRLEN must hold every address */
        if (vsock_parse_addr(text, &back, why, sizeof(why)) != 0 || back.svm_cid != a->svm_cid ||
            back.svm_port != a->svm_port || back.svm_family != AF_VSOCK)
            abort();
        n = vsock_format_addr(a, flags, small, sizeof(small));
        if ((n != -ENOSPC && (n < 0 || (size_t)n >= sizeof(small))) ||
            memchr(small, '\0', sizeof(small)) == NULL)
            abort(); /* too small: -ENOSPC and still NUL-terminated */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct sockaddr_vm a;
    uint32_t v = 0xdeadbeef;
    char why[128] = "";
    int rc;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    rc = vsock_parse_cid(text, &v, why, sizeof(why));
    if (rc != 0 && rc != -EINVAL && rc != -ERANGE)
        abort();
    if (rc != 0 && (v != 0xdeadbeef || why[0] == '\0'))
        abort();
    if (rc == 0 && vsock_cid_name(v) != NULL &&
        vsock_parse_cid(vsock_cid_name(v), &v, NULL, 0))
        abort();

    v = 0xdeadbeef;
    why[0] = '\0';
    rc = vsock_parse_port(text, &v, why, sizeof(why));
    if (rc != 0 && (v != 0xdeadbeef || why[0] == '\0'))
        abort();

    memset(&a, 0x5a, sizeof(a));
    why[0] = '\0';
    rc = vsock_parse_addr(text, &a, why, sizeof(why));
    if (rc == 0)
        roundtrip(&a);
    else if (why[0] == '\0')
        abort();

    /* Every 8-byte input is also an address to format. */
    if (size >= 8) {
        uint32_t cid, port;

        memcpy(&cid, data, 4);
        memcpy(&port, data + 4, 4);
        vsock_addr_init(&a, cid, port);
        roundtrip(&a);
    }
    free(text);
    return 0;
}
