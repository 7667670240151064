/*
 * totp.c - SHA-1, HMAC-SHA1, HOTP, TOTP and base32 (totp.h). Written from FIPS 180-4,
 * RFC 2104, RFC 4226, RFC 6238 and RFC 4648; checked against their test vectors and
 * against oathtool (tests/unit/test_totp.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/totp.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "crm/banned.h"

struct sha1_state {
	uint32_t h[5];
	unsigned char block[64];
	size_t used;    /* bytes in `block` */
	uint64_t total; /* bytes hashed so far */
};

static uint32_t rotl(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char block[64])
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
		       (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999u;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1u;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDCu;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6u;
		}
		uint32_t t = rotl(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rotl(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

static void sha1_init(struct sha1_state *s)
{
	static const uint32_t initial[5] = { 0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
					     0xC3D2E1F0u };
	memcpy(s->h, initial, sizeof(initial));
	s->used = 0;
	s->total = 0;
}

static void sha1_update(struct sha1_state *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	s->total += len;
	while (len > 0) {
		size_t take = 64 - s->used < len ? 64 - s->used : len;
		memcpy(s->block + s->used, p, take);
		s->used += take;
		p += take;
		len -= take;
		if (s->used == 64) {
			sha1_block(s->h, s->block);
			s->used = 0;
		}
	}
}

static void sha1_final(struct sha1_state *s, unsigned char out[SHA1_BYTES])
{
	uint64_t bits = s->total * 8;
	unsigned char pad = 0x80;
	sha1_update(s, &pad, 1);
	unsigned char zero = 0;
	while (s->used != 56)
		sha1_update(s, &zero, 1);
	unsigned char length[8];
	for (int i = 0; i < 8; i++)
		length[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(s, length, sizeof(length));
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
	memset(s, 0, sizeof(*s));
}

void sha1(const void *data, size_t len, unsigned char out[SHA1_BYTES])
{
	struct sha1_state s;
	sha1_init(&s);
	sha1_update(&s, data, len);
	sha1_final(&s, out);
}

void hmac_sha1(const unsigned char *key, size_t key_len, const void *data, size_t len,
	       unsigned char out[SHA1_BYTES])
{
	unsigned char block_key[64] = { 0 };
	if (key_len > sizeof(block_key))
		sha1(key, key_len, block_key);
	else if (key_len > 0)
		memcpy(block_key, key, key_len);
	unsigned char pad[64];
	unsigned char inner[SHA1_BYTES];
	struct sha1_state s;
	for (int i = 0; i < 64; i++)
		pad[i] = block_key[i] ^ 0x36;
	sha1_init(&s);
	sha1_update(&s, pad, sizeof(pad));
	sha1_update(&s, data, len);
	sha1_final(&s, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = block_key[i] ^ 0x5c;
	sha1_init(&s);
	sha1_update(&s, pad, sizeof(pad));
	sha1_update(&s, inner, sizeof(inner));
	sha1_final(&s, out);
	memset(block_key, 0, sizeof(block_key));
	memset(pad, 0, sizeof(pad));
}

uint32_t hotp(const unsigned char *key, size_t key_len, uint64_t counter, int digits)
{
	unsigned char message[8];
	for (int i = 0; i < 8; i++)
		message[i] = (unsigned char)(counter >> (56 - 8 * i));
	unsigned char mac[SHA1_BYTES];
	hmac_sha1(key, key_len, message, sizeof(message), mac);
	int offset = mac[SHA1_BYTES - 1] & 0x0f;
	uint32_t binary = (uint32_t)(mac[offset] & 0x7f) << 24 | (uint32_t)mac[offset + 1] << 16 |
			  (uint32_t)mac[offset + 2] << 8 | (uint32_t)mac[offset + 3];
	uint32_t modulus = 1;
	for (int i = 0; i < digits; i++)
		modulus *= 10;
	memset(mac, 0, sizeof(mac));
	return binary % modulus;
}

uint64_t totp_step(int64_t unix_time)
{
	return unix_time < 0 ? 0 : (uint64_t)unix_time / TOTP_STEP_SECONDS;
}

void totp_code(const unsigned char *key, size_t key_len, uint64_t step, char out[TOTP_DIGITS + 1])
{
	snprintf(out, TOTP_DIGITS + 1, "%0*u", TOTP_DIGITS,
		 (unsigned)hotp(key, key_len, step, TOTP_DIGITS));
}

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_encode(const unsigned char *data, size_t len, char *out, size_t out_size)
{
	if (out_size < (len * 8 + 4) / 5 + 1)
		return -1;
	size_t n = 0;
	uint32_t buffer = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		buffer = (buffer << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			out[n++] = base32_alphabet[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[n++] = base32_alphabet[(buffer << (5 - bits)) & 31];
	out[n] = '\0';
	return 0;
}

int base32_decode(const char *text, unsigned char *out, size_t out_size)
{
	size_t n = 0;
	uint32_t buffer = 0;
	int bits = 0;
	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == '=' || *p == '-')
			continue;
		const char *found = strchr(base32_alphabet, toupper((unsigned char)*p));
		if (!found || !*p)
			return -1;
		buffer = (buffer << 5) | (uint32_t)(found - base32_alphabet);
		bits += 5;
		if (bits >= 8) {
			if (n >= out_size)
				return -1;
			out[n++] = (unsigned char)(buffer >> (bits - 8));
			bits -= 8;
		}
	}
	return (int)n;
}

int totp_code_parse(const char *text, char digits[TOTP_DIGITS + 1])
{
	int n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == ' ')
			continue;
		if (!isdigit((unsigned char)*p) || n >= TOTP_DIGITS)
			return -1;
		digits[n++] = *p;
	}
	digits[n] = '\0';
	return n == TOTP_DIGITS ? 0 : -1;
}
