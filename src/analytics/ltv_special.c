/*
 * ltv_special.c - the numerics under the LTV models (ltv_model_int.h): abort-on-OOM
 * allocation, log-gamma and digamma (and their differences, written so that no two huge
 * terms cancel) and the Gauss hypergeometric function 2F1 that BG/NBD's expectations need.
 *
 * We implement log-gamma ourselves: glibc's lgamma() writes the global `signgam`, which is
 * a data race when two server threads fit at the same time.
 */
#define _POSIX_C_SOURCE 200809L


#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "analytics/ltv_model_int.h"
#include "crm/banned.h"

/* ==== Allocation ======================================================================== */

/*
 * This module links with libm only, so it carries its own abort-on-OOM wrappers instead of
 * using buf.h's xmalloc().
 */
void *ltv_xmalloc(size_t count, size_t size)
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

void *ltv_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (!p) {
		fputs("ltv_model: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *ltv_xrealloc(void *ptr, size_t count, size_t size)
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
double ltv_log_gamma_difference(double z, double x)
{
	if (x == 0.0)
		return 0.0;
	if (z >= 10.0)
		return (z - 0.5) * log1p(x / z) + x * log(z + x) - x + stirling_tail(z + x) -
		       stirling_tail(z);
	return log_gamma_positive(z + x) - log_gamma_positive(z);
}

/* psi(z + x) - psi(z) for z > 0, x >= 0, accurate for large z. */
double ltv_digamma_difference(double z, double x)
{
	if (x == 0.0)
		return 0.0;
	if (z >= 10.0)
		return log1p(x / z) - digamma_tail(z + x) + digamma_tail(z);
	return digamma_positive(z + x) - digamma_positive(z);
}

/* -log Beta(a, b) = log Gamma(a + b) - log Gamma(a) - log Gamma(b), for a, b > 0. */
double ltv_log_inverse_beta(double a, double b)
{
	double small = a < b ? a : b, large = a < b ? b : a;

	return ltv_log_gamma_difference(large, small) - log_gamma_positive(small);
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
int ltv_hyp2f1_scaled(double a, double b, double c, double z, double *mantissa, double *log_scale)
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

	if (ltv_hyp2f1_scaled(a, b, c, z, &mantissa, &log_scale))
		return NAN;
	if (log_scale == 0.0)
		return mantissa;
	return mantissa * exp(log_scale);
}

