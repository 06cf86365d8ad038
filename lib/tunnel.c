#include "berth.h"
#include "tunnel.h"
#include "log.h"

#include <curl/curl.h>

#define POKE_TIMEOUT_MS 1000

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

void tunnel_poke(const char *socket_path)
{
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (!c)
		return;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(c, CURLOPT_URL, "http://gatewayd/control/reconcile");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)POKE_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		log_warn("cannot reach gatewayd at %s (%s); it reconciles on its timer anyway",
			 socket_path, curl_easy_strerror(rc));
	curl_easy_cleanup(c);
}
