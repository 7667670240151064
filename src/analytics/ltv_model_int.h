/*
 * ltv_model_int.h - private to the LTV model files (src/analytics/ltv_*.c), in SQLite's
 * btreeInt.h manner: what the special functions (ltv_special.c), the minimiser and the
 * shared fit helpers (ltv_optimize.c) give the two models (ltv_model.c) and the CSV
 * reader (ltv_customers_csv.c). The public interface is include/crm/ltv_model.h.
 */
#ifndef CRM_LTV_MODEL_INT_H
#define CRM_LTV_MODEL_INT_H

#include <stddef.h>

#include "crm/ltv_model.h"

/* ---- allocation (this module links with libm only: its own abort-on-OOM wrappers) */

void *ltv_xmalloc(size_t count, size_t size);
void *ltv_xcalloc(size_t count, size_t size);
void *ltv_xrealloc(void *ptr, size_t count, size_t size);

/* ---- special functions (ltv_special.c), thread-safe (no lgamma(): it writes signgam) */

/* log Gamma(z + x) - log Gamma(z) for z > 0, x >= 0, without cancelling huge terms. */
double ltv_log_gamma_difference(double z, double x);
/* digamma(z + x) - digamma(z) for z > 0, x >= 0. */
double ltv_digamma_difference(double z, double x);
/* log(1 / B(a, b)) for a, b > 0. */
double ltv_log_inverse_beta(double a, double b);
/*
 * 2F1(a, b; c; z) for z < 1 as *mantissa * exp(*log_scale), so that huge intermediate sums
 * do not overflow. Returns 0, or -1 on a pole or when the series does not converge.
 */
int ltv_hyp2f1_scaled(double a, double b, double c, double z, double *mantissa,
		      double *log_scale);

/* ---- the minimiser and the fits around it (ltv_optimize.c) */

#define LTV_OPT_MAX_DIM 4

/*
 * An objective returns f(theta) and writes its gradient to grad[]; a non-finite return
 * means "outside the domain" and makes the line search step back.
 */
typedef double (*ltv_objective)(const double *theta, double *grad, void *context);

/* What a multi-start fit found. */
struct ltv_fit_outcome {
	double theta[LTV_OPT_MAX_DIM];
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
 * Runs the minimiser from each of the `count` starting points (log-parameters) until one
 * converges; keeps that point, or else the one with the lowest objective.
 */
void ltv_fit_multistart(ltv_objective objective, void *context, int dim,
			const double starts[][LTV_OPT_MAX_DIM], int count,
			struct ltv_fit_outcome *out);
/* Writes why a fit failed; `boundary_hint` says what running off means for this model. */
void ltv_fit_describe_failure(char *message, size_t size, const struct ltv_fit_outcome *o,
			      const char *boundary_hint);
/* "<text> <index>: <why>" into `message`. */
void ltv_fit_message(char *message, size_t size, const char *text, size_t index,
		     const char *why);

/*
 * Compensated (Kahan) summation for the log-likelihood over up to millions of customers:
 * plain summation leaves rounding noise of ~1e-12 in the mean, enough to hide the last
 * improvements near the optimum from the line search.
 */
struct ltv_kahan_sum {
	double sum;
	double carry;
};

static inline void ltv_kahan_add(struct ltv_kahan_sum *k, double value)
{
	double y = value - k->carry, t = k->sum + y;

	k->carry = (t - k->sum) - y;
	k->sum = t;
}

/* The distinct x values of the customers a fit uses, with how many customers have each. */
struct ltv_x_groups {
	size_t count;
	double *values;  /* ascending */
	double *weights; /* customers with that x */
	size_t max_x;
};

/*
 * Groups the customers accepted by `use` (all when NULL) by x. x must already be validated
 * as a whole number in [0, LTV_MAX_REPEAT_PURCHASES]. Release with ltv_x_groups_release().
 */
void ltv_x_groups_build(struct ltv_x_groups *groups, const struct ltv_customer *customers,
			size_t n, int (*use)(const struct ltv_customer *));
void ltv_x_groups_release(struct ltv_x_groups *groups);

/*
 * Checks what both fits need of a customer's timing; writes why not into `why`.
 * Returns 0 when valid.
 */
int ltv_customer_check_timing(const struct ltv_customer *c, char *why, size_t why_size);
/* The same check without the reason (for the predictions). */
int ltv_timing_is_valid(const struct ltv_customer *c);

#endif
