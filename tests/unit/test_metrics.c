/* test_metrics.c - the metrics table: labels by router pattern (by pointer and by text),
 * bounded method and status labels, label escaping, histogram buckets, exact counts under
 * concurrent updates, and the exposition without a database. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "crm/metrics.h"
#include "crm/router.h"

static void handler(struct request *req, struct response *res)
{
	(void)req;
	(void)res;
}

static const char contacts_one[] = "/api/v1/contacts/{id}";
static const char contacts_all[] = "/api/v1/contacts";
static const char odd_pattern[] = "/api/v1/odd\"name\\x";

/* Whether the exposition has the line `line` exactly. */
static int has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += len)
		if ((p == text || p[-1] == '\n') && p[len] == '\n')
			return 1;
	return 0;
}

#define CHECK_LINE(text, line)                                                                \
	do {                                                                                      \
		check_count++;                                                                        \
		if (!has_line((text), (line))) {                                                      \
			check_failures++;                                                                 \
			fprintf(stderr, "%s:%d: no line \"%s\" in:\n%s\n", __FILE__, __LINE__, (line), \
				(text));                                                                      \
		}                                                                                     \
	} while (0)

static struct router *make_router(void)
{
	struct router *router = router_new();
	router_add(router, "GET", contacts_all, handler, 0);
	router_add(router, "POST", contacts_all, handler, 0);
	router_add(router, "GET", contacts_one, handler, 0);
	router_add(router, "GET", odd_pattern, handler, 0);
	return router;
}

static void test_labels(void)
{
	struct router *router = make_router();
	metrics_init(router);
	metrics_request_started();
	metrics_request_finished(contacts_one, "GET", 200, 1000);
	char copy[] = "/api/v1/contacts/{id}"; /* same text, another pointer */
	metrics_request_started();
	metrics_request_finished(copy, "GET", 200, 3000000);
	metrics_request_started();
	metrics_request_finished(contacts_all, "POST", 201, 20000);
	metrics_request_started();
	metrics_request_finished(NULL, "BREW", 405, 10);
	metrics_request_started();
	metrics_request_finished("/api/v1/contacts/42", "GET", 299, 10); /* not a label */
	metrics_request_started();
	metrics_request_finished(odd_pattern, "GET", 200, 10);
	metrics_request_started();
	metrics_request_finished(METRICS_ROUTE_WEB, "GET", 0, 10); /* no answer: not counted */
	metrics_request_started(); /* still in flight */

	struct buf out = BUF_INIT;
	metrics_render(&out, NULL);
	CHECK_LINE(out.data, "crmd_http_requests_in_flight 1");
	CHECK_LINE(out.data, "crmd_http_requests_total{route=\"/api/v1/contacts/{id}\",method=\"GET\","
			     "status=\"200\"} 2");
	CHECK_LINE(out.data, "crmd_http_requests_total{route=\"/api/v1/contacts\",method=\"POST\","
			     "status=\"201\"} 1");
	CHECK_LINE(out.data, "crmd_http_requests_total{route=\"(unmatched)\",method=\"other\","
			     "status=\"405\"} 1");
	CHECK_LINE(out.data, "crmd_http_requests_total{route=\"(unmatched)\",method=\"GET\","
			     "status=\"other\"} 1");
	CHECK_LINE(out.data, "crmd_http_requests_total{route=\"/api/v1/odd\\\"name\\\\x\","
			     "method=\"GET\",status=\"200\"} 1");
	CHECK(strstr(out.data, "/api/v1/contacts/42") == NULL);
	CHECK(strstr(out.data, "(web)") == NULL);
	/* 1 ms and 3 s: buckets are cumulative */
	CHECK_LINE(out.data, "crmd_http_request_duration_seconds_bucket{route=\"/api/v1/contacts/"
			     "{id}\",method=\"GET\",le=\"0.001\"} 1");
	CHECK_LINE(out.data, "crmd_http_request_duration_seconds_bucket{route=\"/api/v1/contacts/"
			     "{id}\",method=\"GET\",le=\"2.5\"} 1");
	CHECK_LINE(out.data, "crmd_http_request_duration_seconds_bucket{route=\"/api/v1/contacts/"
			     "{id}\",method=\"GET\",le=\"5\"} 2");
	CHECK_LINE(out.data, "crmd_http_request_duration_seconds_bucket{route=\"/api/v1/contacts/"
			     "{id}\",method=\"GET\",le=\"+Inf\"} 2");
	CHECK_LINE(out.data, "crmd_http_request_duration_seconds_sum{route=\"/api/v1/contacts/"
			     "{id}\",method=\"GET\"} 3.001000");
	CHECK_LINE(out.data, "crmd_http_request_duration_seconds_count{route=\"/api/v1/contacts/"
			     "{id}\",method=\"GET\"} 2");
	CHECK_LINE(out.data, "crmd_database_up 0");
	CHECK(strstr(out.data, "crmd_sessions_active") == NULL);
	CHECK(strstr(out.data, "# TYPE crmd_http_request_duration_seconds histogram\n") != NULL);
	CHECK(strstr(out.data, "crmd_build_info{version=\"") != NULL);
	metrics_request_finished(NULL, "GET", 0, 0);
	buf_release(&out);
	metrics_free();
	router_free(router);
}

#define THREADS 8
#define PER_THREAD 20000

static void *count_requests(void *unused)
{
	(void)unused;
	for (int i = 0; i < PER_THREAD; i++) {
		metrics_request_started();
		metrics_request_finished(contacts_all, "GET", 200, i % 5000);
	}
	return NULL;
}

static void test_concurrent_counts(void)
{
	struct router *router = make_router();
	metrics_init(router);
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&threads[i], NULL, count_requests, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	struct buf out = BUF_INIT;
	metrics_render(&out, NULL);
	char line[200];
	snprintf(line, sizeof(line),
		 "crmd_http_requests_total{route=\"/api/v1/contacts\",method=\"GET\",status=\"200\"} %d",
		 THREADS * PER_THREAD);
	CHECK_LINE(out.data, line);
	snprintf(line, sizeof(line),
		 "crmd_http_request_duration_seconds_count{route=\"/api/v1/contacts\",method=\"GET\"} %d",
		 THREADS * PER_THREAD);
	CHECK_LINE(out.data, line);
	CHECK_LINE(out.data, "crmd_http_requests_in_flight 0");
	buf_release(&out);
	metrics_free();
	/* after metrics_free nothing is counted, and nothing crashes */
	metrics_request_started();
	metrics_request_finished(contacts_all, "GET", 200, 1);
	router_free(router);
}

int main(void)
{
	RUN(test_labels);
	RUN(test_concurrent_counts);
	return check_finish();
}
