# cmd/vhost-user-vsock: filled in by its owner
