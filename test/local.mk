# Tests: every test speaks TAP (bats --tap, and the C unit tests through test/unit/tap.h)
# so the summary counts each check by name. Each component's local.mk adds its own
# .bats files and unit programs to TESTS.
TEST_EXTENSIONS = .bats .test
BATS_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
BATS_LOG_COMPILER = $(BATS) --tap
TEST_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_TESTS_ENVIRONMENT = \
	abs_top_srcdir='$(abs_top_srcdir)'; export abs_top_srcdir; \
	abs_top_builddir='$(abs_top_builddir)'; export abs_top_builddir; \
	VSOCK_TRANSPORT=; export VSOCK_TRANSPORT;
EXTRA_DIST += test/helpers.bash test/unit/tap.h

# Unit tests of libvsock.
check_PROGRAMS += test/unit/test_addr test/unit/test_macos_api
test_unit_test_addr_LDADD = lib/libvsock-core.la
test_unit_test_macos_api_LDADD = lib/libvsock-core.la
TESTS += test/unit/test_addr test/unit/test_macos_api

# Signals and restarts: EINTR storms, SIGPIPE, the back-end killed and restarted.
TESTS += test/faults-signals.bats
EXTRA_DIST += test/faults-signals.bats

# Fault injection on the userspace path: libvsock's driver against vhost-user-vsock's
# test-only faults (VHOST_USER_VSOCK_FAULT).
TESTS += test/faults-userspace.bats
EXTRA_DIST += test/faults-userspace.bats

# make soak [SOAK_SECONDS=N]: the soak test (test/soak.sh, test/soak.py), 10 minutes by
# default; never part of check or CI.
SOAK_SECONDS = 600
.PHONY: soak
soak: all test/tools/vsock_xfer$(EXEEXT)
	abs_top_srcdir='$(abs_top_srcdir)' abs_top_builddir='$(abs_top_builddir)' \
	SOAK_SECONDS='$(SOAK_SECONDS)' $(SHELL) '$(abs_top_srcdir)/test/soak.sh'
EXTRA_DIST += test/soak.sh test/soak.py

# The scripted peers and helpers the bats files drive (test/tools/), one program per
# job; the vhost-user ones are listed with the back-end's and the driver's tests.
EXTRA_DIST += test/tools/vsockcat_peer.py test/tools/stream_io.py \
	test/tools/signal_storm.py test/tools/man_examples.py test/tools/vsock_listener.py
