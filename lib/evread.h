/* evread.h: large socket reads for a bufferevent. libevent 2.1 reads at most 4096 bytes per
 * system call, whatever bufferevent_set_max_single_read says (EVBUFFER_MAX_READ in its
 * buffer.c; 2.2 lifts it). A bulk stream then costs a wakeup, an ioctl and a readv per 4 KiB
 * in every process it crosses. A read callback calls evread_fill first and takes the rest of
 * what the socket holds in one readv. */
#ifndef BERTH_EVREAD_H
#define BERTH_EVREAD_H

#include <event2/bufferevent.h>

/* Moves up to max more bytes from bev's socket to its input buffer, no further than the read
 * high watermark, and only while reading is enabled; nothing for a TLS (OpenSSL) bufferevent,
 * whose socket carries records rather than its input's bytes, and nothing when the input
 * holds less than libevent reads at once (its read found the socket all but empty: a small
 * message costs no extra system call). EOF and errors are left for the
 * bufferevent's own next read, which reports them as usual. Returns the bytes moved. */
size_t evread_fill(struct bufferevent *bev, size_t max);

#endif
