// dashboard.js - the start page: this month's figures (analytics/summary), the pipeline
// totals per stage (GET pipeline: count, total, probability-weighted), the tier chart
// (analytics/tiers, drawn by ui/chart.js), the caller's tasks due in the next 7 days and
// overdue (with how many more are due later or undated), and the latest interactions. Each block loads on its own, so one that the
// caller may not read (403) says so without hiding the others.

import { api } from '../api.js';
import { contactLink, userName, asyncName } from '../directory.js';
import { formatDateTime, h, notice, replaceChildren } from '../dom.js';
import { capitalize, formatAmounts, formatMoney, formatNumber, formatPercent, plural } from '../format.js';
import * as session from '../session.js';
import { barChart } from '../ui/chart.js';
import { icon } from '../ui/icons.js';
import { taskItem } from '../ui/tasks.js';
import { HOUSE_CURRENCY } from './contact-work.js';
import { taskGroup } from './tasks.js';

/** A card with a heading, a link to more, and a body filled by `load(body)`. */
function block(id, title, more, load, wide) {
  const body = h('div', { class: 'block-body' }, h('p', { class: 'muted', role: 'status', text: 'Loading…' }));
  const card = h('section', { class: `card dashboard-block${wide ? ' wide' : ''}`, id, 'aria-labelledby': `${id}-title` },
    h('div', { class: 'section-head' }, h('h2', { id: `${id}-title`, text: title }),
      more ? h('a', { href: more.href, text: more.label }) : null),
    body);
  Promise.resolve().then(() => load(body)).catch((error) => {
    replaceChildren(body, notice(error.isForbidden ? 'info' : 'error', error.isForbidden
      ? 'You may not see these figures.' : `Could not load: ${error.message}`));
  });
  return card;
}

/** The pipeline table: one row per stage with count, total and weighted total. */
export function pipelineTable(pipeline, caption) {
  const currency = pipeline.currency;
  const totals = (pipeline.by_currency || []);
  const sum = (key) => (currency
    ? formatMoney(pipeline.stages.reduce((total, stage) => total + (stage[key] || 0), 0), currency)
    : totals.map((row) => formatMoney(row[key], row.currency)).join(' + ') || formatMoney(0, HOUSE_CURRENCY));
  return h('table', { class: 'data-table numbers pipeline-table' },
    h('caption', { class: 'visually-hidden', text: caption }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: 'Stage' }), h('th', { scope: 'col', class: 'number', text: 'Count' }),
      h('th', { scope: 'col', class: 'number', text: 'Total' }), h('th', { scope: 'col', class: 'number', text: 'Weighted' }))),
    h('tbody', {}, pipeline.stages.map((stage) => h('tr', { dataset: { stage: stage.stage } },
      h('th', { scope: 'row', dataset: { label: 'Stage' } }, h('span', { class: `stage-badge stage-${stage.stage}`, text: capitalize(stage.stage) })),
      h('td', { class: 'number stage-count', dataset: { label: 'Count' }, text: formatNumber(stage.count) }),
      h('td', { class: 'number stage-total', dataset: { label: 'Total' }, text: formatAmounts(stage, 'amount_cents', currency) }),
      h('td', { class: 'number stage-weighted', dataset: { label: 'Weighted' }, text: formatAmounts(stage, 'weighted_amount_cents', currency) })))),
    h('tfoot', {}, h('tr', { dataset: { stage: 'all' } },
      h('th', { scope: 'row', text: 'All stages' }),
      h('td', { class: 'number', dataset: { label: 'Count' }, text: formatNumber(pipeline.stages.reduce((n, s) => n + s.count, 0)) }),
      h('td', { class: 'number', dataset: { label: 'Total' }, text: sum('amount_cents') }),
      h('td', { class: 'number', dataset: { label: 'Weighted' }, text: sum('weighted_amount_cents') }))));
}

async function loadPipeline(body) {
  const pipeline = await api.get('pipeline');
  replaceChildren(body, h('div', { class: 'table-wrap' }, pipelineTable(pipeline, 'Pipeline totals per stage')),
    pipeline.currency === null && (pipeline.by_currency || []).length > 1
      ? h('p', { class: 'muted small', text: 'Several currencies: amounts are shown per currency, never added up.' }) : null);
}

async function loadTiers(body) {
  const tiers = await api.get('analytics/tiers');
  const rows = tiers.tiers || [];
  replaceChildren(body, barChart({
    title: 'Customers per tier',
    description: `Members of each value tier (by ${tiers.metric === 'ltv_cents' ? 'historical' : 'predicted'} lifetime value) and their share of revenue, ${formatNumber(tiers.customers)} customers in all.`,
    labelHeading: 'Tier',
    valueHeading: 'Members',
    width: 480, labelWidth: 80, valueWidth: 220,
    bars: rows.map((tier) => ({
      label: capitalize(tier.name), value: tier.members, valueLabel: `${formatNumber(tier.members)} member${tier.members === 1 ? '' : 's'}`,
      note: `${formatPercent(tier.revenue_share)} of revenue`, className: `tier-${tier.name}`,
    })),
    emptyText: 'No customers yet: tiers appear with the first purchases.',
  }));
}

async function loadSummary(body) {
  const summary = await api.get('analytics/summary');
  const period = summary.this_period || {};
  const last = summary.last_period || {};
  const kpi = (label, value, note, name) => h('div', { class: 'kpi', dataset: { kpi: name } },
    h('dt', { text: label }), h('dd', {}, value, note ? h('span', { class: 'kpi-note', text: note }) : null));
  replaceChildren(body, h('dl', { class: 'kpis' },
    kpi('Revenue this month', formatMoney(period.revenue_cents, HOUSE_CURRENCY), `last month ${formatMoney(last.revenue_cents, HOUSE_CURRENCY)}`, 'revenue'),
    kpi('Orders this month', formatNumber(period.orders), `last month ${formatNumber(last.orders)}`, 'orders'),
    kpi('New customers', formatNumber(period.new_customers), `last month ${formatNumber(last.new_customers)}`, 'new_customers'),
    kpi('Customers', formatNumber(summary.customers), `of ${formatNumber(summary.contacts)} contacts`, 'customers'),
    kpi('Predicted LTV', formatMoney(summary.predicted_ltv_cents, HOUSE_CURRENCY, { compact: true }), 'all customers, next year', 'predicted_ltv'),
    kpi('High churn risk', formatNumber(summary.churn_risk ? summary.churn_risk.high : 0), 'customers', 'churn_high')));
}

const DASHBOARD_TASKS = 20; // tasks listed on the dashboard; the tasks page has them all

/**
 * The caller's open tasks due in the next 7 days (and overdue), then a line with how many
 * more are open: due later or without a due date, linking to the tasks page.
 */
async function loadTasks(body) {
  const page = await api.get('tasks', { query: { assignee_id: 'me', done: 'false', sort: 'due_at', limit: 500 } });
  const now = new Date();
  const tasks = page.data || [];
  const soon = tasks.filter((task) => ['overdue', 'today', 'week'].includes(taskGroup(task, now)));
  const later = tasks.filter((task) => taskGroup(task, now) === 'later').length;
  const undated = tasks.filter((task) => taskGroup(task, now) === 'undated').length;
  const more = page.next_cursor ? '+' : '';
  const rest = [later ? `${later}${more} due later` : null, undated ? plural(undated, 'without a due date', 'without a due date') : null]
    .filter(Boolean);
  const message = h('div');
  const shown = soon.slice(0, DASHBOARD_TASKS);
  replaceChildren(body, message,
    shown.length ? h('ul', { class: 'task-list' }, shown.map((task) => taskItem(task, {
      onMessage: (node) => replaceChildren(message, node || ''),
    }))) : h('p', { class: 'muted', text: 'Nothing due in the next 7 days.' }),
    soon.length > shown.length ? h('p', { class: 'muted small', text: `${soon.length - shown.length} more due this week.` }) : null,
    rest.length ? h('p', { class: 'tasks-later' }, `Also open: ${rest.join(', ')}. `, h('a', { href: '#/tasks', text: 'See all my tasks' })) : null);
}

async function loadInteractions(body) {
  const page = await api.get('interactions', { query: { sort: '-occurred_at', limit: 8 } });
  const rows = page.data || [];
  if (rows.length === 0) {
    replaceChildren(body, h('p', { class: 'muted', text: 'No interactions logged yet.' }));
    return;
  }
  replaceChildren(body, h('ul', { class: 'interaction-list' }, rows.map((interaction) => h('li', { dataset: { id: interaction.id } },
    h('span', { class: 'timeline-icon' }, icon(interaction.kind)),
    h('div', { class: 'timeline-body' },
      h('p', { class: 'timeline-head' },
        h('span', { class: 'timeline-type', text: [capitalize(interaction.kind), interaction.direction].filter(Boolean).join(' · ') }), ' ',
        h('time', { datetime: interaction.occurred_at, text: formatDateTime(interaction.occurred_at) })),
      h('p', { class: 'timeline-title', text: interaction.subject || '(no subject)' }),
      h('p', { class: 'muted small' }, 'With ', contactLink(interaction.contact_id),
        interaction.user_id ? [' · by ', asyncName(userName, interaction.user_id, `#${interaction.user_id}`)] : null))))));
}

export function dashboardPage() {
  const me = session.user();
  return h('section', { class: 'dashboard' },
    h('h1', { tabindex: '-1', text: 'Dashboard' }),
    h('p', { class: 'lead', text: `Welcome, ${me ? me.name || me.email : ''}.` }),
    block('dashboard-summary', 'This month', { href: '#/analytics', label: 'Analytics' }, loadSummary, true),
    h('div', { class: 'dashboard-grid' },
      block('dashboard-pipeline', 'Pipeline', { href: '#/pipeline', label: 'Open the board' }, loadPipeline),
      block('dashboard-tiers', 'Tiers', { href: '#/analytics', label: 'Tier details' }, loadTiers),
      block('dashboard-tasks', 'My tasks due', { href: '#/tasks', label: 'All my tasks' }, loadTasks),
      block('dashboard-interactions', 'Recent interactions', { href: '#/contacts', label: 'Contacts' }, loadInteractions)));
}
