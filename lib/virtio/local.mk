# lib/virtio: filled in by its owner
