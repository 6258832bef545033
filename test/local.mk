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
