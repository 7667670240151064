/*
 * http.c - the libmicrohttpd server: thread pool with epoll, optional TLS (GnuTLS inside
 * libmicrohttpd), request body collection with the 1 MiB limit, the URL and header limits,
 * response conversion, security headers and the access log; and suspended requests
 * (response_suspend), whose slow work runs on another thread while the worker serves
 * other connections.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "crm/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crm/client_address.h"
#include "crm/log.h"
#include "crm/metrics.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

struct http_server {
	struct MHD_Daemon *daemon;
	http_handler_fn handler;
	unsigned port;
	/* Suspended connections must all be resumed before libmicrohttpd stops. */
	pthread_mutex_t suspend_lock;
	pthread_cond_t suspend_changed;
	int suspended;   /* requests suspended and not yet answered */
	bool stopping;   /* from now on a suspension waits in its worker instead */
	struct client_address_proxies proxies; /* --trusted-proxy */
};

/* The way back to a suspended request (one per connection state). */
struct http_resumer {
	struct http_server *server;
	struct MHD_Connection *connection; /* NULL: the worker waits for `done` */
	bool done;
};

/* What we keep for one request while its body arrives. */
struct http_connection_state {
	int64_t started_us;
	struct buf body;
	bool too_large;
	uint64_t drained; /* bytes of a body too large read and dropped */
	int status;        /* the status sent, for the access log */
	int64_t user_id;   /* the authenticated user, for the access log */
	char *path;        /* copy of the path, for the access log */
	char *method;
	char client[CLIENT_ADDRESS_TEXT_SIZE]; /* the client address, for the access log */
	const char *route_label; /* the router's pattern, for the metrics (static) */
	struct http_resumer resumer;
	struct response_suspension suspension; /* the handler's, once it suspended */
};

/* ---------------------------------------------------------------- request accessors */

/* The first value named `name` (ASCII case-insensitive, as libmicrohttpd compares). */
static const char *value_lookup(const struct request_value *values, int count, const char *name)
{
	for (int i = 0; i < count; i++)
		if (values[i].name && strcasecmp(values[i].name, name) == 0)
			return values[i].value;
	return NULL;
}

const char *request_header(const struct request *req, const char *name)
{
	return value_lookup(req->headers, req->header_count, name);
}

const char *request_query(const struct request *req, const char *name)
{
	return value_lookup(req->query, req->query_count, name);
}

int request_query_each(const struct request *req,
		       int (*visit)(void *context, const char *name, const char *value),
		       void *context)
{
	for (int i = 0; i < req->query_count; i++) {
		int result = visit(context, req->query[i].name, req->query[i].value);
		if (result)
			return result;
	}
	return 0;
}

const char *request_cookie(const struct request *req, const char *name)
{
	return value_lookup(req->cookies, req->cookie_count, name);
}

/* ---------------------------------------------------------------- responses */

void response_init(struct response *res)
{
	memset(res, 0, sizeof(*res));
	res->status = HTTP_INTERNAL_ERROR;
	res->content_type = "text/plain; charset=utf-8";
}

void response_release(struct response *res)
{
	if (res->suspension.free_context) /* suspended outside the server: nothing started */
		res->suspension.free_context(res->suspension.context);
	if (!res->body_is_static)
		free(res->body);
	for (int i = 0; i < res->header_count; i++) {
		free(res->header_names[i]);
		free(res->header_values[i]);
	}
	memset(res, 0, sizeof(*res));
}

void response_set_header(struct response *res, const char *name, const char *value)
{
	for (int i = 0; i < res->header_count; i++) {
		if (strcasecmp(res->header_names[i], name) == 0) {
			free(res->header_values[i]);
			res->header_values[i] = xstrdup(value);
			return;
		}
	}
	if (res->header_count == HTTP_MAX_RESPONSE_HEADERS) {
		log_error("too many response headers; dropped %s", name);
		return;
	}
	res->header_names[res->header_count] = xstrdup(name);
	res->header_values[res->header_count] = xstrdup(value);
	res->header_count++;
}

void response_set_body(struct response *res, int status, const char *content_type, char *body,
		       size_t len)
{
	if (!res->body_is_static)
		free(res->body);
	res->status = status;
	res->content_type = content_type;
	res->body = body;
	res->body_len = len;
	res->body_is_static = false;
}

void response_set_static_body(struct response *res, int status, const char *content_type,
			      const void *body, size_t len)
{
	if (!res->body_is_static)
		free(res->body);
	res->status = status;
	res->content_type = content_type;
	res->body = (char *)body;
	res->body_len = len;
	res->body_is_static = true;
}

void response_suspend(struct response *res, void (*start)(void *context, struct http_resumer *resumer),
		      void (*free_context)(void *context), void *context)
{
	res->suspension.start = start;
	res->suspension.free_context = free_context;
	res->suspension.context = context;
}

void http_resume(struct http_resumer *resumer)
{
	/* Once the connection is resumed its worker may free `resumer`: read it first. */
	struct http_server *server = resumer->server;
	struct MHD_Connection *connection = resumer->connection;
	pthread_mutex_lock(&server->suspend_lock);
	if (connection) {
		MHD_resume_connection(connection);
	} else {
		resumer->done = true;
		pthread_cond_broadcast(&server->suspend_changed);
	}
	pthread_mutex_unlock(&server->suspend_lock);
}

/* Whether the connection came in over HTTPS (the daemon was started with TLS). */
static bool connection_is_tls(struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(connection, MHD_CONNECTION_INFO_DAEMON);
	if (!info || !info->daemon)
		return false;
	const union MHD_DaemonInfo *flags = MHD_get_daemon_info(info->daemon, MHD_DAEMON_INFO_FLAGS);
	return flags && (flags->flags & MHD_USE_TLS);
}

/* The body of a 304: none (see send_response). */
static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

/*
 * A 304 has no body, and a Content-Length on it would have to be the representation's
 * (RFC 9110 8.6): libmicrohttpd (0.9.75) adds "Content-Length: 0" to a response from a
 * buffer, even beside one the handler sets, and ends a response of unknown length with a
 * chunk ("0\r\n\r\n") that a client reads as the start of the next answer. So a 304 goes
 * with neither, and the connection closes after it (MHD_RF_HTTP_1_0_COMPATIBLE_STRICT).
 */
static struct MHD_Response *not_modified_response(void)
{
	struct MHD_Response *mhd_response =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, no_body, NULL, NULL);
	if (mhd_response)
		MHD_set_response_options(mhd_response, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
	return mhd_response;
}

static enum MHD_Result send_response(struct MHD_Connection *connection, struct response *res)
{
	struct MHD_Response *mhd_response;
	if (res->status == HTTP_NOT_MODIFIED) {
		mhd_response = not_modified_response();
	} else if (res->body_is_static || !res->body) {
		mhd_response = MHD_create_response_from_buffer(res->body_len,
							       res->body ? res->body : (char *)"",
							       MHD_RESPMEM_PERSISTENT);
	} else {
		mhd_response = MHD_create_response_from_buffer(res->body_len, res->body,
							       MHD_RESPMEM_MUST_FREE);
		res->body = NULL; /* libmicrohttpd frees it now */
	}
	if (!mhd_response)
		return MHD_NO;
	if (res->body_len || res->status != HTTP_NO_CONTENT)
		MHD_add_response_header(mhd_response, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
	MHD_add_response_header(mhd_response, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mhd_response, "X-Frame-Options", "DENY");
	MHD_add_response_header(mhd_response, "Referrer-Policy", "same-origin");
	if (connection_is_tls(connection))
		MHD_add_response_header(mhd_response, "Strict-Transport-Security",
					"max-age=31536000");
	for (int i = 0; i < res->header_count; i++)
		MHD_add_response_header(mhd_response, res->header_names[i], res->header_values[i]);
	enum MHD_Result result = MHD_queue_response(connection, (unsigned)res->status, mhd_response);
	MHD_destroy_response(mhd_response);
	return result;
}

static enum MHD_Result send_simple_problem(struct MHD_Connection *connection,
					   struct http_connection_state *state, int status,
					   const char *title, const char *detail)
{
	struct response res;
	response_init(&res);
	struct buf body = BUF_INIT;
	buf_addf(&body,
		 "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}", title,
		 status, detail);
	size_t len;
	char *data = buf_detach(&body, &len);
	response_set_body(&res, status, "application/problem+json", data, len);
	state->status = status;
	enum MHD_Result result = send_response(connection, &res);
	response_release(&res);
	return result;
}

/* ---------------------------------------------------------------- request handling */

static void client_address_text(struct MHD_Connection *connection, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, size, "unknown");
	if (!info || !info->client_addr)
		return;
	const struct sockaddr *address = info->client_addr;
	if (address->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)address)->sin_addr, out,
			  (socklen_t)size);
	else if (address->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)address)->sin6_addr,
			  out, (socklen_t)size);
}

/* A growing array of name/value pairs (pointers into libmicrohttpd's memory). */
struct value_list {
	struct request_value *items;
	int count;
	int alloc;
};

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	struct value_list *list = cls;
	if (list->count == list->alloc) {
		list->alloc = list->alloc ? list->alloc * 2 : 16;
		list->items = xrealloc(list->items, (size_t)list->alloc * sizeof(*list->items));
	}
	list->items[list->count++] = (struct request_value){ key, value };
	return MHD_YES;
}

static enum MHD_Result dispatch(struct http_server *server, struct MHD_Connection *connection,
				struct http_connection_state *state, const char *url,
				const char *method);

/*
 * Takes over the suspension the handler asked for in `res` and starts its work. Returns
 * true when the connection is suspended (the handler is called again once resumed), false
 * when the server is stopping and the work was waited for here (the caller then calls the
 * handler again at once).
 */
static bool suspend_request(struct http_server *server, struct MHD_Connection *connection,
			    struct http_connection_state *state,
			    const struct response_suspension *suspension)
{
	state->suspension = *suspension;
	struct http_resumer *resumer = &state->resumer;
	resumer->server = server;
	resumer->done = false;
	pthread_mutex_lock(&server->suspend_lock);
	bool suspended = !server->stopping;
	if (suspended) {
		MHD_suspend_connection(connection);
		server->suspended++;
		resumer->connection = connection;
	} else {
		resumer->connection = NULL;
	}
	pthread_mutex_unlock(&server->suspend_lock);
	state->suspension.start(state->suspension.context, resumer);
	if (suspended)
		return true;
	pthread_mutex_lock(&server->suspend_lock);
	while (!resumer->done)
		pthread_cond_wait(&server->suspend_changed, &server->suspend_lock);
	pthread_mutex_unlock(&server->suspend_lock);
	return false;
}

/* The end of a suspended request: answered, or its client gone. */
static void suspension_release(struct http_connection_state *state)
{
	if (!state->suspension.free_context)
		return;
	state->suspension.free_context(state->suspension.context);
	memset(&state->suspension, 0, sizeof(state->suspension));
	struct http_server *server = state->resumer.server;
	if (!state->resumer.connection)
		return; /* waited for in its worker: never counted */
	pthread_mutex_lock(&server->suspend_lock);
	server->suspended--;
	pthread_cond_broadcast(&server->suspend_changed);
	pthread_mutex_unlock(&server->suspend_lock);
}

static enum MHD_Result dispatch(struct http_server *server, struct MHD_Connection *connection,
				struct http_connection_state *state, const char *url,
				const char *method)
{
	char address[CLIENT_ADDRESS_TEXT_SIZE];
	struct value_list headers = { 0 }, query = { 0 }, cookies = { 0 };
	MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_value, &headers);
	/* state->client holds the peer's address (handle_access): the client behind a proxy */
	client_address_resolve(&server->proxies, state->client, headers.items, headers.count,
			       address, sizeof(address));
	snprintf(state->client, sizeof(state->client), "%s", address);
	MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_value, &query);
	MHD_get_connection_values(connection, MHD_COOKIE_KIND, collect_value, &cookies);
	struct request req = {
		.method = method,
		.path = url,
		.body = state->body.data,
		.body_len = state->body.len,
		.client_address = address,
		.headers = headers.items,
		.header_count = headers.count,
		.query = query.items,
		.query_count = query.count,
		.cookies = cookies.items,
		.cookie_count = cookies.count,
		.resumed = state->suspension.context,
	};
	bool resumed = req.resumed != NULL;
	struct response res;
	response_init(&res);
	server->handler(&req, &res);
	state->user_id = req.log_user_id;
	if (req.route_label)
		state->route_label = req.route_label;
	enum MHD_Result result;
	if (res.suspension.start && !resumed) {
		struct response_suspension suspension = res.suspension;
		memset(&res.suspension, 0, sizeof(res.suspension));
		free(headers.items);
		free(query.items);
		free(cookies.items);
		response_release(&res);
		if (suspend_request(server, connection, state, &suspension))
			return MHD_YES;
		return dispatch(server, connection, state, url, method);
	}
	if (res.suspension.start) { /* a handler suspends a request once */
		log_error("%s %s: suspended a second time", method, state->path);
		response_release(&res);
		response_init(&res);
		res.status = HTTP_INTERNAL_ERROR;
	}
	state->status = res.status;
	result = send_response(connection, &res);
	response_release(&res);
	if (resumed)
		suspension_release(state);
	free(headers.items);
	free(query.items);
	free(cookies.items);
	return result;
}

static enum MHD_Result handle_access(void *cls, struct MHD_Connection *connection,
				     const char *url, const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size,
				     void **connection_state)
{
	(void)version;
	struct http_server *server = cls;
	struct http_connection_state *state = *connection_state;
	if (!state) {
		state = xcalloc(1, sizeof(*state));
		state->started_us = time_monotonic_us();
		metrics_request_started();
		buf_init(&state->body);
		state->path = xstrdup(url);
		state->method = xstrdup(method);
		client_address_text(connection, state->client, sizeof(state->client));
		*connection_state = state;
		if (strlen(url) > HTTP_MAX_URL_LENGTH) {
			state->path[HTTP_MAX_URL_LENGTH] = '\0'; /* the access log gets the start */
			return send_simple_problem(connection, state, HTTP_URI_TOO_LONG, "URI Too Long",
						   "the request path is too long");
		}
		const char *length =
			MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length");
		/* A client that waits for "100 Continue" gets the 413 before it sends a body too
		 * large. Any other body too large, declared or chunked, is read and dropped (never
		 * kept) and then answered 413: answering before the body is read closes the
		 * connection under a client still sending, which then sees a broken pipe instead.
		 * Past HTTP_MAX_DRAINED_BODY nothing is read: the 413 goes at once. */
		const char *expect =
			MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Expect");
		unsigned long long declared = length ? strtoull(length, NULL, 10) : 0;
		bool waits = expect && strcasecmp(expect, "100-continue") == 0;
		if ((waits && declared > HTTP_MAX_BODY) || declared > HTTP_MAX_DRAINED_BODY)
			return send_simple_problem(connection, state, HTTP_PAYLOAD_TOO_LARGE,
						   "Content Too Large",
						   "the request body is larger than 1 MiB");
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!state->too_large) {
			if (state->body.len + *upload_data_size > HTTP_MAX_BODY) {
				state->too_large = true;
				buf_release(&state->body);
			} else {
				buf_add(&state->body, upload_data, *upload_data_size);
			}
		}
		if (state->too_large) {
			state->drained += *upload_data_size;
			if (state->drained > HTTP_MAX_DRAINED_BODY)
				return MHD_NO; /* a chunked body without end: the connection closes */
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (state->too_large)
		return send_simple_problem(connection, state, HTTP_PAYLOAD_TOO_LARGE,
					   "Content Too Large", "the request body is larger than 1 MiB");
	if (memchr(state->body.data, '\0', state->body.len))
		return send_simple_problem(connection, state, HTTP_BAD_REQUEST, "Bad Request",
					   "the request body contains a NUL byte");
	return dispatch(server, connection, state, url, method);
}

static void handle_completed(void *cls, struct MHD_Connection *connection,
			     void **connection_state, enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)connection;
	(void)code;
	struct http_connection_state *state = *connection_state;
	if (!state)
		return;
	suspension_release(state); /* the client went before the handler's second call */
	int64_t duration_us = time_monotonic_us() - state->started_us;
	if (state->status)
		log_request(state->method, state->path, state->status, duration_us, state->user_id,
			    state->client);
	metrics_request_finished(state->route_label, state->method, state->status, duration_us);
	buf_release(&state->body);
	free(state->path);
	free(state->method);
	free(state);
	*connection_state = NULL;
}

static void log_mhd_error(void *cls, const char *format, va_list args)
{
	(void)cls;
	struct buf message = BUF_INIT;
	buf_vaddf(&message, format, args);
	while (message.len && message.data[message.len - 1] == '\n')
		message.data[--message.len] = '\0';
	log_warn("http: %s", message.data);
	buf_release(&message);
}

/* ---------------------------------------------------------------- server lifecycle */

int http_parse_listen(const char *listen, char *host, size_t host_size, unsigned *port)
{
	const char *colon;
	const char *host_start = listen;
	size_t host_len;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return -1;
		host_start = listen + 1;
		host_len = (size_t)(close - host_start);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -1;
		host_len = (size_t)(colon - listen);
	}
	if (host_len == 0 || host_len >= host_size)
		return -1;
	char *end;
	unsigned long value = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || value > 65535)
		return -1;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	*port = (unsigned)value;
	return 0;
}

struct http_server *http_server_start(const struct http_server_options *options)
{
	char host[128];
	unsigned port;
	if (http_parse_listen(options->listen, host, sizeof(host), &port) != 0) {
		log_error("--listen %s: expected HOST:PORT", options->listen);
		return NULL;
	}
	struct sockaddr_storage address;
	memset(&address, 0, sizeof(address));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		log_error("--listen %s: the host must be an IPv4 or IPv6 address", options->listen);
		return NULL;
	}
	unsigned threads = options->threads;
	if (threads == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cores > 0 ? (unsigned)cores : 2;
	}
	bool tls = options->tls_cert_pem || options->tls_key_pem;
	if (tls) {
		if (!options->tls_cert_pem || !options->tls_key_pem) {
			log_error("TLS needs both a certificate and a key");
			return NULL;
		}
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_error("this libmicrohttpd was built without TLS support; "
				  "serve plain HTTP behind a TLS proxy instead");
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	struct http_server *server = xcalloc(1, sizeof(*server));
	server->handler = options->handler;
	if (options->trusted_proxies)
		server->proxies = *options->trusted_proxies;
	pthread_mutex_init(&server->suspend_lock, NULL);
	pthread_cond_init(&server->suspend_changed, NULL);
	/* The TLS options come first in the list: without TLS, an MHD_OPTION_END there ends it
	 * before them. The memory limit bounds the request line and headers of a connection:
	 * larger ones are refused by libmicrohttpd (431 or 414). */
	server->daemon = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, handle_access, server,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd_error, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_NOTIFY_COMPLETED, handle_completed, server,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_CONNECTION_LIMIT, 1024u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u,
		tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, options->tls_cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, options->tls_key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
		MHD_OPTION_END);
	if (!server->daemon) {
		if (tls)
			log_error("cannot serve HTTPS on %s: is the address free, and are the "
				  "certificate and key valid PEM that belong together?",
				  options->listen);
		else
			log_error("cannot listen on %s", options->listen);
		pthread_cond_destroy(&server->suspend_changed);
		pthread_mutex_destroy(&server->suspend_lock);
		free(server);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon,
							       MHD_DAEMON_INFO_BIND_PORT);
	server->port = info ? info->port : port;
	return server;
}

unsigned http_server_port(struct http_server *server)
{
	return server->port;
}

void http_server_stop(struct http_server *server)
{
	if (!server)
		return;
	MHD_socket listen_socket = MHD_quiesce_daemon(server->daemon);
	/* libmicrohttpd must not stop with a connection suspended: wait until every suspended
	 * request has been answered (a request suspended from now on waits in its worker). */
	pthread_mutex_lock(&server->suspend_lock);
	server->stopping = true;
	while (server->suspended > 0)
		pthread_cond_wait(&server->suspend_changed, &server->suspend_lock);
	pthread_mutex_unlock(&server->suspend_lock);
	MHD_stop_daemon(server->daemon);
	if (listen_socket != MHD_INVALID_SOCKET)
		close(listen_socket);
	pthread_cond_destroy(&server->suspend_changed);
	pthread_mutex_destroy(&server->suspend_lock);
	free(server);
}

void response_copy_headers(struct response *to, const struct response *from)
{
	for (int i = 0; i < from->header_count; i++)
		response_set_header(to, from->header_names[i], from->header_values[i]);
}
