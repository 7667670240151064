/*
 * client_address.c - the client address of a request: the peer, or behind trusted reverse
 * proxies the right-most untrusted X-Forwarded-For entry (see client_address.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "crm/banned.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int client_address_parse(const char *text, size_t len, struct client_address_ip *out)
{
	while (len && is_space(*text)) {
		text++;
		len--;
	}
	while (len && is_space(text[len - 1]))
		len--;
	char copy[CLIENT_ADDRESS_TEXT_SIZE];
	if (len == 0 || len >= sizeof(copy))
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	char *address = copy;
	if (copy[0] == '[') { /* "[v6]" or "[v6]:port" */
		char *close = strchr(copy, ']');
		if (!close || (close[1] && close[1] != ':'))
			return -1;
		*close = '\0';
		address = copy + 1;
	} else {
		char *colon = strchr(copy, ':');
		if (colon && !strchr(colon + 1, ':') && strchr(copy, '.'))
			*colon = '\0'; /* "1.2.3.4:port"; an IPv6 address has two colons or more */
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, address, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	unsigned char v6[16];
	if (inet_pton(AF_INET6, address, v6) != 1)
		return -1;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
		out->family = AF_INET;
		memcpy(out->bytes, v6 + 12, 4);
	} else {
		out->family = AF_INET6;
		memcpy(out->bytes, v6, 16);
	}
	return 0;
}

int client_address_proxies_add(struct client_address_proxies *proxies, const char *list)
{
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (proxies->count == CLIENT_ADDRESS_MAX_PROXIES ||
		    client_address_parse(p, len, &proxies->items[proxies->count]) != 0)
			return -1;
		proxies->count++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static bool trusted(const struct client_address_proxies *proxies,
		    const struct client_address_ip *ip)
{
	for (int i = 0; proxies && i < proxies->count; i++)
		if (proxies->items[i].family == ip->family &&
		    memcmp(proxies->items[i].bytes, ip->bytes, ip->family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

static void format_ip(const struct client_address_ip *ip, char *out, size_t out_size)
{
	if (!inet_ntop(ip->family, ip->bytes, out, (socklen_t)out_size))
		snprintf(out, out_size, "unknown");
}

void client_address_resolve(const struct client_address_proxies *proxies, const char *peer,
			    const struct request_value *headers, int header_count, char *out,
			    size_t out_size)
{
	snprintf(out, out_size, "%s", peer);
	struct client_address_ip ip, nearest;
	if (!proxies || !proxies->count || client_address_parse(peer, strlen(peer), &ip) != 0 ||
	    !trusted(proxies, &ip))
		return;
	nearest = ip;
	/* From the last header's last entry to the first header's first entry. */
	for (int h = header_count - 1; h >= 0; h--) {
		if (!headers[h].name || strcasecmp(headers[h].name, "X-Forwarded-For") != 0 ||
		    !headers[h].value)
			continue;
		const char *value = headers[h].value;
		size_t end = strlen(value);
		for (;;) {
			size_t start = end;
			while (start > 0 && value[start - 1] != ',')
				start--;
			bool blank = true;
			for (size_t i = start; i < end && blank; i++)
				blank = is_space(value[i]);
			if (!blank) { /* empty list elements are allowed and skipped (RFC 9110) */
				if (client_address_parse(value + start, end - start, &ip) != 0)
					goto done; /* not an address: not written by a trusted proxy */
				nearest = ip;
				if (!trusted(proxies, &ip))
					goto done;
			}
			if (start == 0)
				break;
			end = start - 1;
		}
	}
done:
	format_ip(&nearest, out, out_size);
}
