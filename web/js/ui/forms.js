// forms.js - a small create form built from field specs (fields.js): labelled fields, a
// submit button, 422 errors next to their fields, 403 and other failures as a message in
// the form. Used by the contact page's sections, the tasks page and the admin pages.
//
// inlineForm({
//   label: 'Log an interaction',        the form's accessible name (and heading, unless
//   heading: false,                      heading is false)
//   fields, defaults,                    field specs and initial values
//   submitLabel: 'Save',
//   submit(body) -> Promise<record>,     sends it; rejects with ApiError
//   prepare(body) -> body,               optional: reshape the values first
//   onDone(record, form),                after success (the form is reset to the defaults)
//   forbiddenText,                       message for a 403
//   cancel: () => {},                    adds a Cancel button
// }) -> <form> with .focusFirst()

import { h, notice, replaceChildren } from '../dom.js';
import { fieldSet } from './fields.js';

export function inlineForm(config) {
  let set = fieldSet(config.fields, config.defaults || null, 'create');
  const holder = h('div', { class: 'inline-form-fields' }, set.element);
  const message = h('div', { class: 'form-message' });
  const submit = h('button', { type: 'submit', class: 'button', text: config.submitLabel || 'Save' });
  const actions = h('div', { class: 'form-actions' }, submit,
    config.cancel ? h('button', { type: 'button', class: 'button secondary', text: 'Cancel', onclick: config.cancel }) : null);
  const form = h('form', { class: `inline-form ${config.className || ''}`.trim(), novalidate: true, 'aria-label': config.label },
    config.heading === false ? null : h('h3', { text: config.label }), message, holder, actions);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    set.clearErrors();
    replaceChildren(message);
    let body = set.values();
    if (config.prepare) {
      try {
        body = config.prepare(body);
      } catch (error) {
        replaceChildren(message, notice('error', error.message));
        return;
      }
    }
    submit.disabled = true;
    try {
      const record = await config.submit(body);
      set = fieldSet(config.fields, config.defaults || null, 'create');
      replaceChildren(holder, set.element);
      if (config.doneText) replaceChildren(message, notice('success', config.doneText(record)));
      if (config.onDone) config.onDone(record, form);
    } catch (error) {
      if (error.isValidation) set.showErrors(error);
      else if (error.isForbidden) replaceChildren(message, notice('error', config.forbiddenText || `Not allowed: ${error.message}`));
      else replaceChildren(message, notice('error', `Not saved: ${error.message}`));
    } finally {
      submit.disabled = false;
    }
  });
  form.focusFirst = () => set.fields[0]?.focus();
  form.fieldSet = () => set;
  return form;
}

/**
 * A button that shows `makeForm()` below itself when pressed and hides it again:
 * returns {element, close()}.
 */
export function disclosure(label, makeForm) {
  const area = h('div', { class: 'disclosure-area' });
  const button = h('button', { type: 'button', class: 'button secondary small', 'aria-expanded': 'false', text: label });
  function close() {
    replaceChildren(area);
    button.setAttribute('aria-expanded', 'false');
  }
  button.addEventListener('click', () => {
    if (area.firstChild) { close(); button.focus(); return; }
    const form = makeForm(close);
    replaceChildren(area, form);
    button.setAttribute('aria-expanded', 'true');
    if (form.focusFirst) form.focusFirst();
  });
  return { element: h('div', { class: 'disclosure' }, button, area), close, button };
}
