# cmd/vhost-user-vsock: the vhost-user virtio-vsock device backend (see vhost-user-vsock(8)).
# It shares only lib/virtio/wire.h with the driver, never driver code.
sbin_PROGRAMS += cmd/vhost-user-vsock/vhost-user-vsock
VHOST_CORE_SOURCES = \
	cmd/vhost-user-vsock/mem.c cmd/vhost-user-vsock/mem.h \
	cmd/vhost-user-vsock/vring.c cmd/vhost-user-vsock/vring.h \
	cmd/vhost-user-vsock/vhost_user.c cmd/vhost-user-vsock/vhost_user.h \
	cmd/vhost-user-vsock/log.c cmd/vhost-user-vsock/log.h \
	util/clock.c util/clock.h
# The device and the host side, without main's loop: the device unit test and the fuzz
# replays build these too.
VHOST_DEVICE_SOURCES = \
	cmd/vhost-user-vsock/evloop.c cmd/vhost-user-vsock/evloop.h \
	cmd/vhost-user-vsock/fd_budget.c cmd/vhost-user-vsock/fd_budget.h \
	cmd/vhost-user-vsock/device.c cmd/vhost-user-vsock/device.h \
	cmd/vhost-user-vsock/fault.c cmd/vhost-user-vsock/fault.h \
	cmd/vhost-user-vsock/host_side.c cmd/vhost-user-vsock/host_side.h \
	cmd/vhost-user-vsock/connect_line.c cmd/vhost-user-vsock/connect_line.h
cmd_vhost_user_vsock_vhost_user_vsock_SOURCES = $(VHOST_CORE_SOURCES) $(VHOST_DEVICE_SOURCES) \
	cmd/vhost-user-vsock/main.c \
	cmd/vhost-user-vsock/options.c cmd/vhost-user-vsock/options.h \
	cmd/vhost-user-vsock/watchdog.c cmd/vhost-user-vsock/watchdog.h
cmd_vhost_user_vsock_vhost_user_vsock_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS)
cmd_vhost_user_vsock_vhost_user_vsock_CFLAGS = $(AM_CFLAGS) -pthread
cmd_vhost_user_vsock_vhost_user_vsock_LDADD = cmd/common/libcli.la
cmd_vhost_user_vsock_vhost_user_vsock_LDFLAGS = -pthread

# Unit tests: message validation, memory translation, hostile descriptor chains and the
# CONNECT line, and the descriptor budget, on the backend's own modules (no front-end).
VHOST_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS) -I$(top_srcdir)/cmd/vhost-user-vsock
check_PROGRAMS += test/unit/test_vhost_msg test/unit/test_vhost_mem test/unit/test_vhost_vring \
	test/unit/test_vhost_connect test/unit/test_vhost_log test/unit/test_vhost_fdb
test_unit_test_vhost_msg_SOURCES = test/unit/test_vhost_msg.c $(VHOST_CORE_SOURCES)
test_unit_test_vhost_msg_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_unit_test_vhost_mem_SOURCES = test/unit/test_vhost_mem.c cmd/vhost-user-vsock/mem.c
test_unit_test_vhost_mem_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_unit_test_vhost_vring_SOURCES = test/unit/test_vhost_vring.c cmd/vhost-user-vsock/mem.c \
	cmd/vhost-user-vsock/vring.c
test_unit_test_vhost_vring_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_unit_test_vhost_connect_SOURCES = test/unit/test_vhost_connect.c \
	cmd/vhost-user-vsock/connect_line.c
test_unit_test_vhost_connect_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_unit_test_vhost_log_SOURCES = test/unit/test_vhost_log.c cmd/vhost-user-vsock/log.c \
	util/clock.c
test_unit_test_vhost_log_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_unit_test_vhost_fdb_SOURCES = test/unit/test_vhost_fdb.c cmd/vhost-user-vsock/fd_budget.c \
	cmd/vhost-user-vsock/evloop.c cmd/vhost-user-vsock/log.c util/clock.c
test_unit_test_vhost_fdb_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
# The device against a guest thread that refills its rings as fast as they drain.
check_PROGRAMS += test/unit/test_vhost_device
test_unit_test_vhost_device_SOURCES = test/unit/test_vhost_device.c $(VHOST_CORE_SOURCES) \
	$(VHOST_DEVICE_SOURCES)
test_unit_test_vhost_device_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_unit_test_vhost_device_CFLAGS = $(AM_CFLAGS) -pthread
test_unit_test_vhost_device_LDFLAGS = -pthread
test_unit_test_vhost_device_LDADD = cmd/common/libcli.la
TESTS += test/unit/test_vhost_msg test/unit/test_vhost_mem test/unit/test_vhost_vring \
	test/unit/test_vhost_connect test/unit/test_vhost_log test/unit/test_vhost_fdb \
	test/unit/test_vhost_device

# Integration: options, socket safety, and our libvsock driver as the front-end.
TESTS += test/vhost-user-vsock.bats
EXTRA_DIST += test/vhost-user-vsock.bats
# The device and the driver in lib/ share no name prefix (nm of both sides).
TESTS += test/names.bats
EXTRA_DIST += test/names.bats
# A guest driver in python, packet by packet (strict and hostile guests), and the device
# rules it checks.
EXTRA_DIST += test/tools/vhost_wire.py test/tools/vhu_frontend.py test/tools/device_rules.py
# Hostile guests and front-ends (issue 16), one scenario per attack, and the bats file
# that runs the guests' (the front-ends' run from vhost-user-vsock.bats).
TESTS += test/hostile-guest.bats
EXTRA_DIST += test/hostile-guest.bats test/tools/hostile_guest.py test/tools/hostile_frontend.py
