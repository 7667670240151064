/*
 * ltv_model.h - customer lifetime-value models: BG/NBD, Gamma-Gamma and predicted CLV.
 *
 * Pure math, no database: the analytics layer summarises each customer's purchases into a
 * `struct ltv_customer` (x, t_x, T, zbar), fits the two models once over the whole customer
 * base, and then asks for per-customer predictions.
 *
 *   - BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way") predicts how
 *     many purchases a customer makes in the next t time units and the probability that the
 *     customer is still "alive".
 *   - Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value") predicts
 *     the average value of a customer's future purchases.
 *   - Predicted CLV = expected purchases over a horizon x expected value per purchase,
 *     optionally discounted per period.
 *
 * Time unit: whatever the caller picks (days, weeks), as long as t_x, T, the horizon and the
 * period length all use the same one. The CDNOW reference data uses weeks.
 *
 * Fitting is maximum likelihood over the logarithms of the parameters (scaled to be
 * dimensionless) with BFGS and an analytic gradient. The point found is then verified with
 * a finite-difference Hessian: it must be positive definite and the Newton step below 1e-3
 * in log units. That is what tells a real maximum from a likelihood that keeps creeping up
 * towards a boundary (nobody ever drops out, spend never varies...), which is reported as
 * LTV_FIT_NOT_CONVERGED, as is any parameter leaving [e^-15, e^15] (relative to its scale).
 * Three starting points are tried in turn; the first verified maximum is kept. (On small
 * samples the likelihood can have an interior local maximum and also rise towards a
 * boundary; the interior maximum is what gets reported then, as lifetimes would.)
 *
 * A fit reports its status explicitly; when it is not LTV_FIT_OK the parameters must not be
 * used and callers fall back to the simple historical estimates (ltv_fallback_*), which
 * ltv_clv_predict() does by itself.
 *
 * Thread safety: every function is reentrant; nothing here keeps global state (we do not
 * call lgamma(), which writes the global signgam).
 */
#ifndef CRM_LTV_MODEL_H
#define CRM_LTV_MODEL_H

#include <stddef.h>
#include <stdio.h>

/* Fewer customers with a repeat purchase than this and a fit is not attempted. */
#define LTV_MIN_REPEAT_CUSTOMERS 10

/* The largest repeat-purchase count a fit accepts (it sizes per-x lookup tables). */
#define LTV_MAX_REPEAT_PURCHASES 1000000.0

/* Method names reported in fit results and predictions (static strings, never freed). */
#define LTV_METHOD_BGNBD "bgnbd-ml-bfgs"
#define LTV_METHOD_GAMMA_GAMMA "gamma-gamma-ml-bfgs"
#define LTV_METHOD_FALLBACK_RATE "fallback-historical-rate"
#define LTV_METHOD_FALLBACK_SPEND "fallback-historical-spend"

/*
 * One customer's purchase summary over the calibration period.
 *   x     number of repeat purchases (purchases after the first one); a whole number >= 0.
 *   t_x   time of the last purchase, measured from the first purchase (recency); 0 if x = 0.
 *   T     time from the first purchase to the end of the calibration period (age); > 0.
 *   zbar  average value of the x repeat purchases; 0 when x = 0. Units are the caller's
 *         (the analytics layer uses cents).
 * Invariant for the fits: 0 <= t_x <= T.
 */
struct ltv_customer {
	double x;
	double t_x;
	double T;
	double zbar;
};

/* BG/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout probability ~ Beta(a, b). */
struct ltv_bgnbd_params {
	double r;
	double alpha;
	double a;
	double b;
};

/*
 * Gamma-Gamma parameters: a customer's spend per purchase ~ Gamma(p, nu) with
 * nu ~ Gamma(q, v). Their population mean spend p * v / (q - 1) needs q > 1.
 */
struct ltv_gamma_gamma_params {
	double p;
	double q;
	double v;
};

enum ltv_fit_status {
	LTV_FIT_OK = 0,        /* converged; the parameters are usable */
	LTV_FIT_TOO_FEW,       /* fewer than LTV_MIN_REPEAT_CUSTOMERS customers with x > 0 */
	LTV_FIT_NOT_CONVERGED, /* no start reached a proper maximum (see message) */
	LTV_FIT_DEGENERATE,    /* converged to parameters the predictions cannot use */
	LTV_FIT_INVALID_INPUT  /* a customer violates the invariants (see message) */
};

/*
 * The outcome of a fit. Fields are meaningful whatever the status, except `params`, which is
 * the best point found (zeros when no fit was attempted) and must only be used when
 * status == LTV_FIT_OK. `method` is LTV_METHOD_BGNBD / LTV_METHOD_GAMMA_GAMMA when the model
 * is usable and LTV_METHOD_FALLBACK_RATE / LTV_METHOD_FALLBACK_SPEND when callers must fall
 * back; it points at a static string.
 */
struct ltv_bgnbd_fit {
	struct ltv_bgnbd_params params;
	enum ltv_fit_status status;
	int converged;           /* 1 when the optimiser converged (LTV_FIT_OK, DEGENERATE) */
	int iterations;          /* BFGS iterations, summed over all starts */
	int evaluations;         /* log-likelihood evaluations, summed over all starts */
	int starts;              /* starting points tried */
	double log_likelihood;   /* at params (total over the customers used), or NAN */
	double gradient_norm;    /* max |d(mean LL)/d log(param)| at params, or NAN */
	size_t customers_used;   /* all n customers */
	size_t repeat_customers; /* customers with x > 0 */
	const char *method;
	char message[160]; /* human-readable reason when status != LTV_FIT_OK */
};

struct ltv_gamma_gamma_fit {
	struct ltv_gamma_gamma_params params;
	enum ltv_fit_status status;
	int converged;
	int iterations;
	int evaluations;
	int starts;
	double log_likelihood;
	double gradient_norm;
	size_t customers_used;   /* customers with x > 0 and zbar > 0 */
	size_t repeat_customers; /* same as customers_used */
	const char *method;
	char message[160];
};

/* ---- Special functions --------------------------------------------------------------- */

/*
 * The Gaussian hypergeometric function 2F1(a, b; c; z) for real arguments and z < 1.
 * For 0 <= z < 1 it sums the power series (rescaling to avoid overflow) until the remaining
 * tail is below 1e-15 relative; for z < 0 it uses Pfaff's transformation
 * 2F1(a,b;c;z) = (1-z)^-a 2F1(a, c-b; c; z/(z-1)), so the series argument is always in
 * [0, 1). Convergence slows as z approaches 1 (about 40/(1-z) terms); beyond 10 million terms
 * it gives up. Returns NAN when c is 0 or a negative integer (without the series terminating
 * first), when z >= 1 or any argument is not finite, or on no convergence; may return
 * +-HUGE_VAL when the value overflows a double.
 */
double ltv_hyp2f1(double a, double b, double c, double z);

/* ---- BG/NBD -------------------------------------------------------------------------- */

/*
 * Total log-likelihood of n customers under `params` (eq. 6 of Fader, Hardie & Lee 2005,
 * including the constant terms, so it matches the paper's -9582.4 on CDNOW). Returns NAN
 * when a parameter is not > 0, n is 0, or a customer violates the invariants.
 */
double ltv_bgnbd_log_likelihood(const struct ltv_bgnbd_params *params,
				const struct ltv_customer *customers, size_t n);

/*
 * Fits r, alpha, a, b by maximum likelihood on the n customers (zbar is ignored). Every
 * customer must satisfy the invariants, with x a whole number <= LTV_MAX_REPEAT_PURCHASES.
 * Fills *fit in every case. Returns 0 when fit->status == LTV_FIT_OK, -1 otherwise
 * (too few repeat customers, no convergence, invalid input); then fit->method is
 * LTV_METHOD_FALLBACK_RATE and fit->message says why. Nothing to free.
 * Cost: about 30 passes over the data at ~0.04 s per pass per million customers, so about
 * 1 s for a million (CDNOW-like) customers; a fit that fails tries all three starts.
 */
int ltv_bgnbd_fit(const struct ltv_customer *customers, size_t n, struct ltv_bgnbd_fit *fit);

/*
 * P(alive | x, t_x, T): the probability that the customer has not dropped out by T,
 *   1 / (1 + [x > 0] a/(b + x - 1) ((alpha + T)/(alpha + t_x))^(r + x)),
 * so 1 for x = 0 (lifetimes' conditional_probability_alive). NAN for invalid input.
 */
double ltv_bgnbd_probability_alive(const struct ltv_bgnbd_params *params,
				   const struct ltv_customer *customer);

/*
 * E[Y(t) | x, t_x, T]: expected purchases of this customer in the next t time units
 * (eq. 10 of the paper). t >= 0. a = 1 (a removable singularity of the formula) is handled.
 * The 2F1 series takes roughly (r + x) t / (alpha + T) terms; returns NAN for invalid input
 * or when that exceeds 10 million (t enormous compared with alpha + T, for a heavy buyer).
 */
double ltv_bgnbd_expected_purchases(const struct ltv_bgnbd_params *params,
				    const struct ltv_customer *customer, double t);

/* E[X(t)]: expected purchases in (0, t] of a customer just acquired (eq. 9). */
double ltv_bgnbd_expected_purchases_new(const struct ltv_bgnbd_params *params, double t);

/* ---- Gamma-Gamma --------------------------------------------------------------------- */

/*
 * Total log-likelihood of the customers with x > 0 and zbar > 0 (the others are skipped),
 * as in Fader & Hardie (2013) / lifetimes. Returns NAN on invalid parameters or when no
 * customer qualifies.
 */
double ltv_gamma_gamma_log_likelihood(const struct ltv_gamma_gamma_params *params,
				      const struct ltv_customer *customers, size_t n);

/*
 * Fits p, q, v by maximum likelihood on the customers with x > 0 and zbar > 0 (the model
 * assumes spend is independent of purchase frequency; that is the caller's judgement).
 * Every customer needs x a whole number <= LTV_MAX_REPEAT_PURCHASES and zbar >= 0 finite.
 * Cost: about 0.2 s for 400,000 customers with repeat purchases.
 * Fills *fit in every case. Returns 0 when fit->status == LTV_FIT_OK; -1 otherwise, with
 * fit->method = LTV_METHOD_FALLBACK_SPEND. A fit that converges with q <= 1 reports
 * LTV_FIT_DEGENERATE (the population mean spend would be infinite). Nothing to free.
 */
int ltv_gamma_gamma_fit(const struct ltv_customer *customers, size_t n,
			struct ltv_gamma_gamma_fit *fit);

/*
 * E[Z | x, zbar]: the expected value of this customer's future purchases,
 *   (q - 1)/(p x + q - 1) * p v/(q - 1)  +  p x/(p x + q - 1) * zbar
 * i.e. a weighted mean of the population mean p v/(q-1) and the customer's own zbar.
 * For x = 0 it is the population mean. Returns NAN when q <= 1 or input is invalid.
 */
double ltv_gamma_gamma_expected_spend(const struct ltv_gamma_gamma_params *params,
				      const struct ltv_customer *customer);

/* ---- Predicted CLV ------------------------------------------------------------------- */

/*
 * Horizon and discounting for a CLV prediction.
 *   horizon        how far ahead, in model time units (> 0).
 *   period_length  length of one discounting period in model time units, e.g. 30.4375 for
 *                  a month when the unit is days, 4.348 when it is weeks. Ignored (may be 0)
 *                  when discount_rate is 0.
 *   discount_rate  per period, >= 0 (0.01 = 1 % per month). 0 means no discounting.
 * Discounting splits the horizon into periods k = 1..K (the last one possibly shorter) and
 * weights the purchases expected in period k by 1/(1 + discount_rate)^k, like lifetimes'
 * customer_lifetime_value().
 */
struct ltv_clv_options {
	double horizon;
	double period_length;
	double discount_rate;
};

/*
 * Model-based CLV: sum over periods of (expected BG/NBD purchases in the period x discount)
 * x Gamma-Gamma expected spend. Returns NAN on invalid input.
 */
double ltv_clv_model(const struct ltv_bgnbd_params *bgnbd,
		     const struct ltv_gamma_gamma_params *gamma_gamma,
		     const struct ltv_customer *customer, const struct ltv_clv_options *options);

/*
 * The documented fallback when a model is unusable:
 *   purchases over t   = x / T * t           (the customer's historical repeat rate;
 *                                             0 for a customer with no repeat purchase)
 *   spend per purchase = zbar when x > 0 and zbar > 0, else population_mean_spend
 *   CLV                = rate x spend, discounted per period as in ltv_clv_options
 *                        (purchases assumed evenly spread over the horizon).
 * population_mean_spend is usually ltv_population_mean_spend() of the customer base.
 * Each returns NAN on invalid input (T <= 0, t < 0, ...).
 */
double ltv_fallback_expected_purchases(const struct ltv_customer *customer, double t);
double ltv_fallback_expected_spend(const struct ltv_customer *customer,
				   double population_mean_spend);
double ltv_fallback_clv(const struct ltv_customer *customer, double population_mean_spend,
			const struct ltv_clv_options *options);

/* Mean zbar over customers with x > 0 and zbar > 0 (one vote per customer); 0 if none. */
double ltv_population_mean_spend(const struct ltv_customer *customers, size_t n);

/* A per-customer prediction; the method strings are static (LTV_METHOD_*). */
struct ltv_prediction {
	double expected_purchases; /* over the horizon, undiscounted */
	double expected_spend;     /* per purchase */
	double probability_alive;  /* NAN when the BG/NBD fit is not usable */
	double clv;                /* discounted expected purchases x expected spend */
	const char *purchases_method;
	const char *spend_method;
};

/*
 * Predicts one customer, using each model only when its fit is LTV_FIT_OK and the matching
 * fallback otherwise (the two choices are independent and reported in *out). Either fit
 * may be NULL, meaning "not available". Returns 0, or -1 on invalid input (options, or a
 * customer with T <= 0), leaving *out filled with NANs.
 */
int ltv_clv_predict(const struct ltv_bgnbd_fit *bgnbd,
		    const struct ltv_gamma_gamma_fit *gamma_gamma,
		    const struct ltv_customer *customer, double population_mean_spend,
		    const struct ltv_clv_options *options, struct ltv_prediction *out);

/* ---- Reading customer summaries ------------------------------------------------------ */

/*
 * A set of customers read from a file, with their IDs. customers[i] belongs to ids[i].
 * Initialise with LTV_CUSTOMER_TABLE_INIT; release with ltv_customer_table_release().
 */
struct ltv_customer_table {
	struct ltv_customer *customers; /* count entries, NULL when count is 0 */
	char **ids;                     /* count NUL-terminated strings, NULL when count is 0 */
	size_t count;
	char *id_storage; /* private: the memory ids[] point into */
};

/* clang-format off */
#define LTV_CUSTOMER_TABLE_INIT { NULL, NULL, 0, NULL }
/* clang-format on */

/* Where reading stopped: line is 1-based (0 when the error is not tied to a line). */
struct ltv_error {
	long line;
	char message[200];
};

/*
 * Reads a summary CSV: a header line `ID,x,t_x,T,zbar` (exactly these names; a UTF-8 BOM
 * and CRLF line ends are accepted) then one row per customer with the same five fields.
 * ID is any text without commas or quotes; x a whole number >= 0; 0 <= t_x <= T; T > 0;
 * zbar >= 0; blank lines are skipped. On success returns 0 and *table owns the rows (it is
 * released first, so a table may be reused). On error returns -1, leaves *table empty and,
 * when err is not NULL, fills *err with the 1-based line number and what was wrong.
 * The caller frees with ltv_customer_table_release().
 */
int ltv_customer_table_read_csv(struct ltv_customer_table *table, FILE *in, struct ltv_error *err);

/* Frees what the table holds and leaves it empty (and reusable). */
void ltv_customer_table_release(struct ltv_customer_table *table);

#endif
