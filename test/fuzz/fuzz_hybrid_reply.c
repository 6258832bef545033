/* fuzz_hybrid_reply.c: vsockcat's side of the hybrid vsock handshake (VSOCK-HYBRID in
 * cmd/vsockcat/addr_vsock.c): after "CONNECT <port>\n" the backend's reply is read byte
 * by byte and must be "OK <port>\n". The fuzzer is the backend: it writes arbitrary bytes
 * (and maybe hangs up) on a socketpair, then the real reply reader runs. The reader is
 * static, so this file includes addr_vsock.c (and links the other vsockcat modules). */
#include "addr_vsock.c"

#include <fcntl.h>

#include "fuzz.h"

static const struct vc_opts fuzz_opts = {.only_dir = -1, .half_close_wait = 0.5, .bufsize = 4096};
const struct vc_opts *vc_opts = &fuzz_opts;

struct vsock_transport *vc_transport(void)
{
    return NULL;
}

struct outcome {
    int done, err;
};

static void on_open(struct vc_open_req *req, struct vc_end *end, int err)
{
    struct outcome *o = req->ctx;

    o->done++;
    o->err = err;
    if (end != NULL)
        vc_end_close(end);
}

/* The reply as the protocol defines it: "OK " 1..10 digits "\n" at the start. */
static int strictly_valid(const uint8_t *d, size_t n)
{
    size_t i = 3;

    if (n < 5 || memcmp(d, "OK ", 3) != 0)
        return 0;
    while (i < n && i < 13 && d[i] >= '0' && d[i] <= '9')
        i++;
    return i > 3 && i < n && d[i] == '\n';
}

/* What the reader may accept: the strict form, optionally with "\r" before the "\n". */
static int acceptable(const uint8_t *d, size_t n)
{
    const uint8_t *nl = memchr(d, '\n', n);
    size_t len;

    if (nl == NULL)
        return 0;
    len = (size_t)(nl - d);
    if (len > 0 && d[len - 1] == '\r')
        len--;
    if (len < 4 || len > 13 || memcmp(d, "OK ", 3) != 0)
        return 0;
    for (size_t i = 3; i < len; i++)
        if (d[i] < '0' || d[i] > '9')
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uv_loop_t *loop;
    struct vc_addr_spec spec;
    struct vc_open_req req;
    struct outcome o = {0, 0};
    int sv[2], hang_up;

    if (size < 1 || size > 4096)
        return 0;
    if (loop == NULL) {
        loop = malloc(sizeof(*loop));
        if (loop == NULL || uv_loop_init(loop) != 0)
            abort();
    }
    hang_up = data[0] & 1;
    data++;
    size--;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
        abort();
    if (hang_up)
        shutdown(sv[1], SHUT_WR);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);

    memset(&spec, 0, sizeof(spec));
    spec.type = &vc_type_vsock_hybrid;
    spec.text = (char *)"VSOCK-HYBRID:/fuzz:52";
    spec.port = 52;
    memset(&req, 0, sizeof(req));
    req.loop = loop;
    req.spec = &spec;
    req.read = req.write = true;
    req.cb = on_open;
    req.ctx = &o;
    hybrid_connected(&req, sv[0], 0); /* takes sv[0] */
    if (!o.done)
        on_hybrid_timeout(&req); /* the reply is incomplete: what the timer would do */
    uv_run(loop, UV_RUN_NOWAIT); /* closes the handles of the poll, timer and end */
    if (o.done != 1)
        abort();
    if (o.err == 0 && !acceptable(data, size))
        abort(); /* took a reply that is not "OK <port>" */
    if (o.err != 0 && strictly_valid(data, size))
        abort(); /* refused a good reply */
    close(sv[1]);
    return 0;
}
