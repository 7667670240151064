/*
 * test_totp.c - totp.h against published vectors and an independent implementation:
 * SHA-1 (FIPS 180 examples and the million 'a'), HMAC-SHA1 (all seven cases of RFC 2202),
 * HOTP (RFC 4226 appendix D), TOTP (the SHA1 rows of RFC 6238 appendix B), base32
 * (RFC 4648 section 10), the parsing of typed codes, and random keys and times whose codes
 * Debian's oathtool computes too.
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crm/totp.h"

static void hex_of(const unsigned char *bytes, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static void check_sha1(const void *data, size_t len, const char *expected)
{
	unsigned char digest[SHA1_BYTES];
	char hex[2 * SHA1_BYTES + 1];
	sha1(data, len, digest);
	hex_of(digest, sizeof(digest), hex);
	CHECK_STR(expected, hex);
}

static void test_sha1_fips180(void)
{
	check_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_sha1(two_blocks, strlen(two_blocks), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	check_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	char *million = malloc(1000000);
	memset(million, 'a', 1000000);
	check_sha1(million, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(million);
	/* lengths around the padding boundary (55, 56, 64 bytes; digests from Python's hashlib) */
	check_sha1("0123456789012345678901234567890123456789012345678901234", 55,
		   "9f3a4ce7f66b1b74c34da2c5d732c39f81e0f8df");
	char a_run[64];
	memset(a_run, 'a', sizeof(a_run));
	check_sha1(a_run, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
	check_sha1(a_run, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

struct hmac_case {
	unsigned char key[80];
	size_t key_len;
	const char *data;
	unsigned char data_fill;
	size_t data_len;
	const char *digest;
};

static void test_hmac_sha1_rfc2202(void)
{
	struct hmac_case cases[7] = {
		{ .key_len = 20, .data = "Hi There", .data_len = 8,
		  .digest = "b617318655057264e28bc0b6fb378c8ef146be00" },
		{ .key = "Jefe", .key_len = 4, .data = "what do ya want for nothing?", .data_len = 28,
		  .digest = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
		{ .key_len = 20, .data_fill = 0xdd, .data_len = 50,
		  .digest = "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },
		{ .key_len = 25, .data_fill = 0xcd, .data_len = 50,
		  .digest = "4c9007f4026250c6bc8414f9bf50c86c2d7235da" },
		{ .key_len = 20, .data = "Test With Truncation", .data_len = 20,
		  .digest = "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04" },
		{ .key_len = 80, .data = "Test Using Larger Than Block-Size Key - Hash Key First",
		  .data_len = 54, .digest = "aa4ae5e15272d00e95705637ce8a3b55ed402112" },
		{ .key_len = 80,
		  .data = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
		  .data_len = 73, .digest = "e8e99d0f45237d786d6bbaa7965c7808bbff1a91" },
	};
	memset(cases[0].key, 0x0b, 20);
	memset(cases[2].key, 0xaa, 20);
	for (int i = 0; i < 25; i++)
		cases[3].key[i] = (unsigned char)(i + 1);
	memset(cases[4].key, 0x0c, 20);
	memset(cases[5].key, 0xaa, 80);
	memset(cases[6].key, 0xaa, 80);
	for (int i = 0; i < 7; i++) {
		unsigned char data[80];
		if (cases[i].data)
			memcpy(data, cases[i].data, cases[i].data_len);
		else
			memset(data, cases[i].data_fill, cases[i].data_len);
		unsigned char mac[SHA1_BYTES];
		char hex[2 * SHA1_BYTES + 1];
		hmac_sha1(cases[i].key, cases[i].key_len, data, cases[i].data_len, mac);
		hex_of(mac, sizeof(mac), hex);
		CHECK_STR(cases[i].digest, hex);
	}
}

static const unsigned char rfc_key[] = "12345678901234567890";

static void test_hotp_rfc4226(void)
{
	const uint32_t expected[10] = { 755224, 287082, 359152, 969429, 338314,
					254676, 287922, 162583, 399871, 520489 };
	for (int i = 0; i < 10; i++)
		CHECK_INT(expected[i], hotp(rfc_key, 20, (uint64_t)i, 6));
}

static void test_totp_rfc6238_sha1(void)
{
	const struct { int64_t time; uint32_t code; } rows[] = {
		{ 59, 94287082 },	  { 1111111109, 7081804 },  { 1111111111, 14050471 },
		{ 1234567890, 89005924 }, { 2000000000, 69279037 }, { 20000000000, 65353130 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK_INT(rows[i].code, hotp(rfc_key, 20, totp_step(rows[i].time), 8));
	char code[TOTP_DIGITS + 1];
	totp_code(rfc_key, 20, totp_step(1111111109), code);
	CHECK_STR("081804", code); /* the 6-digit form keeps its leading zero */
	CHECK_INT(0, (long long)totp_step(29));
	CHECK_INT(1, (long long)totp_step(30));
	CHECK_INT(0, (long long)totp_step(-5));
}

static void test_base32_rfc4648(void)
{
	const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *encoded[] = { "", "MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI" };
	for (int i = 0; i < 7; i++) {
		char out[32];
		CHECK_INT(0, base32_encode((const unsigned char *)plain[i], strlen(plain[i]), out,
					   sizeof(out)));
		CHECK_STR(encoded[i], out);
		unsigned char back[16];
		int n = base32_decode(encoded[i], back, sizeof(back));
		CHECK_INT((long long)strlen(plain[i]), n);
		CHECK(n >= 0 && memcmp(back, plain[i], (size_t)n) == 0);
	}
	unsigned char back[16];
	CHECK_INT(6, base32_decode("mzxw 6ytb oi======", back, sizeof(back)));
	CHECK_INT(-1, base32_decode("MZXW1", back, sizeof(back))); /* 1 is not in the alphabet */
	CHECK_INT(-1, base32_decode("MZXW6YTBOI", back, 3));       /* too long for out */
	char small[4];
	CHECK_INT(-1, base32_encode((const unsigned char *)"foobar", 6, small, sizeof(small)));
}

static void test_code_parse(void)
{
	char digits[TOTP_DIGITS + 1];
	CHECK_INT(0, totp_code_parse("012345", digits));
	CHECK_STR("012345", digits);
	CHECK_INT(0, totp_code_parse("012 345", digits));
	CHECK_STR("012345", digits);
	const char *refused[] = { "", "12345", "1234567", "12345a", "-12345", "١٢٣٤٥٦", NULL };
	for (int i = 0; refused[i]; i++)
		CHECK_INT(-1, totp_code_parse(refused[i], digits));
}

/* oathtool's code for base32 `secret` at `unix_time` into `out`; 0 done. */
static int oathtool_code(const char *secret, long long unix_time, char out[16])
{
	char command[160];
	snprintf(command, sizeof(command), "oathtool --totp -b -N @%lld %s", unix_time, secret);
	FILE *pipe = popen(command, "r");
	if (!pipe)
		return -1;
	char line[32] = "";
	char *got = fgets(line, sizeof(line), pipe);
	int status = pclose(pipe);
	if (!got || status != 0)
		return -1;
	line[strcspn(line, "\r\n")] = '\0';
	snprintf(out, 16, "%s", line);
	return 0;
}

static void test_against_oathtool(void)
{
	CHECK(sodium_init() >= 0);
	for (int i = 0; i < 40; i++) {
		unsigned char key[TOTP_SECRET_BYTES];
		randombytes_buf(key, sizeof(key));
		char secret[TOTP_BASE32_SIZE];
		CHECK_INT(0, base32_encode(key, sizeof(key), secret, sizeof(secret)));
		long long when = (long long)randombytes_uniform(2000000000u) + (i % 2) * 2000000000LL;
		char theirs[16], ours[TOTP_DIGITS + 1];
		CHECK_INT(0, oathtool_code(secret, when, theirs));
		totp_code(key, sizeof(key), totp_step(when), ours);
		CHECK_STR(theirs, ours);
	}
}

int main(void)
{
	RUN(test_sha1_fips180);
	RUN(test_hmac_sha1_rfc2202);
	RUN(test_hotp_rfc4226);
	RUN(test_totp_rfc6238_sha1);
	RUN(test_base32_rfc4648);
	RUN(test_code_parse);
	RUN(test_against_oathtool);
	return check_finish();
}
