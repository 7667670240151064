/*
 * test_contacts_merge.c - the duplicate rules of contacts_merge.h: phone keys (country
 * codes and trunk zeros), name keys, and names one edit apart.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crm/contacts_merge.h"
#include "crm/banned.h"

/* The phone key of `phone`, or "-" when it has none (static storage, one at a time). */
static const char *key_of(const char *phone)
{
	static char key[CONTACTS_PHONE_KEY_SIZE];
	return contacts_phone_key(phone, key) == 0 ? key : "-";
}

static void test_phone_keys(void)
{
	CHECK_STR("307654321", key_of("+49 30 7654321"));
	CHECK_STR("307654321", key_of("0049-30-7654321"));
	CHECK_STR("307654321", key_of("030 / 765 43 21"));
	CHECK_STR("155550100", key_of("+1 (415) 555-0100"));
	CHECK_STR("155550100", key_of("415.555.0100"));
	CHECK_STR("1234567", key_of("123 45 67"));
	CHECK_STR("1234567", key_of("0123-4567"));
	CHECK_STR("-", key_of("12345"));
	CHECK_STR("-", key_of("000 0001"));
	CHECK_STR("-", key_of("call me"));
	CHECK_STR("-", key_of(""));
	/* very long inputs keep their last digits */
	char long_number[300];
	memset(long_number, '5', sizeof(long_number) - 2);
	long_number[sizeof(long_number) - 2] = '9';
	long_number[sizeof(long_number) - 1] = '\0';
	CHECK_STR("555555559", key_of(long_number));
}

static void test_name_keys(void)
{
	char *key = contacts_name_key("  Anna  Maria ", "SMITH\tJones");
	CHECK_STR("anna maria smith jones", key);
	free(key);
	key = contacts_name_key(NULL, "Lee");
	CHECK_STR("lee", key);
	free(key);
	key = contacts_name_key("Zoë", NULL);
	CHECK_STR("zoë", key);
	free(key);
	CHECK(contacts_name_key(NULL, NULL) == NULL);
	CHECK(contacts_name_key(" ", "\t") == NULL);
}

static void test_names_one_edit_apart(void)
{
	CHECK(contacts_names_similar("carla smith", "carla smith"));
	CHECK(contacts_names_similar("carla smith", "karla smith"));   /* replaced */
	CHECK(contacts_names_similar("carla smith", "carla smiht"));   /* swapped */
	CHECK(contacts_names_similar("carla smith", "carla smithe"));  /* added */
	CHECK(contacts_names_similar("carla smith", "carl smith"));    /* removed */
	CHECK(contacts_names_similar("zoë brown", "zoe brown"));       /* one code point */
	CHECK(!contacts_names_similar("carla smith", "karla smiht"));  /* two edits */
	CHECK(!contacts_names_similar("carla smith", "carl smithe"));
	CHECK(!contacts_names_similar("ann", "anne"));                 /* too short to guess */
	CHECK(contacts_names_similar("ann", "ann"));
	CHECK(!contacts_names_similar("abcde", "edcba"));
	CHECK(contacts_names_similar("abcde", "bacde"));
	CHECK(contacts_names_similar("abcde", "abced"));
}

int main(void)
{
	RUN(test_phone_keys);
	RUN(test_name_keys);
	RUN(test_names_one_edit_apart);
	return check_finish();
}
