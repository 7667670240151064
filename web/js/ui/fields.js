// fields.js - form fields described by plain objects, shared by every create form and
// inline editor. A field spec:
//   { name, label, type: text|email|tel|url|number|password|textarea|select|checkbox|tags|
//     lookup, options: [{value, label}] or async () => [...], numeric (select values are ids),
//     search(text), labelFor(value) (lookup: a type-ahead picker, ui/lookup.js),
//     required, hint, autocomplete, placeholder,
//     get(record) -> form value, set(formValue) -> API value, display(record) -> text|Node,
//     create: false (not in create forms), edit: false (not in the editor), view: false }
// Server errors ({field, message} from a 422) are shown next to the field they name, in
// words (ui/wording.js).

import { emailLink, h, phoneLink, uid } from '../dom.js';
import { lookupInput } from './lookup.js';
import { readableFieldError, readableMessage } from './wording.js';

/** The value a field shows for `record` in a form. */
function formValue(spec, record) {
  if (spec.get) return spec.get(record || {});
  const value = record ? record[spec.name] : undefined;
  if (spec.type === 'tags') return Array.isArray(value) ? value.join(', ') : '';
  if (spec.type === 'checkbox') return Boolean(value);
  return value === undefined || value === null ? '' : String(value);
}

/** The API value of a form value: '' becomes null, tags become an array, ids numbers. */
function apiValue(spec, value) {
  if (spec.set) return spec.set(value);
  if (spec.type === 'checkbox') return Boolean(value);
  if (spec.type === 'tags') {
    return String(value).split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
  }
  const text = String(value).trim();
  if (text === '') return null;
  if (spec.type === 'number' || spec.numeric) {
    const number = Number(text);
    return Number.isFinite(number) ? number : text;
  }
  return spec.type === 'password' ? String(value) : text;
}

/** What the view mode shows for a field (text or a node; email and tel fields as links). */
export function displayValue(spec, record) {
  if (spec.display) return spec.display(record);
  const value = record[spec.name];
  if (value === undefined || value === null || value === '') return '';
  if (spec.type === 'tags') return Array.isArray(value) ? value.join(', ') : String(value);
  if (spec.type === 'checkbox') return value ? 'yes' : 'no';
  if (spec.type === 'email') return emailLink(value);
  if (spec.type === 'tel') return phoneLink(value);
  if (spec.type === 'select' && Array.isArray(spec.options)) {
    const option = spec.options.find((o) => String(o.value) === String(value));
    if (option) return option.label;
  }
  return String(value);
}

/** Fills a <select> with options (keeping `selected`, adding it when it is not listed). */
function fillSelect(select, options, selected, spec) {
  select.replaceChildren();
  if (!spec.required || selected === '') {
    select.append(h('option', { value: '', text: spec.emptyLabel || '—' }));
  }
  let found = selected === '';
  for (const option of options) {
    const value = String(option.value);
    if (value === selected) found = true;
    select.append(h('option', { value, text: option.label }));
  }
  if (!found) select.append(h('option', { value: selected, text: spec.unknownLabel ? spec.unknownLabel(selected) : selected }));
  select.value = selected;
}

/**
 * One labelled field. Returns {spec, element, input, value(), setErrors(messages), focus()}.
 */
export function createField(spec, record) {
  const id = uid(`field-${spec.name}`);
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const initial = formValue(spec, record);
  const common = {
    id, name: spec.name, autocomplete: spec.autocomplete || 'off',
    'aria-describedby': spec.hint ? `${hintId} ${errorId}` : errorId,
  };
  let input;
  let lookup = null;
  switch (spec.type) {
  case 'lookup':
    lookup = lookupInput(spec, initial, common);
    input = lookup.input;
    break;
  case 'textarea':
    input = h('textarea', { ...common, rows: 3, required: spec.required });
    input.value = initial;
    break;
  case 'checkbox':
    input = h('input', { ...common, type: 'checkbox' });
    input.checked = initial;
    break;
  case 'select': {
    input = h('select', { ...common, required: spec.required });
    const options = typeof spec.options === 'function' ? [] : spec.options || [];
    fillSelect(input, options, initial, spec);
    if (typeof spec.options === 'function') {
      input.setAttribute('aria-busy', 'true');
      Promise.resolve(spec.options()).then((loaded) => {
        const current = input.value;
        fillSelect(input, loaded || [], current, spec);
      }).catch(() => {}).finally(() => input.removeAttribute('aria-busy'));
    }
    break;
  }
  default:
    input = h('input', {
      ...common,
      type: spec.type === 'tags' ? 'text' : spec.type || 'text',
      required: spec.required,
      placeholder: spec.placeholder,
      inputmode: spec.type === 'number' ? 'numeric' : undefined,
    });
    input.value = initial;
  }
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  // Required fields get a "*" from the stylesheet; the input's `required` tells screen readers.
  const label = h('label', { for: id, class: spec.required ? 'required' : undefined, text: spec.label });
  const hint = spec.hint ? h('p', { class: 'field-hint', id: hintId, text: spec.hint }) : null;
  const element = spec.type === 'checkbox'
    ? h('div', { class: 'field field-checkbox', dataset: { field: spec.name } },
      h('div', { class: 'checkbox-row' }, input, label), hint, error)
    : h('div', { class: 'field', dataset: { field: spec.name } }, label, lookup ? lookup.element : input, hint, error);
  return {
    spec,
    element,
    input,
    initial,
    value: () => {
      if (lookup) return lookup.value();
      return spec.type === 'checkbox' ? input.checked : input.value;
    },
    setErrors(messages) {
      const list = messages || [];
      error.textContent = list.join('; ');
      error.hidden = list.length === 0;
      if (list.length) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      element.classList.toggle('has-error', list.length > 0);
    },
    focus: () => input.focus(),
  };
}

/** "consent.email" or "tags[1]" -> "consent" / "tags". */
function topField(field) { return String(field).split(/[.[/]/)[0]; }

/**
 * A set of fields for `record` (in a create form: the defaults, or null). mode: "create"
 * or "edit".
 * Returns {element, fields, values(), changes(), showErrors(apiError), clearErrors()}.
 */
export function fieldSet(specs, record, mode) {
  const wanted = specs.filter((spec) => (mode === 'create' ? spec.create !== false : spec.edit !== false));
  const fields = wanted.map((spec) => createField(spec, record || {}));
  const summary = h('div', { class: 'form-errors', role: 'alert', tabindex: '-1', hidden: true });
  const element = h('div', { class: 'field-set' }, summary, h('div', { class: 'field-grid' }, fields.map((f) => f.element)));

  return {
    element,
    fields,
    /** Every field's API value (for a create). Empty optional values are left out. */
    values() {
      const body = {};
      for (const field of fields) {
        const value = apiValue(field.spec, field.value());
        if (value === null || (Array.isArray(value) && value.length === 0 && mode === 'create')) continue;
        if (field.spec.type === 'checkbox' && mode === 'create' && value === false && !field.spec.sendFalse) continue;
        body[field.spec.name] = value;
      }
      return body;
    },
    /** A merge patch of the fields the user changed (null clears). */
    changes() {
      const patch = {};
      for (const field of fields) {
        const before = JSON.stringify(apiValue(field.spec, field.initial));
        const after = apiValue(field.spec, field.value());
        if (field.spec.type === 'password' && (after === null || after === '')) continue;
        if (JSON.stringify(after) !== before) patch[field.spec.name] = after;
      }
      return patch;
    },
    /** Shows a 422's errors next to their fields; the rest in the summary. Focuses the first. */
    showErrors(error) {
      this.clearErrors();
      const byName = new Map(fields.map((field) => [field.spec.name, field]));
      const labels = Object.fromEntries(fields.map((field) => [field.spec.name, field.spec.label]));
      const perField = new Map();
      const other = [];
      for (const item of error.errors || []) {
        const name = item && item.field ? String(item.field) : '';
        const field = byName.get(name) || byName.get(topField(name));
        if (field) {
          const messages = perField.get(field) || [];
          messages.push(readableMessage(item.message, labels));
          perField.set(field, messages);
        } else {
          other.push(readableFieldError(name, item && item.message, labels));
        }
      }
      for (const [field, messages] of perField) field.setErrors(messages);
      if (other.length || perField.size === 0) {
        const validation = (error.errors || []).length > 0;
        summary.replaceChildren(h('p', { text: validation ? 'Not saved: please correct this.' : `Not saved: ${error.message}` }),
          other.length ? h('ul', {}, other.map((text) => h('li', { text }))) : null);
        summary.hidden = false;
      }
      const first = fields.find((field) => perField.has(field));
      if (first) first.focus();
      else summary.focus?.();
    },
    clearErrors() {
      summary.hidden = true;
      summary.replaceChildren();
      for (const field of fields) field.setErrors([]);
    },
  };
}
