/* children.h: the EXEC/SYSTEM children still running. */
#ifndef VC_CHILDREN_H
#define VC_CHILDREN_H

/* Sends signo to every running child (used when vsockcat itself is told to stop). */
void vc_children_signal(int signo);

#endif
