/* loadgen.c: the benchmark's endpoints and meters, driven by bench/run.sh. Servers (sink,
 * echo) on one epoll loop so 10,000 idle connections cost little; clients for bulk,
 * bidirectional, ping-pong, connection-rate and idle-hold runs; the least work a relay
 * can do (one connection, a blocking splice loop per direction), the suite's reference
 * for what any relay reaches on this machine; a wrapper that reports the CPU time of a
 * relay's process tree; a meter of a process tree's memory and fds.
 * A benchmark tool, not a test: it prints numbers, one line, and fails loudly. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LG_IOBUF (1024 * 1024)

static const char *lg_prog = "loadgen";

static _Noreturn void lg_die(const char *what, const char *cause)
{
    fprintf(stderr, "%s: %s: %s\n", lg_prog, what, cause);
    exit(1);
}

static _Noreturn void lg_die_errno(const char *what)
{
    lg_die(what, strerror(errno));
}

/* n = call, made again while a signal interrupts it; any other failure is fatal, what
 * naming the step. A macro, so the meters' loops still call read or splice directly. */
#define LG_MUST(n, call, what)                         \
    do {                                               \
        while (((n) = (call)) < 0 && errno == EINTR)   \
            ;                                          \
        if ((n) < 0)                                   \
            lg_die_errno(what);                        \
    } while (0)

static double lg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long lg_number(const char *s, const char *what)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        lg_die(what, "not a number");
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end)
        lg_die(what, "not a number");
    return v;
}

/* ---- addresses: tcp:HOST:PORT, unix:PATH, hybrid:PATH:PORT (CONNECT line first) */

struct lg_addr {
    int family;
    struct sockaddr_storage sa;
    socklen_t salen;
    long hybrid_port;   /* -1: plain */
};

static void lg_parse_unix(struct lg_addr *a, const char *path)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&a->sa;

    if (strlen(path) >= sizeof(un->sun_path))
        lg_die(path, "path too long");
    un->sun_family = AF_UNIX;
    strcpy(un->sun_path, path);
    a->family = AF_UNIX;
    a->salen = (socklen_t)sizeof(*un);
}

static void lg_parse_addr(const char *text, struct lg_addr *a)
{
    char buf[512];
    char *colon;

    memset(a, 0, sizeof(*a));
    a->hybrid_port = -1;
    if (strlen(text) >= sizeof(buf))
        lg_die(text, "address too long");
    strcpy(buf, text);
    if (strncmp(buf, "unix:", 5) == 0) {
        lg_parse_unix(a, buf + 5);
    } else if (strncmp(buf, "hybrid:", 7) == 0) {
        colon = strrchr(buf + 7, ':');
        if (!colon)
            lg_die(text, "expected hybrid:PATH:PORT");
        *colon = '\0';
        a->hybrid_port = (long)lg_number(colon + 1, text);
        lg_parse_unix(a, buf + 7);
    } else if (strncmp(buf, "tcp:", 4) == 0) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res;
        colon = strrchr(buf + 4, ':');
        if (!colon)
            lg_die(text, "expected tcp:HOST:PORT");
        *colon = '\0';
        if (getaddrinfo(buf + 4, colon + 1, &hints, &res) != 0)
            lg_die(text, "cannot resolve");
        memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
        a->salen = res->ai_addrlen;
        a->family = res->ai_family;
        freeaddrinfo(res);
    } else {
        lg_die(text, "expected tcp:HOST:PORT, unix:PATH or hybrid:PATH:PORT");
    }
}

static void lg_nodelay(int fd, int family)
{
    int one = 1;

    if (family != AF_UNIX)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static bool lg_read_full(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool lg_write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The hybrid convention: "CONNECT <port>\n", answered by "OK <port>\n". */
static int lg_hybrid_handshake(int fd, long port)
{
    char line[64];
    size_t len = 0;
    int n = snprintf(line, sizeof(line), "CONNECT %ld\n", port);

    if (!lg_write_full(fd, line, (size_t)n))
        return -1;
    while (len < sizeof(line) - 1) {
        if (!lg_read_full(fd, line + len, 1))
            return -1;
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
    return strncmp(line, "OK ", 3) == 0 ? 0 : -1;
}

/* Connects, retrying while nobody listens yet (the relay is still starting) for up to
 * retry_s seconds. Returns a blocking fd, or -1 with errno set. */
static int lg_connect(const struct lg_addr *a, double retry_s)
{
    double deadline = lg_now() + retry_s;

    for (;;) {
        int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) == 0) {
            lg_nodelay(fd, a->family);
            if (a->hybrid_port < 0 || lg_hybrid_handshake(fd, a->hybrid_port) == 0)
                return fd;
            errno = ECONNREFUSED;
        }
        int err = errno;
        close(fd);
        bool retry = err == ECONNREFUSED || err == ENOENT || err == EAGAIN;
        if (!retry || lg_now() > deadline) {
            errno = err;
            return -1;
        }
        usleep(2000);
    }
}

static int lg_listen(const struct lg_addr *a)
{
    int one = 1;
    int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        lg_die_errno("socket");
    if (a->family == AF_UNIX)
        (void)unlink(((const struct sockaddr_un *)&a->sa)->sun_path);
    else
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&a->sa, a->salen) < 0)
        lg_die_errno("bind");
    if (listen(fd, 4096) < 0)
        lg_die_errno("listen");
    return fd;
}

/* ---- servers: one epoll loop; echo keeps a copy only of what the peer did not take */

enum lg_mode { LG_SINK, LG_ECHO };

struct lg_conn {
    int fd;
    unsigned long long count, expect;
    size_t hdr_len;
    bool acked;
    char *pending;
    size_t plen, poff;
    bool eof;
};

static char lg_buf[LG_IOBUF];

static void lg_conn_close(struct lg_conn *c)
{
    close(c->fd);
    free(c->pending);
    free(c);
}

static void lg_conn_events(int ep, struct lg_conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};

    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        lg_die_errno("epoll_ctl");
}

/* Returns false when the connection is finished (closed). */
static bool lg_echo_flush(int ep, struct lg_conn *c)
{
    while (c->poff < c->plen) {
        ssize_t n = write(c->fd, c->pending + c->poff, c->plen - c->poff);
        if (n < 0 && errno == EAGAIN)
            return true;
        if (n < 0)
            return false;
        c->poff += (size_t)n;
    }
    free(c->pending);
    c->pending = NULL;
    c->plen = c->poff = 0;
    if (c->eof)
        return false;
    lg_conn_events(ep, c, EPOLLIN);
    return true;
}

static bool lg_echo_readable(int ep, struct lg_conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, lg_buf, sizeof(lg_buf)), w;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        if (n == 0)
            return false;   /* nothing pending (we only read with nothing pending) */
        w = write(c->fd, lg_buf, (size_t)n);
        if (w < 0 && errno != EAGAIN)
            return false;
        if (w < 0)
            w = 0;
        if (w < n) {
            c->plen = (size_t)(n - w);
            c->poff = 0;
            c->pending = malloc(c->plen);
            if (!c->pending)
                lg_die("echo", "out of memory");
            memcpy(c->pending, lg_buf + w, c->plen);
            lg_conn_events(ep, c, EPOLLOUT);
            return true;
        }
    }
}

/* The sink's protocol needs no half-close (ncat's --sh-exec drops the connection on
 * one): an 8-byte length first, then the data; once it has all arrived the sink answers
 * with the count it saw. */
static bool lg_sink_readable(struct lg_conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, lg_buf, sizeof(lg_buf));
        size_t off = 0;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        if (n == 0)
            return false;
        while (c->hdr_len < sizeof(c->expect) && off < (size_t)n)
            ((char *)&c->expect)[c->hdr_len++] = lg_buf[off++];
        c->count += (unsigned long long)((size_t)n - off);
        if (c->hdr_len == sizeof(c->expect) && !c->acked && c->count >= c->expect) {
            /* The peer waits for this and sends nothing meanwhile: room is certain. */
            if (write(c->fd, &c->count, sizeof(c->count)) != (ssize_t)sizeof(c->count))
                return false;
            c->acked = true;
        }
    }
}

static _Noreturn void lg_serve(enum lg_mode mode, const char *addr_text)
{
    struct lg_addr a;
    struct epoll_event ev, evs[256];
    int lfd, ep;

    lg_parse_addr(addr_text, &a);
    lfd = lg_listen(&a);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        lg_die_errno("epoll_create1");
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        lg_die_errno("epoll_ctl");
    fprintf(stderr, "listening %s\n", addr_text);
    for (;;) {
        int n;

        LG_MUST(n, epoll_wait(ep, evs, 256, -1), "epoll_wait");
        for (int i = 0; i < n; i++) {
            struct lg_conn *c = evs[i].data.ptr;
            bool keep;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    c = calloc(1, sizeof(*c));
                    if (!c)
                        lg_die("accept", "out of memory");
                    c->fd = fd;
                    lg_nodelay(fd, a.family);
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
                        lg_die_errno("epoll_ctl");
                }
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                    fprintf(stderr, "%s: accept: %s\n", lg_prog, strerror(errno));
                continue;
            }
            if (mode == LG_SINK)
                keep = lg_sink_readable(c);
            else if (c->pending)
                keep = lg_echo_flush(ep, c);
            else
                keep = lg_echo_readable(ep, c);
            if (!keep)
                lg_conn_close(c);
        }
    }
}

/* ---- clients */

static char *lg_pattern(size_t len)
{
    char *p = malloc(len ? len : 1);

    if (!p)
        lg_die("buffer", "out of memory");
    for (size_t i = 0; i < len; i++)
        p[i] = (char)('a' + i % 23);
    return p;
}

static int lg_client_connect(const char *addr_text, double retry_s)
{
    struct lg_addr a;
    int fd;

    lg_parse_addr(addr_text, &a);
    fd = lg_connect(&a, retry_s);
    if (fd < 0)
        lg_die_errno(addr_text);
    return fd;
}

static void lg_send(int fd, const char *chunk, size_t chunk_len, unsigned long long total)
{
    while (total > 0) {
        size_t len = total < chunk_len ? (size_t)total : chunk_len;
        if (!lg_write_full(fd, chunk, len))
            lg_die_errno("write");
        total -= len;
    }
}

/* bulk ADDR BYTES CHUNK: announce BYTES, write them, wait for the sink's count. */
static int lg_bulk(const char *addr, unsigned long long bytes, size_t chunk)
{
    char *buf = lg_pattern(chunk);
    unsigned long long got = 0;
    int fd = lg_client_connect(addr, 10.0);
    double t0 = lg_now(), dt;

    if (!lg_write_full(fd, &bytes, sizeof(bytes)))
        lg_die_errno("write");
    lg_send(fd, buf, chunk, bytes);
    if (!lg_read_full(fd, &got, sizeof(got)))
        lg_die("bulk", "no count from the sink");
    dt = lg_now() - t0;
    if (got != bytes)
        lg_die("bulk", "the sink counted a different number of bytes");
    printf("%llu %.6f\n", bytes, dt);
    close(fd);
    free(buf);
    return 0;
}

struct lg_writer {
    int fd;
    const char *chunk;
    size_t chunk_len;
    unsigned long long total;
};

static void *lg_writer_main(void *arg)
{
    struct lg_writer *w = arg;

    lg_send(w->fd, w->chunk, w->chunk_len, w->total);
    return NULL;
}

/* bidir ADDR BYTES CHUNK: against an echo server, BYTES go each way at once (no
 * half-close needed: the reader stops at BYTES). */
static int lg_bidir(const char *addr, unsigned long long bytes, size_t chunk)
{
    struct lg_writer w = {.chunk = lg_pattern(chunk), .chunk_len = chunk, .total = bytes};
    char *in = malloc(LG_IOBUF);
    unsigned long long got = 0;
    pthread_t th;
    double t0, dt;

    if (!in)
        lg_die("buffer", "out of memory");
    w.fd = lg_client_connect(addr, 10.0);
    t0 = lg_now();
    if (pthread_create(&th, NULL, lg_writer_main, &w) != 0)
        lg_die("thread", "cannot start");
    while (got < bytes) {
        ssize_t n;

        LG_MUST(n, read(w.fd, in, LG_IOBUF), "read");
        if (n == 0)
            break;
        got += (unsigned long long)n;
    }
    pthread_join(th, NULL);
    dt = lg_now() - t0;
    if (got != bytes)
        lg_die("bidir", "the echo came back short");
    printf("%llu %.6f\n", 2 * bytes, dt);
    return 0;
}

static int lg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* pingpong ADDR SIZE COUNT: p50 p99 mean round trip in microseconds. */
static int lg_pingpong(const char *addr, size_t size, size_t count)
{
    char *out = lg_pattern(size), *in = malloc(size ? size : 1);
    double *rtt = malloc(count * sizeof(double)), sum = 0;
    int fd = lg_client_connect(addr, 10.0);

    if (!in || !rtt || count == 0)
        lg_die("pingpong", "out of memory or no count");
    for (size_t i = 0; i < count + 200; i++) {
        double t0 = lg_now();
        if (!lg_write_full(fd, out, size) || !lg_read_full(fd, in, size))
            lg_die("pingpong", "the echo stopped");
        if (i >= 200)
            rtt[i - 200] = (lg_now() - t0) * 1e6;
    }
    for (size_t i = 0; i < count; i++)
        sum += rtt[i];
    qsort(rtt, count, sizeof(double), lg_cmp_double);
    printf("%.2f %.2f %.2f\n", rtt[count / 2], rtt[(count * 99) / 100], sum / (double)count);
    close(fd);
    return 0;
}

/* connrate ADDR COUNT SIZE: connect, send SIZE, read the echo, close; COUNT times. */
static int lg_connrate(const char *addr_text, size_t count, size_t size)
{
    struct lg_addr a;
    char *out = lg_pattern(size), *in = malloc(size ? size : 1);
    double t0;

    if (!in)
        lg_die("buffer", "out of memory");
    lg_parse_addr(addr_text, &a);
    close(lg_client_connect(addr_text, 10.0));   /* wait for the relay to listen */
    t0 = lg_now();
    for (size_t i = 0; i < count; i++) {
        int fd = lg_connect(&a, 0);
        if (fd < 0)
            lg_die_errno(addr_text);
        if (!lg_write_full(fd, out, size) || !lg_read_full(fd, in, size))
            lg_die("connrate", "the echo stopped");
        close(fd);
    }
    printf("%zu %.6f %.1f\n", count, lg_now() - t0, (double)count / (lg_now() - t0));
    return 0;
}

/* hold ADDR COUNT: up to COUNT connections, each proven end to end by one echoed byte
 * (3 s at most); prints "ready N" (N < COUNT: the relay stopped taking more, the reason
 * on stderr), holds them until stdin closes. */
static int lg_hold(const char *addr_text, size_t count)
{
    struct timeval tmo = {.tv_sec = 3};
    struct lg_addr a;
    int *fds = malloc(count * sizeof(int));
    size_t held = 0;
    char c = 'x';

    if (!fds)
        lg_die("hold", "out of memory");
    lg_parse_addr(addr_text, &a);
    while (held < count) {
        int fd = lg_connect(&a, held == 0 ? 10.0 : 1.0);
        if (fd < 0) {
            fprintf(stderr, "%s: hold: connection %zu: %s\n", lg_prog, held + 1, strerror(errno));
            break;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
        if (!lg_write_full(fd, &c, 1) || !lg_read_full(fd, &c, 1)) {
            fprintf(stderr, "%s: hold: connection %zu: no echo through the relay within 3 s\n",
                    lg_prog, held + 1);
            close(fd);
            break;
        }
        fds[held++] = fd;
    }
    printf("ready %zu\n", held);
    fflush(stdout);
    while (read(0, &c, 1) > 0)
        ;
    for (size_t i = 0; i < held; i++)
        close(fds[i]);
    return 0;
}

/* ---- the least a relay can do: no event loop, no buffers in user space, no timers;
 * one blocking thread per direction moves data socket -> pipe -> socket with splice and
 * passes EOF on as a half-close. What the suite's relays are measured against: whatever
 * this reaches is the cost of the hop itself on this machine. */

struct lg_pump {
    int from, to;
};

static void *lg_pump_main(void *arg)
{
    const struct lg_pump *p = arg;
    int pipefd[2];

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        lg_die_errno("pipe");
    (void)fcntl(pipefd[1], F_SETPIPE_SZ, LG_IOBUF);
    for (;;) {
        ssize_t n;

        LG_MUST(n, splice(p->from, NULL, pipefd[1], NULL, LG_IOBUF, SPLICE_F_MOVE),
                "relay: splice from the socket");
        if (n == 0)
            break;
        while (n > 0) {
            ssize_t m;

            LG_MUST(m, splice(pipefd[0], NULL, p->to, NULL, (size_t)n, SPLICE_F_MOVE),
                    "relay: splice to the socket");
            if (m == 0)
                lg_die_errno("relay: splice to the socket");
            n -= m;
        }
    }
    (void)shutdown(p->to, SHUT_WR);
    close(pipefd[0]);
    close(pipefd[1]);
    return NULL;
}

/* relay LISTEN TARGET: takes one connection on LISTEN, connects it to TARGET, relays
 * both ways until both have ended, exits. */
static int lg_relay(const char *listen_text, const char *target_text)
{
    struct lg_addr la;
    struct pollfd pfd = {.events = POLLIN};
    struct lg_pump fwd, back;
    pthread_t th;

    lg_parse_addr(listen_text, &la);
    pfd.fd = lg_listen(&la);
    while (poll(&pfd, 1, -1) < 0)
        if (errno != EINTR)
            lg_die_errno("poll");
    fwd.from = accept4(pfd.fd, NULL, NULL, SOCK_CLOEXEC);
    if (fwd.from < 0)
        lg_die_errno("accept");
    close(pfd.fd);
    lg_nodelay(fwd.from, la.family);
    fwd.to = lg_client_connect(target_text, 0);
    back = (struct lg_pump){.from = fwd.to, .to = fwd.from};
    if (pthread_create(&th, NULL, lg_pump_main, &fwd) != 0)
        lg_die("thread", "cannot start");
    lg_pump_main(&back);
    pthread_join(th, NULL);
    return 0;
}

/* ---- meters */

static pid_t lg_child;

static void lg_forward(int sig)
{
    if (lg_child > 0)
        kill(lg_child, sig);
}

/* run FILE CMD...: runs CMD, writes the CPU seconds (user+system) of CMD and every
 * descendant it reaped to FILE, exits as CMD did. */
static int lg_run(const char *file, char **argv)
{
    struct sigaction sa = {.sa_handler = lg_forward};
    struct rusage ru;
    int status;
    FILE *f;

    lg_child = fork();
    if (lg_child < 0)
        lg_die_errno("fork");
    if (lg_child == 0) {
        execvp(argv[0], argv);
        lg_die_errno(argv[0]);
    }
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (waitpid(lg_child, &status, 0) < 0)
        if (errno != EINTR)
            lg_die_errno("waitpid");
    getrusage(RUSAGE_CHILDREN, &ru);
    f = fopen(file, "w");
    if (!f)
        lg_die_errno(file);
    fprintf(f, "%.6f\n", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A kB figure from a "Key:   N kB" line of a /proc file; 0 if absent. */
static unsigned long long lg_proc_kb(const char *path, const char *key)
{
    char line[256];
    size_t klen = strlen(key);
    unsigned long long v = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, klen) == 0) {
            v = strtoull(line + klen, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long lg_ppid(long pid)
{
    char path[64], buf[512], *p;
    long ppid = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
        (void)sscanf(p + 2, "%*c %ld", &ppid);
    fclose(f);
    return ppid;
}

static size_t lg_count_fds(long pid)
{
    char path[64];
    struct dirent *d;
    size_t n = 0;
    DIR *dir;

    snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
    dir = opendir(path);
    if (!dir)
        return 0;
    while ((d = readdir(dir)) != NULL)
        if (d->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* treemem PID: "procs rss_kb pss_kb fds" summed over PID and all its descendants. RSS
 * counts shared pages once per process (socat's fork model looks worse than it is), so
 * PSS is printed too. */
static int lg_treemem(long root)
{
    enum { LG_PID_MAX = 4194304 };   /* the kernel's upper bound for pid_max */
    long *parent = calloc(LG_PID_MAX + 1, sizeof(long));
    size_t procs = 0, fds = 0;
    unsigned long long rss = 0, pss = 0;
    struct dirent *d;
    DIR *dir = opendir("/proc");

    if (!dir || !parent)
        lg_die("treemem", "cannot read /proc");
    while ((d = readdir(dir)) != NULL) {
        long p = strtol(d->d_name, NULL, 10);
        if (p > 0 && p <= LG_PID_MAX)
            parent[p] = lg_ppid(p);
    }
    rewinddir(dir);
    while ((d = readdir(dir)) != NULL) {
        long p = strtol(d->d_name, NULL, 10), up = p;
        char path[64];
        int depth = 0;
        if (p <= 0 || p > LG_PID_MAX)
            continue;
        while (up > 1 && up != root && up <= LG_PID_MAX && depth++ < 64)
            up = parent[up];
        if (up != root)
            continue;
        procs++;
        snprintf(path, sizeof(path), "/proc/%ld/status", p);
        rss += lg_proc_kb(path, "VmRSS:");
        snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", p);
        pss += lg_proc_kb(path, "Pss:");
        fds += lg_count_fds(p);
    }
    closedir(dir);
    free(parent);
    printf("%zu %llu %llu %zu\n", procs, rss, pss, fds);
    return 0;
}

static _Noreturn void lg_usage(void)
{
    fprintf(stderr,
            "Usage: loadgen serve sink|echo ADDR\n"
            "       loadgen bulk|bidir ADDR BYTES CHUNK\n"
            "       loadgen pingpong ADDR SIZE COUNT\n"
            "       loadgen connrate ADDR COUNT SIZE\n"
            "       loadgen hold ADDR COUNT\n"
            "       loadgen relay LISTEN-ADDR TARGET-ADDR\n"
            "       loadgen run CPUFILE CMD [ARG...]\n"
            "       loadgen treemem PID\n"
            "ADDR: tcp:HOST:PORT, unix:PATH, hybrid:PATH:PORT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    signal(SIGPIPE, SIG_IGN);
    if (strcmp(cmd, "serve") == 0 && argc == 4) {
        if (strcmp(argv[2], "sink") != 0 && strcmp(argv[2], "echo") != 0)
            lg_usage();
        lg_serve(strcmp(argv[2], "sink") == 0 ? LG_SINK : LG_ECHO, argv[3]);
    }
    if (strcmp(cmd, "bulk") == 0 && argc == 5)
        return lg_bulk(argv[2], lg_number(argv[3], "BYTES"), (size_t)lg_number(argv[4], "CHUNK"));
    if (strcmp(cmd, "bidir") == 0 && argc == 5)
        return lg_bidir(argv[2], lg_number(argv[3], "BYTES"), (size_t)lg_number(argv[4], "CHUNK"));
    if (strcmp(cmd, "pingpong") == 0 && argc == 5)
        return lg_pingpong(argv[2], (size_t)lg_number(argv[3], "SIZE"),
                           (size_t)lg_number(argv[4], "COUNT"));
    if (strcmp(cmd, "connrate") == 0 && argc == 5)
        return lg_connrate(argv[2], (size_t)lg_number(argv[3], "COUNT"),
                           (size_t)lg_number(argv[4], "SIZE"));
    if (strcmp(cmd, "hold") == 0 && argc == 4)
        return lg_hold(argv[2], (size_t)lg_number(argv[3], "COUNT"));
    if (strcmp(cmd, "relay") == 0 && argc == 4)
        return lg_relay(argv[2], argv[3]);
    if (strcmp(cmd, "run") == 0 && argc >= 4)
        return lg_run(argv[2], argv + 3);
    if (strcmp(cmd, "treemem") == 0 && argc == 3)
        return lg_treemem((long)lg_number(argv[2], "PID"));
    lg_usage();
}
