/* tunnel.h: the FastCGI programs' client of berth-gatewayd's unix socket (HTTP/2 with prior
 * knowledge, libcurl). This module only reaches gatewayd; what gatewayd does is gateway/'s. */
#ifndef BERTH_TUNNEL_H
#define BERTH_TUNNEL_H

#include "berth.h"

/* Asks gatewayd to reconcile now (POST /control/reconcile). Best effort: gatewayd also
 * reconciles on a timer, so a failure is only logged. */
void tunnel_poke(const char *socket_path);

#endif
