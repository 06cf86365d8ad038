/* berth_limits.h: every limit of the API contract (API.md) and of berth's own choosing, named after
 * the field it bounds. Validation and tests take their numbers from here and nowhere else. */
#ifndef BERTH_LIMITS_H
#define BERTH_LIMITS_H

/* Request envelope */
#define BODY_MAX ((size_t)1024 * 1024)         /* JSON bodies of management endpoints: 413 above */
#define REQUEST_ID_MAX 128              /* a caller's X-Request-ID longer than this is replaced */
#define AUTH_HEADER_MAX 4096            /* Authorization header */

/* Container service definition (API.md section 3) */
#define SERVICE_SLUG_MIN 3
#define SERVICE_SLUG_MAX 100
#define DISPLAY_NAME_MAX 255
#define SERVICE_DESC_MAX 4096
#define DOCKER_IMAGE_MAX 512
#define EXTERNAL_URL_MAX 2048
#define EXPOSED_PORT_MIN 1
#define EXPOSED_PORT_MAX 65535
#define EXPOSED_PORT_DEFAULT 8080
#define HEALTH_PATH_MAX 500
#define HEALTH_PATH_DEFAULT "/health"
#define ENV_CONFIG_MAX 200
#define ENV_NAME_MAX 255
#define ENV_VALUE_MAX 32768
#define VOLUME_CONFIG_MAX 50
#define VOLUME_PATH_MAX 4096
#define REQUIRED_LABELS_MAX 32
#define LABEL_MAX 63
#define GPU_COUNT_MIN (-1)
#define GPU_COUNT_MAX 64
#define REPLICA_COUNT_MIN 1
#define REPLICA_COUNT_MAX 10
#define REPLICA_COUNT_DEFAULT 1
#define USAGE_PROMPT_MAX 8192
#define OPENAPI_URL_MAX 500

/* Structured invoke (API.md section 4, /r/invoke) */
#define INVOKE_PATH_MAX 2048
#define INVOKE_BODY_DEFAULT ((size_t)32 * 1024 * 1024) /* decoded body_base64; configurable */
#define INVOKE_HEADERS_MAX 100
#define INVOKE_HEADER_NAME_MAX 256
#define INVOKE_HEADER_VALUE_MAX 8192
/* names and values together: the call's head crosses the tunnel as one HTTP/2 header block,
 * which nghttp2 sends up to 64 KiB, with room left for the platform's own headers */
#define INVOKE_HEADERS_BYTES_MAX 32768
#define INVOKE_TIMEOUT_DEFAULT 300                      /* seconds; configurable */
/* Threads of an invoke/proxy process; configurable. Each holds a SQLite connection (two
 * descriptors) and a CURL handle (two, three in a call): libfcgi watches its connections with
 * select(), so a process must stay under FD_SETSIZE (1024) descriptors. */
#define RUNTIME_THREADS_DEFAULT 128
#define RUNTIME_THREADS_MAX 160
#define INVOKE_RESPONSE_MAX ((size_t)32 * 1024 * 1024)  /* a container's answer, held whole */

/* Accounts and credentials */
#define TEAM_NAME_MAX 100
#define EMAIL_MAX 254
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define CREDENTIAL_NAME_MIN 1
#define CREDENTIAL_NAME_MAX 100
#define CREDENTIAL_DAYS_MIN 1
#define CREDENTIAL_DAYS_MAX 365
#define KEY_PREFIX_LEN 12               /* characters of a raw key kept in clear */
#define KEY_RANDOM_LEN 40               /* random characters after "sk-" */
#define KEY_MAX (3 + KEY_RANDOM_LEN)

/* Vault secrets (API.md section 4, /vault/secrets) */
#define VAULT_NAME_MAX 100              /* display_name, characters (at least 1) */
#define VAULT_SECRET_MAX 8192           /* secret_value, bytes (at least 1) */

/* Tokens */
#define JWT_TTL_DEFAULT 3600            /* seconds an access token lives */
#define JWT_TTL_MAX (30L * 24 * 3600)
#define JWT_LEEWAY 30                   /* seconds of clock skew forgiven on exp/nbf */
#define JWT_SECRET_LEN 32               /* bytes of the HS256 key */
#define REFRESH_TTL (30L * 24 * 3600)   /* seconds a refresh token lives (a login lasts this long idle) */
#define REFRESH_TOKEN_MAX AUTH_HEADER_MAX /* refresh_token of /auth/refresh: a JWT, as in Authorization */

#endif
