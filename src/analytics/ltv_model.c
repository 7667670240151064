/*
 * ltv_model.c - BG/NBD and Gamma-Gamma customer lifetime-value models (see ltv_model.h).
 *
 * Layout: the BG/NBD model, the Gamma-Gamma model and the CLV predictions here; the special
 * functions (ltv_special.c), the minimiser and shared fit helpers (ltv_optimize.c) and the
 * CSV reader (ltv_customers_csv.c) beside it, sharing ltv_model_int.h.
 *
 * Speed: a fit evaluates the log-likelihood and its analytic gradient together in one pass
 * over the customers. Every term that depends only on the parameters and on x (log-gamma
 * and digamma differences, log(b + x - 1)) is computed once per evaluation for each
 * distinct x, so the per-customer work is three log1p and one exp for BG/NBD (one log1p
 * for customers without repeat purchases) and one log1p for Gamma-Gamma.
 *
 * Accuracy: the likelihoods are written so that no two huge terms cancel (log-gamma
 * differences instead of log-gammas, log1p(T / alpha) instead of log(alpha + T) - log alpha)
 * and the per-customer terms are summed with Kahan summation. Rounding noise near the edge
 * of the parameter range otherwise creates false optima, and noise in the sum over a million
 * customers hides the last steps to the optimum from the line search.
 */
#define _POSIX_C_SOURCE 200809L

#include "crm/ltv_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/ltv_model_int.h"
#include "crm/banned.h"

/* ==== BG/NBD ============================================================================ */

/*
 * Data and per-evaluation scratch tables for the BG/NBD likelihood. The optimiser works on
 * theta = (log r, log(alpha / alpha_scale), log a, log b): alpha_scale (1 / the observed
 * purchase rate in a fit) makes the four coordinates dimensionless, so the starting points and
 * the bounds on them mean the same whatever the time unit.
 */
struct bgnbd_context {
	const struct ltv_customer *customers;
	size_t n;
	double alpha_scale;
	double sum_x;
	struct ltv_x_groups groups;
	double *log_b_x1; /* log(b + x - 1), filled for the x values present */
	double *inv_b_x1; /* 1 / (b + x - 1) */
};

static void bgnbd_context_init(struct bgnbd_context *ctx, const struct ltv_customer *customers,
			       size_t n, double alpha_scale)
{
	size_t i;

	ctx->customers = customers;
	ctx->n = n;
	ctx->alpha_scale = alpha_scale;
	ctx->sum_x = 0.0;
	for (i = 0; i < n; i++)
		ctx->sum_x += customers[i].x;
	ltv_x_groups_build(&ctx->groups, customers, n, NULL);
	ctx->log_b_x1 = ltv_xmalloc(ctx->groups.max_x + 1, sizeof(double));
	ctx->inv_b_x1 = ltv_xmalloc(ctx->groups.max_x + 1, sizeof(double));
}

static void bgnbd_context_release(struct bgnbd_context *ctx)
{
	ltv_x_groups_release(&ctx->groups);
	free(ctx->log_b_x1);
	free(ctx->inv_b_x1);
}

/*
 * Total log-likelihood at theta and, when grad is not NULL, its gradient with respect to
 * theta. Per customer (FHL 2005, eq. 6):
 *   LL = A1 + A2 + log(exp(A3) + [x > 0] exp(A4))
 *   A1 = lgamma(r + x) - lgamma(r) + r log alpha
 *   A2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x)
 *   A3 = -(r + x) log(alpha + T)
 *   A4 = log a - log(b + x - 1) - (r + x) log(alpha + t_x)
 * The log-gamma terms depend on x only and are summed per distinct x, as differences that
 * stay accurate for large parameters. r log alpha is folded into A3 and A4, which become
 *   A3 + r log alpha = -(r + x) log1p(T / alpha) - x log alpha   (same for A4 with t_x)
 * so no two huge terms cancel when r and alpha are both large.
 */
static double bgnbd_log_likelihood_theta(struct bgnbd_context *ctx, const double *theta,
					 double *grad)
{
	const double r = exp(theta[0]), alpha = ctx->alpha_scale * exp(theta[1]);
	const double a = exp(theta[2]), b = exp(theta[3]);
	const double log_a = theta[2], log_alpha = log(ctx->alpha_scale) + theta[1];
	const double inv_alpha = 1.0 / alpha;
	const struct ltv_x_groups *groups = &ctx->groups;
	const struct ltv_customer *c = ctx->customers;
	double ll = 0.0, d_r = 0.0, d_a = 0.0, d_b = 0.0;
	double sum_r = 0.0, sum_alpha = 0.0, sum_w = 0.0, sum_wb = 0.0;
	struct ltv_kahan_sum customer_ll = {0.0, 0.0};
	size_t k, i;

	if (!isfinite(r) || !isfinite(alpha) || !isfinite(a) || !isfinite(b) || r <= 0.0 ||
	    alpha <= 0.0 || a <= 0.0 || b <= 0.0)
		return NAN;

	for (k = 0; k < groups->count; k++) {
		double x = groups->values[k], w = groups->weights[k];
		double dg_ab = ltv_digamma_difference(a + b, x);

		if (x == 0.0)
			continue;
		ll += w * (ltv_log_gamma_difference(r, x) + ltv_log_gamma_difference(b, x) -
			   ltv_log_gamma_difference(a + b, x));
		d_r += w * ltv_digamma_difference(r, x);
		d_a -= w * dg_ab;
		d_b += w * (ltv_digamma_difference(b, x) - dg_ab);
		ctx->log_b_x1[(size_t)x] = log(b + x - 1.0);
		ctx->inv_b_x1[(size_t)x] = 1.0 / (b + x - 1.0);
	}
	ll -= log_alpha * ctx->sum_x;

	/*
	 * The hot loop. With l = log1p(T / alpha) and m = log1p(t_x / alpha) the two terms are
	 * c3 = -(r + x) l and c4 = log a - log(b + x - 1) - (r + x) m (the common -x log alpha
	 * was taken out above); w is the weight of c4, "dropped out after the last purchase".
	 */
	for (i = 0; i < ctx->n; i++) {
		const double x = c[i].x, rx = r + x;
		const double u3 = c[i].T * inv_alpha, l3 = log1p(u3), c3 = -rx * l3;

		if (x > 0.0) {
			const size_t xi = (size_t)x;
			const double u4 = c[i].t_x * inv_alpha, l4 = log1p(u4);
			const double c4 = log_a - ctx->log_b_x1[xi] - rx * l4;
			const double diff = c4 - c3;
			double e, w;

			if (diff > 0.0) {
				e = exp(-diff);
				ltv_kahan_add(&customer_ll, c4 + log1p(e));
				w = 1.0 / (1.0 + e);
			} else {
				e = exp(diff);
				ltv_kahan_add(&customer_ll, c3 + log1p(e));
				w = e / (1.0 + e);
			}
			sum_r += l3 + w * (l4 - l3);
			sum_alpha += rx * ((1.0 - w) * u3 / (1.0 + u3) + w * u4 / (1.0 + u4));
			sum_w += w;
			sum_wb += w * ctx->inv_b_x1[xi];
		} else {
			ltv_kahan_add(&customer_ll, c3);
			sum_r += l3;
			sum_alpha += r * u3 / (1.0 + u3);
		}
	}
	ll += customer_ll.sum;

	if (grad) {
		grad[0] = r * (d_r - sum_r);
		grad[1] = sum_alpha - ctx->sum_x;
		grad[2] = a * d_a + sum_w;
		grad[3] = b * (d_b - sum_wb);
	}
	return ll;
}

/* The optimiser's objective: mean negative log-likelihood per customer. */
static double bgnbd_objective(const double *theta, double *grad, void *context)
{
	struct bgnbd_context *ctx = context;
	double ll = bgnbd_log_likelihood_theta(ctx, theta, grad);
	int i;

	for (i = 0; i < 4; i++)
		grad[i] = isfinite(ll) ? -grad[i] / (double)ctx->n : NAN;
	return -ll / (double)ctx->n;
}

static int bgnbd_params_valid(const struct ltv_bgnbd_params *p)
{
	return p && isfinite(p->r) && isfinite(p->alpha) && isfinite(p->a) && isfinite(p->b) &&
	       p->r > 0.0 && p->alpha > 0.0 && p->a > 0.0 && p->b > 0.0;
}

double ltv_bgnbd_log_likelihood(const struct ltv_bgnbd_params *params,
				const struct ltv_customer *customers, size_t n)
{
	struct bgnbd_context ctx;
	double theta[4], grad[4], ll;
	char why[128];
	size_t i;

	if (!bgnbd_params_valid(params) || !customers || n == 0)
		return NAN;
	for (i = 0; i < n; i++)
		if (ltv_customer_check_timing(&customers[i], why, sizeof(why)))
			return NAN;
	theta[0] = log(params->r);
	theta[1] = 0.0;
	theta[2] = log(params->a);
	theta[3] = log(params->b);
	bgnbd_context_init(&ctx, customers, n, params->alpha);
	ll = bgnbd_log_likelihood_theta(&ctx, theta, grad);
	bgnbd_context_release(&ctx);
	return ll;
}

int ltv_bgnbd_fit(const struct ltv_customer *customers, size_t n, struct ltv_bgnbd_fit *fit)
{
	struct bgnbd_context ctx;
	struct ltv_fit_outcome outcome;
	double starts[3][LTV_OPT_MAX_DIM] = {{0}};
	double sum_x = 0.0, sum_T = 0.0, rate;
	int s;
	char why[128];
	size_t i;

	memset(fit, 0, sizeof(*fit));
	fit->status = LTV_FIT_INVALID_INPUT;
	fit->method = LTV_METHOD_FALLBACK_RATE;
	fit->log_likelihood = NAN;
	fit->gradient_norm = NAN;
	fit->customers_used = n;
	if (!customers && n) {
		snprintf(fit->message, sizeof(fit->message), "no customer array");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ltv_customer_check_timing(&customers[i], why, sizeof(why))) {
			ltv_fit_message(fit->message, sizeof(fit->message), "customer", i, why);
			return -1;
		}
		fit->repeat_customers += customers[i].x > 0.0;
		sum_x += customers[i].x;
		sum_T += customers[i].T;
	}
	if (fit->repeat_customers < LTV_MIN_REPEAT_CUSTOMERS) {
		fit->status = LTV_FIT_TOO_FEW;
		snprintf(fit->message, sizeof(fit->message),
			 "%zu customers with repeat purchases; the BG/NBD fit needs at least %d",
			 fit->repeat_customers, LTV_MIN_REPEAT_CUSTOMERS);
		return -1;
	}

	/*
	 * alpha is measured in units of 1 / (observed purchase rate sum x / sum T), so each
	 * start has r / alpha equal to that rate.
	 */
	rate = sum_x / sum_T;
	for (s = 0; s < 3; s++) {
		static const double start_r_a_b[3][3] = {
		    {1.0, 1.0, 3.0},
		    {0.1, 0.1, 0.1},
		    {5.0, 5.0, 20.0},
		};

		starts[s][0] = log(start_r_a_b[s][0]);
		starts[s][1] = log(start_r_a_b[s][0]);
		starts[s][2] = log(start_r_a_b[s][1]);
		starts[s][3] = log(start_r_a_b[s][2]);
	}
	bgnbd_context_init(&ctx, customers, n, 1.0 / rate);
	ltv_fit_multistart(bgnbd_objective, &ctx, 4, starts, 3, &outcome);
	bgnbd_context_release(&ctx);

	fit->starts = outcome.starts;
	fit->iterations = outcome.iterations;
	fit->evaluations = outcome.evaluations;
	if (isfinite(outcome.f)) {
		fit->params.r = exp(outcome.theta[0]);
		fit->params.alpha = exp(outcome.theta[1]) / rate;
		fit->params.a = exp(outcome.theta[2]);
		fit->params.b = exp(outcome.theta[3]);
		fit->log_likelihood = -outcome.f * (double)n;
		fit->gradient_norm = outcome.gradient_norm;
	}
	if (!outcome.converged) {
		fit->status = LTV_FIT_NOT_CONVERGED;
		ltv_fit_describe_failure(fit->message, sizeof(fit->message), &outcome,
					 "e.g. nobody drops out, or all buy at one rate");
		return -1;
	}
	fit->status = LTV_FIT_OK;
	fit->converged = 1;
	fit->method = LTV_METHOD_BGNBD;
	return 0;
}

/*
 * Logistic form of P(alive) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)),
 * stable for huge exponents.
 */
static double bgnbd_alive(double r, double alpha, double a, double b, double x, double t_x,
			  double T)
{
	double log_odds;

	if (x <= 0.0)
		return 1.0;
	log_odds = log(a) - log(b + x - 1.0) + (r + x) * (log(alpha + T) - log(alpha + t_x));
	if (log_odds > 0.0) {
		double e = exp(-log_odds);

		return e / (1.0 + e);
	}
	return 1.0 / (1.0 + exp(log_odds));
}

/*
 * E[Y(t) | x, t_x, T] (FHL 2005, eq. 10), with G = ((alpha+T)/(alpha+T+t))^(r+x) 2F1(...)
 * computed in log space:
 *   (a+b+x-1)/(a-1) * (1 - G) * P(alive)
 * The formula is 0/0 at a = 1 and inf * 0 when a + b + x - 1 = 0; both singularities are
 * removable, so near them we interpolate linearly between points on either side.
 * With x = t_x = T = 0 this is E[X(t)] of a new customer (eq. 9).
 */
static double bgnbd_expected_direct(double r, double alpha, double a, double b, double x,
				    double t_x, double T, double t)
{
	double c = a + b + x - 1.0, z = t / (alpha + T + t), mantissa, log_scale, g;
	double alive = bgnbd_alive(r, alpha, a, b, x, t_x, T);

	if (alive == 0.0)
		return 0.0; /* surely gone; also spares a series that may not converge */
	if (ltv_hyp2f1_scaled(r + x, b + x, c, z, &mantissa, &log_scale))
		return NAN;
	g = mantissa * exp(log_scale - (r + x) * log1p(t / (alpha + T)));
	return c / (a - 1.0) * (1.0 - g) * alive;
}

static double bgnbd_expected(double r, double alpha, double a, double b, double x, double t_x,
			     double T, double t)
{
	const double h_a = 1e-4, h_c = 1e-6;

	if (t == 0.0)
		return 0.0;
	if (fabs(a - 1.0) < h_a) {
		const double below = 1.0 - 2.0 * h_a, above = 1.0 + 2.0 * h_a;

		/* Interpolate linearly between points safely away from the singularity. */
		return bgnbd_expected(r, alpha, below, b, x, t_x, T, t) +
		       (a - below) / (above - below) *
			   (bgnbd_expected(r, alpha, above, b, x, t_x, T, t) -
			    bgnbd_expected(r, alpha, below, b, x, t_x, T, t));
	}
	if (fabs(a + b + x - 1.0) < h_c) {
		const double below = 1.0 - a - x - 2.0 * h_c, above = 1.0 - a - x + 2.0 * h_c;

		if (below <= 0.0)
			return bgnbd_expected_direct(r, alpha, a, above, x, t_x, T, t);
		return bgnbd_expected_direct(r, alpha, a, below, x, t_x, T, t) +
		       (b - below) / (above - below) *
			   (bgnbd_expected_direct(r, alpha, a, above, x, t_x, T, t) -
			    bgnbd_expected_direct(r, alpha, a, below, x, t_x, T, t));
	}
	return bgnbd_expected_direct(r, alpha, a, b, x, t_x, T, t);
}

double ltv_bgnbd_probability_alive(const struct ltv_bgnbd_params *params,
				   const struct ltv_customer *customer)
{
	if (!bgnbd_params_valid(params) || !ltv_timing_is_valid(customer))
		return NAN;
	return bgnbd_alive(params->r, params->alpha, params->a, params->b, customer->x,
			   customer->t_x, customer->T);
}

double ltv_bgnbd_expected_purchases(const struct ltv_bgnbd_params *params,
				    const struct ltv_customer *customer, double t)
{
	if (!bgnbd_params_valid(params) || !ltv_timing_is_valid(customer) || !isfinite(t) ||
	    t < 0.0)
		return NAN;
	return bgnbd_expected(params->r, params->alpha, params->a, params->b, customer->x,
			      customer->t_x, customer->T, t);
}

double ltv_bgnbd_expected_purchases_new(const struct ltv_bgnbd_params *params, double t)
{
	if (!bgnbd_params_valid(params) || !isfinite(t) || t < 0.0)
		return NAN;
	return bgnbd_expected(params->r, params->alpha, params->a, params->b, 0.0, 0.0, 0.0, t);
}

/* ==== Gamma-Gamma ======================================================================= */

/* The customers the Gamma-Gamma model learns from: repeat buyers with a positive spend. */
static int gamma_gamma_uses(const struct ltv_customer *c)
{
	return c->x > 0.0 && c->zbar > 0.0;
}

/*
 * The qualifying customers packed for the hot loop, plus sums that do not depend on the
 * parameters. The optimiser works on theta = (log p, log q, log(v / v_scale)); v_scale is
 * the mean spend in a fit, which makes the coordinates dimensionless (currency-free).
 */
struct gamma_gamma_context {
	size_t n;
	double v_scale;
	double *x;
	double *total; /* m = x * zbar, the customer's total repeat spend */
	struct ltv_x_groups groups;
	double sum_x;
	double sum_x_log_total; /* sum x log m */
	double sum_log_zbar;    /* sum log zbar */
};

static void gamma_gamma_context_init(struct gamma_gamma_context *ctx,
				     const struct ltv_customer *customers, size_t n, double v_scale)
{
	size_t i, k = 0;

	memset(ctx, 0, sizeof(*ctx));
	ctx->v_scale = v_scale;
	for (i = 0; i < n; i++)
		if (gamma_gamma_uses(&customers[i]))
			ctx->n++;
	ctx->x = ltv_xmalloc(ctx->n, sizeof(double));
	ctx->total = ltv_xmalloc(ctx->n, sizeof(double));
	for (i = 0; i < n; i++) {
		const struct ltv_customer *c = &customers[i];

		if (!gamma_gamma_uses(c))
			continue;
		ctx->x[k] = c->x;
		ctx->total[k] = c->x * c->zbar;
		ctx->sum_x += c->x;
		ctx->sum_x_log_total += c->x * log(ctx->total[k]);
		ctx->sum_log_zbar += log(c->zbar);
		k++;
	}
	ltv_x_groups_build(&ctx->groups, customers, n, gamma_gamma_uses);
}

static void gamma_gamma_context_release(struct gamma_gamma_context *ctx)
{
	free(ctx->x);
	free(ctx->total);
	ltv_x_groups_release(&ctx->groups);
}

/*
 * Total log-likelihood at theta and its gradient (when grad is not NULL). Per customer
 * (Fader & Hardie 2013; lifetimes' GammaGammaFitter), with m = x zbar:
 *   lgamma(p x + q) - lgamma(p x) - lgamma(q) + q log v + (p x - 1) log zbar
 *   + p x log x - (p x + q) log(m + v)
 * which we evaluate, without cancelling large terms, as
 *   -log B(p x, q) + p x (log m - log v) - log zbar - (p x + q) log1p(m / v).
 * The Beta term depends on x only and is summed per distinct x.
 */
static double gamma_gamma_log_likelihood_theta(const struct gamma_gamma_context *ctx,
					       const double *theta, double *grad)
{
	const double p = exp(theta[0]), q = exp(theta[1]), v = ctx->v_scale * exp(theta[2]);
	const double log_v = log(ctx->v_scale) + theta[2], inv_v = 1.0 / v;
	const struct ltv_x_groups *groups = &ctx->groups;
	double ll = 0.0, d_p = 0.0, d_q = 0.0;
	double sum_xl = 0.0, sum_l = 0.0, sum_v = 0.0;
	struct ltv_kahan_sum customer_ll = {0.0, 0.0};
	size_t k, i;

	if (!isfinite(p) || !isfinite(q) || !isfinite(v) || p <= 0.0 || q <= 0.0 || v <= 0.0)
		return NAN;
	for (k = 0; k < groups->count; k++) {
		double x = groups->values[k], w = groups->weights[k], px = p * x;

		ll += w * ltv_log_inverse_beta(px, q);
		d_p += w * x * ltv_digamma_difference(px, q);
		d_q += w * ltv_digamma_difference(q, px);
	}
	ll += p * (ctx->sum_x_log_total - log_v * ctx->sum_x) - ctx->sum_log_zbar;

	for (i = 0; i < ctx->n; i++) {
		const double x = ctx->x[i], u = ctx->total[i] * inv_v, l = log1p(u);

		ltv_kahan_add(&customer_ll, -(p * x + q) * l);
		sum_xl += x * l;
		sum_l += l;
		sum_v += (q * u - p * x) / (1.0 + u);
	}
	ll += customer_ll.sum;

	if (grad) {
		grad[0] = p * (d_p + ctx->sum_x_log_total - log_v * ctx->sum_x - sum_xl);
		grad[1] = q * (d_q - sum_l);
		grad[2] = sum_v;
	}
	return ll;
}

static double gamma_gamma_objective(const double *theta, double *grad, void *context)
{
	const struct gamma_gamma_context *ctx = context;
	double ll = gamma_gamma_log_likelihood_theta(ctx, theta, grad);
	int i;

	for (i = 0; i < 3; i++)
		grad[i] = isfinite(ll) ? -grad[i] / (double)ctx->n : NAN;
	return -ll / (double)ctx->n;
}

static int gamma_gamma_params_valid(const struct ltv_gamma_gamma_params *p)
{
	return p && isfinite(p->p) && isfinite(p->q) && isfinite(p->v) && p->p > 0.0 &&
	       p->q > 0.0 && p->v > 0.0;
}

/* Checks a customer the Gamma-Gamma fit would use; see ltv_customer_check_timing(). */
static int customer_check_spend(const struct ltv_customer *c, char *why, size_t why_size)
{
	if (!isfinite(c->x) || c->x < 0.0 || c->x != floor(c->x) ||
	    c->x > LTV_MAX_REPEAT_PURCHASES) {
		snprintf(why, why_size, "x (%g) must be a whole number between 0 and %g", c->x,
			 LTV_MAX_REPEAT_PURCHASES);
		return -1;
	}
	if (!isfinite(c->zbar) || c->zbar < 0.0) {
		snprintf(why, why_size, "zbar (%g) must be a finite number >= 0", c->zbar);
		return -1;
	}
	return 0;
}

double ltv_gamma_gamma_log_likelihood(const struct ltv_gamma_gamma_params *params,
				      const struct ltv_customer *customers, size_t n)
{
	struct gamma_gamma_context ctx;
	double theta[3], grad[3], ll;
	char why[128];
	size_t i;

	if (!gamma_gamma_params_valid(params) || !customers)
		return NAN;
	for (i = 0; i < n; i++)
		if (customer_check_spend(&customers[i], why, sizeof(why)))
			return NAN;
	theta[0] = log(params->p);
	theta[1] = log(params->q);
	theta[2] = 0.0;
	gamma_gamma_context_init(&ctx, customers, n, params->v);
	ll = ctx.n ? gamma_gamma_log_likelihood_theta(&ctx, theta, grad) : NAN;
	gamma_gamma_context_release(&ctx);
	return ll;
}

int ltv_gamma_gamma_fit(const struct ltv_customer *customers, size_t n,
			struct ltv_gamma_gamma_fit *fit)
{
	struct gamma_gamma_context ctx;
	struct ltv_fit_outcome outcome;
	double starts[3][LTV_OPT_MAX_DIM] = {{0}}, mean_spend;
	int s;
	char why[128];
	size_t i;

	memset(fit, 0, sizeof(*fit));
	fit->status = LTV_FIT_INVALID_INPUT;
	fit->method = LTV_METHOD_FALLBACK_SPEND;
	fit->log_likelihood = NAN;
	fit->gradient_norm = NAN;
	if (!customers && n) {
		snprintf(fit->message, sizeof(fit->message), "no customer array");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (customer_check_spend(&customers[i], why, sizeof(why))) {
			ltv_fit_message(fit->message, sizeof(fit->message), "customer", i, why);
			return -1;
		}
		if (gamma_gamma_uses(&customers[i]))
			fit->customers_used++;
	}
	fit->repeat_customers = fit->customers_used;
	if (fit->customers_used < LTV_MIN_REPEAT_CUSTOMERS) {
		fit->status = LTV_FIT_TOO_FEW;
		snprintf(fit->message, sizeof(fit->message),
			 "%zu customers with repeat purchases and spend; the Gamma-Gamma fit needs "
			 "at least %d",
			 fit->customers_used, LTV_MIN_REPEAT_CUSTOMERS);
		return -1;
	}

	/* Every start has the population mean p v / (q - 1) equal to the mean zbar. */
	mean_spend = ltv_population_mean_spend(customers, n);
	for (s = 0; s < 3; s++) {
		static const double start_p_q[3][2] = {{1.0, 2.0}, {5.0, 5.0}, {0.5, 1.5}};

		starts[s][0] = log(start_p_q[s][0]);
		starts[s][1] = log(start_p_q[s][1]);
		starts[s][2] = log((start_p_q[s][1] - 1.0) / start_p_q[s][0]);
	}
	gamma_gamma_context_init(&ctx, customers, n, mean_spend);
	ltv_fit_multistart(gamma_gamma_objective, &ctx, 3, starts, 3, &outcome);
	gamma_gamma_context_release(&ctx);

	fit->starts = outcome.starts;
	fit->iterations = outcome.iterations;
	fit->evaluations = outcome.evaluations;
	if (isfinite(outcome.f)) {
		fit->params.p = exp(outcome.theta[0]);
		fit->params.q = exp(outcome.theta[1]);
		fit->params.v = mean_spend * exp(outcome.theta[2]);
		fit->log_likelihood = -outcome.f * (double)fit->customers_used;
		fit->gradient_norm = outcome.gradient_norm;
	}
	if (!outcome.converged) {
		fit->status = LTV_FIT_NOT_CONVERGED;
		ltv_fit_describe_failure(fit->message, sizeof(fit->message), &outcome,
					 "e.g. spend hardly varies within a customer");
		return -1;
	}
	fit->converged = 1;
	if (!(fit->params.q > 1.0)) {
		fit->status = LTV_FIT_DEGENERATE;
		snprintf(fit->message, sizeof(fit->message),
			 "q = %g <= 1: the population mean spend is infinite", fit->params.q);
		return -1;
	}
	fit->status = LTV_FIT_OK;
	fit->method = LTV_METHOD_GAMMA_GAMMA;
	return 0;
}

double ltv_gamma_gamma_expected_spend(const struct ltv_gamma_gamma_params *params,
				      const struct ltv_customer *customer)
{
	double px;

	if (!gamma_gamma_params_valid(params) || !(params->q > 1.0) || !customer ||
	    !isfinite(customer->x) || customer->x < 0.0 || !isfinite(customer->zbar) ||
	    customer->zbar < 0.0)
		return NAN;
	px = params->p * customer->x;
	/* = (q-1)/(px+q-1) * p v/(q-1) + px/(px+q-1) * zbar */
	return params->p * (params->v + customer->x * customer->zbar) / (px + params->q - 1.0);
}

/* ==== Predicted CLV ===================================================================== */

#define LTV_MAX_DISCOUNT_PERIODS 100000.0

static int clv_options_valid(const struct ltv_clv_options *o)
{
	if (!o || !isfinite(o->horizon) || !(o->horizon > 0.0) || !isfinite(o->discount_rate) ||
	    o->discount_rate < 0.0)
		return 0;
	if (o->discount_rate == 0.0)
		return 1;
	return isfinite(o->period_length) && o->period_length > 0.0 &&
	       o->horizon / o->period_length <= LTV_MAX_DISCOUNT_PERIODS;
}

/*
 * Discounted expected purchases over the horizon: BG/NBD when params is not NULL, the
 * historical rate x / T otherwise. Period k (1-based) is discounted by (1 + rate)^-k.
 */
static double clv_discounted_purchases(const struct ltv_bgnbd_params *params,
				       const struct ltv_customer *c,
				       const struct ltv_clv_options *o)
{
	double total = 0.0, previous = 0.0, previous_t = 0.0, factor = 1.0;
	long k, periods;

	if (o->discount_rate == 0.0)
		return params ? ltv_bgnbd_expected_purchases(params, c, o->horizon)
			      : ltv_fallback_expected_purchases(c, o->horizon);
	periods = (long)ceil(o->horizon / o->period_length - 1e-9);
	if (periods < 1)
		periods = 1;
	for (k = 1; k <= periods; k++) {
		double t = k == periods ? o->horizon : (double)k * o->period_length, cumulative;

		factor /= 1.0 + o->discount_rate;
		if (params) {
			cumulative = ltv_bgnbd_expected_purchases(params, c, t);
			total += (cumulative - previous) * factor;
			previous = cumulative;
		} else {
			total += ltv_fallback_expected_purchases(c, t - previous_t) * factor;
		}
		previous_t = t;
	}
	return total;
}

double ltv_clv_model(const struct ltv_bgnbd_params *bgnbd,
		     const struct ltv_gamma_gamma_params *gamma_gamma,
		     const struct ltv_customer *customer, const struct ltv_clv_options *options)
{
	double spend;

	if (!bgnbd_params_valid(bgnbd) || !ltv_timing_is_valid(customer) ||
	    !clv_options_valid(options))
		return NAN;
	spend = ltv_gamma_gamma_expected_spend(gamma_gamma, customer);
	if (isnan(spend))
		return NAN;
	return clv_discounted_purchases(bgnbd, customer, options) * spend;
}

double ltv_fallback_expected_purchases(const struct ltv_customer *customer, double t)
{
	if (!ltv_timing_is_valid(customer) || !isfinite(t) || t < 0.0)
		return NAN;
	return customer->x / customer->T * t;
}

double ltv_fallback_expected_spend(const struct ltv_customer *customer,
				   double population_mean_spend)
{
	if (!customer || !isfinite(customer->zbar) || !isfinite(population_mean_spend))
		return NAN;
	if (customer->x > 0.0 && customer->zbar > 0.0)
		return customer->zbar;
	return population_mean_spend;
}

double ltv_fallback_clv(const struct ltv_customer *customer, double population_mean_spend,
			const struct ltv_clv_options *options)
{
	double spend;

	if (!ltv_timing_is_valid(customer) || !clv_options_valid(options))
		return NAN;
	spend = ltv_fallback_expected_spend(customer, population_mean_spend);
	if (isnan(spend))
		return NAN;
	return clv_discounted_purchases(NULL, customer, options) * spend;
}

double ltv_population_mean_spend(const struct ltv_customer *customers, size_t n)
{
	double sum = 0.0;
	size_t i, used = 0;

	for (i = 0; customers && i < n; i++) {
		if (gamma_gamma_uses(&customers[i]) && isfinite(customers[i].zbar)) {
			sum += customers[i].zbar;
			used++;
		}
	}
	return used ? sum / (double)used : 0.0;
}

int ltv_clv_predict(const struct ltv_bgnbd_fit *bgnbd,
		    const struct ltv_gamma_gamma_fit *gamma_gamma,
		    const struct ltv_customer *customer, double population_mean_spend,
		    const struct ltv_clv_options *options, struct ltv_prediction *out)
{
	const struct ltv_bgnbd_params *bg = NULL;
	double discounted;

	out->expected_purchases = NAN;
	out->expected_spend = NAN;
	out->probability_alive = NAN;
	out->clv = NAN;
	out->purchases_method = LTV_METHOD_FALLBACK_RATE;
	out->spend_method = LTV_METHOD_FALLBACK_SPEND;
	if (!ltv_timing_is_valid(customer) || !clv_options_valid(options) ||
	    !isfinite(customer->zbar) || customer->zbar < 0.0)
		return -1;

	if (bgnbd && bgnbd->status == LTV_FIT_OK && bgnbd_params_valid(&bgnbd->params)) {
		bg = &bgnbd->params;
		out->purchases_method = LTV_METHOD_BGNBD;
		out->expected_purchases =
		    ltv_bgnbd_expected_purchases(bg, customer, options->horizon);
		out->probability_alive = ltv_bgnbd_probability_alive(bg, customer);
	} else {
		out->expected_purchases =
		    ltv_fallback_expected_purchases(customer, options->horizon);
	}
	if (gamma_gamma && gamma_gamma->status == LTV_FIT_OK) {
		out->spend_method = LTV_METHOD_GAMMA_GAMMA;
		out->expected_spend =
		    ltv_gamma_gamma_expected_spend(&gamma_gamma->params, customer);
	} else {
		out->expected_spend = ltv_fallback_expected_spend(customer, population_mean_spend);
	}
	discounted = clv_discounted_purchases(bg, customer, options);
	out->clv = discounted * out->expected_spend;
	return 0;
}

