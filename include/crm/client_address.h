/*
 * client_address.h - the client address of a request behind trusted reverse proxies
 * (crmd --trusted-proxy): the address the login throttle counts and the access log shows.
 *
 * Only when the peer of the connection is one of the trusted proxies is X-Forwarded-For
 * read at all; otherwise the header is ignored, so a client talking to crmd directly
 * cannot choose its address. The header's entries (all X-Forwarded-For headers in order,
 * joined as one comma-separated list) are read from the right: trusted proxies are
 * skipped, and the first entry that is not one is the client. Without such an entry (all
 * trusted) the left-most one is taken; an entry that is not an IP address stops the walk
 * and the nearest trusted address (the last one skipped, else the peer) is used.
 */
#ifndef CRM_CLIENT_ADDRESS_H
#define CRM_CLIENT_ADDRESS_H

#include <stddef.h>

#include "crm/http.h"

#define CLIENT_ADDRESS_MAX_PROXIES 32
/* Room for any textual IPv6 address and its NUL. */
#define CLIENT_ADDRESS_TEXT_SIZE 48

struct client_address_ip {
	int family; /* AF_INET or AF_INET6 (an IPv4-mapped IPv6 address counts as AF_INET) */
	unsigned char bytes[16];
};

struct client_address_proxies {
	int count;
	struct client_address_ip items[CLIENT_ADDRESS_MAX_PROXIES];
};

/*
 * Parses "ADDR[,ADDR...]" (IPv4 or IPv6 addresses, white space around each allowed) and
 * appends them to `proxies` (zeroed first by the caller). Returns 0, or -1 when an entry is
 * not an address or there are more than CLIENT_ADDRESS_MAX_PROXIES.
 */
int client_address_proxies_add(struct client_address_proxies *proxies, const char *list);

/*
 * Parses one address: plain IPv4 or IPv6, "[IPv6]", and either with ":PORT" after it
 * ("1.2.3.4:80", "[::1]:80"), white space around ignored. Returns 0 or -1.
 */
int client_address_parse(const char *text, size_t len, struct client_address_ip *out);

/*
 * Writes the client address of a request into `out` (canonical text, at least
 * CLIENT_ADDRESS_TEXT_SIZE bytes): `peer` (the connection's peer as text) unless it is a
 * trusted proxy, else from the X-Forwarded-For headers among `headers` as described above.
 * `proxies` may be NULL (none trusted).
 */
void client_address_resolve(const struct client_address_proxies *proxies, const char *peer,
			    const struct request_value *headers, int header_count, char *out,
			    size_t out_size);

#endif
