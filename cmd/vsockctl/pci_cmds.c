/* pci_cmds.c: devices, bind, unbind and uio-check (see pci_cmds.h). Binding follows the
 * kernel's documented way to hand a PCI function to another driver: unbind, write the
 * driver name to driver_override, ask drivers_probe. Every failure names the file and
 * the fix (module, boot parameter, permission). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libvsock.h"
#include "util/memmap.h"
#include "util/sysfs.h"

#include "cli_diag.h"
#include "commands.h"
#include "pci_cmds.h"

#define PCI_DEVICES "/sys/bus/pci/devices"
#define PCI_DRIVERS "/sys/bus/pci/drivers"
#define UIO_DRIVER "uio_pci_generic"
#define MAX_FUNCS 16

struct pci_func {
    char bdf[64];
    char driver[64]; /* "" = none */
    int uio;         /* -1 = none */
};

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;
    int rc = 0;

    if (fd < 0)
        return -errno;
    n = write(fd, text, strlen(text));
    if (n < 0)
        rc = -errno;
    else if ((size_t)n != strlen(text))
        rc = -EIO;
    close(fd);
    return rc;
}

static unsigned long read_hex(const char *dir, const char *name)
{
    char path[PATH_MAX];
    unsigned long value;

    snprintf(path, sizeof(path), "%.300s/%.40s", dir, name);
    return sysfs_read_hex(path, &value) == 0 ? value : 0;
}

static void func_refresh(struct pci_func *f)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *de;

    snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver", f->bdf);
    sysfs_link_name(path, f->driver, sizeof(f->driver));
    f->uio = -1;
    snprintf(path, sizeof(path), PCI_DEVICES "/%s/uio", f->bdf);
    d = opendir(path);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        unsigned int n;
        char tail;

        if (sscanf(de->d_name, "uio%u%c", &n, &tail) == 1)
            f->uio = (int)n;
    }
    closedir(d);
}

/* Every virtio-vsock function (1af4:1053), in directory order. */
static int find_funcs(struct pci_func *funcs, int max)
{
    DIR *d = opendir(PCI_DEVICES);
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return -errno;
    while ((de = readdir(d)) != NULL && n < max) {
        char dir[PATH_MAX];

        if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(funcs[0].bdf))
            continue;
        snprintf(dir, sizeof(dir), PCI_DEVICES "/%s", de->d_name);
        if (read_hex(dir, "vendor") != 0x1af4 || read_hex(dir, "device") != 0x1053)
            continue;
        memset(&funcs[n], 0, sizeof(funcs[n]));
        memcpy(funcs[n].bdf, de->d_name, strlen(de->d_name) + 1);
        func_refresh(&funcs[n]);
        n++;
    }
    closedir(d);
    return n;
}

int cmd_pci_devices(struct ctl_context *ctx, const struct ctl_call *call)
{
    struct pci_func funcs[MAX_FUNCS];
    int n = find_funcs(funcs, MAX_FUNCS);

    (void)ctx;
    (void)call;
    if (n < 0) {
        cli_error("devices: " PCI_DEVICES ": %s", strerror(-n));
        return CTL_FAILED;
    }
    if (n == 0) {
        cli_error("devices: no virtio-vsock PCI device (1af4:1053)");
        return CTL_FAILED;
    }
    for (int i = 0; i < n; i++) {
        char uio[32] = "-";

        if (funcs[i].uio >= 0)
            snprintf(uio, sizeof(uio), "/dev/uio%d", funcs[i].uio);
        printf("%s 1af4:1053 %s %s\n", funcs[i].bdf,
               funcs[i].driver[0] ? funcs[i].driver : "-", uio);
    }
    return CTL_OK;
}

/* The function an argument names ("0000:00:03.0" or "00:03.0"), or the only one. */
static int pick_func(const char *what, const struct ctl_call *call, struct pci_func *out)
{
    struct pci_func funcs[MAX_FUNCS];
    int n = find_funcs(funcs, MAX_FUNCS);

    if (n < 0) {
        cli_error("%s: " PCI_DEVICES ": %s", what, strerror(-n));
        return CTL_FAILED;
    }
    if (call->argc == 0) {
        if (n == 1) {
            *out = funcs[0];
            return CTL_OK;
        }
        if (n == 0)
            cli_error("%s: no virtio-vsock PCI device (1af4:1053)", what);
        else
            cli_error("%s: %d virtio-vsock PCI devices: name one (see 'vsockctl devices')",
                      what, n);
        return CTL_FAILED;
    }
    for (int i = 0; i < n; i++) {
        const char *arg = call->argv[0];
        size_t la = strlen(arg), lb = strlen(funcs[i].bdf);

        if (strcmp(funcs[i].bdf, arg) == 0 ||
            (la < lb && strcmp(funcs[i].bdf + lb - la, arg) == 0 &&
             funcs[i].bdf[lb - la - 1] == ':')) {
            *out = funcs[i];
            return CTL_OK;
        }
    }
    cli_error("%s: %s: not a virtio-vsock PCI device (see 'vsockctl devices')", what,
              call->argv[0]);
    return CTL_FAILED;
}

static int sysfs_write(const char *what, const char *path, const char *text)
{
    int rc = write_text(path, text);

    if (rc < 0)
        cli_error("%s: %s: %s%s", what, path, strerror(-rc),
                  rc == -EACCES || rc == -EPERM ? " (needs root)" : "");
    return rc;
}

/* Leaves f unbound with driver_override set to driver ("" clears it), then probes. */
static int rebind(const char *what, struct pci_func *f, const char *driver)
{
    char path[PATH_MAX];

    if (f->driver[0] != '\0') {
        snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver/unbind", f->bdf);
        if (sysfs_write(what, path, f->bdf) < 0)
            return CTL_FAILED;
    }
    snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver_override", f->bdf);
    /* An empty override is written as a newline: the kernel clears it. */
    if (sysfs_write(what, path, driver[0] ? driver : "\n") < 0)
        return CTL_FAILED;
    /* drivers_probe fails (ENODEV etc.) when no driver takes it; the state says more. */
    (void)write_text("/sys/bus/pci/drivers_probe", f->bdf);
    func_refresh(f);
    return CTL_OK;
}

#define BIND_FORCE (1u << 0) /* bind_options[0] in commands.c */

/* Whether a virtio driver (the kernel's vsock transport) drives f's virtio device; its
 * name goes to name. */
static int kernel_vsock_driver(const struct pci_func *f, char *name, size_t size)
{
    char dir[128], link[PATH_MAX];
    struct dirent *de;
    DIR *d;

    snprintf(dir, sizeof(dir), PCI_DEVICES "/%s", f->bdf);
    d = opendir(dir);
    if (!d)
        return 0;
    name[0] = '\0';
    while (!name[0] && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "virtio", 6) != 0)
            continue;
        snprintf(link, sizeof(link), "%s/%s/driver", dir, de->d_name);
        sysfs_link_name(link, name, size);
    }
    closedir(d);
    return name[0] != '\0';
}

int cmd_pci_bind(struct ctl_context *ctx, const struct ctl_call *call)
{
    char kdrv[128];
    struct pci_func f;
    int status = pick_func("bind", call, &f);

    (void)ctx;
    if (status != CTL_OK)
        return status;
    if (strcmp(f.driver, UIO_DRIVER) == 0 && f.uio >= 0) {
        printf("%s already bound to " UIO_DRIVER " (/dev/uio%d)\n", f.bdf, f.uio);
        return CTL_OK;
    }
    if (access(PCI_DRIVERS "/" UIO_DRIVER, F_OK) != 0) {
        cli_error("bind: module " UIO_DRIVER " is not loaded (modprobe " UIO_DRIVER ")");
        return CTL_FAILED;
    }
    /* Taking the device from a running kernel vsock cuts this machine off its host (on
     * a VM whose vsock the infrastructure uses, that is an outage): only on request. */
    if (!(call->flags & BIND_FORCE) && kernel_vsock_driver(&f, kdrv, sizeof(kdrv))) {
        cli_error("bind: %s is in use by the kernel's vsock (%s); binding it would cut "
                  "kernel vsock off: unload %s first, or add --force", f.bdf, kdrv, kdrv);
        return CTL_FAILED;
    }
    status = rebind("bind", &f, UIO_DRIVER);
    if (status != CTL_OK)
        return status;
    if (strcmp(f.driver, UIO_DRIVER) != 0 || f.uio < 0) {
        cli_error("bind: %s: " UIO_DRIVER " did not take it (driver now: %s; see dmesg)",
                  f.bdf, f.driver[0] ? f.driver : "none");
        return CTL_FAILED;
    }
    printf("%s bound to " UIO_DRIVER " (/dev/uio%d)\n", f.bdf, f.uio);
    return CTL_OK;
}

int cmd_pci_unbind(struct ctl_context *ctx, const struct ctl_call *call)
{
    struct pci_func f;
    int status = pick_func("unbind", call, &f);

    (void)ctx;
    if (status != CTL_OK)
        return status;
    if (strcmp(f.driver, UIO_DRIVER) != 0) {
        cli_error("unbind: %s is not bound to " UIO_DRIVER " (driver: %s)", f.bdf,
                  f.driver[0] ? f.driver : "none");
        return CTL_FAILED;
    }
    status = rebind("unbind", &f, "");
    if (status != CTL_OK)
        return status;
    printf("%s unbound from " UIO_DRIVER " (driver now: %s)\n", f.bdf,
           f.driver[0] ? f.driver : "none");
    return CTL_OK;
}

/* ---- uio-check ----------------------------------------------------------------------- */

/* What /proc/iomem calls the top-level range holding addr ("Reserved", "System RAM"),
 * or "" (unknown, or addresses hidden from non-root). */
static void iomem_kind(uint64_t addr, char *kind, size_t size)
{
    FILE *f = fopen("/proc/iomem", "re");
    char line[256];

    kind[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long long s, e;
        int at = 0;

        if (line[0] == ' ' || sscanf(line, "%llx-%llx : %n", &s, &e, &at) != 2 || at == 0)
            continue;
        if (s <= addr && addr <= e && !(s == 0 && e == 0)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(kind, size, "%.60s", line + at);
            break;
        }
    }
    fclose(f);
}

static int report(int ok, const char *item, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int report(int ok, const char *item, const char *fmt, ...)
{
    va_list ap;

    printf("%-8s %-16s ", ok ? "ok" : "MISSING", item);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return ok;
}

int cmd_uio_check(struct ctl_context *ctx, const struct ctl_call *call)
{
    struct pci_func funcs[MAX_FUNCS], *f = NULL;
    char path[PATH_MAX], cmdline[4096], kind[64], text[64];
    uint64_t addr = 0, size = 0;
    int n = find_funcs(funcs, MAX_FUNCS), ready = 1, fd, has_mem = 0;

    (void)ctx;
    (void)call;
    fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        close(fd);
        report(1, "kernel vsock", "AF_VSOCK works: 'auto' picks the kernel transport; "
               "use --transport uio to force the userspace driver");
    } else {
        report(1, "kernel vsock", "AF_VSOCK unavailable (%s): 'auto' picks uio when a "
               "device is bound", strerror(errno));
    }
    if (n <= 0) {
        report(0, "device", "no virtio-vsock PCI device (1af4:1053) in " PCI_DEVICES
               " (QEMU: -device vhost-user-vsock-pci or vhost-vsock-pci)");
        return CTL_FAILED;
    }
    for (int i = 0; i < n && f == NULL; i++)
        if (strcmp(funcs[i].driver, UIO_DRIVER) == 0)
            f = &funcs[i];
    report(1, "device", "%s (driver: %s)", (f ? f : &funcs[0])->bdf,
           (f ? f : &funcs[0])->driver[0] ? (f ? f : &funcs[0])->driver : "none");
    ready &= report(access(PCI_DRIVERS "/" UIO_DRIVER, F_OK) == 0, "module",
                    UIO_DRIVER "%s", access(PCI_DRIVERS "/" UIO_DRIVER, F_OK) == 0
                        ? " loaded" : " not loaded: modprobe " UIO_DRIVER);
    if (f == NULL) {
        ready &= report(0, "binding", "%s is not bound to " UIO_DRIVER ": vsockctl bind %s",
                        funcs[0].bdf, funcs[0].bdf);
    } else {
        report(1, "binding", "%s bound to " UIO_DRIVER, f->bdf);
        snprintf(path, sizeof(path), "/dev/uio%d", f->uio);
        fd = open(path, O_RDWR | O_CLOEXEC);
        ready &= report(fd >= 0, "interrupts", "%s%s%s", path, fd >= 0 ? " opens" : ": ",
                        fd >= 0 ? "" : strerror(errno));
        if (fd >= 0)
            close(fd);
        snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", f->bdf);
        fd = open(path, O_RDWR | O_CLOEXEC);
        ready &= report(fd >= 0, "config space", "%s%s%s", path,
                        fd >= 0 ? " writable" : ": ",
                        fd >= 0 ? "" : errno == EACCES ? "permission denied (run as root)"
                                                       : strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    fd = open("/dev/mem", O_RDWR | O_CLOEXEC);
    ready &= report(fd >= 0, "/dev/mem", "%s", fd >= 0 ? "opens read-write"
                    : errno == ENOENT ? "missing (kernel without CONFIG_DEVMEM)"
                    : errno == EACCES || errno == EPERM
                        ? "permission denied (needs root / CAP_SYS_RAWIO)" : strerror(errno));
    if (fd >= 0)
        close(fd);
    if (sysfs_read_text("/proc/cmdline", cmdline, sizeof(cmdline)) > 0 &&
        memmap_from_cmdline(cmdline, &addr, &size) == 0) {
        iomem_kind(addr, kind, sizeof(kind));
        if (strcmp(kind, "System RAM") == 0)
            report(0, "reserved memory", "memmap=0x%" PRIx64 "$0x%" PRIx64 " but /proc/iomem says System "
                   "RAM there (the kernel did not reserve it)", size, addr);
        else
            has_mem = report(1, "reserved memory", "memmap=%" PRIu64 "M$0x%" PRIx64 " (%s)", size >> 20,
                             addr, kind[0] ? kind : "iomem hidden: not root");
    } else {
        report(0, "reserved memory", "no memmap=SIZE$ADDR on the kernel command line (add "
               "e.g. memmap=16M$0x30000000; in GRUB write memmap=16M\\$0x30000000)");
    }
    if (sysfs_read_text("/proc/sys/vm/nr_hugepages", text, sizeof(text)) > 0 && atoi(text) > 0)
        has_mem |= report(1, "hugepages", "%d reserved (transport option mem=hugepages)",
                          atoi(text));
    else
        report(has_mem, "hugepages", "none (alternative to memmap=: echo 4 > "
               "/proc/sys/vm/nr_hugepages, then --transport uio:mem=hugepages)");
    ready &= has_mem;
    printf("%s\n", ready ? "uio transport: ready" : "uio transport: not ready (see MISSING)");
    return ready ? CTL_OK : CTL_FAILED;
}
