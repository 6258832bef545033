/* options.h: vhost-user-vsock's command line: one table drives getopt, --help and the
 * man-page check; then the checks on the whole (required options, socket paths). */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "device.h"

struct options {
    const char *socket_path;    /* --socket: the vhost-user socket */
    const char *uds_path;       /* --uds-path: the host side */
    unsigned int guest_cid;     /* --guest-cid */
    unsigned int queue_size;    /* --queue-size: the largest ring accepted */
    struct vdev_window window;  /* --tx-buffer-size */
    unsigned int busy_poll_us;  /* --busy-poll */
    int no_event_idx;           /* --no-event-idx */
};

/* Parses argv. Returns the options, or NULL when the program ends now with *status
 * (0 after --help or --version; 2 after a usage error, reported in one line). */
const struct options *opt_parse(int argc, char **argv, int *status);

#endif
