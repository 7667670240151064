/*
 * cursor.c - cursors are base64url (no padding) of the JSON array [sort, value, id].
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/cursor.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/json.h"
#include "crm/banned.h"

#define CURSOR_MAX_TEXT 1024

char *cursor_encode(const char *sort, const json_t *sort_value, int64_t id)
{
	json_t *array = json_pack("[s, O, I]", sort, sort_value ? sort_value : json_null(),
				  (json_int_t)id);
	size_t len;
	char *text = json_to_text(array, &len);
	json_decref(array);
	size_t encoded_size = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *encoded = xmalloc(encoded_size);
	sodium_bin2base64(encoded, encoded_size, (const unsigned char *)text, len,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	free(text);
	return encoded;
}

int cursor_decode(const char *text, const char *sort, json_t **sort_value, int64_t *id)
{
	size_t text_len = strlen(text);
	if (text_len == 0 || text_len > CURSOR_MAX_TEXT)
		return -1;
	unsigned char decoded[CURSOR_MAX_TEXT];
	size_t decoded_len;
	if (sodium_base642bin(decoded, sizeof(decoded), text, text_len, NULL, &decoded_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	json_t *array = json_loadb((const char *)decoded, decoded_len, 0, NULL);
	json_t *name = json_array_get(array, 0), *value = json_array_get(array, 1),
	       *row_id = json_array_get(array, 2);
	if (!json_is_array(array) || json_array_size(array) != 3 || !json_is_string(name) ||
	    strcmp(json_string_value(name), sort) != 0 || !json_is_integer(row_id) ||
	    json_is_object(value) || json_is_array(value)) {
		json_decref(array);
		return -1;
	}
	*id = json_integer_value(row_id);
	*sort_value = json_incref(value);
	json_decref(array);
	return 0;
}
