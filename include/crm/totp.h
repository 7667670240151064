/*
 * totp.h - one-time passwords for two-factor sign-in: SHA-1 (FIPS 180-4), HMAC-SHA1
 * (RFC 2104), HOTP (RFC 4226), TOTP (RFC 6238: 30-second steps, 6 digits) and the base32
 * text of a secret (RFC 4648, as authenticator apps read it). Pure functions
 * (src/base/totp.c); libsodium has no SHA-1, and these are what authenticator apps use.
 */
#ifndef CRM_TOTP_H
#define CRM_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_BYTES 20
#define TOTP_STEP_SECONDS 30
#define TOTP_DIGITS 6
#define TOTP_SECRET_BYTES 20  /* 160 bits, the size RFC 4226 recommends */
#define TOTP_BASE32_SIZE 33   /* base32 of 20 bytes: 32 characters + NUL */

void sha1(const void *data, size_t len, unsigned char out[SHA1_BYTES]);
void hmac_sha1(const unsigned char *key, size_t key_len, const void *data, size_t len,
	       unsigned char out[SHA1_BYTES]);

/* The HOTP value of `counter` with `digits` (6..8) digits (RFC 4226 section 5.3). */
uint32_t hotp(const unsigned char *key, size_t key_len, uint64_t counter, int digits);

/* The time step of `unix_time` (floor(t / 30)). */
uint64_t totp_step(int64_t unix_time);

/* The TOTP code of `step` as 6 digits with leading zeros into `out` ("012345"). */
void totp_code(const unsigned char *key, size_t key_len, uint64_t step, char out[TOTP_DIGITS + 1]);

/*
 * Base32 (RFC 4648 alphabet, upper case, no padding) of `len` bytes into `out` of
 * `out_size` bytes. Returns 0, or -1 when `out` is too small.
 */
int base32_encode(const unsigned char *data, size_t len, char *out, size_t out_size);

/*
 * Decodes base32 text (either case; blanks and '=' padding ignored) into `out`. Returns the
 * number of bytes, or -1 for a character outside the alphabet or an `out` too small.
 */
int base32_decode(const char *text, unsigned char *out, size_t out_size);

/*
 * Whether `text` is a well-formed code: exactly TOTP_DIGITS decimal digits (blanks between
 * groups allowed, e.g. "123 456"); the digits are copied into `digits`.
 */
int totp_code_parse(const char *text, char digits[TOTP_DIGITS + 1]);

#endif
