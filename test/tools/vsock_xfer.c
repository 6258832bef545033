/* vsock_xfer.c: a test tool for the integration tests: one vsock stream through libvsock
 * (any transport) relayed to stdin/stdout, driven by poll() on vsock_poll_fds() the way an
 * event loop drives it. Not installed; vsockcat is the real tool.
 *
 *   vsock_xfer [--transport SPEC] [--eintr-storm USEC] connect CID PORT
 *        connect, then relay
 *   vsock_xfer [--transport SPEC] [--eintr-storm USEC] listen PORT
 *        accept one connection, then relay
 *   vsock_xfer [--transport SPEC] echo-clients N CID PORT BYTES
 *        N concurrent connections, each sends BYTES of its own pattern, checks the echo
 *   vsock_xfer [--transport SPEC] echo-server PORT N
 *        accepts N connections (concurrently served) and echoes each until its EOF
 *
 * Relay modes: stdin goes to the peer (SHUT_WR at its EOF), the peer's bytes go to stdout
 * until the peer's EOF. "listening PORT" on stderr says the listener is up. Errors: one line
 * "vsock_xfer: what: cause" on stderr, exit 1. It refuses the kernel transport: tests on
 * the development machine must never connect over kernel AF_VSOCK.
 *
 * --eintr-storm USEC (relay modes): from before the transport opens until after it closed,
 * SIGALRM arrives every USEC microseconds (setitimer) at a counting handler installed
 * without SA_RESTART, and the relay uses blocking calls only (one thread per direction),
 * so every wait inside libvsock is interrupted over and over. libvsock(3) promises that
 * interrupted calls are restarted; an -EINTR would still be retried, but counted. At the
 * end one line on stderr: "eintr-storm: N signals, M EINTR from libvsock".
 *
 * --fork-holder (any mode): once the transport is open, a child is forked that keeps a
 * copy of the address space and sleeps until the transfer is over, as a fork without
 * exec does (vsockcat's EXEC and SYSTEM between fork and exec). Where the transport's
 * "dma_memory" fact names a physical address (uio), our mapping of it is found before
 * the fork (/proc/self/pagemap, root; /dev/mem by file offset) and must map the same
 * page at the end: a copy-on-write of DMA memory would leave the device writing the old
 * page while the driver reads the new one (the transfer stalls). The child must not have
 * inherited any device or DMA mapping (/dev/mem, sysfs resourceN, hugepages) either.
 * One line at the end, also after an error: "fork-holder: DMA memory stayed at physical
 * 0x...; the child mapped 0 of N device and DMA mappings", or what went wrong. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libvsock.h"

#define XFER_BUF (128 * 1024)

static const char *progname = "vsock_xfer";

static void holder_report(void);

__attribute__((format(printf, 2, 3), noreturn)) static void die(int err, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (err != 0)
        fprintf(stderr, ": %s", strerror(err));
    fputc('\n', stderr);
    holder_report(); /* a stall says more with where the DMA page went */
    exit(1);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            die(errno, "writing stdout");
        p += w;
        n -= (size_t)w;
    }
}

static int parse_u32(const char *text, uint32_t *v, const char *what)
{
    char why[128];
    int rc = strcmp(what, "CID") == 0 ? vsock_parse_cid(text, v, why, sizeof(why))
                                      : vsock_parse_port(text, v, why, sizeof(why));

    if (rc < 0)
        die(0, "%s '%s': %s", what, text, why);
    return 0;
}

/* Relays until the peer's EOF (and our own stdin EOF has been passed on). */
static void relay(struct vsock_transport *t, int s)
{
    static uint8_t in[XFER_BUF], out[XFER_BUF];
    size_t in_len = 0, in_off = 0;
    int stdin_eof = 0, shut = 0, peer_eof = 0, rfd, wfd, rc;

    rc = vsock_poll_fds(t, s, &rfd, &wfd);
    if (rc < 0)
        die(-rc, "vsock_poll_fds");
    while (!peer_eof || !shut) {
        struct pollfd p[3] = {
            {.fd = stdin_eof || in_len > 0 ? -1 : 0, .events = POLLIN},
            {.fd = peer_eof ? -1 : rfd, .events = POLLIN},
            {.fd = in_len > 0 ? wfd : -1, .events = POLLOUT},
        };

        if (stdin_eof && in_len == 0 && !shut) {
            rc = vsock_shutdown(t, s, SHUT_WR);
            if (rc < 0 && rc != -ENOTCONN)
                die(-rc, "shutdown");
            shut = 1;
            continue;
        }
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            die(errno, "poll");
        }
        if (p[0].revents) {
            ssize_t n = read(0, in, sizeof(in));

            if (n < 0 && errno != EINTR && errno != EAGAIN)
                die(errno, "reading stdin");
            if (n == 0)
                stdin_eof = 1;
            if (n > 0) {
                in_len = (size_t)n;
                in_off = 0;
            }
        }
        if (p[2].revents) {
            ssize_t n = vsock_write(t, s, in + in_off, in_len);

            if (n < 0 && n != -EAGAIN)
                die((int)-n, "write");
            if (n > 0) {
                in_off += (size_t)n;
                in_len -= (size_t)n;
            }
        }
        if (p[1].revents) {
            for (;;) {
                ssize_t n = vsock_read(t, s, out, sizeof(out));

                if (n == -EAGAIN)
                    break;
                if (n < 0)
                    die((int)-n, "read");
                if (n == 0) {
                    peer_eof = 1;
                    break;
                }
                write_all(1, out, (size_t)n);
            }
        }
    }
}


/* ---- EINTR storm: blocking calls under a signal every few microseconds ------------------- */

static atomic_ulong storm_signals;   /* SIGALRMs handled */
static atomic_ulong storm_lib_eintr; /* -EINTR returned by a libvsock call (retried) */
static int storm_on;

static void storm_handler(int signo)
{
    (void)signo;
    atomic_fetch_add_explicit(&storm_signals, 1, memory_order_relaxed);
}

/* Counts an -EINTR from libvsock and says whether to retry the call. */
static int storm_retry(ssize_t rc)
{
    if (rc != -EINTR)
        return 0;
    atomic_fetch_add_explicit(&storm_lib_eintr, 1, memory_order_relaxed);
    return 1;
}

static void storm_start(const char *usec_text)
{
    char *end;
    unsigned long usec = strtoul(usec_text, &end, 10);
    /* No SA_RESTART: a blocking system call the signal interrupts fails with EINTR. */
    struct sigaction sa = {.sa_handler = storm_handler, .sa_flags = 0};
    struct itimerval it;

    if (*usec_text == '\0' || *end != '\0' || usec == 0 || usec >= 1000000)
        die(0, "--eintr-storm '%s': microseconds, 1 to 999999", usec_text);
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) < 0)
        die(errno, "sigaction");
    it.it_interval = (struct timeval){.tv_sec = 0, .tv_usec = (suseconds_t)usec};
    it.it_value = it.it_interval;
    if (setitimer(ITIMER_REAL, &it, NULL) < 0)
        die(errno, "setitimer");
    storm_on = 1;
}

static void storm_stop(void)
{
    struct itimerval off = {{0, 0}, {0, 0}};

    if (!storm_on)
        return;
    setitimer(ITIMER_REAL, &off, NULL);
    fprintf(stderr, "eintr-storm: %lu signals, %lu EINTR from libvsock\n",
            atomic_load(&storm_signals), atomic_load(&storm_lib_eintr));
}

struct storm_writer {
    struct vsock_transport *t;
    int s;
};

/* stdin -> peer with blocking vsock_write, then SHUT_WR. */
static void *storm_write_side(void *arg)
{
    struct storm_writer *w = arg;
    static uint8_t buf[XFER_BUF];

    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        size_t off = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die(errno, "reading stdin");
        if (n == 0)
            break;
        while (off < (size_t)n) {
            ssize_t m = vsock_write(w->t, w->s, buf + off, (size_t)n - off);

            if (storm_retry(m))
                continue;
            if (m < 0)
                die((int)-m, "write");
            off += (size_t)m;
        }
    }
    for (;;) {
        int rc = vsock_shutdown(w->t, w->s, SHUT_WR);

        if (storm_retry(rc))
            continue;
        if (rc < 0 && rc != -ENOTCONN)
            die(-rc, "shutdown");
        break;
    }
    return NULL;
}

/* The relay with blocking calls only: a thread writes, this one reads until the peer's
 * EOF, then waits for the writer. */
static void relay_blocking(struct vsock_transport *t, int s)
{
    static uint8_t out[XFER_BUF];
    struct storm_writer w = {.t = t, .s = s};
    pthread_t writer;
    int rc = pthread_create(&writer, NULL, storm_write_side, &w);

    if (rc != 0)
        die(rc, "pthread_create");
    for (;;) {
        ssize_t n = vsock_read(t, s, out, sizeof(out));

        if (storm_retry(n))
            continue;
        if (n < 0)
            die((int)-n, "read");
        if (n == 0)
            break;
        write_all(1, out, (size_t)n);
    }
    pthread_join(writer, NULL);
}

/* ---- --fork-holder: a live forked child while data moves ------------------------------ */

#define HOLDER_MAX_MAPS 16

static struct {
    pid_t child;          /* 0: no holder */
    int release_fd;       /* its end of a pipe; closing it ends the child */
    uint64_t dma_phys;    /* what the transport says its DMA memory is; 0: nothing named */
    uintptr_t dma_virt;   /* our mapping of dma_phys */
    int dma_pfnmap;       /* dma_virt maps /dev/mem: a PFN map, no page to copy */
    uintptr_t dev[HOLDER_MAX_MAPS]; /* device and DMA mappings before the fork */
    unsigned int n_dev;
    int failed;
} holder;

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)

/* The physical address in the uio transport's "dma_memory" fact ("hugepages at physical
 * 0x...", "reserved RAM 0x... via /dev/mem"). */
static void holder_dma_fact(void *ctx, const char *key, const char *value)
{
    static const char *const marks[] = {"physical 0x", "reserved RAM 0x"};
    uint64_t *phys = ctx;

    if (strcmp(key, "dma_memory") != 0)
        return;
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        const char *p = strstr(value, marks[i]);

        if (p != NULL) {
            *phys = strtoull(p + strlen(marks[i]) - 2, NULL, 16);
            return;
        }
    }
}

/* The physical address of virtual page virt, 0 if absent or hidden (no CAP_SYS_ADMIN).
 * PFN maps (/dev/mem) read as absent: pagemap does not walk them. */
static uint64_t page_phys(int pagemap, uintptr_t virt)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), entry = 0;

    if (pread(pagemap, &entry, sizeof(entry), (off_t)(virt / page * sizeof(entry))) !=
            (ssize_t)sizeof(entry) || !(entry & PAGEMAP_PRESENT))
        return 0;
    return (entry & PAGEMAP_PFN_MASK) * page;
}

struct map_line {
    uintptr_t start;
    unsigned long long offset;
    const char *path; /* "" for anonymous memory */
};

/* Calls fn for every line of /proc/PID/maps ("self" for ours). */
static int for_each_mapping(const char *pid, void (*fn)(const struct map_line *m, void *ctx),
                            void *ctx)
{
    char name[64], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *maps;

    snprintf(name, sizeof(name), "/proc/%s/maps", pid);
    if ((maps = fopen(name, "re")) == NULL)
        return -errno;
    while ((n = getline(&line, &cap, maps)) > 0) {
        unsigned long start;
        struct map_line m;
        int at = 0;

        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (sscanf(line, "%lx-%*x %*s %llx %*s %*u %n", &start, &m.offset, &at) < 2 || at == 0)
            continue;
        m.start = start;
        m.path = line + at;
        fn(&m, ctx);
    }
    free(line);
    fclose(maps);
    return 0;
}

/* Memory a device reaches: /dev/mem (BARs, reserved RAM), a sysfs resourceN file (BARs),
 * hugepages (DMA). */
static int is_device_mapping(const char *path)
{
    return strcmp(path, "/dev/mem") == 0 || strncmp(path, "/sys/", 5) == 0 ||
           strstr(path, "anon_hugepage") != NULL;
}

static void holder_note_mapping(const struct map_line *m, void *ctx)
{
    int pagemap = *(int *)ctx;

    if (is_device_mapping(m->path) && holder.n_dev < HOLDER_MAX_MAPS)
        holder.dev[holder.n_dev++] = m->start;
    if (holder.dma_phys == 0 || holder.dma_virt != 0)
        return;
    if (strcmp(m->path, "/dev/mem") == 0 && m->offset == holder.dma_phys) {
        holder.dma_virt = m->start;
        holder.dma_pfnmap = 1;
    } else if (page_phys(pagemap, m->start) == holder.dma_phys) {
        holder.dma_virt = m->start;
    }
}

static void holder_start(struct vsock_transport *t)
{
    int fds[2], pagemap, rc;

    vsock_transport_describe(t, holder_dma_fact, &holder.dma_phys);
    pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    rc = for_each_mapping("self", holder_note_mapping, &pagemap);
    if (pagemap >= 0)
        close(pagemap);
    if (rc < 0)
        die(-rc, "/proc/self/maps");
    if (holder.dma_phys != 0 && holder.dma_virt == 0)
        die(0, "--fork-holder: no mapping of the DMA memory at physical 0x%llx found "
            "(reading physical addresses needs root)", (unsigned long long)holder.dma_phys);
    if (pipe2(fds, O_CLOEXEC) < 0)
        die(errno, "pipe");
    holder.child = fork();
    if (holder.child < 0)
        die(errno, "fork");
    if (holder.child == 0) {
        char c;

        /* Touches nothing of the parent's: holds the address space until released. */
        close(fds[1]);
        while (read(fds[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(fds[0]);
    holder.release_fd = fds[1];
}

static void holder_count_inherited(const struct map_line *m, void *ctx)
{
    unsigned int *inherited = ctx;

    for (unsigned int i = 0; i < holder.n_dev; i++)
        *inherited += m->start == holder.dev[i];
}

/* While the child still lives: where the DMA page is now and which device mappings the
 * child got; then ends the child. One line on stderr. */
static void holder_report(void)
{
    char pid[24], where[160];
    unsigned int inherited = 0;
    uint64_t now = 0;
    int status = 0, rc;

    if (holder.child <= 0)
        return;
    if (holder.dma_pfnmap) {
        now = holder.dma_phys; /* a PFN map holds no page that could be copied */
    } else if (holder.dma_virt != 0) {
        int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

        if (pagemap >= 0) {
            now = page_phys(pagemap, holder.dma_virt);
            close(pagemap);
        }
    }
    snprintf(pid, sizeof(pid), "%ld", (long)holder.child);
    rc = for_each_mapping(pid, holder_count_inherited, &inherited);
    close(holder.release_fd);
    while (waitpid(holder.child, &status, 0) < 0 && errno == EINTR)
        ;
    holder.child = 0;
    if (holder.dma_virt == 0)
        snprintf(where, sizeof(where), "the transport names no physical DMA address");
    else if (now != holder.dma_phys)
        snprintf(where, sizeof(where), "DMA memory at virtual 0x%lx moved from physical "
                 "0x%llx to 0x%llx (copy-on-write)", (unsigned long)holder.dma_virt,
                 (unsigned long long)holder.dma_phys, (unsigned long long)now);
    else
        snprintf(where, sizeof(where), "DMA memory stayed at physical 0x%llx%s",
                 (unsigned long long)now, holder.dma_pfnmap ? " (a /dev/mem map)" : "");
    if (rc < 0)
        fprintf(stderr, "fork-holder: %s; the child's maps: %s\n", where, strerror(-rc));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "fork-holder: %s; the child ended with status 0x%x\n", where, status);
    else
        fprintf(stderr, "fork-holder: %s; the child mapped %u of %u device and DMA "
                "mappings\n", where, inherited, holder.n_dev);
    holder.failed = rc < 0 || status != 0 || inherited > 0 ||
                    (holder.dma_virt != 0 && now != holder.dma_phys);
}

/* The end of a successful run: fails unless the page stayed and the child had no
 * mapping of the device. */
static void holder_end(void)
{
    holder_report();
    if (holder.failed)
        exit(1);
}

/* ---- many connections at once: echo client and server -------------------------------- */

#define ECHO_MAX 256

struct echo_conn {
    int s, rfd, wfd;
    int connecting, shut, done, peer_eof;
    size_t sent, got;            /* client: pattern bytes sent / echoed back */
    uint8_t buf[16384];          /* server: bytes read, not yet echoed */
    size_t len, off;
};

/* Byte i of connection k's pattern: differs per connection, so crossed streams show. */
static uint8_t echo_byte(unsigned int k, size_t i)
{
    return (uint8_t)((i * 131u) ^ (k * 77u) ^ (i >> 9));
}

static void echo_fill(uint8_t *buf, unsigned int k, size_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = echo_byte(k, off + i);
}

static void echo_clients(struct vsock_transport *t, unsigned int n, uint32_t cid, uint32_t port,
                         size_t bytes)
{
    static struct echo_conn c[ECHO_MAX];
    static struct pollfd p[2 * ECHO_MAX];
    uint8_t chunk[65536], in[65536];
    struct sockaddr_vm addr;
    unsigned int left = n;

    vsock_addr_init(&addr, cid, port);
    for (unsigned int k = 0; k < n; k++) {
        int rc;

        c[k].s = vsock_socket(t, SOCK_STREAM, VSOCK_NONBLOCK);
        if (c[k].s < 0)
            die(-c[k].s, "socket %u", k);
        rc = vsock_connect(t, c[k].s, &addr);
        if (rc < 0 && rc != -EINPROGRESS)
            die(-rc, "connect %u", k);
        c[k].connecting = rc == -EINPROGRESS;
        if ((rc = vsock_poll_fds(t, c[k].s, &c[k].rfd, &c[k].wfd)) < 0)
            die(-rc, "vsock_poll_fds");
    }
    while (left > 0) {
        for (unsigned int k = 0; k < n; k++) {
            p[2 * k] = (struct pollfd){.fd = c[k].done || c[k].connecting ? -1 : c[k].rfd,
                                       .events = POLLIN};
            p[2 * k + 1] = (struct pollfd){
                .fd = !c[k].done && (c[k].connecting || c[k].sent < bytes) ? c[k].wfd : -1,
                .events = POLLOUT};
        }
        if (poll(p, 2 * n, 10000) <= 0)
            die(errno, "no progress for 10 s (%u of %u connections unfinished)", left, n);
        for (unsigned int k = 0; k < n; k++) {
            struct echo_conn *e = &c[k];

            if (e->connecting && p[2 * k + 1].revents) {
                int err = vsock_socket_error(t, e->s);

                if (err < 0)
                    die(-err, "connect %u", k);
                e->connecting = 0;
                continue;
            }
            if (p[2 * k + 1].revents && e->sent < bytes) {
                size_t want = bytes - e->sent < sizeof(chunk) ? bytes - e->sent : sizeof(chunk);
                ssize_t w;

                echo_fill(chunk, k, e->sent, want);
                w = vsock_write(t, e->s, chunk, want);
                if (w < 0 && w != -EAGAIN)
                    die((int)-w, "write %u", k);
                if (w > 0)
                    e->sent += (size_t)w;
                if (e->sent == bytes && vsock_shutdown(t, e->s, SHUT_WR) < 0)
                    die(0, "shutdown %u", k);
            }
            if (p[2 * k].revents) {
                ssize_t r;

                while ((r = vsock_read(t, e->s, in, sizeof(in))) > 0) {
                    echo_fill(chunk, k, e->got, (size_t)r);
                    if (e->got + (size_t)r > bytes || memcmp(chunk, in, (size_t)r) != 0)
                        die(0, "connection %u: echo differs at byte %zu", k, e->got);
                    e->got += (size_t)r;
                }
                if (r < 0 && r != -EAGAIN)
                    die((int)-r, "read %u", k);
                if (r == 0) {
                    if (e->got != bytes)
                        die(0, "connection %u: EOF after %zu of %zu bytes", k, e->got, bytes);
                    e->done = 1;
                    vsock_close(t, e->s);
                    left--;
                }
            }
        }
    }
    printf("%u connections, %zu bytes each way each: ok\n", n, bytes);
}

static void echo_server(struct vsock_transport *t, int l, unsigned int n)
{
    static struct echo_conn c[ECHO_MAX];
    static struct pollfd p[2 * ECHO_MAX + 1];
    unsigned int accepted = 0, finished = 0;
    int lr, lw, rc;

    if ((rc = vsock_set_nonblock(t, l, 1)) < 0 || (rc = vsock_poll_fds(t, l, &lr, &lw)) < 0)
        die(-rc, "listener");
    while (finished < n) {
        p[0] = (struct pollfd){.fd = accepted < n ? lr : -1, .events = POLLIN};
        for (unsigned int k = 0; k < accepted; k++) {
            struct echo_conn *e = &c[k];

            p[1 + 2 * k] = (struct pollfd){.fd = !e->done && !e->peer_eof && e->len == 0
                                                     ? e->rfd : -1,
                                           .events = POLLIN};
            p[2 + 2 * k] = (struct pollfd){.fd = !e->done && e->len > 0 ? e->wfd : -1,
                                           .events = POLLOUT};
        }
        if (poll(p, 1 + 2 * accepted, 10000) <= 0)
            die(errno, "no progress for 10 s (%u accepted, %u finished of %u)", accepted,
                finished, n);
        if (p[0].revents) {
            int s = vsock_accept(t, l, NULL, VSOCK_NONBLOCK);

            if (s < 0 && s != -EAGAIN)
                die(-s, "accept");
            if (s >= 0) {
                c[accepted].s = s;
                if ((rc = vsock_poll_fds(t, s, &c[accepted].rfd, &c[accepted].wfd)) < 0)
                    die(-rc, "vsock_poll_fds");
                accepted++;
            }
            continue; /* p[] does not describe the new connection yet */
        }
        for (unsigned int k = 0; k < accepted; k++) {
            struct echo_conn *e = &c[k];

            if (p[1 + 2 * k].revents) {
                ssize_t r = vsock_read(t, e->s, e->buf, sizeof(e->buf));

                if (r < 0 && r != -EAGAIN)
                    die((int)-r, "read %u", k);
                if (r == 0)
                    e->peer_eof = 1;
                if (r > 0) {
                    e->len = (size_t)r;
                    e->off = 0;
                }
            }
            if (p[2 + 2 * k].revents) {
                ssize_t w = vsock_write(t, e->s, e->buf + e->off, e->len);

                if (w < 0 && w != -EAGAIN)
                    die((int)-w, "write %u", k);
                if (w > 0) {
                    e->off += (size_t)w;
                    e->len -= (size_t)w;
                }
            }
            if (!e->done && e->peer_eof && e->len == 0) {
                vsock_shutdown(t, e->s, SHUT_WR);
                vsock_close(t, e->s);
                e->done = 1;
                finished++;
            }
        }
    }
}

int main(int argc, char **argv)
{
    const char *spec = NULL;
    struct vsock_transport *t;
    struct sockaddr_vm addr;
    const char *storm = NULL;
    char why[300] = "";
    int s, rc, argi = 1, fork_holder = 0;

    while (argc - argi > 1 && strncmp(argv[argi], "--", 2) == 0) {
        if (strcmp(argv[argi], "--fork-holder") == 0) {
            fork_holder = 1;
            argi++;
            continue;
        }
        if (strcmp(argv[argi], "--transport") == 0)
            spec = argv[argi + 1];
        else if (strcmp(argv[argi], "--eintr-storm") == 0)
            storm = argv[argi + 1];
        else
            break;
        argi += 2;
    }
    if (argc - argi < 2)
        die(0, "usage: vsock_xfer [--transport SPEC] [--eintr-storm USEC] [--fork-holder] "
               "connect CID PORT | listen PORT | echo-clients N CID PORT BYTES | "
               "echo-server PORT N");
    if (storm != NULL && strcmp(argv[argi], "connect") != 0 && strcmp(argv[argi], "listen") != 0)
        die(0, "--eintr-storm: only with connect or listen");
    if (storm != NULL)
        storm_start(storm);
    rc = vsock_transport_open(spec, &t, why, sizeof(why));
    if (rc < 0)
        die(0, "transport: %s", why[0] ? why : strerror(-rc));
    /* The development machine must never connect over kernel AF_VSOCK (its peer is the
     * infrastructure's host): this tool only runs on userspace transports. */
    if (strcmp(vsock_transport_name(t), "kernel") == 0)
        die(0, "refusing the kernel transport: give --transport vhost-user:PATH or "
               "VSOCK_TRANSPORT");
    if (fork_holder)
        holder_start(t);
    s = vsock_socket(t, SOCK_STREAM, 0);
    if (s < 0)
        die(-s, "socket");
    if (strcmp(argv[argi], "connect") == 0 && argc - argi == 3) {
        uint32_t cid, port;

        parse_u32(argv[argi + 1], &cid, "CID");
        parse_u32(argv[argi + 2], &port, "port");
        vsock_addr_init(&addr, cid, port);
        do /* blocking: the transport's own wait (Linux: EINTR cancels the attempt) */
            rc = vsock_connect(t, s, &addr);
        while (storm_retry(rc));
        if (rc < 0)
            die(-rc, "connect %s:%s", argv[argi + 1], argv[argi + 2]);
    } else if (strcmp(argv[argi], "listen") == 0 && argc - argi == 2) {
        uint32_t port;
        int l = s;

        parse_u32(argv[argi + 1], &port, "port");
        vsock_addr_init(&addr, VMADDR_CID_ANY, port);
        if ((rc = vsock_bind(t, l, &addr)) < 0)
            die(-rc, "bind port %s", argv[argi + 1]);
        if ((rc = vsock_listen(t, l, 4)) < 0)
            die(-rc, "listen");
        fprintf(stderr, "listening %u\n", port);
        do
            s = vsock_accept(t, l, NULL, 0);
        while (storm_retry(s));
        if (s < 0)
            die(-s, "accept");
        vsock_close(t, l);
    } else if (strcmp(argv[argi], "echo-clients") == 0 && argc - argi == 5) {
        uint32_t cid, port;
        unsigned long n = strtoul(argv[argi + 1], NULL, 10);

        parse_u32(argv[argi + 2], &cid, "CID");
        parse_u32(argv[argi + 3], &port, "port");
        if (n == 0 || n > ECHO_MAX)
            die(0, "echo-clients: 1 to %d connections", ECHO_MAX);
        vsock_close(t, s);
        echo_clients(t, (unsigned int)n, cid, port, strtoull(argv[argi + 4], NULL, 10));
        holder_end();
        vsock_transport_close(t);
        return 0;
    } else if (strcmp(argv[argi], "echo-server") == 0 && argc - argi == 3) {
        uint32_t port;
        unsigned long n = strtoul(argv[argi + 2], NULL, 10);

        parse_u32(argv[argi + 1], &port, "port");
        if (n == 0 || n > ECHO_MAX)
            die(0, "echo-server: 1 to %d connections", ECHO_MAX);
        vsock_addr_init(&addr, VMADDR_CID_ANY, port);
        if ((rc = vsock_bind(t, s, &addr)) < 0)
            die(-rc, "bind port %s", argv[argi + 1]);
        if ((rc = vsock_listen(t, s, (int)n)) < 0)
            die(-rc, "listen");
        fprintf(stderr, "listening %u\n", port);
        echo_server(t, s, (unsigned int)n);
        holder_end();
        vsock_close(t, s);
        vsock_transport_close(t);
        return 0;
    } else {
        die(0, "usage: vsock_xfer [--transport SPEC] [--eintr-storm USEC] [--fork-holder] "
               "connect CID PORT | listen PORT | echo-clients N CID PORT BYTES | "
               "echo-server PORT N");
    }
    if (storm != NULL) {
        relay_blocking(t, s);
    } else {
        if ((rc = vsock_set_nonblock(t, s, 1)) < 0)
            die(-rc, "set_nonblock");
        relay(t, s);
    }
    holder_end();
    vsock_close(t, s);
    vsock_transport_close(t);
    storm_stop();
    return 0;
}
