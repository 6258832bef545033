/* vsockcat.h: types shared by vsockcat's modules: the global options, a parsed address
 * specification, and the address-type descriptor every address file provides.
 * Nothing here does I/O. */
#ifndef VSOCKCAT_H
#define VSOCKCAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_EXIT_OK 0
#define VC_EXIT_RUNTIME 1
#define VC_EXIT_USAGE 2

/* Global options (command line). */
struct vc_opts {
    int only_dir;            /* -1 both ways; 0: -u (ADDRESS1 -> ADDRESS2); 1: -U */
    double half_close_wait;  /* -t: after one direction ends, how long the other may idle */
    double idle_timeout;     /* -T: whole relay idle limit; 0 = none */
    size_t bufsize;          /* -b */
    unsigned busy_poll_us;   /* --busy-poll: poll without sleeping this long after data moved */
    bool dump_text;          /* -v */
    bool dump_hex;           /* -x */
    int debug;               /* -d count */
    const char *transport;   /* --transport (NULL: VSOCK_TRANSPORT or auto) */
    const char *listen_port; /* -l: the shorthand VSOCK-LISTEN:PORT STDIO */
};

/* Address option bits: which options a type accepts, and which a spec set. */
enum vc_opt_bit {
    VC_OPT_FORK = 1u << 0,
    VC_OPT_MAX_CHILDREN = 1u << 1,
    VC_OPT_BIND = 1u << 2,
    VC_OPT_REUSEADDR = 1u << 3,
    VC_OPT_CONNECT_TIMEOUT = 1u << 4,
    VC_OPT_BACKLOG = 1u << 5,
    VC_OPT_HISTORY = 1u << 6,
    VC_OPT_PROMPT = 1u << 7,
    VC_OPT_CREAT = 1u << 8,
    VC_OPT_TRUNC = 1u << 9,
    VC_OPT_APPEND = 1u << 10,
    VC_OPT_EXCL = 1u << 11,
    VC_OPT_RDONLY = 1u << 12,
    VC_OPT_WRONLY = 1u << 13,
    VC_OPT_UNLINK_EARLY = 1u << 14,
    VC_OPT_PERM = 1u << 15,
    VC_OPT_RCVBUF = 1u << 16,
    VC_OPT_SNDBUF = 1u << 17,
};

struct vc_addr_opts {
    unsigned set;             /* VC_OPT_* bits given */
    unsigned max_children;    /* 0 = unlimited */
    char *bind;
    bool reuseaddr;
    double connect_timeout;   /* seconds; 0 = transport default */
    int backlog;
    char *history;
    char *prompt;
    unsigned perm;            /* file/socket mode for creat, UNIX-LISTEN */
    int rcvbuf, sndbuf;       /* SO_RCVBUF, SO_SNDBUF in bytes */
};

struct vc_addr_type;

#define VC_MAX_ARGS 2

/* One address as the user wrote it, parsed. */
struct vc_addr_spec {
    const struct vc_addr_type *type;
    char *text;                   /* as written, for messages */
    char *args[VC_MAX_ARGS];
    struct vc_addr_opts o;
    /* Set by the type's check(): parsed numbers, so open() cannot fail on syntax. */
    uint32_t cid, port;
};

enum vc_addr_kind {
    VC_KIND_LOCAL,    /* stdio, file, readline: opened once, cannot be reopened per client */
    VC_KIND_CONNECT,  /* opened (again) for every relay: connect, exec */
    VC_KIND_LISTEN,   /* waits for peers; with fork serves every one */
};

struct vc_end;
struct vc_listener;
struct vc_open_req;

/* The descriptor of an address type: one row of the table in addrtypes.c. */
struct vc_addr_type {
    const char *name;
    const char *const *aliases;     /* NULL-terminated, may be NULL */
    int nargs;                      /* positional arguments after the name */
    const char *synopsis;           /* for --help: "VSOCK-CONNECT:cid:port" */
    enum vc_addr_kind kind;
    unsigned opts;                  /* VC_OPT_* accepted */
    bool uses_vsock;                /* needs a libvsock transport */
    /* Validates the arguments and options at parse time (usage errors). Returns 0 or -1
     * with a reason in err. May be NULL. */
    int (*check)(struct vc_addr_spec *spec, char *err, size_t errsize);
    /* VC_KIND_LOCAL and VC_KIND_CONNECT: starts opening; completes through the request. */
    void (*open)(struct vc_open_req *req);
    /* VC_KIND_LISTEN: creates the listening socket. */
    int (*listen)(const struct vc_addr_spec *spec, struct vc_listener **out,
                  char *err, size_t errsize);
};

extern const struct vc_opts *vc_opts;   /* set once by the command line (options.c) */

/* The libvsock transport, opened by main before any vsock address is used. */
struct vsock_transport;
struct vsock_transport *vc_transport(void);

#endif
