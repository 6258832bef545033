/* test_macos_api.c: a program written against the macOS/BSD vsock(4) man page compiles
 * and runs unchanged with <sys/vsock.h>: it sets svm_len, uses the VMADDR_ names, and asks
 * the local CID with IOCTL_VM_SOCKETS_GET_LOCAL_CID. Binding is allowed on the CI machine;
 * connecting is not, so the program binds and listens only. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/vsock.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

_Static_assert(sizeof(struct sockaddr_vm) == sizeof(struct sockaddr),
               "sockaddr_vm keeps the size of struct sockaddr (Linux ABI)");
_Static_assert(offsetof(struct sockaddr_vm, svm_port) == 4, "svm_port at 4 (Linux ABI)");
_Static_assert(offsetof(struct sockaddr_vm, svm_cid) == 8, "svm_cid at 8 (Linux ABI)");
_Static_assert(VMADDR_CID_HYPERVISOR == 0 && VMADDR_CID_LOCAL == 1 && VMADDR_CID_HOST == 2,
               "well-known CIDs");
_Static_assert(VMADDR_CID_ANY == 0xffffffffu && VMADDR_PORT_ANY == 0xffffffffu, "wildcards");

int main(void)
{
    struct sockaddr_vm addr = {
        .svm_len = sizeof(struct sockaddr_vm), /* as macOS code writes it */
        .svm_family = AF_VSOCK,
        .svm_port = VMADDR_PORT_ANY,
        .svm_cid = VMADDR_CID_ANY,
    };
    struct sockaddr_vm bound;
    socklen_t len = sizeof(bound);
    unsigned int cid = 0;
    int dev, s;

    TAP_IS_INT(VSOCK_SVM_LEN, 16, "VSOCK_SVM_LEN is sizeof(struct sockaddr_vm)");
    TAP_IS_INT(addr.svm_len, 16, "svm_len holds what was stored");
    TAP_IS_INT(addr.svm_flags, 0, "svm_len does not touch svm_flags");

    s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0) {
        printf("1..0 # SKIP no AF_VSOCK here: %s\n", strerror(errno));
        return 0;
    }
    /* The kernel ignores svm_zero, so an address with svm_len set binds as is. */
    TAP_IS_INT(bind(s, (struct sockaddr *)&addr, sizeof(addr)), 0,
               "bind(VMADDR_CID_ANY, VMADDR_PORT_ANY) with svm_len set");
    TAP_IS_INT(getsockname(s, (struct sockaddr *)&bound, &len), 0, "getsockname");
    tap_ok(bound.svm_port != VMADDR_PORT_ANY, "an ephemeral port was assigned (%u)",
           bound.svm_port);
    TAP_IS_INT(listen(s, 4), 0, "listen");
    close(s);

    dev = open("/dev/vsock", O_RDONLY);
    tap_ok(dev >= 0, "open /dev/vsock");
    TAP_IS_INT(ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid), 0,
               "IOCTL_VM_SOCKETS_GET_LOCAL_CID");
    tap_ok(cid != VMADDR_CID_ANY, "local CID is set (%u)", cid);
    close(dev);
    return tap_done();
}
