# libvsock: addresses, transport selection and the transport backends.
# The objects are built once into a convenience library: the installed libvsock.so is
# made from it, and the programs link it statically (no libtool wrapper scripts, so tests,
# valgrind and the guest initramfs see real binaries). They are compiled with hidden
# visibility: libvsock.so exports only what libvsock.h marks VSOCK_API (test/abi.bats).
LIBVSOCK_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
noinst_LTLIBRARIES += lib/libvsock-core.la
lib_libvsock_core_la_CFLAGS = $(LIBVSOCK_CFLAGS)
lib_libvsock_core_la_SOURCES = \
	lib/addr.c \
	lib/transport.c lib/transport.h \
	lib/kernel.c \
	lib/version.c
lib_libvsock_core_la_LIBADD = util/libutil.la

lib_LTLIBRARIES += lib/libvsock.la
lib_libvsock_la_SOURCES =
lib_libvsock_la_LIBADD = lib/libvsock-core.la
# -version-info CURRENT:REVISION:AGE (libtool): a compatible addition is C+1:0:A+1, a fix
# C:R+1:A; an incompatible change (libvsock(3), "Interface stability") is C+1:0:0, which
# changes the soname libvsock.so.C-A.
lib_libvsock_la_LDFLAGS = -version-info 1:0:0

include_HEADERS = include/libvsock.h
libvsockincludedir = $(includedir)/libvsock
libvsockinclude_HEADERS = include/libvsock/version.h
# configure.ac takes the package version from it.
CONFIGURE_DEPENDENCIES = $(top_srcdir)/include/libvsock/version.h
sysincludedir = $(includedir)/sys
sysinclude_HEADERS = include/sys/vsock.h
pkgconfig_DATA = lib/libvsock.pc
EXTRA_DIST += lib/libvsock.pc.in
DISTCLEANFILES = lib/libvsock.pc

# The exported symbols of libvsock.so are exactly the functions libvsock.h declares.
TESTS += test/abi.bats
EXTRA_DIST += test/abi.bats test/tools/api_functions.py
