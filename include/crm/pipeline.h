/*
 * pipeline.h - GET /api/v1/pipeline: the open and closed opportunities summed per stage.
 *
 * Parameters (each at most once; anything else is a 400): owner_id (a user id or `me`),
 * expected_close_from, expected_close_to (inclusive dates: only opportunities with an
 * expected_close in the period count), currency (ISO 4217: only that currency).
 * The caller's read scope on opportunities applies (none: 403).
 *
 * Answer:
 *   {"currency": "EUR" | null,
 *    "stages": [ one entry per stage, all six in pipeline order, also when empty:
 *      {"stage":"lead", "default_probability":10, "count":3,
 *       "amount_cents":..., "weighted_amount_cents":...,
 *       "by_currency":[{"currency":"EUR","count":2,"amount_cents":...,
 *                       "weighted_amount_cents":...}, ...]} ],
 *    "by_currency": [{"currency":"EUR","count":..,"amount_cents":..,
 *                     "weighted_amount_cents":..}, ...]}
 * Money is never added across currencies. `by_currency` lists every currency among the
 * counted opportunities (sorted by code). `currency` is the one currency of the answer:
 * the ?currency= asked for, or the only currency present; the flat amount_cents and
 * weighted_amount_cents of each stage are in it. When several currencies are present and
 * none was asked for, `currency` and the flat amounts are null: use by_currency. With no
 * opportunity at all they are 0. `count` always counts every currency.
 *
 * Weighted total of a stage in one currency: the sum of amount_cents x probability over
 * its opportunities, divided by 100 and rounded half up, once on the sum (so it does not
 * drift with per-opportunity rounding). Totals over stages (by_currency at the top) add up
 * the per-stage figures shown.
 */
#ifndef CRM_PIPELINE_H
#define CRM_PIPELINE_H

struct router;

void pipeline_routes_register(struct router *router);

#endif
