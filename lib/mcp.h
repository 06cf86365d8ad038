/* mcp.h: the Model Context Protocol as berth serves it on /api/v1/mcp (API.md section 4):
 * JSON-RPC 2.0 messages, the protocol versions of the Streamable HTTP transport berth speaks,
 * its three tools and their arguments, the answers, and the sessions initialize makes.
 * Running a tool (the store, the tunnel) and HTTP are the program's (cgi-bin/mcp.c). */
#ifndef BERTH_MCP_H
#define BERTH_MCP_H

#include "berth.h"
#include "err.h"
#include "invoke.h"
#include "store.h"

#include <cjson/cJSON.h>

#define MCP_SESSION_ID_LEN 32          /* hex digits */
#define MCP_SESSIONS_PER_CREDENTIAL 64 /* past these, a new session ends the least used one */
#define MCP_SESSION_IDLE_S 86400       /* a session unused this long is gone */
#define MCP_VERSION_MAX 16             /* "2025-11-25" */
#define MCP_LIST_PAGE_MAX 100          /* services per list_container_services answer */

/* JSON-RPC 2.0 error codes. */
#define MCP_PARSE_ERROR (-32700)
#define MCP_INVALID_REQUEST (-32600)
#define MCP_METHOD_NOT_FOUND (-32601)
#define MCP_INVALID_PARAMS (-32602)

enum mcp_kind {
	MCP_REQUEST,      /* a method and an id: answered */
	MCP_NOTIFICATION, /* a method, no id: accepted, never answered */
	MCP_RESPONSE,     /* a result or error of the client's (berth asks nothing): ignored */
	MCP_INVALID,      /* not a JSON-RPC 2.0 message: why says how */
};

struct mcp_msg {
	enum mcp_kind kind;
	const cJSON *id;     /* MCP_REQUEST: a string or a number; else NULL */
	const char *method;  /* MCP_REQUEST, MCP_NOTIFICATION */
	const cJSON *params; /* an object, or NULL when absent */
	char why[160];
};

/* What one parsed message is. A batch (an array) is MCP_INVALID: the transport's
 * 2025-06-18 revision dropped batches (so berth does not speak 2025-03-26). */
void mcp_classify(const cJSON *m, struct mcp_msg *out);

/* {"jsonrpc": "2.0", "id": id, "result": result}; takes result. */
cJSON *mcp_result(const cJSON *id, cJSON *result);
/* {"jsonrpc": "2.0", "id": id (null when NULL), "error": {"code", "message"}}. */
cJSON *mcp_error(const cJSON *id, int code, const char *message);

/* The protocol versions berth speaks, newest first, NULL-terminated. */
extern const char *const mcp_versions[];
bool mcp_version_supported(const char *v);
/* initialize: the client's version when berth speaks it, else berth's newest. */
const char *mcp_version_negotiate(const char *asked);

/* initialize's result for the agreed version. */
cJSON *mcp_initialize_result(const char *version);
/* tools/list's result: the three tools with their input schemas. */
cJSON *mcp_tools_list(void);

enum mcp_tool { MCP_TOOL_LIST, MCP_TOOL_GET, MCP_TOOL_CALL };

struct mcp_call {
	enum mcp_tool tool;
	char slug[128];             /* get, call */
	long current_page, per_page; /* list: 1.., 1..MCP_LIST_PAGE_MAX */
	struct invoke_req req;      /* call: as POST /r/invoke's body */
	cJSON *args;                /* call: the arguments less service_slug (req points in) */
};

/* tools/call's params: -1 with why when they name no tool of berth's (a JSON-RPC error),
 * else 0 with the tool and its arguments (an object, or NULL when absent). */
int mcp_tool_find(const cJSON *params, enum mcp_tool *tool, const cJSON **args, char *why,
		  size_t n);
/* The tool's arguments into out (freed with mcp_call_free, also on failure). An error is
 * the tool's (a result with isError), as API.md would answer the same input elsewhere:
 * 400 naming the argument, 413 for a body over body_max. */
int mcp_call_parse(enum mcp_tool tool, const cJSON *args, size_t body_max, struct mcp_call *out,
		   struct berr *e) B_MUST_CHECK;
void mcp_call_free(struct mcp_call *c);

/* A tool's answer: structured (taken) as structuredContent and as the JSON text of its one
 * content item. */
cJSON *mcp_tool_result(cJSON *structured);
/* A tool that failed: isError, the message as text, the API.md envelope (less request_id)
 * as structuredContent. */
cJSON *mcp_tool_error(const struct berr *e);

/* A new session of the credential's at version; its id lands in id. The credential's least
 * used sessions beyond MCP_SESSIONS_PER_CREDENTIAL end, as do all idle sessions and those
 * of revoked keys. */
int mcp_session_new(struct store *s, const char *credential_id, const char *version,
		    char id[MCP_SESSION_ID_LEN + 1], struct berr *e) B_MUST_CHECK;
/* B_ENOTFOUND unless id is a live session of credential_id; its version lands in version.
 * Marks it used (at most once a minute). */
int mcp_session_use(struct store *s, const char *id, const char *credential_id,
		    char version[MCP_VERSION_MAX + 1], struct berr *e) B_MUST_CHECK;
/* Ends the session; B_ENOTFOUND unless it is a live one of credential_id. */
int mcp_session_end(struct store *s, const char *id, const char *credential_id,
		    struct berr *e) B_MUST_CHECK;

#endif
