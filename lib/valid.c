#include "berth.h"
#include "valid.h"
#include "berth_limits.h"

#include <string.h>

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ascii_graph(char c)
{
	return c > 0x20 && c < 0x7f;
}

bool valid_service_slug(const char *s)
{
	size_t n = strlen(s);

	if (n < SERVICE_SLUG_MIN || n > SERVICE_SLUG_MAX)
		return false;
	if (!lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool valid_label(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > LABEL_MAX || !lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

bool valid_http_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("\"(),/:;<=>?@[\\]{}", *s))
			return false;
	return true;
}

bool valid_env_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > ENV_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

bool valid_docker_image(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > DOCKER_IMAGE_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ascii_graph(s[i]))
			return false;
	return true;
}

bool valid_https_url(const char *s)
{
	const char *host = s + 8, *end;
	size_t n = strlen(s);

	if (n > EXTERNAL_URL_MAX || strncmp(s, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ascii_graph(s[i]))
			return false;
	end = host + strcspn(host, "/?#");
	if (end == host || *host == ':')
		return false;
	/* userinfo would put a password where every reader of the service can see it */
	if (memchr(host, '@', (size_t)(end - host)))
		return false;
	return true;
}

bool valid_url_path(const char *s)
{
	if (s[0] != '/')
		return false;
	for (; *s; s++)
		if (!ascii_graph(*s))
			return false;
	return true;
}

bool valid_abs_path(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > VOLUME_PATH_MAX || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return false;
	return true;
}

bool valid_email(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');

	if (n < 3 || n > EMAIL_MAX || !at || at == s || strchr(at + 1, '@'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ascii_graph(s[i]) && (unsigned char)s[i] < 0x80)
			return false;
	return at[1] != '\0' && at[1] != '.' && s[n - 1] != '.';
}
