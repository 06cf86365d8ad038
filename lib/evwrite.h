/* evwrite.h: writes that leave at once. A socket bufferevent writes only from the loop: data
 * added arms its write event (an epoll_ctl), the next epoll_wait reports the socket writable,
 * it writes, and disarms the event (another epoll_ctl): three system calls and a turn of the
 * loop for every message, in every process a call crosses. On a plain socket whose write side
 * is disabled, evwrite_push writes at once what the output holds, and hands the bufferevent
 * its write side back only when the socket did not take it all.
 *
 * A user disables writing (bufferevent_disable(bev, EV_WRITE)) once the socket is connected
 * (while bufferevent_socket_connect is under way writing stays enabled: a direct write could
 * take the connect's error), calls evwrite_push after each time it adds to the output, and
 * evwrite_idle from its write callback (the output is empty then, the write side goes back to
 * idle). A direct write runs no write callback: a user that needs one (to learn the socket
 * took its bytes) enables writing itself before adding them. A TLS or filter bufferevent, or
 * one with no socket yet, keeps writing from the loop: evwrite_push then enables writing. */
#ifndef BERTH_EVWRITE_H
#define BERTH_EVWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>

/* Whether bev can write at once: a plain socket bufferevent (no filter, no TLS) with its
 * socket. */
bool evwrite_direct(struct bufferevent *bev);
/* Writes up to max bytes of bev's output to its socket now, when bev can write directly and
 * its write side is disabled; enables the write side when anything is left (the socket is
 * full, or the write failed: the bufferevent's own write then reports the error through the
 * event callback, as usual). With writing already enabled, or no direct writes, it only makes
 * sure writing is enabled. */
void evwrite_push(struct bufferevent *bev, size_t max);
/* From a write callback: the output is empty and bev writes directly, so writing goes back
 * to disabled (no event is armed, the next evwrite_push writes at once). */
void evwrite_idle(struct bufferevent *bev);

#endif
