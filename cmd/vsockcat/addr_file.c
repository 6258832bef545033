/* addr_file.c: STDIO (our stdin/stdout) and OPEN:path (a file or device, opened for the
 * directions the relay uses, as socat does). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "addrtypes.h"
#include "open.h"

static void stdio_open(struct vc_open_req *req)
{
    struct vc_end *e = vc_end_new_fd(req->read ? STDIN_FILENO : -1,
                                     req->write ? STDOUT_FILENO : -1, 0,
                                     req->spec->text);

    vc_open_done(req, e, -ENOMEM, "open");
}

static const char *const stdio_aliases[] = {"-", NULL};

const struct vc_addr_type vc_type_stdio = {
    .name = "STDIO",
    .aliases = stdio_aliases,
    .nargs = 0,
    .synopsis = "STDIO",
    .kind = VC_KIND_LOCAL,
    .opts = 0,
    .open = stdio_open,
};

static int open_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    unsigned set = spec->o.set;

    if ((set & VC_OPT_RDONLY) && (set & VC_OPT_WRONLY)) {
        snprintf(err, errsize, "options 'rdonly' and 'wronly' exclude each other");
        return -1;
    }
    if ((set & VC_OPT_RDONLY) && (set & (VC_OPT_TRUNC | VC_OPT_APPEND))) {
        snprintf(err, errsize, "option 'rdonly' excludes 'trunc' and 'append'");
        return -1;
    }
    if ((set & VC_OPT_EXCL) && !(set & VC_OPT_CREAT)) {
        snprintf(err, errsize, "option 'excl' needs 'creat'");
        return -1;
    }
    return 0;
}

static void open_open(struct vc_open_req *req)
{
    const struct vc_addr_spec *spec = req->spec;
    unsigned set = spec->o.set;
    bool rd = req->read, wr = req->write;
    int flags = O_CLOEXEC | O_NOCTTY, fd;
    struct vc_end *e;

    if (((set & VC_OPT_RDONLY) && wr) || ((set & VC_OPT_WRONLY) && rd)) {
        snprintf(req->detail, sizeof(req->detail), "opened %s, but data would flow %s it "
                 "(use -u or -U)", (set & VC_OPT_RDONLY) ? "rdonly" : "wronly",
                 (set & VC_OPT_RDONLY) ? "into" : "out of");
        vc_open_done(req, NULL, -EINVAL, "open");
        return;
    }
    flags |= rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY;
    if (set & VC_OPT_CREAT)
        flags |= O_CREAT;
    if (set & VC_OPT_EXCL)
        flags |= O_EXCL;
    if (set & VC_OPT_TRUNC)
        flags |= O_TRUNC;
    if (set & VC_OPT_APPEND)
        flags |= O_APPEND;
    fd = open(spec->args[0], flags, (mode_t)spec->o.perm);
    if (fd < 0) {
        vc_open_done(req, NULL, -errno, "open");
        return;
    }
    e = vc_end_new_fd(rd ? fd : -1, wr ? fd : -1, VC_END_OWN_FDS, spec->text);
    if (!e)
        close(fd);
    vc_open_done(req, e, -ENOMEM, "open");
}

const struct vc_addr_type vc_type_open = {
    .name = "OPEN",
    .nargs = 1,
    .synopsis = "OPEN:path",
    .kind = VC_KIND_LOCAL,
    .opts = VC_OPT_CREAT | VC_OPT_TRUNC | VC_OPT_APPEND | VC_OPT_EXCL | VC_OPT_RDONLY |
            VC_OPT_WRONLY | VC_OPT_PERM,
    .check = open_check,
    .open = open_open,
};
