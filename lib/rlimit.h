/* rlimit.h: a process that holds many connections at once (a FastCGI pool of threads,
 * gatewayd, the agent) asks for every descriptor its hard limit allows: the soft limit of
 * a login shell (often 1024) would refuse the 1001st stream. */
#ifndef BERTH_RLIMIT_H
#define BERTH_RLIMIT_H

/* Raises RLIMIT_NOFILE's soft limit to the hard one; nothing when it cannot. */
void rlimit_nofile_max(void);

#endif
