/*
 * fuzz_client_address.c - the client address behind trusted proxies (client_address.h):
 * client_address_resolve() over X-Forwarded-For headers, and client_address_parse().
 * The input's first byte picks the peer (a trusted proxy, an untrusted address, garbage);
 * the rest is header lines, "X-Forwarded-For" for each line unless it starts with '#'
 * (another header, which must be ignored).
 *
 * Properties: from an untrusted peer the result is the peer, whatever the headers say;
 * from a trusted one it is what a plain reference walk finds (all entries in order, the
 * right-most untrusted one, else the left-most, stopping at the first entry that is no
 * address), in canonical form; a parsed address printed and parsed again is the same.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "crm/client_address.h"
#include "fuzz.h"
#include "crm/banned.h"

#define MAX_HEADERS 16
#define MAX_ENTRIES 512

static struct client_address_proxies proxies;

static bool same_ip(const struct client_address_ip *a, const struct client_address_ip *b)
{
	return a->family == b->family &&
	       memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

static bool is_trusted(const struct client_address_ip *ip)
{
	for (int i = 0; i < proxies.count; i++)
		if (same_ip(&proxies.items[i], ip))
			return true;
	return false;
}

static void print_ip(const struct client_address_ip *ip, char *out, size_t size)
{
	if (!inet_ntop(ip->family, ip->bytes, out, (socklen_t)size))
		fuzz_fail("inet_ntop failed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!proxies.count && client_address_proxies_add(&proxies, "127.0.0.1, ::1,10.0.0.2") != 0)
		fuzz_fail("the proxy list does not parse");
	if (size < 1)
		return 0;
	static const char *const peers[] = { "127.0.0.1", "::1", "10.0.0.2", "203.0.113.5",
					     "2001:db8::7", "unknown" };
	const char *peer = peers[data[0] % 6];
	char *text = fuzz_text(data + 1, size - 1);
	struct request_value headers[MAX_HEADERS];
	int count = 0;
	for (char *line = text; line && count < MAX_HEADERS;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		const char *name = count % 2 ? "x-forwarded-for" : "X-Forwarded-For";
		headers[count++] = (struct request_value){ line[0] == '#' ? "X-Other" : name, line };
		line = next;
	}
	char out[CLIENT_ADDRESS_TEXT_SIZE];
	client_address_resolve(&proxies, peer, headers, count, out, sizeof(out));

	/* The reference: every entry of every X-Forwarded-For header, left to right. */
	struct client_address_ip peer_ip;
	char expected[CLIENT_ADDRESS_TEXT_SIZE];
	if (client_address_parse(peer, strlen(peer), &peer_ip) != 0 || !is_trusted(&peer_ip)) {
		snprintf(expected, sizeof(expected), "%s", peer);
	} else {
		static struct { const char *start; size_t len; } entries[MAX_ENTRIES];
		int n = 0;
		bool overflow = false;
		for (int h = 0; h < count; h++) {
			if (strcmp(headers[h].name, "X-Other") == 0)
				continue;
			const char *p = headers[h].value;
			for (;;) {
				size_t len = strcspn(p, ",");
				size_t blank = strspn(p, " \t");
				if (blank < len) {
					if (n == MAX_ENTRIES)
						overflow = true;
					else {
						entries[n].start = p;
						entries[n++].len = len;
					}
				}
				if (!p[len])
					break;
				p += len + 1;
			}
		}
		if (overflow) { /* too many to check here; the code must still not fail */
			free(text);
			return 0;
		}
		struct client_address_ip nearest = peer_ip, ip;
		for (int i = n - 1; i >= 0; i--) {
			if (client_address_parse(entries[i].start, entries[i].len, &ip) != 0)
				break;
			nearest = ip;
			if (!is_trusted(&ip))
				break;
		}
		print_ip(&nearest, expected, sizeof(expected));
	}
	if (strcmp(out, expected) != 0)
		fuzz_fail("peer %s: resolved \"%s\", the reference \"%s\"", peer, out, expected);

	/* Each line parsed alone: canonical text parses back to the same address. */
	for (int h = 0; h < count; h++) {
		struct client_address_ip ip, again;
		if (client_address_parse(headers[h].value, strlen(headers[h].value), &ip) != 0)
			continue;
		if (ip.family != AF_INET && ip.family != AF_INET6)
			fuzz_fail("family %d", ip.family);
		char printed[CLIENT_ADDRESS_TEXT_SIZE];
		print_ip(&ip, printed, sizeof(printed));
		if (client_address_parse(printed, strlen(printed), &again) != 0 || !same_ip(&ip, &again))
			fuzz_fail("\"%s\" printed as \"%s\" does not parse back", headers[h].value, printed);
	}
	free(text);
	return 0;
}
