#include "berth.h"
#include "hop.h"

#include <strings.h>

bool hop_by_hop(const char *name)
{
	static const char *const hop[] = {"connection", "keep-alive", "te", "transfer-encoding",
					  "trailer", "upgrade"};

	if (strncasecmp(name, "proxy-", 6) == 0)
		return true;
	for (size_t i = 0; i < B_ARRAY_LEN(hop); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return true;
	return false;
}

bool hop_written(const char *name)
{
	return strcasecmp(name, "host") == 0 || strcasecmp(name, "content-length") == 0;
}
