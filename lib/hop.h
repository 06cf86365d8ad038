/* hop.h: the headers that belong to one connection rather than to the message (RFC 9110
 * section 7.6.1), which no hop of berth passes on: the client's side, gatewayd's relay, the
 * agent's call to the container and the invoke and proxy programs all ask here. Each adds the
 * headers it writes itself (Host, Content-Length) or keeps for berth (X-Berth-*). */
#ifndef BERTH_HOP_H
#define BERTH_HOP_H

#include "berth.h"

/* Connection, Keep-Alive, TE, Transfer-Encoding, Trailer, Upgrade and every Proxy-* (for the
 * proxy, which berth is), in any case. */
bool hop_by_hop(const char *name);
/* Host and Content-Length, in any case: a hop that writes the message anew (the agent's call
 * to the container, libcurl's request for invoke) writes them for its own connection. */
bool hop_written(const char *name);

#endif
