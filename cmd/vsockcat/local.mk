# cmd/vsockcat: the socat-style relay on libuv. One file per address family (addr_*.c),
# the relay (relay.c) and the session (open order, fork server). See vsockcat(1).
bin_PROGRAMS += cmd/vsockcat/vsockcat
vsockcat_core_sources = \
	cmd/vsockcat/vsockcat.h \
	cmd/vsockcat/spec.c cmd/vsockcat/spec.h \
	cmd/vsockcat/addrtypes.c cmd/vsockcat/addrtypes.h \
	cmd/vsockcat/log.c cmd/vsockcat/log.h
cmd_vsockcat_vsockcat_SOURCES = $(vsockcat_core_sources) \
	cmd/vsockcat/main.c \
	cmd/vsockcat/session.c cmd/vsockcat/session.h \
	cmd/vsockcat/relay.c cmd/vsockcat/relay.h \
	cmd/vsockcat/end.c cmd/vsockcat/end.h \
	cmd/vsockcat/open.c cmd/vsockcat/open.h \
	cmd/vsockcat/sock.c cmd/vsockcat/sock.h \
	cmd/vsockcat/dump.c cmd/vsockcat/dump.h \
	cmd/vsockcat/children.h \
	cmd/vsockcat/addr_file.c cmd/vsockcat/addr_child.c cmd/vsockcat/addr_net.c \
	cmd/vsockcat/addr_vsock.c cmd/vsockcat/addr_readline.c
cmd_vsockcat_vsockcat_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
cmd_vsockcat_vsockcat_LDADD = lib/libvsock-core.la $(LIBUV_LIBS) $(READLINE_LIBS)
