/* rlimit.h: what a process that holds many connections at once (a FastCGI pool of threads,
 * gatewayd, the agent) asks of the system at start: every descriptor its hard limit allows
 * (the soft limit of a login shell, often 1024, would refuse the 1001st stream), and, for the
 * two that relay bulk bodies, a heap that keeps the memory they free. */
#ifndef BERTH_RLIMIT_H
#define BERTH_RLIMIT_H

/* Raises RLIMIT_NOFILE's soft limit to the hard one; nothing when it cannot. */
void rlimit_nofile_max(void);

/* A bulk stream allocates and frees buffer chains of up to 512 KiB many times a second.
 * glibc would hand each back to the kernel (mmap/munmap above 128 KiB, or brk trimming the
 * heap's top), then fault it in again: the heap keeps up to 16 MiB free instead. */
void rlimit_heap_keep(void);

#endif
