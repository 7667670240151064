/*
 * ltv_optimize.c - the minimiser of the LTV fits (ltv_model_int.h): BFGS with a backtracking
 * line search, a check of the optimum with a finite-difference Hessian, and the helpers
 * both fits share: multi-start fitting, grouping customers by repeat purchases, checking
 * their timing. Compensated (Kahan) sums live in the header.
 */
#define _POSIX_C_SOURCE 200809L


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/ltv_model_int.h"
#include "crm/banned.h"

/* ==== BFGS minimiser ==================================================================== */

#define OPT_MAX_ITERATIONS 400
#define OPT_GRADIENT_TOLERANCE 1e-7 /* on the mean log-likelihood per customer */
#define OPT_STALL_TOLERANCE 1e-6    /* accepted when no step can lower f any more */
#define OPT_STALL_ITERATIONS 8      /* iterations without progress that make a stall */
#define OPT_MAX_STEP 2.0            /* per iteration, in log-parameter units */
#define OPT_MAX_LOG_PARAMETER 15.0  /* a parameter beyond e^+-15 counts as running away */
#define OPT_NEWTON_TOLERANCE 1e-3   /* largest Newton step (log units) at a verified optimum */
#define OPT_HESSIAN_STEP 1e-4       /* finite-difference step for the Hessian */


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

static void opt_identity(double h[LTV_OPT_MAX_DIM][LTV_OPT_MAX_DIM], int dim)
{
	int i, j;

	for (i = 0; i < dim; i++)
		for (j = 0; j < dim; j++)
			h[i][j] = i == j;
}

/*
 * The search direction -H g, capped at OPT_MAX_STEP; when H does not give a descent
 * direction, forgets the curvature (H = I, *updated = 0) and goes downhill. Returns the
 * slope of f along the direction.
 */
static double opt_direction(double h[LTV_OPT_MAX_DIM][LTV_OPT_MAX_DIM], const double *g, int dim,
			    double *direction, int *updated)
{
	double slope = 0.0, largest;
	int i, j;

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
		*updated = 0;
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
	return slope;
}

/*
 * Backtracking Armijo line search from theta (objective f) along `direction`: the first
 * of up to 40 halvings that lowers f enough goes to theta_new, g_new and *f_new. Returns
 * whether one did.
 */
static int opt_line_search(ltv_objective objective, void *context, int dim, const double *theta,
			   const double *direction, double f, double slope, double *theta_new,
			   double *g_new, double *f_new, struct opt_result *result)
{
	double step = 1.0;
	int i, tries;

	for (tries = 0; tries < 40; tries++) {
		for (i = 0; i < dim; i++)
			theta_new[i] = theta[i] + step * direction[i];
		*f_new = objective(theta_new, g_new, context);
		result->evaluations++;
		if (isfinite(*f_new) && *f_new <= f + 1e-4 * step * slope)
			return 1;
		step *= 0.5;
	}
	return 0;
}

/*
 * The BFGS update of the inverse Hessian H with the step s and the change of gradient y
 * (sy = s'y > 0); before the first update (*updated == 0) H is the identity scaled to the
 * observed curvature.
 */
static void opt_update(double h[LTV_OPT_MAX_DIM][LTV_OPT_MAX_DIM], const double *s,
		       const double *y, double sy, int dim, int *updated)
{
	double hy[LTV_OPT_MAX_DIM], yhy = 0.0;
	int i, j;

	if (!*updated) {
		/* Scale the identity to the observed curvature before the first update. */
		double yy = 0.0;

		for (i = 0; i < dim; i++)
			yy += y[i] * y[i];
		for (i = 0; i < dim; i++)
			h[i][i] = sy / yy;
		*updated = 1;
	}
	/* H += (1 + y'Hy/sy) ss'/sy - (Hy s' + s y'H)/sy */
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
static void opt_run_bfgs(ltv_objective objective, void *context, int dim, double *theta,
			 struct opt_result *result)
{
	double h[LTV_OPT_MAX_DIM][LTV_OPT_MAX_DIM];
	double g[LTV_OPT_MAX_DIM], g_new[LTV_OPT_MAX_DIM], direction[LTV_OPT_MAX_DIM];
	double theta_new[LTV_OPT_MAX_DIM], s[LTV_OPT_MAX_DIM], y[LTV_OPT_MAX_DIM];
	double f, f_new = NAN;
	int i, updated = 0, idle = 0;

	memset(result, 0, sizeof(*result));
	opt_identity(h, dim);
	f = objective(theta, g, context);
	result->evaluations = 1;
	result->f = f;
	result->gradient_norm = opt_max_abs(g, dim);
	if (!isfinite(f))
		return;

	while (result->iterations < OPT_MAX_ITERATIONS) {
		double slope, sy;

		if (result->gradient_norm < OPT_GRADIENT_TOLERANCE) {
			result->converged = 1;
			return;
		}
		result->iterations++;
		slope = opt_direction(h, g, dim, direction, &updated);
		if (!opt_line_search(objective, context, dim, theta, direction, f, slope, theta_new,
				     g_new, &f_new, result)) {
			if (updated) {
				/* The curvature estimate may be stale: retry once from steepest
				 * descent. */
				opt_identity(h, dim);
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
		opt_update(h, s, y, sy, dim, &updated);
	}
	result->converged = result->gradient_norm < OPT_GRADIENT_TOLERANCE;
}

/*
 * Cholesky factorisation of the symmetric dim x dim matrix m in place (lower triangle).
 * Returns -1 when m is not positive definite.
 */
static int opt_cholesky(double m[LTV_OPT_MAX_DIM][LTV_OPT_MAX_DIM], int dim)
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
static int opt_verify_optimum(ltv_objective objective, void *context, int dim, double *theta,
			      struct opt_result *result)
{
	double g[LTV_OPT_MAX_DIM], gp[LTV_OPT_MAX_DIM], gm[LTV_OPT_MAX_DIM], f;
	int round, i, j;

	f = objective(theta, g, context);
	result->evaluations++;
	if (!isfinite(f))
		return -1;
	for (round = 0; round < 4; round++) {
		double hess[LTV_OPT_MAX_DIM][LTV_OPT_MAX_DIM], step[LTV_OPT_MAX_DIM], trial[LTV_OPT_MAX_DIM];
		double gt[LTV_OPT_MAX_DIM], size = 1.0, ft = NAN;
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
static void opt_minimize(ltv_objective objective, void *context, int dim, double *theta,
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
 * Groups the customers accepted by `use` (all when NULL) by x. x must already be validated
 * as a whole number in [0, LTV_MAX_REPEAT_PURCHASES]. The caller releases with
 * ltv_x_groups_release().
 */
void ltv_x_groups_build(struct ltv_x_groups *groups, const struct ltv_customer *customers, size_t n,
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

void ltv_x_groups_release(struct ltv_x_groups *groups)
{
	free(groups->values);
	free(groups->weights);
	memset(groups, 0, sizeof(*groups));
}

/*
 * Checks what both fits need of a customer's timing; writes why not into `why`.
 * Returns 0 when valid.
 */
int ltv_customer_check_timing(const struct ltv_customer *c, char *why, size_t why_size)
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

int ltv_timing_is_valid(const struct ltv_customer *c)
{
	return c && isfinite(c->x) && isfinite(c->t_x) && isfinite(c->T) && c->x >= 0.0 &&
	       c->T > 0.0 && c->t_x >= 0.0 && c->t_x <= c->T;
}

void ltv_fit_message(char *message, size_t size, const char *text, size_t index, const char *why)
{
	snprintf(message, size, "%s %zu: %s", text, index, why);
}


/*
 * Runs opt_minimize() from each of the `count` starting points (log-parameters) until one
 * converges; keeps that point, or else the one with the lowest objective.
 */
void ltv_fit_multistart(ltv_objective objective, void *context, int dim,
			const double starts[][LTV_OPT_MAX_DIM], int count,
			struct ltv_fit_outcome *out)
{
	int s;

	memset(out, 0, sizeof(*out));
	out->f = HUGE_VAL;
	out->gradient_norm = NAN;
	for (s = 0; s < count; s++) {
		struct opt_result result;
		double theta[LTV_OPT_MAX_DIM];
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
void ltv_fit_describe_failure(char *message, size_t size, const struct ltv_fit_outcome *o,
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

