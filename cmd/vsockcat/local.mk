# cmd/vsockcat: the socat-style relay on libuv. One file per address family (addr_*.c),
# the relay (relay.c, and one relay_*.c per data path) and the session (open order, fork
# server). See vsockcat(1).
bin_PROGRAMS += cmd/vsockcat/vsockcat
vsockcat_core_sources = \
	cmd/vsockcat/vsockcat.h \
	cmd/vsockcat/spec.c cmd/vsockcat/spec.h \
	cmd/vsockcat/addrtypes.c cmd/vsockcat/addrtypes.h \
	cmd/vsockcat/log.c cmd/vsockcat/log.h
# The address types but VSOCK's and what they open through: the unit test and the fuzz
# replays build them without main, the session and the relay.
vsockcat_addr_sources = \
	cmd/vsockcat/end.c cmd/vsockcat/end.h \
	cmd/vsockcat/open.c cmd/vsockcat/open.h \
	cmd/vsockcat/sock.c cmd/vsockcat/sock.h \
	cmd/vsockcat/children.h \
	cmd/vsockcat/addr_file.c cmd/vsockcat/addr_child.c cmd/vsockcat/addr_net.c \
	cmd/vsockcat/addr_readline.c
cmd_vsockcat_vsockcat_SOURCES = $(vsockcat_core_sources) $(vsockcat_addr_sources) \
	cmd/vsockcat/addr_vsock.c \
	cmd/vsockcat/main.c \
	cmd/vsockcat/options.c cmd/vsockcat/options.h \
	cmd/vsockcat/session.c cmd/vsockcat/session.h \
	cmd/vsockcat/relay.c cmd/vsockcat/relay.h cmd/vsockcat/relay_path.h \
	cmd/vsockcat/relay_copy.c cmd/vsockcat/relay_splice.c cmd/vsockcat/relay_direct.c \
	cmd/vsockcat/dump.c cmd/vsockcat/dump.h
cmd_vsockcat_vsockcat_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS)
cmd_vsockcat_vsockcat_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
cmd_vsockcat_vsockcat_LDADD = lib/libvsock-core.la cmd/common/libcli.la $(LIBUV_LIBS) \
	$(READLINE_LIBS)

# Unit tests of the address parser (spec.c, the type table); the address files come
# along because the table points at their descriptors. Nothing is opened.
check_PROGRAMS += test/unit/test_vsockcat_spec
test_unit_test_vsockcat_spec_SOURCES = test/unit/test_vsockcat_spec.c \
	$(vsockcat_core_sources) $(vsockcat_addr_sources) cmd/vsockcat/addr_vsock.c
test_unit_test_vsockcat_spec_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS) \
	-I$(top_srcdir)/cmd/vsockcat
test_unit_test_vsockcat_spec_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
test_unit_test_vsockcat_spec_LDADD = lib/libvsock-core.la cmd/common/libcli.la $(LIBUV_LIBS) \
	$(READLINE_LIBS)
TESTS += test/unit/test_vsockcat_spec

# Integration tests: real processes and sockets, scripted peers (vsockcat_peer.py).
TESTS += test/vsockcat-cli.bats test/vsockcat-relay.bats test/vsockcat-local.bats \
	test/vsockcat-listen.bats test/vsockcat-hybrid.bats test/vsockcat-readline.bats \
	test/vsockcat-faults.bats
EXTRA_DIST += test/vsockcat-faults.bats test/vsockcat-cli.bats test/vsockcat-relay.bats test/vsockcat-local.bats \
	test/vsockcat-listen.bats test/vsockcat-hybrid.bats test/vsockcat-readline.bats \
	test/vsockcat-helpers.bash
