/* log.h: vsockcat's stderr lines: errors ("vsockcat: ADDRESS: step: cause") and -d
 * diagnostics by level. */
#ifndef VC_LOG_H
#define VC_LOG_H

extern int vc_log_level;   /* number of -d */

__attribute__((format(printf, 2, 3))) void vc_log(int level, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void vc_error(const char *fmt, ...);

#endif
