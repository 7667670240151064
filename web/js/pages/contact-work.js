// contact-work.js - the working sections of the contact page: the timeline (paged, newest
// first) with the "log a call / email / meeting / note" form, the contact's tasks,
// opportunities and purchases (each with an add form) and the contact's analytics.
// Sections that change the contact's history tell the others through a small event bus,
// so the timeline and the analytics follow without a page reload.

import { api } from '../api.js';
import { asyncName, userName, userOptions } from '../directory.js';
import { formatDateTime, h, notice, replaceChildren } from '../dom.js';
import { enumValues } from '../meta.js';
import {
  capitalize, formatDate, formatMoney, formatNumber, formatPercent, fromLocalInput, humanize, localDay, toLocalInput,
} from '../format.js';
import * as session from '../session.js';
import { disclosure, inlineForm } from '../ui/forms.js';
import { icon } from '../ui/icons.js';
import { taskItem } from '../ui/tasks.js';

export const HOUSE_CURRENCY = 'EUR';
export const STAGES = enumValues('opportunities', 'stage');
export const INTERACTION_KINDS = enumValues('interactions', 'kind');
const LOGGABLE_KINDS = enumValues('interactions', 'kind', { except: ['ticket'] });
const DIRECTIONS = enumValues('interactions', 'direction');

/**
 * Whether the caller may create or change any `resource` records (viewers may not): the
 * forms that add them are hidden otherwise.
 */
export function canWrite(resource) {
  return session.scope(resource, 'write') !== 'none';
}

/** "12.50" or "12,50" -> 1250 minor units; '' -> null; not a number: the text (a 422 says so). */
export function parseMoney(text) {
  const value = String(text ?? '').trim().replace(/\s/g, '').replace(',', '.');
  if (value === '') return null;
  if (!/^-?\d+(\.\d{1,2})?$/.test(value)) return String(text);
  return Math.round(Number(value) * 100);
}

/** The field spec of an amount typed in major units and sent as amount_cents. */
export function amountField(label = 'Amount', required = false) {
  return {
    name: 'amount_cents', label, required, placeholder: '0.00', hint: 'In the currency below',
    get: (record) => (record.amount_cents === undefined || record.amount_cents === null ? '' : (record.amount_cents / 100).toFixed(2)),
    set: parseMoney,
  };
}

export const currencyField = () => ({
  name: 'currency', label: 'Currency', placeholder: HOUSE_CURRENCY,
  set: (value) => (String(value).trim() === '' ? null : String(value).trim().toUpperCase()),
});

const stageOptions = () => STAGES.map((value) => ({ value, label: capitalize(value) }));

/**
 * Calls `handler(event)` on the bus's "changed" events while `container` is in the page
 * (a section drawn again after a reload leaves its old listener behind otherwise).
 */
function onChanged(bus, container, handler) {
  const listener = (event) => {
    if (!container.isConnected) { bus.removeEventListener('changed', listener); return; }
    handler(event);
  };
  bus.addEventListener('changed', listener);
}

/** A "Load more" button for keyset paging. */
function moreButton(label, onClick) {
  const button = h('button', { type: 'button', class: 'button secondary small load-more', hidden: true, text: label });
  button.addEventListener('click', onClick);
  return button;
}

/* ------------------------------------------------------------------ the timeline */

const TYPE_LABELS = {
  interaction: 'Interaction', opportunity: 'Opportunity', stage_change: 'Stage change', purchase: 'Purchase', task: 'Task',
};

/** What one timeline entry says: {iconName, label, title, details[]}. */
function describeItem(item) {
  const record = item.record || {};
  switch (item.type) {
  case 'interaction':
    return {
      iconName: record.kind,
      label: [capitalize(record.kind), record.direction, record.status].filter(Boolean).join(' · '),
      title: record.subject || `(no subject)`,
      details: [
        record.body ? h('p', { class: 'timeline-text', text: record.body }) : null,
        record.outcome ? h('p', { class: 'muted' }, 'Outcome: ', record.outcome) : null,
        record.user_id ? h('p', { class: 'muted' }, 'Logged by ', asyncName(userName, record.user_id, `#${record.user_id}`)) : null,
      ],
    };
  case 'opportunity':
    return {
      iconName: 'opportunity',
      label: 'Opportunity opened',
      title: record.name,
      details: [h('p', { class: 'muted' }, `${capitalize(record.stage)} · ${formatMoney(record.amount_cents, record.currency)}`,
        record.expected_close ? ` · expected ${formatDate(record.expected_close)}` : '')],
    };
  case 'stage_change':
    return {
      iconName: 'stage_change',
      label: 'Stage change',
      title: `Opportunity #${record.opportunity_id}: ${capitalize(record.from_stage) || '—'} → ${capitalize(record.to_stage)}`,
      details: record.user_id ? [h('p', { class: 'muted' }, 'By ', asyncName(userName, record.user_id, `#${record.user_id}`))] : [],
    };
  case 'purchase':
    return {
      iconName: 'purchase',
      label: 'Purchase',
      title: formatMoney(record.amount_cents, record.currency),
      details: record.reference ? [h('p', { class: 'muted' }, 'Reference ', record.reference)] : [],
    };
  case 'task':
    return {
      iconName: 'task',
      label: record.done ? 'Task · done' : 'Task',
      title: record.title,
      details: record.due_at ? [h('p', { class: 'muted' }, `Due ${formatDateTime(record.due_at)}`)] : [],
    };
  default:
    return { iconName: 'other', label: TYPE_LABELS[item.type] || item.type, title: `#${item.id}`, details: [] };
  }
}

function timelineItem(item) {
  const described = describeItem(item);
  const kind = item.type === 'interaction' ? item.record.kind : item.type;
  return h('li', { class: `timeline-item type-${item.type} kind-${kind}`, dataset: { type: item.type, id: item.id } },
    h('span', { class: 'timeline-icon' }, icon(described.iconName)),
    h('div', { class: 'timeline-body' },
      h('p', { class: 'timeline-head' },
        h('span', { class: 'timeline-type', text: described.label }), ' ',
        h('time', { datetime: item.at, text: formatDateTime(item.at) })),
      h('p', { class: 'timeline-title', text: described.title }),
      described.details));
}

function interactionFields() {
  return [
    {
      name: 'kind', label: 'Kind', type: 'select', required: true,
      options: LOGGABLE_KINDS.map((value) => ({ value, label: capitalize(value) })),
    },
    {
      name: 'direction', label: 'Direction', type: 'select', emptyLabel: '—',
      options: DIRECTIONS.map((value) => ({ value, label: capitalize(value) })),
    },
    { name: 'occurred_at', label: 'When', type: 'datetime-local', required: true, get: (r) => toLocalInput(r.occurred_at), set: fromLocalInput },
    { name: 'subject', label: 'Subject' },
    { name: 'body', label: 'Notes', type: 'textarea' },
  ];
}

function timelineSection(container, contact, bus) {
  const state = { next: null, seq: 0 };
  const list = h('ol', { class: 'timeline', 'aria-label': 'Timeline entries' });
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const errorBox = h('div');
  const more = moreButton('Load older', () => load(true));

  async function load(append) {
    const seq = ++state.seq;
    status.textContent = 'Loading…';
    more.disabled = true;
    try {
      const page = await api.get(`contacts/${contact.id}/timeline`, { query: { limit: 20, cursor: append ? state.next : undefined } });
      if (seq !== state.seq) return;
      if (!append) replaceChildren(list);
      for (const item of page.data || []) list.append(timelineItem(item));
      state.next = page.next_cursor || null;
      more.hidden = !state.next;
      replaceChildren(errorBox);
      const count = list.children.length;
      status.textContent = count === 0 ? 'Nothing happened with this contact yet.' : `${count}${state.next ? '+' : ''} entries, newest first`;
    } catch (error) {
      if (seq !== state.seq) return;
      status.textContent = '';
      replaceChildren(errorBox, notice('error', `Could not load the timeline: ${error.message}`));
    } finally {
      if (seq === state.seq) more.disabled = false;
    }
  }
  onChanged(bus, container, () => load(false));

  let logForm = null;
  if (canWrite('interactions')) {
    logForm = disclosure('Log a call, email, meeting or note', (close) => inlineForm({
      label: 'Log an interaction',
      fields: interactionFields(),
      defaults: { kind: 'call', direction: 'outbound', occurred_at: null },
      submitLabel: 'Log it',
      prepare: (body) => ({ ...body, contact_id: contact.id }),
      submit: (body) => api.post('interactions', body),
      forbiddenText: 'You may not log interactions for this contact.',
      onDone: (record) => {
        close();
        logForm.button.focus();
        bus.dispatchEvent(new CustomEvent('changed', { detail: { type: 'interaction', record } }));
      },
      cancel: () => { close(); logForm.button.focus(); },
    }));
  }
  container.append(logForm ? logForm.element : null, errorBox, status, list, more);
  load(false);
}

/* ------------------------------------------------------------------ tasks */

function tasksSection(container, contact, bus) {
  const list = h('ul', { class: 'task-list' });
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const message = h('div');
  function updateStatus() {
    const total = list.children.length;
    const open = [...list.children].filter((item) => !item.classList.contains('done')).length;
    status.textContent = total === 0 ? 'No tasks for this contact.' : `${open} open, ${total - open} done`;
  }
  async function load() {
    try {
      const page = await api.get('tasks', { query: { contact_id: contact.id, sort: 'due_at', limit: 100 } });
      const tasks = page.data || [];
      // Open tasks first (by due time), then the done ones.
      tasks.sort((a, b) => Number(a.done) - Number(b.done));
      replaceChildren(list, ...tasks.map((task) => taskItem(task, {
        showContact: false,
        showAssignee: true,
        onMessage: (node) => replaceChildren(message, node || ''),
        onChange: () => {
          updateStatus();
          bus.dispatchEvent(new CustomEvent('changed', { detail: { type: 'task' } }));
        },
      })));
      updateStatus();
    } catch (error) {
      status.textContent = '';
      replaceChildren(message, notice('error', `Could not load the tasks: ${error.message}`));
    }
  }
  let add = null;
  if (canWrite('tasks')) {
    const me = session.user();
    add = disclosure('Add a task', (close) => inlineForm({
      label: 'New task',
      fields: [
        { name: 'title', label: 'Title', required: true },
        { name: 'due_at', label: 'Due', type: 'datetime-local', get: (r) => (r.due_at ? toLocalInput(r.due_at) : ''), set: fromLocalInput },
        {
          name: 'assignee_id', label: 'Assignee', type: 'select', numeric: true, options: userOptions,
          emptyLabel: 'Nobody', unknownLabel: (id) => `user #${id}`,
        },
      ],
      defaults: { assignee_id: me ? me.id : null },
      submitLabel: 'Add task',
      prepare: (body) => ({ ...body, contact_id: contact.id }),
      submit: (body) => api.post('tasks', body),
      forbiddenText: 'You may not create this task (a rep may only assign tasks to themselves).',
      onDone: () => { close(); load(); bus.dispatchEvent(new CustomEvent('changed', { detail: { type: 'task' } })); },
      cancel: close,
    }));
  }
  container.append(message, status, list, add ? add.element : null);
  load();
}

/* ------------------------------------------------------------------ opportunities */

function opportunitiesSection(container, contact, bus) {
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table compact', hidden: true },
    h('thead', {}, h('tr', {}, ['Name', 'Stage', 'Amount', 'Expected close', 'Owner'].map((text) => h('th', { scope: 'col', text })))),
    tbody);
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const message = h('div');
  async function load() {
    try {
      const page = await api.get('opportunities', { query: { contact_id: contact.id, limit: 100 } });
      const rows = page.data || [];
      replaceChildren(tbody, ...rows.map((o) => h('tr', { dataset: { id: o.id } },
        h('td', { dataset: { label: 'Name' } }, h('a', { href: `#/pipeline?focus=${o.id}`, text: o.name })),
        h('td', { dataset: { label: 'Stage' } }, h('span', { class: `stage-badge stage-${o.stage}`, text: capitalize(o.stage) })),
        h('td', { dataset: { label: 'Amount' }, text: formatMoney(o.amount_cents, o.currency) }),
        h('td', { dataset: { label: 'Expected close' }, text: formatDate(o.expected_close) }),
        h('td', { dataset: { label: 'Owner' } }, o.owner_id ? asyncName(userName, o.owner_id, `#${o.owner_id}`) : ''))));
      table.hidden = rows.length === 0;
      status.textContent = rows.length === 0 ? 'No opportunities with this contact.' : '';
    } catch (error) {
      replaceChildren(message, notice('error', `Could not load the opportunities: ${error.message}`));
    }
  }
  let add = null;
  if (canWrite('opportunities')) {
    add = disclosure('Add an opportunity', (close) => inlineForm({
      label: 'New opportunity',
      fields: [
        { name: 'name', label: 'Name', required: true },
        { name: 'stage', label: 'Stage', type: 'select', required: true, options: stageOptions() },
        amountField(),
        currencyField(),
        { name: 'expected_close', label: 'Expected close', type: 'date' },
      ],
      defaults: { stage: 'lead' },
      submitLabel: 'Add opportunity',
      prepare: (body) => ({ ...body, contact_id: contact.id, ...(contact.company_id ? { company_id: contact.company_id } : {}) }),
      submit: (body) => api.post('opportunities', body),
      forbiddenText: 'You may not create opportunities here.',
      onDone: () => { close(); load(); bus.dispatchEvent(new CustomEvent('changed', { detail: { type: 'opportunity' } })); },
      cancel: close,
    }));
  }
  container.append(message, status, h('div', { class: 'table-wrap' }, table), add ? add.element : null);
  load();
}

/* ------------------------------------------------------------------ purchases */

function purchasesSection(container, contact, bus) {
  const state = { next: null };
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table compact', hidden: true },
    h('thead', {}, h('tr', {}, ['When', 'Amount', 'Reference'].map((text) => h('th', { scope: 'col', text })))),
    tbody);
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const message = h('div');
  const more = moreButton('Load more', () => load(true));
  async function load(append) {
    try {
      const page = await api.get('purchases', {
        query: { contact_id: contact.id, sort: '-occurred_at', limit: 10, cursor: append ? state.next : undefined },
      });
      if (!append) replaceChildren(tbody);
      for (const p of page.data || []) {
        tbody.append(h('tr', { dataset: { id: p.id } },
          h('td', { dataset: { label: 'When' }, text: formatDate(p.occurred_at) }),
          h('td', { dataset: { label: 'Amount' }, class: p.amount_cents < 0 ? 'refund' : undefined, text: formatMoney(p.amount_cents, p.currency) }),
          h('td', { dataset: { label: 'Reference' }, text: p.reference || '' })));
      }
      state.next = page.next_cursor || null;
      more.hidden = !state.next;
      table.hidden = tbody.children.length === 0;
      status.textContent = tbody.children.length === 0 ? 'No purchases yet.' : '';
    } catch (error) {
      replaceChildren(message, notice('error', `Could not load the purchases: ${error.message}`));
    }
  }
  let add = null;
  if (canWrite('purchases')) {
    add = disclosure('Record a purchase', (close) => inlineForm({
      label: 'New purchase',
      fields: [
        amountField('Amount', true),
        currencyField(),
        { name: 'occurred_at', label: 'Date', type: 'date', get: (r) => r.occurred_at || '', set: fromLocalInput },
        { name: 'reference', label: 'Reference', placeholder: 'Order or invoice number' },
      ],
      defaults: { occurred_at: localDay(new Date()) },
      submitLabel: 'Record purchase',
      prepare: (body) => ({ ...body, contact_id: contact.id }),
      submit: (body) => api.post('purchases', body),
      forbiddenText: 'You may not record purchases of this contact (only of your own contacts).',
      onDone: () => { close(); load(false); bus.dispatchEvent(new CustomEvent('changed', { detail: { type: 'purchase' } })); },
      cancel: close,
    }));
  }
  container.append(message, status, h('div', { class: 'table-wrap' }, table), more, add ? add.element : null);
  load(false);
}

/* ------------------------------------------------------------------ analytics */

/** "low", "medium" or "high" for a churn risk (the summary's cut points 0.3 and 0.7). */
export function churnLevel(risk) {
  if (risk === null || risk === undefined) return '';
  if (risk >= 0.7) return 'high';
  if (risk >= 0.3) return 'medium';
  return 'low';
}

function figure(label, value, name) {
  const empty = value === '' || value === null || value === undefined;
  return h('div', { class: 'figure', dataset: { figure: name } },
    h('dt', { text: label }),
    h('dd', {}, empty ? h('span', { class: 'muted', text: '—' }) : value));
}

function analyticsSection(container, contact, bus) {
  const body = h('div', { class: 'analytics-body' }, h('p', { class: 'muted', text: 'Computing…' }));
  async function load() {
    try {
      const a = await api.get(`contacts/${contact.id}/analytics`);
      const risk = a.churn_risk;
      replaceChildren(body, h('dl', { class: 'figures' },
        figure('Historical LTV', formatMoney(a.historical_ltv_cents, HOUSE_CURRENCY), 'historical_ltv'),
        figure(`Predicted LTV (${a.horizon_days} days)`, formatMoney(a.predicted_ltv_cents, HOUSE_CURRENCY), 'predicted_ltv'),
        figure('Tier', a.tier ? h('span', { class: `tier-badge tier-${a.tier}`, text: capitalize(a.tier) }) : '', 'tier'),
        figure('Churn risk', risk === null || risk === undefined ? '' : h('span', { class: `risk risk-${churnLevel(risk)}` },
          `${formatPercent(risk)} · ${churnLevel(risk)}`), 'churn_risk'),
        figure('P(alive)', formatPercent(a.p_alive), 'p_alive'),
        figure('RFM', a.rfm ? `R${a.rfm.r} F${a.rfm.f} M${a.rfm.m} (${a.rfm.score})` : '', 'rfm'),
        figure('Relationship stage', capitalize(a.relationship_stage), 'stage'),
        figure('Loyalty', capitalize(a.loyalty), 'loyalty'),
        figure('Value class', capitalize(a.value_class), 'value_class'),
        figure('Purchases', formatNumber(a.purchases_count), 'purchases'),
        figure('Average order', a.purchases_count ? formatMoney(a.average_order_cents, HOUSE_CURRENCY) : '', 'average_order'),
        figure('Last purchase', a.last_purchase_at ? `${formatDate(a.last_purchase_at)} (${a.recency_days} days ago)` : '', 'last_purchase')),
      a.model ? h('p', { class: 'muted small' },
        `Model: ${humanize(a.model.method)}${a.model.converged ? '' : ' (the fit did not converge: fallback estimates)'}.`) : null);
    } catch (error) {
      replaceChildren(body, notice(error.isNotFound || error.isForbidden ? 'info' : 'error', error.isNotFound || error.isForbidden
        ? 'You may not see this contact’s analytics.' : `Could not compute the analytics: ${error.message}`));
    }
  }
  onChanged(bus, container, (event) => {
    if (['purchase', 'interaction'].includes(event.detail && event.detail.type)) load();
  });
  container.append(body);
  load();
}

/**
 * The sections of one contact page, in order, sharing one event bus (a new set per page).
 * Each is {id, title, render(container, contact)} for ui/detail.js.
 */
export function contactWorkSections() {
  const bus = new EventTarget();
  return [
    { id: 'analytics', title: 'Analytics', render: (container, contact) => analyticsSection(container, contact, bus) },
    { id: 'timeline', title: 'Timeline', render: (container, contact) => timelineSection(container, contact, bus) },
    { id: 'tasks', title: 'Tasks', render: (container, contact) => tasksSection(container, contact, bus) },
    { id: 'purchases', title: 'Purchases', render: (container, contact) => purchasesSection(container, contact, bus) },
    { id: 'opportunities', title: 'Opportunities', render: (container, contact) => opportunitiesSection(container, contact, bus) },
  ];
}
