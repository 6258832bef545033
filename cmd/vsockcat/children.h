/* children.h: the EXEC/SYSTEM children still running. */
#ifndef VC_CHILDREN_H
#define VC_CHILDREN_H

#include <uv.h>

/* When the relay is over: give running children this long to exit, then SIGTERM. */
void vc_children_end_after(uv_loop_t *loop, double seconds);

#endif
