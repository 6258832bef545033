# libvsock: addresses, transport selection and the transport backends.
lib_LTLIBRARIES += lib/libvsock.la
lib_libvsock_la_SOURCES = \
	lib/addr.c \
	lib/transport.c lib/transport.h \
	lib/kernel.c
lib_libvsock_la_LDFLAGS = -version-info 0:0:0
include_HEADERS = include/libvsock.h
sysincludedir = $(includedir)/sys
sysinclude_HEADERS = include/sys/vsock.h
pkgconfig_DATA = lib/libvsock.pc
EXTRA_DIST += lib/libvsock.pc.in
DISTCLEANFILES = lib/libvsock.pc
