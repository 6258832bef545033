/* log.h: the backend's diagnostics on stderr, one line each, prefixed with the program
 * name. Verbose lines (-v) trace every vhost-user message and connection event. */
#ifndef VHU_LOG_H
#define VHU_LOG_H

extern int vhu_log_verbose;

__attribute__((format(printf, 1, 2))) void vhu_log(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void vhu_debug(const char *fmt, ...);

#endif
