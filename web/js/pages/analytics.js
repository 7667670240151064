// analytics.js - the analytics page: the customer base in figures (analytics/summary),
// the tier distribution (analytics/tiers: members and revenue share, SVG bars and a
// table), revenue by month (analytics/revenue: the server sums every purchase per month,
// empty months included; SVG columns) and the LTV ranking (analytics/ltv, with the fitted
// model's parameters and whether the fit converged; SVG bars of the top ten, then a table).

import { api } from '../api.js';
import { h, notice, replaceChildren } from '../dom.js';
import { capitalize, formatDate, formatMoney, formatNumber, formatPercent, humanize } from '../format.js';
import { barChart } from '../ui/chart.js';
import { HOUSE_CURRENCY, churnLevel } from './contact-work.js';

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

/** "Jan 26" for a bucket's first day "2026-01-01" (a UTC calendar month). */
const monthLabel = (day) => new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', year: '2-digit', timeZone: 'UTC' });

/** Whether a bucket ends before its month does (the current month so far). */
const partial = (bucket) => !bucket.end.endsWith('-01');

async function fillRevenue(body) {
  const answer = await api.get('analytics/revenue', { query: { by: 'month' } });
  const buckets = answer.buckets || [];
  const currency = answer.currency || HOUSE_CURRENCY;
  const chart = barChart({
    title: 'Revenue by month',
    caption: false,
    description: `The revenue of each of the last ${buckets.length} months (purchases, refunds subtracted)${buckets.some(partial) ? ', the current month so far' : ''}.`,
    orientation: 'vertical',
    labelHeading: 'Month', valueHeading: 'Revenue',
    axisLabel: (value) => formatMoney(value, currency, { compact: true }),
    bars: buckets.map((bucket) => ({
      label: monthLabel(bucket.start),
      value: bucket.revenue_cents, valueLabel: formatMoney(bucket.revenue_cents, currency),
      shortValue: bucket.revenue_cents ? formatMoney(bucket.revenue_cents, currency, { compact: true }) : '',
      note: `${formatNumber(bucket.purchases)} purchase${bucket.purchases === 1 ? '' : 's'}, ${formatNumber(bucket.customers)} customer${bucket.customers === 1 ? '' : 's'}`,
      className: partial(bucket) ? 'partial' : undefined,
    })),
  });
  // Each column says which month it is and its exact amount (for tools and tests).
  chart.querySelectorAll('g.chart-bar').forEach((bar, index) => {
    bar.setAttribute('data-start', buckets[index].start);
    bar.setAttribute('data-revenue-cents', String(buckets[index].revenue_cents));
  });
  replaceChildren(body, chart,
    h('p', { class: 'muted small', text: `Purchases from ${formatDate(answer.from)} to ${formatDate(answer.to)} of the contacts you may see, in ${currency}: amounts are added up as one house currency, like every analytics figure.` }));
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

const contactLabel = (row) => [row.first_name, row.last_name].filter(Boolean).join(' ') || row.email || `Contact #${row.contact_id}`;

/** SVG bars of the ten customers with the highest predicted LTV (names drawn as text only). */
function rankingChart(rows, horizonDays) {
  const top = rows.slice().sort((a, b) => (Number(b.predicted_ltv_cents) || 0) - (Number(a.predicted_ltv_cents) || 0)).slice(0, 10);
  const chart = barChart({
    title: `Top ${top.length} by predicted LTV`,
    description: `The ${top.length} customers expected to bring the most revenue over the next ${horizonDays} days.`,
    labelHeading: 'Contact', valueHeading: 'Predicted LTV',
    width: 640, labelWidth: 180, valueWidth: 140,
    bars: top.map((row) => ({
      label: contactLabel(row), value: Math.max(0, Number(row.predicted_ltv_cents) || 0),
      valueLabel: formatMoney(row.predicted_ltv_cents, HOUSE_CURRENCY),
      className: row.tier ? `tier-${row.tier}` : undefined,
    })),
    emptyText: 'No customers yet.',
  });
  // Each bar says whose it is and the exact amount (for tools and tests).
  chart.querySelectorAll('g.chart-bar').forEach((bar, index) => {
    bar.setAttribute('data-contact-id', String(top[index].contact_id));
    bar.setAttribute('data-predicted-ltv-cents', String(top[index].predicted_ltv_cents));
  });
  return chart;
}

async function fillRanking(body) {
  const answer = await api.get('analytics/ltv', { query: { limit: 25 } });
  const rows = answer.data || [];
  const name = contactLabel;
  replaceChildren(body, 
    answer.model ? modelBlock(answer.model) : null,
    rows.length === 0 ? null : rankingChart(rows, answer.horizon_days),
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
