/* sysfs.c: small text files and links of /sys and /proc (see sysfs.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/sysfs.h"
#include "util/why.h"

int sysfs_read_text(const char *path, char *buf, size_t size)
{
    size_t used = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return neg_errno();
    while (used + 1 < size) {
        ssize_t n = read(fd, buf + used, size - 1 - used);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = neg_errno();

            close(fd);
            return rc;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    close(fd);
    return (int)used;
}

int sysfs_read_hex(const char *path, unsigned long *value)
{
    char buf[32];
    char *end;
    int rc = sysfs_read_text(path, buf, sizeof(buf));

    if (rc < 0)
        return rc;
    errno = 0;
    *value = strtoul(buf, &end, 16);
    return errno || end == buf ? -EINVAL : 0;
}

void sysfs_link_name(const char *path, char *out, size_t size)
{
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    const char *slash;

    out[0] = '\0';
    if (n <= 0)
        return;
    target[n] = '\0';
    slash = strrchr(target, '/');
    slash = slash ? slash + 1 : target;
    if (strlen(slash) < size) /* a longer name is none we look for */
        memcpy(out, slash, strlen(slash) + 1);
}
