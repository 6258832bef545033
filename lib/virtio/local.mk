# lib/virtio: the userspace virtio-vsock driver (core, vhost-user bus) inside libvsock.
lib_libvsock_core_la_SOURCES += \
	lib/virtio/wire.h lib/virtio/bus.h lib/virtio/list.h \
	lib/virtio/virtq.c lib/virtio/virtq.h \
	lib/virtio/vsock_pkt.c lib/virtio/vsock_pkt.h \
	lib/virtio/conn.c lib/virtio/conn.h \
	lib/virtio/vsock_core.c lib/virtio/vsock_core.h \
	lib/virtio/vhost_user_bus.c lib/virtio/vhost_user_bus.h \
	lib/virtio_transport.c lib/virtio_transport.h lib/vhost_user_transport.c \
	lib/virtio/pci_cfg.c lib/virtio/pci_cfg.h lib/virtio/dma_mem.c lib/virtio/dma_mem.h \
	lib/virtio/pci_bus.c lib/virtio/pci_bus.h lib/uio_transport.c

# Unit tests: the virtqueue and the driver core against an in-process device model; the
# vhost-user front-end against a scripted fake back-end; the whole transport through the
# public API against a tiny vhost-user device in a thread.
check_PROGRAMS += test/unit/test_virtio_virtq test/unit/test_virtio_core \
	test/unit/test_virtio_vhost_user test/unit/test_virtio_transport
test_unit_test_virtio_virtq_LDADD = lib/libvsock-core.la
test_unit_test_virtio_core_SOURCES = test/unit/test_virtio_core.c \
	test/unit/test_virtio_model.c test/unit/test_virtio_model.h
test_unit_test_virtio_core_LDADD = lib/libvsock-core.la
test_unit_test_virtio_vhost_user_LDADD = lib/libvsock-core.la
test_unit_test_virtio_transport_LDADD = lib/libvsock-core.la
TESTS += test/unit/test_virtio_virtq test/unit/test_virtio_core \
	test/unit/test_virtio_vhost_user test/unit/test_virtio_transport

# Test tools for the vhost-user integration tests (not installed).
check_PROGRAMS += test/tools/vsock_xfer test/tools/vsock_probe
test_tools_vsock_xfer_LDADD = lib/libvsock-core.la
test_tools_vsock_probe_LDADD = lib/libvsock-core.la
EXTRA_DIST += test/tools/hybrid_host.py test/tools/hostile_device.py

# End to end against cmd/vhost-user-vsock (skips while that is not built).
TESTS += test/vhost-user-transport.bats
EXTRA_DIST += test/vhost-user-transport.bats

# The driver against a hostile device: test/tools/hostile_device.py (a vhost-user back-end
# that floods events, stalls tx, trickles replies) attacking test/tools/vsock_probe.
TESTS += test/hostile-device.bats
EXTRA_DIST += test/hostile-device.bats

# The PCI bus on (emulated) hardware: one QEMU guest boot with a vhost-user-vsock-pci
# device served by cmd/vhost-user-vsock, Linux's driver first, then the uio transport
# (test/guest/pci.test, scenario test/guest/scenarios/pci.sh). Unit tests of the
# capability parser and the DMA range parsers need no device.
check_PROGRAMS += test/guest/pci-util test/unit/test_virtio_pci
test_guest_pci_util_SOURCES = test/guest/pci-util.c
test_unit_test_virtio_pci_LDADD = lib/libvsock-core.la
TESTS += test/unit/test_virtio_pci test/guest/pci-host.bats test/guest/pci.test
EXTRA_DIST += test/guest/pci.test test/guest/scenarios/pci.sh test/guest/scenarios/pci-pio.sh \
	test/guest/scenarios/pci-iommu.sh test/guest/pci-host.bats

clean-local: clean-local-pci
clean-local-pci:
	-rm -rf test/guest/pci.out test/guest/pci-iommu.out test/guest/pci-pio.out
.PHONY: clean-local-pci
