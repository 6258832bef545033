# test/conformance: the vsock(4) conformance suite, one program over the libvsock API that
# takes the transport (--transport) and the peer (--peer local|hybrid:PATH) as parameters.
# On the kernel transport its cases connect, so they run only inside the QEMU guest
# (test/guest/kernel.test); here: its command line (conformance.bats) and the whole suite
# on the userspace driver against our own backend (hybrid.test, no kernel vsock).
check_PROGRAMS += test/conformance/vsock-conformance
test_conformance_vsock_conformance_SOURCES = \
	test/conformance/vsock-conformance.c test/conformance/suite.h \
	test/conformance/cases.c test/conformance/peer.c
test_conformance_vsock_conformance_LDADD = lib/libvsock-core.la

TESTS += test/conformance/conformance.bats
EXTRA_DIST += test/conformance/conformance.bats

# The same suite on the userspace driver against our backend (no kernel vsock involved).
TESTS += test/conformance/hybrid.test
EXTRA_DIST += test/conformance/hybrid.test
