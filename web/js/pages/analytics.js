// analytics.js - the analytics page: the customer base in figures (analytics/summary),
// the tier distribution (analytics/tiers: members and revenue share, SVG bars and a
// table), revenue by month (SVG columns) and the LTV ranking (analytics/ltv, with the
// fitted model's parameters and whether the fit converged).
//
// Revenue by month: no endpoint answers it yet, so it is summed here from the purchases of
// the last 12 months (GET purchases, newest first, at most MAX_PURCHASES of them; when
// there are more, only the months read completely are shown). Amounts are in the house
// currency like every analytics figure (docs/analytics.md: one house currency).

import { api } from '../api.js';
import { h, notice, replaceChildren } from '../dom.js';
import { apiTimestamp, capitalize, formatDate, formatMoney, formatNumber, formatPercent, humanize } from '../format.js';
import { barChart } from '../ui/chart.js';
import { HOUSE_CURRENCY, churnLevel } from './contact-work.js';

const MAX_PURCHASES = 5000;
const MONTHS = 12;
const metricName = (metric) => (metric === 'ltv_cents' ? 'historical LTV' : 'predicted LTV');

function card(id, title, ...children) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title`, text: title }), children);
}

function loading() { return h('p', { class: 'muted', role: 'status', text: 'Loading…' }); }

function failed(error) {
  return notice(error.isForbidden ? 'info' : 'error', error.isForbidden ? 'You may not see these figures.' : `Could not load: ${error.message}`);
}

/* ------------------------------------------------------------------ summary */

async function fillSummary(body) {
  const s = await api.get('analytics/summary');
  const kpi = (label, value, note) => h('div', { class: 'kpi' }, h('dt', { text: label }), h('dd', {}, value, note ? h('span', { class: 'kpi-note', text: note }) : null));
  const counts = (object) => Object.entries(object || {}).map(([key, value]) => `${humanize(key)} ${formatNumber(value)}`).join(' · ');
  replaceChildren(body, 
    h('dl', { class: 'kpis' },
      kpi('Customers', formatNumber(s.customers), `of ${formatNumber(s.contacts)} contacts`),
      kpi('Purchases', formatNumber(s.purchases)),
      kpi('Historical LTV', formatMoney(s.historical_ltv_cents, HOUSE_CURRENCY, { compact: true }), 'all revenue so far'),
      kpi('Predicted LTV', formatMoney(s.predicted_ltv_cents, HOUSE_CURRENCY, { compact: true }), 'next year'),
      kpi('Average order', formatMoney(s.average_order_value_cents, HOUSE_CURRENCY)),
      kpi(`This ${s.period}`, formatMoney(s.this_period && s.this_period.revenue_cents, HOUSE_CURRENCY),
        `${formatDate(s.this_period && s.this_period.from)} – ${formatDate(s.this_period && s.this_period.to)}`),
      kpi(`Last ${s.period}`, formatMoney(s.last_period && s.last_period.revenue_cents, HOUSE_CURRENCY),
        `${formatNumber(s.last_period && s.last_period.orders)} orders, ${formatNumber(s.last_period && s.last_period.buyers)} buyers`)),
    h('p', { class: 'small' }, h('strong', { text: 'Churn risk: ' }), counts(s.churn_risk)),
    h('p', { class: 'small' }, h('strong', { text: 'Loyalty: ' }), counts(s.loyalty)),
    h('p', { class: 'small' }, h('strong', { text: 'Relationship stages: ' }), counts(s.relationship_stages)),
    h('p', { class: 'small' }, h('strong', { text: 'Value classes: ' }), counts(s.value_classes)));
}

/* ------------------------------------------------------------------ tiers */

async function fillTiers(body) {
  const answer = await api.get('analytics/tiers');
  const tiers = answer.tiers || [];
  replaceChildren(body, 
    barChart({
      title: 'Members per tier',
      description: `How the ${formatNumber(answer.customers)} customers fall into the value tiers (by ${metricName(answer.metric)}), with each tier's share of the revenue.`,
      labelHeading: 'Tier', valueHeading: 'Members',
      width: 640, labelWidth: 100, valueWidth: 240,
      bars: tiers.map((tier) => ({
        label: capitalize(tier.name), value: tier.members, valueLabel: `${formatNumber(tier.members)} member${tier.members === 1 ? '' : 's'}`,
        note: `${formatPercent(tier.revenue_share)} of revenue`, className: `tier-${tier.name}`,
      })),
      emptyText: 'No customers yet.',
    }),
    barChart({
      title: 'Revenue share per tier',
      description: 'The share of all revenue (historical lifetime value) that each tier’s members brought.',
      labelHeading: 'Tier', valueHeading: 'Revenue share',
      width: 640, labelWidth: 100, valueWidth: 240,
      bars: tiers.map((tier) => ({
        label: capitalize(tier.name), value: tier.revenue_share || 0, valueLabel: formatPercent(tier.revenue_share, 1),
        note: formatMoney(tier.revenue_cents, HOUSE_CURRENCY), className: `tier-${tier.name}`,
      })),
      emptyText: 'No revenue yet.',
    }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table compact numbers tiers-table' },
      h('caption', { class: 'visually-hidden', text: 'Tiers' }),
      h('thead', {}, h('tr', {}, ['Tier', 'Threshold', 'Members', 'Revenue', 'Revenue share', 'Predicted LTV']
        .map((text, i) => h('th', { scope: 'col', class: i ? 'number' : undefined, text })))),
      h('tbody', {}, tiers.map((tier) => h('tr', { dataset: { tier: tier.name } },
        h('th', { scope: 'row', dataset: { label: 'Tier' } }, h('span', { class: `tier-badge tier-${tier.name}`, text: capitalize(tier.name) })),
        h('td', { class: 'number', dataset: { label: 'Threshold' }, text: `≥ ${formatMoney(tier.threshold_cents, HOUSE_CURRENCY)}` }),
        h('td', { class: 'number', dataset: { label: 'Members' }, text: `${formatNumber(tier.members)} (${formatPercent(tier.member_share)})` }),
        h('td', { class: 'number', dataset: { label: 'Revenue' }, text: formatMoney(tier.revenue_cents, HOUSE_CURRENCY) }),
        h('td', { class: 'number', dataset: { label: 'Revenue share' }, text: formatPercent(tier.revenue_share, 1) }),
        h('td', { class: 'number', dataset: { label: 'Predicted LTV' }, text: formatMoney(tier.predicted_ltv_cents, HOUSE_CURRENCY) })))))),
    h('p', { class: 'muted small', text: `Tiers by ${answer.basis} of ${metricName(answer.metric)} over ${answer.horizon_days} days, as of ${formatDate(answer.as_of)}.` }));
}

/* ------------------------------------------------------------------ revenue by month */

/** "2026-11" for a date (local time). */
const monthKey = (date) => `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}`;

/** The first days of the last `count` months (oldest first), as Date objects (local). */
export function lastMonths(count, today = new Date()) {
  const months = [];
  for (let i = count - 1; i >= 0; i--) months.push(new Date(today.getFullYear(), today.getMonth() - i, 1));
  return months;
}

/**
 * Sums purchases into months: {sums: "YYYY-MM" -> cents, partialMonth}. Purchases come
 * newest first; when the reading stopped early, the month of the last one read is only
 * partly summed (partialMonth), and older months not at all.
 */
export function revenueByMonth(purchases, stoppedEarly) {
  const sums = new Map();
  let oldest = null;
  for (const purchase of purchases) {
    const key = monthKey(new Date(purchase.occurred_at));
    sums.set(key, (sums.get(key) || 0) + Number(purchase.amount_cents || 0));
    oldest = key;
  }
  return { sums, partialMonth: stoppedEarly ? oldest : null };
}

async function fillRevenue(body) {
  const months = lastMonths(MONTHS);
  const since = apiTimestamp(months[0]);
  const purchases = [];
  let cursor = null;
  do {
    const page = await api.get('purchases', { query: { since, sort: '-occurred_at', limit: 500, cursor: cursor || undefined } });
    purchases.push(...(page.data || []));
    cursor = page.next_cursor;
  } while (cursor && purchases.length < MAX_PURCHASES);
  const { sums, partialMonth } = revenueByMonth(purchases, Boolean(cursor));
  const currencies = new Set(purchases.map((purchase) => purchase.currency));
  const bars = [];
  for (const month of months) {
    const key = monthKey(month);
    if (partialMonth && key <= partialMonth) continue; // read only in part (or not at all)
    const cents = sums.get(key) || 0;
    bars.push({
      label: month.toLocaleDateString(undefined, { month: 'short', year: '2-digit' }),
      value: cents, valueLabel: formatMoney(cents, HOUSE_CURRENCY), shortValue: cents ? formatMoney(cents, HOUSE_CURRENCY, { compact: true }) : '',
      className: key === monthKey(months.at(-1)) ? 'partial' : undefined,
    });
  }
  replaceChildren(body, 
    barChart({
      title: 'Revenue by month',
      caption: false,
      description: `The revenue of each of the last ${bars.length} months (purchases, refunds subtracted), the current month so far.`,
      orientation: 'vertical',
      labelHeading: 'Month', valueHeading: 'Revenue',
      axisLabel: (value) => formatMoney(value, HOUSE_CURRENCY, { compact: true }),
      bars,
    }),
    h('p', { class: 'muted small', text: `Summed in the browser from ${formatNumber(purchases.length)} purchases since ${formatDate(since)}${partialMonth ? `; older months are left out (more than ${formatNumber(MAX_PURCHASES)} purchases)` : ''}.` }),
    currencies.size > 1 ? h('p', { class: 'muted small', text: `The purchases are in ${[...currencies].join(', ')}: added up as one house currency, like the analytics.` }) : null);
}

/* ------------------------------------------------------------------ LTV ranking */

function modelBlock(model) {
  const number = (value, digits = 4) => (value === null || value === undefined ? '—' : Number(value).toPrecision(digits));
  const param = (label, value) => h('div', {}, h('dt', { text: label }), h('dd', { text: value }));
  const bg = model.bgnbd || {};
  const gg = model.gamma_gamma || {};
  return h('div', { class: 'model' },
    h('p', {},
      h('strong', { text: model.converged ? 'The models converged. ' : 'The fit did not converge: ' }),
      model.converged ? `Fitted ${formatDate(model.fitted_at)} on ${formatNumber(model.customers)} customers and ${formatNumber(model.purchases)} purchases.`
        : `predictions use fallback estimates (${humanize(model.method)}).`),
    h('dl', { class: 'model-params' },
      param('BG/NBD r', number(bg.r)), param('BG/NBD α', number(bg.alpha)), param('BG/NBD a', number(bg.a)), param('BG/NBD b', number(bg.b)),
      param('Gamma-Gamma p', number(gg.p)), param('Gamma-Gamma q', number(gg.q)), param('Gamma-Gamma v', number(gg.v)),
      param('Method', humanize(model.method)), param('Data as of', formatDate(model.data_as_of))),
    [bg, gg].filter((fit) => fit.message && !fit.converged).map((fit) => h('p', { class: 'muted small', text: `${humanize(fit.method)}: ${fit.message}` })));
}

async function fillRanking(body) {
  const answer = await api.get('analytics/ltv', { query: { limit: 25 } });
  const rows = answer.data || [];
  const name = (row) => [row.first_name, row.last_name].filter(Boolean).join(' ') || row.email || `Contact #${row.contact_id}`;
  replaceChildren(body, 
    answer.model ? modelBlock(answer.model) : null,
    rows.length === 0 ? h('p', { class: 'muted', text: 'No customers yet.' }) : h('div', { class: 'table-wrap' },
      h('table', { class: 'data-table compact ltv-table' },
        h('caption', { class: 'visually-hidden', text: `Top ${rows.length} customers by predicted LTV over ${answer.horizon_days} days` }),
        h('thead', {}, h('tr', {}, ['#', 'Contact', 'Predicted LTV', 'Historical LTV', 'Purchases', 'P(alive)', 'Churn risk', 'Tier', 'RFM']
          .map((text) => h('th', { scope: 'col', class: ['Predicted LTV', 'Historical LTV', 'Purchases', 'P(alive)'].includes(text) ? 'number' : undefined, text })))),
        h('tbody', {}, rows.map((row, index) => h('tr', { dataset: { id: row.contact_id } },
          h('td', { dataset: { label: 'Rank' }, text: String(index + 1) }),
          h('td', { dataset: { label: 'Contact' } }, h('a', { href: `#/contacts/${row.contact_id}`, text: name(row) })),
          h('td', { class: 'number', dataset: { label: 'Predicted LTV' }, text: formatMoney(row.predicted_ltv_cents, HOUSE_CURRENCY) }),
          h('td', { class: 'number', dataset: { label: 'Historical LTV' }, text: formatMoney(row.historical_ltv_cents, HOUSE_CURRENCY) }),
          h('td', { class: 'number', dataset: { label: 'Purchases' }, text: formatNumber(row.purchases_count) }),
          h('td', { class: 'number', dataset: { label: 'P(alive)' }, text: formatPercent(row.p_alive) }),
          h('td', { dataset: { label: 'Churn risk' } }, row.churn_risk === null || row.churn_risk === undefined ? ''
            : h('span', { class: `risk risk-${churnLevel(row.churn_risk)}`, text: formatPercent(row.churn_risk) })),
          h('td', { dataset: { label: 'Tier' } }, row.tier ? h('span', { class: `tier-badge tier-${row.tier}`, text: capitalize(row.tier) }) : ''),
          h('td', { dataset: { label: 'RFM' }, text: row.rfm || '' })))))),
    h('p', { class: 'muted small', text: `Predicted over ${answer.horizon_days} days, as of ${formatDate(answer.as_of)}.` }));
}

export function analyticsPage() {
  const sections = [
    ['analytics-summary', 'The customer base', fillSummary],
    ['analytics-tiers', 'Tier distribution', fillTiers],
    ['analytics-revenue', 'Revenue by month', fillRevenue],
    ['analytics-ltv', 'LTV ranking', fillRanking],
  ].map(([id, title, fill]) => {
    const body = h('div', {}, loading());
    fill(body).catch((error) => replaceChildren(body, failed(error)));
    return card(id, title, body);
  });
  return h('section', { class: 'analytics-page' }, h('h1', { tabindex: '-1', text: 'Analytics' }), sections);
}
