// rule-builder.js - builds a dynamic segment's rule (API.md section 5, segment_rule.h)
// from groups and conditions. A group matches all, any or none of its items; an item is a
// condition (field, operator, value) or a nested group (one level below the top group).
// The rule is rebuilt on every change and handed to onChange(rule, complete); a server
// 422 whose field names a node ("rule.all[1].value") is shown next to that condition.
//
// ruleBuilder({rule, onChange(rule, complete)}) -> {element, rule(), complete(),
//   showErrors(apiError) -> whether any error was placed, clearErrors()}

import { api } from '../api.js';
import { companyOptions, directory } from '../directory.js';
import { h, replaceChildren, uid } from '../dom.js';
import { enumValues } from '../meta.js';
import { readableMessage } from './wording.js';

/** The fields a rule may test: the contact's own and the computed ones. */
export const RULE_FIELDS = [
  { name: 'first_name', label: 'First name', type: 'text', group: 'Contact' },
  { name: 'last_name', label: 'Last name', type: 'text', group: 'Contact' },
  { name: 'email', label: 'Email', type: 'text', group: 'Contact' },
  { name: 'phone', label: 'Phone', type: 'text', group: 'Contact' },
  { name: 'title', label: 'Job title', type: 'text', group: 'Contact' },
  { name: 'lifecycle', label: 'Lifecycle', type: 'choice', group: 'Contact', choices: enumValues('contacts', 'lifecycle') },
  { name: 'relationship_level', label: 'Relationship level', type: 'integer', group: 'Contact', hint: '1 (utility) to 6 (co-creation)' },
  { name: 'tags', label: 'Tags', type: 'tags', group: 'Contact' },
  { name: 'source', label: 'Source', type: 'text', group: 'Contact' },
  { name: 'company_id', label: 'Company', type: 'company', group: 'Contact' },
  { name: 'owner_id', label: 'Owner', type: 'user', group: 'Contact' },
  { name: 'consent.email', label: 'Consents to email', type: 'boolean', group: 'Contact' },
  { name: 'created_at', label: 'Created', type: 'timestamp', group: 'Contact' },
  { name: 'updated_at', label: 'Updated', type: 'timestamp', group: 'Contact' },
  { name: 'ltv_cents', label: 'Historical LTV', type: 'money', group: 'Computed' },
  { name: 'predicted_ltv_cents', label: 'Predicted LTV', type: 'money', group: 'Computed' },
  { name: 'tier', label: 'Tier', type: 'tier', group: 'Computed' },
  { name: 'rfm', label: 'RFM score', type: 'text', group: 'Computed', hint: 'e.g. 555' },
  { name: 'churn_risk', label: 'Churn risk', type: 'number', group: 'Computed', hint: '0 (none) to 1 (certain)' },
  { name: 'purchases_count', label: 'Purchases', type: 'integer', group: 'Computed' },
  { name: 'last_purchase_at', label: 'Last purchase', type: 'timestamp', group: 'Computed' },
  { name: 'last_interaction_at', label: 'Last interaction', type: 'timestamp', group: 'Computed' },
];
const FIELDS = new Map(RULE_FIELDS.map((field) => [field.name, field]));

export const OPERATORS = {
  eq: 'is', ne: 'is not', lt: 'is less than', lte: 'is at most', gt: 'is more than', gte: 'is at least',
  in: 'is one of', contains: 'contains', exists: 'is set', before: 'is before', after: 'is after',
};
const OPS_BY_TYPE = {
  text: ['eq', 'ne', 'contains', 'in', 'exists', 'lt', 'lte', 'gt', 'gte'],
  choice: ['eq', 'ne', 'in', 'exists'],
  tier: ['eq', 'ne', 'in', 'exists'],
  integer: ['eq', 'ne', 'gte', 'gt', 'lte', 'lt', 'in', 'exists'],
  number: ['gte', 'gt', 'lte', 'lt', 'eq', 'ne', 'exists'],
  money: ['gte', 'gt', 'lte', 'lt', 'eq', 'ne', 'exists'],
  timestamp: ['after', 'before', 'gte', 'lte', 'eq', 'ne', 'exists'],
  boolean: ['eq', 'ne', 'exists'],
  tags: ['contains', 'in', 'exists'],
  user: ['eq', 'ne', 'in', 'exists'],
  company: ['eq', 'ne', 'in', 'exists'],
};
const TIMESTAMP_HINT = 'A date (2026-01-31), or relative: -90d, -6m, -1y';
const MAX_DEPTH = 2; // the top group and one level of nested groups

let tierNamesPromise = null;
/** The configured tier names (analytics/tiers), with the defaults if unreadable. */
function tierNames() {
  if (!tierNamesPromise) {
    tierNamesPromise = api.get('analytics/tiers')
      .then((answer) => (answer.tiers || []).map((tier) => tier.name))
      .catch(() => ['platinum', 'gold', 'silver', 'bronze']);
  }
  return tierNamesPromise;
}

/* ------------------------------------------------------------------ the model */

const newCondition = (field = 'lifecycle') => ({ type: 'condition', field, op: OPS_BY_TYPE[FIELDS.get(field).type][0], value: '' });
const newGroup = (mode = 'all', items = [newCondition()]) => ({ type: 'group', mode, items });

function splitList(text) {
  return String(text).split(',').map((part) => part.trim()).filter((part) => part !== '');
}

/** A typed single value from the text of an input, or undefined when it is not one. */
function typedValue(field, text) {
  const value = String(text).trim();
  if (value === '') return undefined;
  switch (field.type) {
  case 'integer': case 'user': case 'company':
    return /^-?\d+$/.test(value) ? Number(value) : value; // the server names a bad one
  case 'number':
    return Number.isFinite(Number(value.replace(',', '.'))) ? Number(value.replace(',', '.')) : value;
  case 'money': {
    const number = Number(value.replace(',', '.'));
    return Number.isFinite(number) ? Math.round(number * 100) : value;
  }
  case 'boolean':
    return value === 'true';
  default:
    return value;
  }
}

/** The rule JSON of a condition, or null when it is incomplete. */
function conditionJson(node) {
  const field = FIELDS.get(node.field);
  if (node.op === 'exists') return { field: node.field, op: 'exists', value: node.value !== 'false' };
  if (node.op === 'in') {
    const values = splitList(node.value).map((part) => typedValue(field, part));
    return values.length ? { field: node.field, op: 'in', value: values } : null;
  }
  const value = typedValue(field, node.value);
  return value === undefined ? null : { field: node.field, op: node.op, value };
}

/**
 * The rule of a group (the path of each condition into `paths`, for errors), or null when
 * something is incomplete.
 */
function groupJson(group, path, paths) {
  const key = group.mode === 'any' || group.mode === 'none' ? 'any' : 'all';
  const base = group.mode === 'none' ? `${path}.not.${key}` : `${path}.${key}`;
  const items = [];
  let complete = group.items.length > 0;
  group.items.forEach((item, index) => {
    const itemPath = `${base}[${index}]`;
    paths.push({ path: itemPath, node: item });
    const json = item.type === 'group' ? groupJson(item, itemPath, paths) : conditionJson(item);
    if (json === null) complete = false;
    items.push(json);
  });
  if (!complete) return null;
  const inner = { [key]: items };
  return group.mode === 'none' ? { not: inner } : inner;
}

/** A condition's input text for a rule value. */
function valueText(field, value) {
  if (Array.isArray(value)) return value.map((part) => valueText(field, part)).join(', ');
  if (field && field.type === 'money' && typeof value === 'number') return String(value / 100);
  return value === null || value === undefined ? '' : String(value);
}

/** The model of a stored rule, or null when the builder cannot show it. */
export function parseRule(rule, depth = 1) {
  if (!rule || typeof rule !== 'object' || Array.isArray(rule)) return null;
  const items = (list) => {
    if (!Array.isArray(list)) return null;
    const parsed = list.map((item) => (item && item.field !== undefined ? parseCondition(item) : (depth < MAX_DEPTH ? parseRule(item, depth + 1) : null)));
    return parsed.includes(null) ? null : parsed;
  };
  if (Array.isArray(rule.all)) { const list = items(rule.all); return list && newGroup('all', list); }
  if (Array.isArray(rule.any)) { const list = items(rule.any); return list && newGroup('any', list); }
  if (rule.not) {
    if (Array.isArray(rule.not.any)) { const list = items(rule.not.any); return list && newGroup('none', list); }
    if (rule.not.field !== undefined) { const list = items([rule.not]); return list && newGroup('none', list); }
    return null;
  }
  if (rule.field !== undefined && depth === 1) { const condition = parseCondition(rule); return condition && newGroup('all', [condition]); }
  return null;
}

function parseCondition(leaf) {
  const field = FIELDS.get(leaf.field);
  if (!field || !OPS_BY_TYPE[field.type].includes(leaf.op)) return null;
  return { type: 'condition', field: leaf.field, op: leaf.op, value: leaf.op === 'exists' ? String(leaf.value !== false) : valueText(field, leaf.value) };
}

/* ------------------------------------------------------------------ the view */

export function ruleBuilder(config) {
  const initial = config.rule ? parseRule(config.rule) : newGroup();
  const state = { root: initial || newGroup(), paths: [], views: new Map() };
  const element = h('div', { class: 'rule-builder' });
  if (config.rule && !initial) {
    element.append(h('p', { class: 'notice notice-warning', text: 'The stored rule uses a form this builder cannot show; saving replaces it with the rule below.' }));
  }
  const rootHolder = h('div');
  element.append(rootHolder);

  function changed() {
    const paths = [];
    const rule = groupJson(state.root, 'rule', paths);
    state.paths = paths;
    if (config.onChange) config.onChange(rule, rule !== null);
  }
  function redraw(focusTarget) {
    state.views = new Map();
    replaceChildren(rootHolder, groupView(state.root, null, 1));
    changed();
    if (focusTarget && state.views.get(focusTarget)) state.views.get(focusTarget).focus();
  }

  function groupView(group, parent, depth) {
    const modeId = uid('group-mode');
    const mode = h('select', { id: modeId, class: 'group-mode' },
      h('option', { value: 'all', text: 'all' }), h('option', { value: 'any', text: 'any' }), h('option', { value: 'none', text: 'none' }));
    mode.value = group.mode;
    mode.addEventListener('change', () => { group.mode = mode.value; changed(); });
    const list = h('ul', { class: 'rule-items' });
    for (const item of group.items) {
      list.append(h('li', {}, item.type === 'group' ? groupView(item, group, depth + 1) : conditionView(item, group)));
    }
    const addCondition = h('button', { type: 'button', class: 'button secondary small', text: 'Add condition' });
    addCondition.addEventListener('click', () => {
      const condition = newCondition();
      group.items.push(condition);
      redraw(condition);
    });
    const actions = h('div', { class: 'rule-actions' }, addCondition);
    if (depth < MAX_DEPTH) {
      const addGroup = h('button', { type: 'button', class: 'button secondary small', text: 'Add group' });
      addGroup.addEventListener('click', () => {
        const nested = newGroup('any');
        group.items.push(nested);
        redraw(nested.items[0]);
      });
      actions.append(addGroup);
    }
    if (parent) {
      const remove = h('button', { type: 'button', class: 'button secondary small', text: 'Remove group' });
      remove.addEventListener('click', () => {
        parent.items.splice(parent.items.indexOf(group), 1);
        redraw();
      });
      actions.append(remove);
    }
    const view = h('div', { class: 'rule-group', role: 'group', 'aria-label': parent ? 'Nested group' : 'Rule' },
      h('div', { class: 'rule-group-head' },
        h('div', { class: 'field' }, h('label', { for: modeId, text: parent ? 'Contacts matching' : 'Contacts matching' }), mode,
          h('span', { text: 'of these conditions' }))),
      list, group.items.length === 0 ? h('p', { class: 'muted small', text: 'Add a condition.' }) : null, actions);
    view.focus = () => mode.focus();
    state.views.set(group, view);
    return view;
  }

  function fieldSelect(node) {
    const select = h('select', { class: 'rule-field' });
    for (const groupName of ['Contact', 'Computed']) {
      const optgroup = h('optgroup', { label: groupName === 'Contact' ? 'The contact’s fields' : 'Computed figures' });
      for (const field of RULE_FIELDS.filter((f) => f.group === groupName)) {
        optgroup.append(h('option', { value: field.name, text: field.label }));
      }
      select.append(optgroup);
    }
    select.value = node.field;
    return select;
  }

  /** The value input for a condition; choices come from the directory, tiers, ... */
  function valueInput(node, field, id, hintId) {
    const common = { id, class: 'rule-value', 'aria-describedby': hintId };
    const listOp = node.op === 'in';
    if (node.op === 'exists') {
      const select = h('select', common, h('option', { value: 'true', text: 'yes' }), h('option', { value: 'false', text: 'no' }));
      select.value = node.value === 'false' ? 'false' : 'true';
      if (node.value !== select.value) node.value = select.value;
      return select;
    }
    if (field.type === 'boolean') {
      const select = h('select', common, h('option', { value: 'true', text: 'yes' }), h('option', { value: 'false', text: 'no' }));
      select.value = node.value === 'false' ? 'false' : 'true';
      if (node.value !== select.value) node.value = select.value;
      return select;
    }
    const choices = (field.type === 'choice' && Promise.resolve(field.choices.map((c) => ({ value: c, label: c }))))
      || (field.type === 'tier' && tierNames().then((names) => names.map((name) => ({ value: name, label: name }))))
      || (field.type === 'user' && directory().then((users) => users.map((u) => ({ value: String(u.id), label: u.name }))))
      || (field.type === 'company' && companyOptions());
    if (choices && !listOp) {
      const select = h('select', common, h('option', { value: '', text: 'Choose…' }));
      const keep = node.value;
      choices.then((options) => {
        for (const option of options) select.append(h('option', { value: option.value, text: option.label }));
        if (keep && ![...select.options].some((o) => o.value === keep)) select.append(h('option', { value: keep, text: keep }));
        select.value = keep;
      }).catch(() => {});
      return select;
    }
    const input = h('input', {
      ...common, type: field.type === 'integer' && !listOp ? 'number' : 'text', autocomplete: 'off',
      inputmode: ['money', 'number'].includes(field.type) ? 'decimal' : undefined,
      placeholder: listOp ? 'a, b, c' : field.type === 'timestamp' ? '-90d' : field.type === 'money' ? '0.00' : '',
    });
    input.value = node.value;
    return input;
  }

  function hintFor(node, field) {
    if (node.op === 'exists') return 'Whether the field has a value';
    if (node.op === 'in') {
      if (field.type === 'choice') return `Separated by commas: ${field.choices.join(', ')}`;
      if (field.type === 'user' || field.type === 'company') return 'Ids separated by commas';
      return 'Separated by commas';
    }
    if (field.type === 'timestamp') return TIMESTAMP_HINT;
    if (field.type === 'money') return 'In the house currency, e.g. 1000.00';
    return field.hint || '';
  }

  function conditionView(node, group) {
    const field = FIELDS.get(node.field);
    const fieldId = uid('rule-field');
    const opId = uid('rule-op');
    const valueId = uid('rule-value');
    const hintId = `${valueId}-hint`;
    const fieldInput = fieldSelect(node);
    fieldInput.id = fieldId;
    const op = h('select', { id: opId, class: 'rule-op' }, OPS_BY_TYPE[field.type].map((name) => h('option', { value: name, text: OPERATORS[name] })));
    op.value = node.op;
    const value = valueInput(node, field, valueId, hintId);
    const error = h('p', { class: 'rule-error', role: 'alert', hidden: true });
    const remove = h('button', { type: 'button', class: 'button secondary small', text: 'Remove', 'aria-label': `Remove the condition on ${field.label}` });
    const view = h('div', { class: 'rule-condition', dataset: { field: node.field } },
      h('div', { class: 'field' }, h('label', { for: fieldId, text: 'Field' }), fieldInput),
      h('div', { class: 'field' }, h('label', { for: opId, text: 'Operator' }), op),
      h('div', { class: 'field' }, h('label', { for: valueId, text: 'Value' }), value,
        h('p', { class: 'field-hint', id: hintId, text: hintFor(node, field) })),
      remove, error);
    fieldInput.addEventListener('change', () => {
      const next = FIELDS.get(fieldInput.value);
      node.field = next.name;
      if (!OPS_BY_TYPE[next.type].includes(node.op)) node.op = OPS_BY_TYPE[next.type][0];
      node.value = '';
      redraw(node);
    });
    op.addEventListener('change', () => {
      const before = node.op;
      node.op = op.value;
      if (before === 'exists' || node.op === 'exists' || before === 'in' || node.op === 'in') {
        if (before === 'exists' || node.op === 'exists') node.value = '';
        redraw(node);
      } else {
        changed();
      }
    });
    const onValue = () => { node.value = value.value; view.classList.remove('invalid'); error.hidden = true; changed(); };
    value.addEventListener('input', onValue);
    value.addEventListener('change', onValue);
    remove.addEventListener('click', () => {
      group.items.splice(group.items.indexOf(node), 1);
      redraw();
    });
    view.focus = () => fieldInput.focus();
    view.showError = (text) => {
      error.textContent = text;
      error.hidden = false;
      view.classList.add('invalid');
    };
    view.clearError = () => { error.hidden = true; view.classList.remove('invalid'); };
    state.views.set(node, view);
    return view;
  }

  redraw();
  return {
    element,
    rule() { return groupJson(state.root, 'rule', []); },
    clearErrors() { for (const view of state.views.values()) if (view.clearError) view.clearError(); },
    /** Puts each "rule..." error next to its condition (or group); returns true if any was. */
    showErrors(error) {
      this.clearErrors();
      let placed = false;
      for (const item of error.errors || []) {
        const name = String(item && item.field ? item.field : '');
        if (!name.startsWith('rule')) continue;
        const match = state.paths.filter(({ path }) => name === path || name.startsWith(`${path}.`) || name.startsWith(`${path}[`))
          .sort((a, b) => b.path.length - a.path.length)[0];
        const view = match && state.views.get(match.node);
        if (view && view.showError) {
          view.showError(readableMessage(item.message));
          placed = true;
        }
      }
      return placed;
    },
  };
}
