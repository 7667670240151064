/*
 * request_copy.c - a private copy of a request for another thread (request_copy.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/request_copy.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crm/json.h"
#include "crm/banned.h"

static char *copy_or_null(const char *text)
{
	return text ? xstrdup(text) : NULL;
}

static struct request_value *copy_values(const struct request_value *values, int count)
{
	if (count <= 0)
		return NULL;
	struct request_value *copy = xcalloc((size_t)count, sizeof(*copy));
	for (int i = 0; i < count; i++) {
		copy[i].name = copy_or_null(values[i].name);
		copy[i].value = copy_or_null(values[i].value);
	}
	return copy;
}

static void free_values(struct request_value *values, int count)
{
	if (!values)
		return;
	for (int i = 0; i < count; i++) {
		free((char *)values[i].name);
		free((char *)values[i].value);
	}
	free(values);
}

void request_copy_init(struct request_copy *copy, const struct request *req)
{
	memset(copy, 0, sizeof(*copy));
	copy->method = xstrdup(req->method);
	copy->path = xstrdup(req->path);
	copy->body = xmalloc(req->body_len + 1);
	memcpy(copy->body, req->body, req->body_len);
	copy->body[req->body_len] = '\0';
	copy->client_address = copy_or_null(req->client_address);
	for (int i = 0; i < req->path_param_count && i < HTTP_MAX_PATH_PARAMS; i++)
		copy->path_params[i] = copy_or_null(req->path_params[i]);
	copy->headers = copy_values(req->headers, req->header_count);
	copy->query = copy_values(req->query, req->query_count);
	copy->cookies = copy_values(req->cookies, req->cookie_count);
	if (req->auth)
		copy->caller = *req->auth;

	struct request *out = &copy->req;
	out->method = copy->method;
	out->path = copy->path;
	out->body = copy->body;
	out->body_len = req->body_len;
	out->client_address = copy->client_address;
	for (int i = 0; i < req->path_param_count && i < HTTP_MAX_PATH_PARAMS; i++)
		out->path_params[i] = copy->path_params[i];
	out->path_param_count = req->path_param_count;
	out->auth = req->auth ? &copy->caller : NULL;
	out->log_user_id = req->log_user_id;
	out->route_label = req->route_label;
	out->headers = copy->headers;
	out->header_count = req->header_count;
	out->query = copy->query;
	out->query_count = req->query_count;
	out->cookies = copy->cookies;
	out->cookie_count = req->cookie_count;
}

void request_copy_release(struct request_copy *copy)
{
	free(copy->method);
	free(copy->path);
	free(copy->body);
	free(copy->client_address);
	for (int i = 0; i < HTTP_MAX_PATH_PARAMS; i++)
		free(copy->path_params[i]);
	free_values(copy->headers, copy->req.header_count);
	free_values(copy->query, copy->req.query_count);
	free_values(copy->cookies, copy->req.cookie_count);
	sodium_memzero(&copy->caller, sizeof(copy->caller)); /* the CSRF token */
	memset(copy, 0, sizeof(*copy));
}
