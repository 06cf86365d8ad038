/* valid.h: the syntax rules of single API values (API.md section 3 and berth's own), as
 * predicates. Which field carries which rule, and the error to report, are the callers'. */
#ifndef BERTH_VALID_H
#define BERTH_VALID_H

#include "berth.h"

/* ^[a-z0-9][a-z0-9-]{1,98}[a-z0-9]$ */
bool valid_service_slug(const char *s);
/* ^[a-z0-9][a-z0-9._-]{0,62}$: agent names and labels */
bool valid_label(const char *s);
/* ^[A-Za-z_][A-Za-z0-9_]*$, at most ENV_NAME_MAX */
bool valid_env_name(const char *s);
/* Printable ASCII without whitespace, not starting with '-', at most DOCKER_IMAGE_MAX. */
bool valid_docker_image(const char *s);
/* https://host[:port][/path][?query], no userinfo, no whitespace or control characters. */
bool valid_https_url(const char *s);
/* An RFC 9110 token (a method, a header name): one or more visible ASCII characters, none of
 * the delimiters "(),/:;<=>?@[\]{} and double quote. */
bool valid_http_token(const char *s);
/* Starts with '/', no control characters or whitespace. */
bool valid_url_path(const char *s);
/* Absolute, no ".." segment, no control characters, at most VOLUME_PATH_MAX. */
bool valid_abs_path(const char *s);
/* One '@' between a non-empty local part and a domain (admin@localhost is fine), no whitespace, <= EMAIL_MAX. */
bool valid_email(const char *s);

#endif
