/* lib/hop: which headers belong to one connection and are never passed on, and the two each
 * hop writes itself. */
#include "berth.h"
#include "hop.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

Test(hop, the_rfc_9110_connection_headers_in_any_case)
{
	static const char *const yes[] = {"connection", "Connection", "KEEP-ALIVE", "te", "TE",
					  "transfer-encoding", "Transfer-Encoding", "trailer",
					  "upgrade", "Upgrade"};

	for (size_t i = 0; i < B_ARRAY_LEN(yes); i++)
		cr_assert(hop_by_hop(yes[i]), "%s", yes[i]);
}

Test(hop, every_proxy_header_is_for_the_proxy)
{
	cr_assert(hop_by_hop("proxy-connection"));
	cr_assert(hop_by_hop("Proxy-Authorization"));
	cr_assert(hop_by_hop("proxy-"));
}

Test(hop, end_to_end_headers_pass)
{
	static const char *const no[] = {"", "authorization", "content-type", "content-length",
					 "host", "connections", "tes", "xte", "upgraded", "x-proxy-id",
					 "proxy", "trailers", "x-berth-key"};

	for (size_t i = 0; i < B_ARRAY_LEN(no); i++)
		cr_assert(not(hop_by_hop(no[i])), "%s", no[i]);
}

Test(hop, host_and_content_length_are_written_by_each_hop)
{
	static const char *const no[] = {"", "hosts", "x-host", "content-type", "content-len",
					 "transfer-encoding"};

	cr_assert(hop_written("host"));
	cr_assert(hop_written("Content-Length"));
	for (size_t i = 0; i < B_ARRAY_LEN(no); i++)
		cr_assert(not(hop_written(no[i])), "%s", no[i]);
}
