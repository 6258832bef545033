# util: small helpers that both lib/ and the programs need (reasons for failures, the
# monotonic clock, sysfs files, the kernel's memmap=). A leaf: libc only; nothing prints
# or exits. It is part of lib/libvsock-core.la (hidden inside libvsock.so), so every
# program that links that gets it too; programs include "util/*.h" by path
# (-I$(top_srcdir)).
noinst_LTLIBRARIES += util/libutil.la
util_libutil_la_CFLAGS = $(LIBVSOCK_CFLAGS)
util_libutil_la_SOURCES = \
	util/why.c util/why.h \
	util/clock.c util/clock.h \
	util/sysfs.c util/sysfs.h \
	util/memmap.c util/memmap.h
