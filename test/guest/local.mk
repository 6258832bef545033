# test/guest: the kernel AF_VSOCK path, tested inside a QEMU (TCG) guest that boots
# Debian 12's stock kernel with a busybox initramfs holding the freshly built programs.
# kernel.test boots once and reports every guest check as a TAP line; the kernel package
# is cached in the build tree (test/guest/cache) and removed by `make distclean`.
# VSOCK_SKIP_GUEST=1 skips it (scripts/test.sh sets it for distcheck).
check_PROGRAMS += test/guest/guest-util
# The vsock_diag dump is vsockctl's own (sockets.c), not a second copy.
test_guest_guest_util_SOURCES = test/guest/guest-util.c cmd/vsockctl/sockets.c \
	cmd/vsockctl/sockets.h
test_guest_guest_util_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cmd/vsockctl

TESTS += test/guest/kernel.test test/guest/run-guest.bats test/guest/kernel-fetch.bats
EXTRA_DIST += test/guest/kernel.test test/guest/run-guest.bats test/guest/kernel-fetch.bats \
	test/guest/run-guest.sh test/guest/kernel-fetch.sh \
	test/guest/mkinitramfs.sh test/guest/init test/guest/guest-lib.sh \
	test/guest/scenarios/kernel.sh test/guest/README.md

clean-local: clean-local-guest
clean-local-guest:
	-rm -rf test/guest/kernel.out
distclean-local: distclean-local-guest
distclean-local-guest:
	-rm -rf test/guest/cache
.PHONY: clean-local-guest distclean-local-guest
