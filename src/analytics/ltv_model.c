/*
 * ltv_model.c - BG/NBD and Gamma-Gamma customer lifetime-value models (see ltv_model.h).
 *
 * Layout: special functions (log-gamma, digamma, 2F1), a small BFGS minimiser, then the
 * BG/NBD model, the Gamma-Gamma model, CLV helpers and the CSV reader.
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
 *
 * We implement log-gamma ourselves: glibc's lgamma() writes the global `signgam`, which is
 * a data race when two server threads fit at the same time.
 */
#define _POSIX_C_SOURCE 200809L

#include "crm/ltv_model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "crm/banned.h"

/* ==== Allocation ======================================================================== */

/*
 * This module links with libm only, so it carries its own abort-on-OOM wrappers instead of
 * using buf.h's xmalloc().
 */
static void *ltv_xmalloc(size_t count, size_t size)
{
	size_t bytes;
	void *p;

	if (size && count > SIZE_MAX / size) {
		fputs("ltv_model: allocation size overflow\n", stderr);
		abort();
	}
	bytes = count * size;
	p = malloc(bytes ? bytes : 1);
	if (!p) {
		fputs("ltv_model: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void *ltv_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (!p) {
		fputs("ltv_model: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void *ltv_xrealloc(void *ptr, size_t count, size_t size)
{
	size_t bytes;
	void *p;

	if (size && count > SIZE_MAX / size) {
		fputs("ltv_model: allocation size overflow\n", stderr);
		abort();
	}
	bytes = count * size;
	p = realloc(ptr, bytes ? bytes : 1);
	if (!p) {
		fputs("ltv_model: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* ==== Special functions ================================================================= */

#define LTV_LOG_SQRT_2PI 0.91893853320467274178

/* Stirling's series for y >= 10: log Gamma(y) - ((y - 1/2) log y - y + log sqrt(2 pi)). */
static double stirling_tail(double y)
{
	/* B_2k / (2k (2k - 1)) for k = 1..7; the truncation error is below 1e-15 for y >= 10 */
	static const double coefficients[7] = {
	    1.0 / 12.0,   -1.0 / 360.0,      1.0 / 1260.0, -1.0 / 1680.0,
	    1.0 / 1188.0, -691.0 / 360360.0, 1.0 / 156.0,
	};
	double inv = 1.0 / y, inv2 = inv * inv, series = 0.0;
	int k;

	for (k = 6; k >= 0; k--)
		series = series * inv2 + coefficients[k];
	return inv * series;
}

/* The asymptotic series for y >= 10: log y - psi(y). */
static double digamma_tail(double y)
{
	/* B_2k / (2k) for k = 1..7 */
	static const double coefficients[7] = {
	    1.0 / 12.0,  -1.0 / 120.0,     1.0 / 252.0, -1.0 / 240.0,
	    1.0 / 132.0, -691.0 / 32760.0, 1.0 / 12.0,
	};
	double inv = 1.0 / y, inv2 = inv * inv, series = 0.0;
	int k;

	for (k = 6; k >= 0; k--)
		series = series * inv2 + coefficients[k];
	return 0.5 * inv + inv2 * series;
}

/*
 * log(Gamma(x)) for x > 0: shift up to x >= 10 with the recurrence, then Stirling.
 * Reentrant, unlike lgamma().
 */
static double log_gamma_positive(double x)
{
	double shift = 0.0, product = 1.0;

	while (x < 10.0) {
		product *= x;
		x += 1.0;
		if (product < 1e-250 || product > 1e250) {
			shift += log(product);
			product = 1.0;
		}
	}
	shift += log(product);
	return (x - 0.5) * log(x) - x + LTV_LOG_SQRT_2PI + stirling_tail(x) - shift;
}

/* The digamma function psi(x) = d/dx log Gamma(x) for x > 0. */
static double digamma_positive(double x)
{
	double result = 0.0;

	while (x < 10.0) {
		result -= 1.0 / x;
		x += 1.0;
	}
	return result + log(x) - digamma_tail(x);
}

/*
 * log Gamma(z + x) - log Gamma(z) for z > 0, x >= 0, without the cancellation of two huge
 * log-gammas when z is large (parameters near the edge of their range would otherwise
 * drown the likelihood in rounding noise, and noise makes false optima).
 */
static double log_gamma_difference(double z, double x)
{
	if (x == 0.0)
		return 0.0;
	if (z >= 10.0)
		return (z - 0.5) * log1p(x / z) + x * log(z + x) - x + stirling_tail(z + x) -
		       stirling_tail(z);
	return log_gamma_positive(z + x) - log_gamma_positive(z);
}

/* psi(z + x) - psi(z) for z > 0, x >= 0, accurate for large z. */
static double digamma_difference(double z, double x)
{
	if (x == 0.0)
		return 0.0;
	if (z >= 10.0)
		return log1p(x / z) - digamma_tail(z + x) + digamma_tail(z);
	return digamma_positive(z + x) - digamma_positive(z);
}

/* -log Beta(a, b) = log Gamma(a + b) - log Gamma(a) - log Gamma(b), for a, b > 0. */
static double log_inverse_beta(double a, double b)
{
	double small = a < b ? a : b, large = a < b ? b : a;

	return log_gamma_difference(large, small) - log_gamma_positive(small);
}

#define HYP2F1_MAX_TERMS 10000000L
#define HYP2F1_RESCALE 1e200
#define HYP2F1_LOG_RESCALE 460.51701859880913680 /* log(1e200) */

/*
 * Sums the 2F1 power series for 0 <= z < 1 and gives the value as
 * *mantissa * exp(*log_scale), so that huge intermediate sums do not overflow.
 * Returns 0, or -1 on a pole (c a non-positive integer reached before the series
 * terminates) or when the series has not converged after HYP2F1_MAX_TERMS terms.
 *
 * The stopping rule bounds the tail: once n is past the region where the term ratio can
 * change direction, all later ratios are at most rho = max(|ratio|, z) < 1, so the tail is
 * at most |term| * rho / (1 - rho).
 */
static int hyp2f1_series(double a, double b, double c, double z, double *mantissa,
			 double *log_scale)
{
	double term = 1.0, sum = 1.0, scale = 0.0;
	double settle = fabs(a) + fabs(b) + fabs(c) + 2.0;
	long n;

	if (z == 0.0) {
		*mantissa = 1.0;
		*log_scale = 0.0;
		return 0;
	}
	for (n = 0; n < HYP2F1_MAX_TERMS; n++) {
		double dn = (double)n, ratio, next_ratio, rho;

		if (a + dn == 0.0 || b + dn == 0.0)
			goto done; /* a terminating (polynomial) series */
		if (c + dn == 0.0)
			return -1;
		ratio = (a + dn) * (b + dn) / ((c + dn) * (dn + 1.0)) * z;
		term *= ratio;
		sum += term;
		if (fabs(sum) > HYP2F1_RESCALE || fabs(term) > HYP2F1_RESCALE) {
			sum /= HYP2F1_RESCALE;
			term /= HYP2F1_RESCALE;
			scale += HYP2F1_LOG_RESCALE;
		}
		if (dn < settle)
			continue;
		next_ratio =
		    fabs((a + dn + 1.0) * (b + dn + 1.0) / ((c + dn + 1.0) * (dn + 2.0)) * z);
		rho = next_ratio > z ? next_ratio : z;
		if (rho < 1.0 && fabs(term) * rho / (1.0 - rho) <= 1e-16 * fabs(sum))
			goto done;
		if (term == 0.0)
			goto done;
	}
	return -1;
done:
	*mantissa = sum;
	*log_scale = scale;
	return 0;
}

/*
 * 2F1 as mantissa * exp(log_scale) for any z < 1: Pfaff's transformation takes z < 0 to
 * z / (z - 1) in (0, 1).
 */
static int hyp2f1_scaled(double a, double b, double c, double z, double *mantissa,
			 double *log_scale)
{
	if (!isfinite(a) || !isfinite(b) || !isfinite(c) || !isfinite(z) || !(z < 1.0))
		return -1;
	if (z < 0.0) {
		if (hyp2f1_series(a, c - b, c, z / (z - 1.0), mantissa, log_scale))
			return -1;
		*log_scale -= a * log1p(-z);
		return 0;
	}
	return hyp2f1_series(a, b, c, z, mantissa, log_scale);
}

double ltv_hyp2f1(double a, double b, double c, double z)
{
	double mantissa, log_scale;

	if (hyp2f1_scaled(a, b, c, z, &mantissa, &log_scale))
		return NAN;
	if (log_scale == 0.0)
		return mantissa;
	return mantissa * exp(log_scale);
}

/* ==== BFGS minimiser ==================================================================== */

#define OPT_MAX_DIM 4
#define OPT_MAX_ITERATIONS 400
#define OPT_GRADIENT_TOLERANCE 1e-7 /* on the mean log-likelihood per customer */
#define OPT_STALL_TOLERANCE 1e-6    /* accepted when no step can lower f any more */
#define OPT_STALL_ITERATIONS 8      /* iterations without progress that make a stall */
#define OPT_MAX_STEP 2.0            /* per iteration, in log-parameter units */
#define OPT_MAX_LOG_PARAMETER 15.0  /* a parameter beyond e^+-15 counts as running away */
#define OPT_NEWTON_TOLERANCE 1e-3   /* largest Newton step (log units) at a verified optimum */
#define OPT_HESSIAN_STEP 1e-4       /* finite-difference step for the Hessian */

/*
 * An objective returns f(theta) and writes its gradient to grad[]; a non-finite return
 * means "outside the domain" and makes the line search step back.
 */
typedef double (*opt_objective)(const double *theta, double *grad, void *context);

struct opt_result {
	int converged;
	int iterations;
	int evaluations;
	int diverged; /* a parameter ran off towards 0 or infinity */
	int flat;     /* stopped where the likelihood has no clear maximum */
	double f;
	double gradient_norm;
};

static double opt_max_abs(const double *v, int dim)
{
	double m = 0.0;
	int i;

	for (i = 0; i < dim; i++)
		if (fabs(v[i]) > m || isnan(v[i]))
			m = isnan(v[i]) ? HUGE_VAL : fabs(v[i]);
	return m;
}

static double opt_dot(const double *u, const double *v, int dim)
{
	double sum = 0.0;
	int i;

	for (i = 0; i < dim; i++)
		sum += u[i] * v[i];
	return sum;
}

/*
 * Minimises `objective` from theta (updated in place to the best point found) with BFGS:
 * an inverse-Hessian approximation, a backtracking Armijo line search, steps capped at
 * OPT_MAX_STEP, and a restart from steepest descent when the approximation stops giving
 * descent directions. Converged means max |gradient| < OPT_GRADIENT_TOLERANCE, or
 * < OPT_STALL_TOLERANCE when no step can lower f any more (rounding-level optimum).
 * A coordinate leaving [-15, 15] (the coordinates are dimensionless log-parameters) means
 * the likelihood keeps rising towards a boundary (e.g. no dropout at all: a -> 0): that
 * stops the search as "diverged", never converged.
 */
static void opt_run_bfgs(opt_objective objective, void *context, int dim, double *theta,
			 struct opt_result *result)
{
	double h[OPT_MAX_DIM][OPT_MAX_DIM];
	double g[OPT_MAX_DIM], g_new[OPT_MAX_DIM], direction[OPT_MAX_DIM];
	double theta_new[OPT_MAX_DIM], s[OPT_MAX_DIM], y[OPT_MAX_DIM], hy[OPT_MAX_DIM];
	double f, f_new = NAN;
	int i, j, updated = 0, idle = 0;

	memset(result, 0, sizeof(*result));
	for (i = 0; i < dim; i++)
		for (j = 0; j < dim; j++)
			h[i][j] = i == j;
	f = objective(theta, g, context);
	result->evaluations = 1;
	result->f = f;
	result->gradient_norm = opt_max_abs(g, dim);
	if (!isfinite(f))
		return;

	while (result->iterations < OPT_MAX_ITERATIONS) {
		double slope = 0.0, step = 1.0, largest, sy, yhy;
		int accepted = 0, tries;

		if (result->gradient_norm < OPT_GRADIENT_TOLERANCE) {
			result->converged = 1;
			return;
		}
		result->iterations++;

		for (i = 0; i < dim; i++) {
			direction[i] = 0.0;
			for (j = 0; j < dim; j++)
				direction[i] -= h[i][j] * g[j];
			slope += direction[i] * g[i];
		}
		if (!(slope < 0.0)) {
			/* Not a descent direction: forget the curvature and go downhill. */
			for (i = 0; i < dim; i++) {
				for (j = 0; j < dim; j++)
					h[i][j] = i == j;
				direction[i] = -g[i];
			}
			updated = 0;
			slope = 0.0;
			for (i = 0; i < dim; i++)
				slope -= g[i] * g[i];
		}
		largest = opt_max_abs(direction, dim);
		if (largest > OPT_MAX_STEP) {
			for (i = 0; i < dim; i++)
				direction[i] *= OPT_MAX_STEP / largest;
			slope *= OPT_MAX_STEP / largest;
		}

		for (tries = 0; tries < 40; tries++) {
			for (i = 0; i < dim; i++)
				theta_new[i] = theta[i] + step * direction[i];
			f_new = objective(theta_new, g_new, context);
			result->evaluations++;
			if (isfinite(f_new) && f_new <= f + 1e-4 * step * slope) {
				accepted = 1;
				break;
			}
			step *= 0.5;
		}
		if (!accepted) {
			if (updated) {
				/* The curvature estimate may be stale: retry once from steepest
				 * descent. */
				for (i = 0; i < dim; i++)
					for (j = 0; j < dim; j++)
						h[i][j] = i == j;
				updated = 0;
				continue;
			}
			result->converged = result->gradient_norm < OPT_STALL_TOLERANCE;
			return;
		}

		sy = 0.0;
		for (i = 0; i < dim; i++) {
			s[i] = theta_new[i] - theta[i];
			y[i] = g_new[i] - g[i];
			sy += s[i] * y[i];
		}
		idle = f - f_new > 1e-15 * fabs(f) ? 0 : idle + 1;
		memcpy(theta, theta_new, sizeof(double) * (size_t)dim);
		memcpy(g, g_new, sizeof(double) * (size_t)dim);
		f = f_new;
		result->f = f;
		result->gradient_norm = opt_max_abs(g, dim);

		if (opt_max_abs(theta, dim) > OPT_MAX_LOG_PARAMETER) {
			result->diverged = 1;
			return;
		}
		if (idle >= OPT_STALL_ITERATIONS) {
			result->converged = result->gradient_norm < OPT_STALL_TOLERANCE;
			return;
		}
		if (!(sy > 1e-12 * sqrt(opt_dot(s, s, dim) * opt_dot(y, y, dim))))
			continue; /* no positive curvature along s: skip the update */
		if (!updated) {
			/* Scale the identity to the observed curvature before the first update. */
			double yy = 0.0;

			for (i = 0; i < dim; i++)
				yy += y[i] * y[i];
			for (i = 0; i < dim; i++)
				h[i][i] = sy / yy;
			updated = 1;
		}
		/* H += (1 + y'Hy/sy) ss'/sy - (Hy s' + s y'H)/sy */
		yhy = 0.0;
		for (i = 0; i < dim; i++) {
			hy[i] = 0.0;
			for (j = 0; j < dim; j++)
				hy[i] += h[i][j] * y[j];
			yhy += y[i] * hy[i];
		}
		for (i = 0; i < dim; i++)
			for (j = 0; j < dim; j++)
				h[i][j] += (1.0 + yhy / sy) * s[i] * s[j] / sy -
					   (hy[i] * s[j] + s[i] * hy[j]) / sy;
	}
	result->converged = result->gradient_norm < OPT_GRADIENT_TOLERANCE;
}

/*
 * Cholesky factorisation of the symmetric dim x dim matrix m in place (lower triangle).
 * Returns -1 when m is not positive definite.
 */
static int opt_cholesky(double m[OPT_MAX_DIM][OPT_MAX_DIM], int dim)
{
	int i, j, k;

	for (j = 0; j < dim; j++) {
		double d = m[j][j];

		for (k = 0; k < j; k++)
			d -= m[j][k] * m[j][k];
		if (!(d > 0.0) || !isfinite(d))
			return -1;
		m[j][j] = sqrt(d);
		for (i = j + 1; i < dim; i++) {
			double v = m[i][j];

			for (k = 0; k < j; k++)
				v -= m[i][k] * m[j][k];
			m[i][j] = v / m[j][j];
		}
	}
	return 0;
}

/*
 * A small gradient alone cannot tell a maximum of the likelihood from a plateau it keeps
 * creeping up forever (e.g. no customer ever drops out: a -> 0, or no heterogeneity:
 * r, alpha -> infinity together). So at the point BFGS stopped we build the Hessian from
 * central differences of the analytic gradient and take Newton steps: a true optimum has a
 * positive definite Hessian and a Newton step below OPT_NEWTON_TOLERANCE (an estimate of the
 * remaining error in log-parameters); on a plateau the step stays large. Up to four Newton
 * steps are taken to polish a nearly-converged point. Returns 0 when the optimum is
 * confirmed; theta and result's f, gradient norm and counts are updated either way.
 */
static int opt_verify_optimum(opt_objective objective, void *context, int dim, double *theta,
			      struct opt_result *result)
{
	double g[OPT_MAX_DIM], gp[OPT_MAX_DIM], gm[OPT_MAX_DIM], f;
	int round, i, j;

	f = objective(theta, g, context);
	result->evaluations++;
	if (!isfinite(f))
		return -1;
	for (round = 0; round < 4; round++) {
		double hess[OPT_MAX_DIM][OPT_MAX_DIM], step[OPT_MAX_DIM], trial[OPT_MAX_DIM];
		double gt[OPT_MAX_DIM], size = 1.0, ft = NAN;
		int tries;

		for (i = 0; i < dim; i++) {
			double saved = theta[i];

			theta[i] = saved + OPT_HESSIAN_STEP;
			objective(theta, gp, context);
			theta[i] = saved - OPT_HESSIAN_STEP;
			objective(theta, gm, context);
			theta[i] = saved;
			result->evaluations += 2;
			for (j = 0; j < dim; j++)
				hess[i][j] = (gp[j] - gm[j]) / (2.0 * OPT_HESSIAN_STEP);
		}
		for (i = 0; i < dim; i++)
			for (j = 0; j < i; j++)
				hess[i][j] = hess[j][i] = 0.5 * (hess[i][j] + hess[j][i]);
		if (opt_cholesky(hess, dim))
			return -1;
		/* step = -H^-1 g by forward then backward substitution */
		for (i = 0; i < dim; i++) {
			double v = -g[i];

			for (j = 0; j < i; j++)
				v -= hess[i][j] * step[j];
			step[i] = v / hess[i][i];
		}
		for (i = dim - 1; i >= 0; i--) {
			double v = step[i];

			for (j = i + 1; j < dim; j++)
				v -= hess[j][i] * step[j];
			step[i] = v / hess[i][i];
		}
		if (opt_max_abs(step, dim) < OPT_NEWTON_TOLERANCE)
			return 0;
		if (opt_max_abs(step, dim) > OPT_MAX_STEP)
			return -1; /* far from any maximum: a plateau */
		for (tries = 0; tries < 10; tries++, size *= 0.5) {
			for (i = 0; i < dim; i++)
				trial[i] = theta[i] + size * step[i];
			ft = objective(trial, gt, context);
			result->evaluations++;
			if (isfinite(ft) && ft <= f)
				break;
		}
		if (!(isfinite(ft) && ft <= f))
			return -1;
		memcpy(theta, trial, sizeof(double) * (size_t)dim);
		memcpy(g, gt, sizeof(double) * (size_t)dim);
		f = ft;
		result->f = f;
		result->gradient_norm = opt_max_abs(g, dim);
		if (opt_max_abs(theta, dim) > OPT_MAX_LOG_PARAMETER) {
			result->diverged = 1;
			return -1;
		}
	}
	return -1;
}

/* BFGS, then the check that the point found is a proper maximum of the likelihood. */
static void opt_minimize(opt_objective objective, void *context, int dim, double *theta,
			 struct opt_result *result)
{
	opt_run_bfgs(objective, context, dim, theta, result);
	if (!result->converged || result->diverged)
		return;
	if (opt_verify_optimum(objective, context, dim, theta, result)) {
		result->converged = 0;
		result->flat = !result->diverged;
	}
}

/* ==== Shared fit helpers ================================================================ */

/*
 * Compensated (Kahan) summation for the log-likelihood over up to millions of customers:
 * plain summation leaves rounding noise of ~1e-12 in the mean, enough to hide the last
 * improvements near the optimum from the line search.
 */
struct kahan_sum {
	double sum;
	double carry;
};

static inline void kahan_add(struct kahan_sum *k, double value)
{
	double y = value - k->carry, t = k->sum + y;

	k->carry = (t - k->sum) - y;
	k->sum = t;
}
/* The distinct x values of the customers a fit uses, with how many customers have each. */
struct x_groups {
	size_t count;
	double *values;  /* ascending */
	double *weights; /* customers with that x */
	size_t max_x;
};

/*
 * Groups the customers accepted by `use` (all when NULL) by x. x must already be validated
 * as a whole number in [0, LTV_MAX_REPEAT_PURCHASES]. The caller releases with
 * x_groups_release().
 */
static void x_groups_build(struct x_groups *groups, const struct ltv_customer *customers, size_t n,
			   int (*use)(const struct ltv_customer *))
{
	size_t i, max_x = 0, *counts;

	for (i = 0; i < n; i++)
		if ((!use || use(&customers[i])) && (size_t)customers[i].x > max_x)
			max_x = (size_t)customers[i].x;
	counts = ltv_xcalloc(max_x + 1, sizeof(*counts));
	for (i = 0; i < n; i++)
		if (!use || use(&customers[i]))
			counts[(size_t)customers[i].x]++;
	groups->count = 0;
	for (i = 0; i <= max_x; i++)
		groups->count += counts[i] != 0;
	groups->values = ltv_xmalloc(groups->count, sizeof(double));
	groups->weights = ltv_xmalloc(groups->count, sizeof(double));
	groups->count = 0;
	for (i = 0; i <= max_x; i++) {
		if (!counts[i])
			continue;
		groups->values[groups->count] = (double)i;
		groups->weights[groups->count] = (double)counts[i];
		groups->count++;
	}
	groups->max_x = max_x;
	free(counts);
}

static void x_groups_release(struct x_groups *groups)
{
	free(groups->values);
	free(groups->weights);
	memset(groups, 0, sizeof(*groups));
}

/*
 * Checks what both fits need of a customer's timing; writes why not into `why`.
 * Returns 0 when valid.
 */
static int customer_check_timing(const struct ltv_customer *c, char *why, size_t why_size)
{
	if (!isfinite(c->x) || !isfinite(c->t_x) || !isfinite(c->T)) {
		snprintf(why, why_size, "x, t_x and T must be finite numbers");
		return -1;
	}
	if (c->x < 0.0 || c->x != floor(c->x) || c->x > LTV_MAX_REPEAT_PURCHASES) {
		snprintf(why, why_size, "x (%g) must be a whole number between 0 and %g", c->x,
			 LTV_MAX_REPEAT_PURCHASES);
		return -1;
	}
	if (!(c->T > 0.0)) {
		snprintf(why, why_size, "T (%g) must be > 0", c->T);
		return -1;
	}
	if (c->t_x < 0.0 || c->t_x > c->T) {
		snprintf(why, why_size, "t_x (%g) must be between 0 and T (%g)", c->t_x, c->T);
		return -1;
	}
	return 0;
}

static int timing_is_valid(const struct ltv_customer *c)
{
	return c && isfinite(c->x) && isfinite(c->t_x) && isfinite(c->T) && c->x >= 0.0 &&
	       c->T > 0.0 && c->t_x >= 0.0 && c->t_x <= c->T;
}

static void fit_message(char *message, size_t size, const char *text, size_t index, const char *why)
{
	snprintf(message, size, "%s %zu: %s", text, index, why);
}

/* What a multi-start fit found. */
struct fit_outcome {
	double theta[OPT_MAX_DIM];
	double f; /* HUGE_VAL when no start gave a finite objective */
	double gradient_norm;
	int converged;
	int starts;
	int iterations;
	int evaluations;
	int diverged; /* some start ran off to a boundary */
	int flat;     /* some start stopped on a plateau */
};

/*
 * Runs opt_minimize() from each of the `count` starting points (log-parameters) until one
 * converges; keeps that point, or else the one with the lowest objective.
 */
static void fit_multistart(opt_objective objective, void *context, int dim,
			   const double starts[][OPT_MAX_DIM], int count, struct fit_outcome *out)
{
	int s;

	memset(out, 0, sizeof(*out));
	out->f = HUGE_VAL;
	out->gradient_norm = NAN;
	for (s = 0; s < count; s++) {
		struct opt_result result;
		double theta[OPT_MAX_DIM];
		int ok;

		memcpy(theta, starts[s], sizeof(theta));
		opt_minimize(objective, context, dim, theta, &result);
		ok = result.converged && !result.diverged;
		out->starts++;
		out->iterations += result.iterations;
		out->evaluations += result.evaluations;
		out->diverged |= result.diverged;
		out->flat |= result.flat;
		if (isfinite(result.f) && (ok || result.f < out->f)) {
			memcpy(out->theta, theta, sizeof(theta));
			out->f = result.f;
			out->gradient_norm = result.gradient_norm;
			out->converged = ok;
		}
		if (ok)
			return;
	}
}

/* Writes why a fit failed; `boundary_hint` says what running off means for this model. */
static void fit_describe_failure(char *message, size_t size, const struct fit_outcome *o,
				 const char *boundary_hint)
{
	if (o->diverged)
		snprintf(message, size,
			 "parameters ran off to 0 or infinity (%s); %d starts, %d iterations",
			 boundary_hint, o->starts, o->iterations);
	else
		snprintf(message, size, "%s; %d starts, %d iterations",
			 o->flat ? "the likelihood has no clear maximum (parameters not identified)"
				 : "did not converge",
			 o->starts, o->iterations);
}

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
	struct x_groups groups;
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
	x_groups_build(&ctx->groups, customers, n, NULL);
	ctx->log_b_x1 = ltv_xmalloc(ctx->groups.max_x + 1, sizeof(double));
	ctx->inv_b_x1 = ltv_xmalloc(ctx->groups.max_x + 1, sizeof(double));
}

static void bgnbd_context_release(struct bgnbd_context *ctx)
{
	x_groups_release(&ctx->groups);
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
	const struct x_groups *groups = &ctx->groups;
	const struct ltv_customer *c = ctx->customers;
	double ll = 0.0, d_r = 0.0, d_a = 0.0, d_b = 0.0;
	double sum_r = 0.0, sum_alpha = 0.0, sum_w = 0.0, sum_wb = 0.0;
	struct kahan_sum customer_ll = {0.0, 0.0};
	size_t k, i;

	if (!isfinite(r) || !isfinite(alpha) || !isfinite(a) || !isfinite(b) || r <= 0.0 ||
	    alpha <= 0.0 || a <= 0.0 || b <= 0.0)
		return NAN;

	for (k = 0; k < groups->count; k++) {
		double x = groups->values[k], w = groups->weights[k];
		double dg_ab = digamma_difference(a + b, x);

		if (x == 0.0)
			continue;
		ll += w * (log_gamma_difference(r, x) + log_gamma_difference(b, x) -
			   log_gamma_difference(a + b, x));
		d_r += w * digamma_difference(r, x);
		d_a -= w * dg_ab;
		d_b += w * (digamma_difference(b, x) - dg_ab);
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
				kahan_add(&customer_ll, c4 + log1p(e));
				w = 1.0 / (1.0 + e);
			} else {
				e = exp(diff);
				kahan_add(&customer_ll, c3 + log1p(e));
				w = e / (1.0 + e);
			}
			sum_r += l3 + w * (l4 - l3);
			sum_alpha += rx * ((1.0 - w) * u3 / (1.0 + u3) + w * u4 / (1.0 + u4));
			sum_w += w;
			sum_wb += w * ctx->inv_b_x1[xi];
		} else {
			kahan_add(&customer_ll, c3);
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
		if (customer_check_timing(&customers[i], why, sizeof(why)))
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
	struct fit_outcome outcome;
	double starts[3][OPT_MAX_DIM] = {{0}};
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
		if (customer_check_timing(&customers[i], why, sizeof(why))) {
			fit_message(fit->message, sizeof(fit->message), "customer", i, why);
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
	fit_multistart(bgnbd_objective, &ctx, 4, starts, 3, &outcome);
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
		fit_describe_failure(fit->message, sizeof(fit->message), &outcome,
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
	if (hyp2f1_scaled(r + x, b + x, c, z, &mantissa, &log_scale))
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
	if (!bgnbd_params_valid(params) || !timing_is_valid(customer))
		return NAN;
	return bgnbd_alive(params->r, params->alpha, params->a, params->b, customer->x,
			   customer->t_x, customer->T);
}

double ltv_bgnbd_expected_purchases(const struct ltv_bgnbd_params *params,
				    const struct ltv_customer *customer, double t)
{
	if (!bgnbd_params_valid(params) || !timing_is_valid(customer) || !isfinite(t) || t < 0.0)
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
	struct x_groups groups;
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
	x_groups_build(&ctx->groups, customers, n, gamma_gamma_uses);
}

static void gamma_gamma_context_release(struct gamma_gamma_context *ctx)
{
	free(ctx->x);
	free(ctx->total);
	x_groups_release(&ctx->groups);
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
	const struct x_groups *groups = &ctx->groups;
	double ll = 0.0, d_p = 0.0, d_q = 0.0;
	double sum_xl = 0.0, sum_l = 0.0, sum_v = 0.0;
	struct kahan_sum customer_ll = {0.0, 0.0};
	size_t k, i;

	if (!isfinite(p) || !isfinite(q) || !isfinite(v) || p <= 0.0 || q <= 0.0 || v <= 0.0)
		return NAN;
	for (k = 0; k < groups->count; k++) {
		double x = groups->values[k], w = groups->weights[k], px = p * x;

		ll += w * log_inverse_beta(px, q);
		d_p += w * x * digamma_difference(px, q);
		d_q += w * digamma_difference(q, px);
	}
	ll += p * (ctx->sum_x_log_total - log_v * ctx->sum_x) - ctx->sum_log_zbar;

	for (i = 0; i < ctx->n; i++) {
		const double x = ctx->x[i], u = ctx->total[i] * inv_v, l = log1p(u);

		kahan_add(&customer_ll, -(p * x + q) * l);
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

/* Checks a customer the Gamma-Gamma fit would use; see customer_check_timing(). */
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
	struct fit_outcome outcome;
	double starts[3][OPT_MAX_DIM] = {{0}}, mean_spend;
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
			fit_message(fit->message, sizeof(fit->message), "customer", i, why);
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
	fit_multistart(gamma_gamma_objective, &ctx, 3, starts, 3, &outcome);
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
		fit_describe_failure(fit->message, sizeof(fit->message), &outcome,
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

	if (!bgnbd_params_valid(bgnbd) || !timing_is_valid(customer) || !clv_options_valid(options))
		return NAN;
	spend = ltv_gamma_gamma_expected_spend(gamma_gamma, customer);
	if (isnan(spend))
		return NAN;
	return clv_discounted_purchases(bgnbd, customer, options) * spend;
}

double ltv_fallback_expected_purchases(const struct ltv_customer *customer, double t)
{
	if (!timing_is_valid(customer) || !isfinite(t) || t < 0.0)
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

	if (!timing_is_valid(customer) || !clv_options_valid(options))
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
	if (!timing_is_valid(customer) || !clv_options_valid(options) ||
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

/* ==== Reading customer summaries ======================================================== */

static void ltv_error_set(struct ltv_error *err, long line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void ltv_error_set(struct ltv_error *err, long line, const char *format, ...)
{
	va_list args;
	int prefix = 0;

	if (!err)
		return;
	err->line = line;
	if (line > 0)
		prefix = snprintf(err->message, sizeof(err->message), "line %ld: ", line);
	if (prefix < 0 || (size_t)prefix >= sizeof(err->message))
		prefix = 0;
	va_start(args, format);
	vsnprintf(err->message + prefix, sizeof(err->message) - (size_t)prefix, format, args);
	va_end(args);
}

void ltv_customer_table_release(struct ltv_customer_table *table)
{
	free(table->customers);
	free(table->ids);
	free(table->id_storage);
	table->customers = NULL;
	table->ids = NULL;
	table->id_storage = NULL;
	table->count = 0;
}

/* Trims spaces and tabs at both ends of [*start, *end). */
static void csv_trim(const char **start, const char **end)
{
	while (*start < *end && (**start == ' ' || **start == '\t'))
		(*start)++;
	while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
}

/*
 * Splits `line` (NUL-terminated, line end removed) at commas into exactly five trimmed
 * fields, stored as [begin, end) pairs. Returns the number of fields found (may exceed 5).
 */
static int csv_split(const char *line, const char *begin[5], const char *end[5])
{
	const char *p = line;
	int count = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		const char *stop = comma ? comma : p + strlen(p);

		if (count < 5) {
			begin[count] = p;
			end[count] = stop;
			csv_trim(&begin[count], &end[count]);
		}
		count++;
		if (!comma)
			return count;
		p = comma + 1;
	}
}

/* Parses [begin, end) as a finite double. Returns 0 or -1. */
static int csv_number(const char *begin, const char *end, double *value)
{
	char text[64], *stop;
	size_t len = (size_t)(end - begin);

	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, begin, len);
	text[len] = '\0';
	errno = 0;
	*value = strtod(text, &stop);
	if (*stop != '\0' || errno == ERANGE || !isfinite(*value))
		return -1;
	return 0;
}

int ltv_customer_table_read_csv(struct ltv_customer_table *table, FILE *in, struct ltv_error *err)
{
	static const char *const names[5] = {"ID", "x", "t_x", "T", "zbar"};
	char *line = NULL;
	size_t line_alloc = 0, alloc = 0, storage_len = 0, storage_alloc = 0, i;
	size_t *offsets = NULL;
	ssize_t got;
	long line_no = 0;
	int header_seen = 0, ret = -1;

	ltv_customer_table_release(table);
	if (err) {
		err->line = 0;
		err->message[0] = '\0';
	}

	while ((got = getline(&line, &line_alloc, in)) != -1) {
		const char *begin[5], *end[5], *text = line;
		double values[4];
		size_t len = (size_t)got, id_len;
		int fields, f;

		line_no++;
		if (memchr(line, '\0', len)) {
			ltv_error_set(err, line_no, "NUL byte in line");
			goto cleanup;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line_no == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
			text += 3;
		if (text[strspn(text, " \t")] == '\0')
			continue; /* blank line */

		fields = csv_split(text, begin, end);
		if (!header_seen) {
			for (f = 0; f < 5 && fields == 5; f++)
				if ((size_t)(end[f] - begin[f]) != strlen(names[f]) ||
				    memcmp(begin[f], names[f], strlen(names[f])) != 0)
					break;
			if (fields != 5 || f != 5) {
				ltv_error_set(err, line_no, "expected the header ID,x,t_x,T,zbar");
				goto cleanup;
			}
			header_seen = 1;
			continue;
		}
		if (fields != 5) {
			ltv_error_set(err, line_no, "expected 5 fields (ID,x,t_x,T,zbar), found %d",
				      fields);
			goto cleanup;
		}
		id_len = (size_t)(end[0] - begin[0]);
		if (id_len == 0 || memchr(begin[0], '"', id_len)) {
			ltv_error_set(err, line_no, "ID must be non-empty text without quotes");
			goto cleanup;
		}
		for (f = 1; f < 5; f++) {
			if (csv_number(begin[f], end[f], &values[f - 1])) {
				ltv_error_set(
				    err, line_no, "%s: \"%.*s\" is not a number", names[f],
				    (int)(end[f] - begin[f] > 40 ? 40 : end[f] - begin[f]),
				    begin[f]);
				goto cleanup;
			}
		}
		if (values[0] < 0.0 || values[0] != floor(values[0])) {
			ltv_error_set(err, line_no, "x (%g) must be a whole number >= 0",
				      values[0]);
			goto cleanup;
		}
		if (!(values[2] > 0.0)) {
			ltv_error_set(err, line_no, "T (%g) must be > 0", values[2]);
			goto cleanup;
		}
		if (values[1] < 0.0 || values[1] > values[2]) {
			ltv_error_set(err, line_no, "t_x (%g) must be between 0 and T (%g)",
				      values[1], values[2]);
			goto cleanup;
		}
		if (values[3] < 0.0) {
			ltv_error_set(err, line_no, "zbar (%g) must be >= 0", values[3]);
			goto cleanup;
		}

		if (table->count == alloc) {
			alloc = alloc ? 2 * alloc : 1024;
			table->customers =
			    ltv_xrealloc(table->customers, alloc, sizeof(*table->customers));
			offsets = ltv_xrealloc(offsets, alloc, sizeof(*offsets));
		}
		if (storage_len + id_len + 1 > storage_alloc) {
			storage_alloc = 2 * (storage_len + id_len + 1) + 4096;
			table->id_storage = ltv_xrealloc(table->id_storage, storage_alloc, 1);
		}
		memcpy(table->id_storage + storage_len, begin[0], id_len);
		table->id_storage[storage_len + id_len] = '\0';
		offsets[table->count] = storage_len;
		storage_len += id_len + 1;
		table->customers[table->count].x = values[0];
		table->customers[table->count].t_x = values[1];
		table->customers[table->count].T = values[2];
		table->customers[table->count].zbar = values[3];
		table->count++;
	}
	if (ferror(in)) {
		char reason[128];

		if (strerror_r(errno, reason, sizeof(reason)) != 0)
			snprintf(reason, sizeof(reason), "errno %d", errno);
		ltv_error_set(err, line_no, "read error: %s", reason);
		goto cleanup;
	}
	if (!header_seen) {
		ltv_error_set(err, 0, "empty input: expected the header ID,x,t_x,T,zbar");
		goto cleanup;
	}
	if (table->count) {
		table->ids = ltv_xmalloc(table->count, sizeof(*table->ids));
		for (i = 0; i < table->count; i++)
			table->ids[i] = table->id_storage + offsets[i];
	}
	ret = 0;

cleanup:
	free(offsets);
	free(line);
	if (ret)
		ltv_customer_table_release(table);
	return ret;
}
