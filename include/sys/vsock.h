/* sys/vsock.h: the vsock(4) API of macOS/BSD on Linux.
 * Same ABI as <linux/vm_sockets.h> (it is included, not redefined), plus the names
 * and the svm_len field that code written against the macOS man page expects. */
#ifndef _SYS_VSOCK_H_
#define _SYS_VSOCK_H_

#include <sys/socket.h>
#include <sys/ioctl.h>
#include <linux/vm_sockets.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef PF_VSOCK
#define PF_VSOCK AF_VSOCK
#endif

/* Older UAPI headers lack some of these; the values are the kernel ABI. */
#ifndef VMADDR_CID_ANY
#define VMADDR_CID_ANY ((unsigned int)-1)
#endif
#ifndef VMADDR_PORT_ANY
#define VMADDR_PORT_ANY ((unsigned int)-1)
#endif
#ifndef VMADDR_CID_HYPERVISOR
#define VMADDR_CID_HYPERVISOR 0
#endif
#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif
#ifndef VMADDR_CID_HOST
#define VMADDR_CID_HOST 2
#endif
#ifndef IOCTL_VM_SOCKETS_GET_LOCAL_CID
#define IOCTL_VM_SOCKETS_GET_LOCAL_CID _IO(7, 0xb9)
#endif

/* Ports below this need CAP_NET_BIND_SERVICE to bind (EACCES otherwise). */
#define VSOCK_PORT_RESERVED 1024

/* The kernel device whose ioctl answers IOCTL_VM_SOCKETS_GET_LOCAL_CID on Linux
 * (macOS answers it on any AF_VSOCK socket; Linux only on this device). */
#define VSOCK_DEVICE_PATH "/dev/vsock"

/* macOS's struct sockaddr_vm starts with a u8 svm_len. Linux has no such field, but its
 * struct ends in svm_zero[3], which the kernel ignores. svm_len names the first of those
 * bytes, so `sa.svm_len = sizeof(sa);` compiles and is harmless; libvsock clears it
 * before the address reaches the kernel. Define VSOCK_NO_SVM_LEN before including this
 * header if a program uses the identifier svm_len for something else. */
#define VSOCK_SVM_LEN ((unsigned char)sizeof(struct sockaddr_vm))
#ifndef VSOCK_NO_SVM_LEN
#define svm_len svm_zero[0]
#define VSOCK_HAVE_SVM_LEN 1
#endif

#endif /* _SYS_VSOCK_H_ */
