# test/fuzz: libFuzzer targets for every parser of untrusted input (see docs/SECURITY.md).
# make fuzz: builds them with clang (ASan + UBSan, build.sh) and runs each for
#   FUZZ_SECONDS (make fuzz FUZZ_SECONDS=300), FUZZ_JOBS at a time; not part of make check.
# make check: each target, built with the configured compiler and replay.c, replays its
#   committed seed corpus and regression inputs as a TAP test, so fixed findings stay fixed.
#   The code under test is compiled into each replay program with ASan + UBSan, so an
#   out-of-bounds read fails the test too (make check FUZZ_REPLAY_SANITIZE= turns it off).
FUZZ_SECONDS = 60
FUZZ_JOBS = 1
FUZZ_TARGETS =

fuzz:
	FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_JOBS='$(FUZZ_JOBS)' bash $(top_srcdir)/test/fuzz/build.sh \
		'$(abs_top_srcdir)' '$(abs_top_builddir)' all $(FUZZ_TARGETS)
.PHONY: fuzz

EXTRA_DIST += test/fuzz/build.sh test/fuzz/corpus test/fuzz/regressions \
	test/fuzz/record_vhost_user.py test/fuzz/make_script_seeds.py
FUZZ_REPLAY_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) $(FUZZ_REPLAY_SANITIZE)
FUZZ_REPLAY_SOURCES = test/fuzz/replay.c test/fuzz/fuzz.h
FUZZ_DRIVER_CORE = lib/virtio/virtq.c lib/virtio/vsock_pkt.c lib/virtio/conn.c \
	lib/virtio/vsock_core.c
VSOCKCAT_FUZZ_SOURCES = $(vsockcat_core_sources) lib/addr.c $(CLI_FUZZ_SOURCES) \
	$(vsockcat_addr_sources)
VHOST_FUZZ_SOURCES = $(VHOST_CORE_SOURCES) $(VHOST_DEVICE_SOURCES) $(CLI_FUZZ_SOURCES)

check_PROGRAMS += test/fuzz/replay_addr test/fuzz/replay_spec test/fuzz/replay_hybrid_reply \
	test/fuzz/replay_connect_line test/fuzz/replay_driver test/fuzz/replay_vring \
	test/fuzz/replay_vhost_msg test/fuzz/replay_vhu_front test/fuzz/replay_pci_cfg
TESTS += test/fuzz/replay_addr test/fuzz/replay_spec test/fuzz/replay_hybrid_reply \
	test/fuzz/replay_connect_line test/fuzz/replay_driver test/fuzz/replay_vring \
	test/fuzz/replay_vhost_msg test/fuzz/replay_vhu_front test/fuzz/replay_pci_cfg

test_fuzz_replay_addr_SOURCES = test/fuzz/fuzz_addr.c $(FUZZ_REPLAY_SOURCES) lib/addr.c
test_fuzz_replay_addr_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
test_fuzz_replay_addr_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)
test_fuzz_replay_addr_LDADD = util/libutil.la

test_fuzz_replay_spec_SOURCES = test/fuzz/fuzz_spec.c $(FUZZ_REPLAY_SOURCES) \
	$(VSOCKCAT_FUZZ_SOURCES) cmd/vsockcat/addr_vsock.c
test_fuzz_replay_spec_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS) -I$(top_srcdir)/cmd/vsockcat
test_fuzz_replay_spec_CFLAGS = $(FUZZ_REPLAY_CFLAGS) $(LIBUV_CFLAGS)
test_fuzz_replay_spec_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)
test_fuzz_replay_spec_LDADD = lib/libvsock-core.la $(LIBUV_LIBS) $(READLINE_LIBS)

# addr_vsock.c comes in through the target (its reply reader is static).
test_fuzz_replay_hybrid_reply_SOURCES = test/fuzz/fuzz_hybrid_reply.c $(FUZZ_REPLAY_SOURCES) \
	$(VSOCKCAT_FUZZ_SOURCES)
test_fuzz_replay_hybrid_reply_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS) \
	-I$(top_srcdir)/cmd/vsockcat
test_fuzz_replay_hybrid_reply_CFLAGS = $(FUZZ_REPLAY_CFLAGS) $(LIBUV_CFLAGS)
test_fuzz_replay_hybrid_reply_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)
test_fuzz_replay_hybrid_reply_LDADD = lib/libvsock-core.la $(LIBUV_LIBS) $(READLINE_LIBS)

test_fuzz_replay_connect_line_SOURCES = test/fuzz/fuzz_connect_line.c $(FUZZ_REPLAY_SOURCES) \
	cmd/vhost-user-vsock/connect_line.c
test_fuzz_replay_connect_line_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_fuzz_replay_connect_line_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
test_fuzz_replay_connect_line_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)

test_fuzz_replay_driver_SOURCES = test/fuzz/fuzz_driver.c $(FUZZ_REPLAY_SOURCES) \
	$(FUZZ_DRIVER_CORE) test/unit/test_virtio_model.c test/unit/test_virtio_model.h
test_fuzz_replay_driver_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
test_fuzz_replay_driver_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)
test_fuzz_replay_driver_LDADD = lib/libvsock-core.la

test_fuzz_replay_vring_SOURCES = test/fuzz/fuzz_vring.c $(FUZZ_REPLAY_SOURCES) $(VHOST_FUZZ_SOURCES)
test_fuzz_replay_vring_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_fuzz_replay_vring_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
test_fuzz_replay_vring_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)

test_fuzz_replay_vhost_msg_SOURCES = test/fuzz/fuzz_vhost_msg.c $(FUZZ_REPLAY_SOURCES) \
	$(VHOST_FUZZ_SOURCES)
test_fuzz_replay_vhost_msg_CPPFLAGS = $(VHOST_TEST_CPPFLAGS)
test_fuzz_replay_vhost_msg_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
test_fuzz_replay_vhost_msg_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)

test_fuzz_replay_vhu_front_SOURCES = test/fuzz/fuzz_vhu_front.c $(FUZZ_REPLAY_SOURCES) \
	$(FUZZ_DRIVER_CORE) lib/virtio/vhost_user_bus.c
test_fuzz_replay_vhu_front_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
test_fuzz_replay_vhu_front_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)
test_fuzz_replay_vhu_front_LDADD = lib/libvsock-core.la -lpthread

test_fuzz_replay_pci_cfg_SOURCES = test/fuzz/fuzz_pci_cfg.c $(FUZZ_REPLAY_SOURCES) \
	lib/virtio/pci_cfg.c
test_fuzz_replay_pci_cfg_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
test_fuzz_replay_pci_cfg_LDFLAGS = $(FUZZ_REPLAY_SANITIZE)
test_fuzz_replay_pci_cfg_LDADD = lib/libvsock-core.la
