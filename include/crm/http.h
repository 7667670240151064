/*
 * http.h - the HTTP server (libmicrohttpd with a thread pool) and the request and
 * response types every handler works with.
 *
 * The server reads a whole request (at most HTTP_MAX_BODY bytes of body, else 413), hands
 * it to one callback in a worker thread, and sends what the callback put in the response.
 * Handlers never see libmicrohttpd: they use the accessors below.
 */
#ifndef CRM_HTTP_H
#define CRM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/buf.h"

#define HTTP_MAX_BODY (1024 * 1024)
/* A body too large is read and dropped up to this size (so that simple clients read the
 * 413); a larger one is refused at once (declared) or the connection closed (chunked). */
#define HTTP_MAX_DRAINED_BODY (64 * 1024 * 1024)
/* Longer request paths answer 414. */
#define HTTP_MAX_URL_LENGTH 8192
/* Memory per connection for the request line and headers: more answers 431 (or 414). */
#define HTTP_CONNECTION_MEMORY (64 * 1024)
/* TLS 1.2 and 1.3 only (GnuTLS priority string). */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define HTTP_MAX_PATH_PARAMS 4
#define HTTP_MAX_RESPONSE_HEADERS 12

enum http_status {
	HTTP_OK = 200,
	HTTP_CREATED = 201,
	HTTP_NO_CONTENT = 204,
	HTTP_NOT_MODIFIED = 304,
	HTTP_BAD_REQUEST = 400,
	HTTP_UNAUTHORIZED = 401,
	HTTP_FORBIDDEN = 403,
	HTTP_NOT_FOUND = 404,
	HTTP_METHOD_NOT_ALLOWED = 405,
	HTTP_CONFLICT = 409,
	HTTP_PRECONDITION_FAILED = 412,
	HTTP_PAYLOAD_TOO_LARGE = 413,
	HTTP_URI_TOO_LONG = 414,
	HTTP_UNSUPPORTED_MEDIA_TYPE = 415,
	HTTP_UNPROCESSABLE = 422,
	HTTP_TOO_MANY_REQUESTS = 429,
	HTTP_INTERNAL_ERROR = 500,
	HTTP_SERVICE_UNAVAILABLE = 503,
};

struct auth_context;
struct http_connection_state;
struct http_resumer;
struct client_address_proxies;

/* One header, query-string argument or cookie; `value` may be NULL for "?x". */
struct request_value {
	const char *name;
	const char *value;
};

struct request {
	const char *method;          /* "GET", "POST", ... */
	const char *path;            /* decoded path without the query string */
	const char *body;            /* NUL-terminated body (may be empty); never NULL */
	size_t body_len;
	const char *client_address;  /* the client: the peer, or behind --trusted-proxy the
				      * address it forwarded (client_address.h) */
	/* Path parameters captured by the router ("{id}"), in pattern order. */
	const char *path_params[HTTP_MAX_PATH_PARAMS];
	int path_param_count;
	/* Set by the authentication step; NULL on public routes. */
	struct auth_context *auth;
	/* The user id for the access log, 0 when anonymous. */
	int64_t log_user_id;
	/* For the metrics: the router's pattern ("/api/v1/contacts/{id}") or another static
	 * label (metrics.h), set by app.c; NULL when nothing matched. Never the raw path. */
	const char *route_label;
	/*
	 * Headers, query-string arguments (decoded) and cookies in the order received, as
	 * libmicrohttpd parsed them; borrowed, valid while the handler runs. The accessors
	 * below read only these, so a request can be built without a connection (unit tests,
	 * fuzz harnesses).
	 */
	const struct request_value *headers;
	int header_count;
	const struct request_value *query;
	int query_count;
	const struct request_value *cookies;
	int cookie_count;
	/*
	 * NULL, or on the second call of a handler that suspended its request with
	 * response_suspend(): the context it passed there (still owned by the server).
	 */
	void *resumed;
};

struct response {
	int status;
	const char *content_type;  /* static string */
	char *body;                /* malloc'd and owned by the response, or static */
	size_t body_len;
	bool body_is_static;       /* true: body is not freed */
	int header_count;
	char *header_names[HTTP_MAX_RESPONSE_HEADERS];
	char *header_values[HTTP_MAX_RESPONSE_HEADERS];
	/* Set by response_suspend(); the server then sends nothing yet. */
	struct response_suspension {
		void (*start)(void *context, struct http_resumer *resumer);
		void (*free_context)(void *context);
		void *context;
	} suspension;
};

/* A request header by case-insensitive name (the first one), or NULL. */
const char *request_header(const struct request *req, const char *name);
/*
 * A query-string argument by case-insensitive name (the first one), or NULL. With no
 * value ("?x") it is NULL as well: request_query_each() tells the two apart.
 */
const char *request_query(const struct request *req, const char *name);
/*
 * Calls `visit` for every query-string argument in order; stops and returns non-zero as
 * soon as `visit` does. `value` may be NULL for an argument without "=".
 */
int request_query_each(const struct request *req,
		       int (*visit)(void *context, const char *name, const char *value),
		       void *context);
/* The value of cookie `name` from the Cookie header, or NULL. */
const char *request_cookie(const struct request *req, const char *name);

void response_init(struct response *res);
/* Frees the body (unless static) and the headers. */
void response_release(struct response *res);
/* Adds a header (copies name and value). Replaces an earlier one with the same name. */
void response_set_header(struct response *res, const char *name, const char *value);
/*
 * Sets on `to` every header `from` has (e.g. the rate limit's, set before a handler that
 * runs on another thread answers into a response of its own).
 */
void response_copy_headers(struct response *to, const struct response *from);
/* Sets the status and takes ownership of the malloc'd `body`. */
void response_set_body(struct response *res, int status, const char *content_type, char *body,
		       size_t len);
/* Sets the status and points at static data that outlives the response. */
void response_set_static_body(struct response *res, int status, const char *content_type,
			      const void *body, size_t len);

/*
 * Slow work off the worker threads (an Argon2id hash takes a core for a tenth of a second,
 * and a worker that waits stalls every connection it serves). A handler that calls this
 * instead of answering gets its connection suspended: the worker goes on with other
 * connections, and the server calls `start(context, resumer)` (in the worker, after the
 * handler returned), which hands the work to another thread; that thread calls
 * http_resume(resumer) when done. The server then calls the handler again, in a worker
 * thread, with the request rebuilt and req->resumed == context, to answer. The server owns
 * `context` from here on and frees it with `free_context` once the request is over (also
 * when the second call never comes, the client having gone). A handler suspends a request
 * at most once. Outside the server (unit tests, fuzz harnesses) nothing starts the work:
 * handlers check that a thread exists for it and work inline otherwise.
 */
void response_suspend(struct response *res, void (*start)(void *context, struct http_resumer *resumer),
		      void (*free_context)(void *context), void *context);
/* Called once by the thread that did the work of a suspended request (any thread). */
void http_resume(struct http_resumer *resumer);

typedef void (*http_handler_fn)(struct request *req, struct response *res);

struct http_server_options {
	const char *listen;       /* "HOST:PORT"; port 0 picks a free one */
	unsigned threads;         /* worker threads; 0 = number of cores */
	http_handler_fn handler;  /* called once per complete request, in a worker thread */
	/* HTTPS: the certificate (chain) and private key in PEM, both or neither (borrowed;
	 * libmicrohttpd reads them at start). NULL: plain HTTP. */
	const char *tls_cert_pem;
	const char *tls_key_pem;
	/* Peers whose X-Forwarded-For names the client (client_address.h); NULL: none. */
	const struct client_address_proxies *trusted_proxies;
};

struct http_server;
/* Starts serving. Returns NULL (and logs why) on failure. */
struct http_server *http_server_start(const struct http_server_options *options);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(struct http_server *server);
/* Stops accepting, lets running requests finish, and frees the server. */
void http_server_stop(struct http_server *server);

/* Parses "HOST:PORT" or "[V6]:PORT". Returns 0, or -1 if malformed. */
int http_parse_listen(const char *listen, char *host, size_t host_size, unsigned *port);

#endif
