// detail.js - the one record page behind contacts, companies and users: the record's
// fields, inline editing (PATCH as a merge patch with If-Match; a 412 says someone else
// changed the record and offers to reload; a 422 puts the errors next to the fields),
// delete with an in-page confirmation, and sections that other pages fill in.
//
// config: {
//   resource: 'contacts', id, singular: 'contact',
//   title(record) -> string, fields: [field specs], back: {href, label},
//   canEdit(record), canDelete(record) -> boolean or Promise<boolean> (the buttons show
//   only when true), onDeleted(), onChanged(record),
//   sections: [{id, title, render(container, record)}] }

import { api } from '../api.js';
import { formatDateTime, h, notice } from '../dom.js';
import { displayValue, fieldSet } from './fields.js';

export function recordDetail(config) {
  const path = `${config.resource}/${encodeURIComponent(config.id)}`;
  const state = { record: null, version: null, editing: false };
  const heading = h('h1', { tabindex: '-1', text: `Loading ${config.singular}…` });
  const messages = h('div', { class: 'detail-messages' });
  const toolbar = h('div', { class: 'toolbar' });
  const body = h('div', { class: 'card detail-card' });
  const meta = h('p', { class: 'record-meta' });
  const sections = h('div', { class: 'detail-sections' });
  const element = h('section', { class: 'record-detail', dataset: { resource: config.resource } },
    config.back ? h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
      h('a', { href: config.back.href, text: `← ${config.back.label}` })) : null,
    h('div', { class: 'page-head' }, heading, toolbar), messages, body, meta, sections);

  const showMessage = (node) => messages.replaceChildren(node || '');

  async function load() {
    try {
      const response = await api.getRecord(path);
      state.record = response.data;
      state.version = response.etag || (response.data && response.data.version);
      state.editing = false;
      render();
      renderSections();
    } catch (error) {
      heading.textContent = error.isNotFound ? `No such ${config.singular}` : `Could not load the ${config.singular}`;
      toolbar.replaceChildren();
      body.replaceChildren(notice('error', error.isNotFound
        ? `This ${config.singular} does not exist or you may not see it.` : error.message));
    }
  }

  function render() {
    const record = state.record;
    heading.textContent = config.title(record) || `${config.singular} #${record.id}`;
    meta.textContent = `#${record.id} · version ${record.version ?? ''} · created ${formatDateTime(record.created_at)} · updated ${formatDateTime(record.updated_at)}`;
    if (state.editing) renderEditor(); else renderView();
  }

  function renderView() {
    const record = state.record;
    const rows = [];
    for (const spec of config.fields) {
      if (spec.view === false) continue;
      const value = displayValue(spec, record);
      rows.push(h('div', { class: 'dl-row', dataset: { field: spec.name } },
        h('dt', { text: spec.label }),
        h('dd', {}, value === '' ? h('span', { class: 'muted', text: '—' }) : value)));
    }
    body.replaceChildren(h('dl', { class: 'record-fields' }, rows));
    toolbar.replaceChildren();
    Promise.all([
      config.canEdit ? config.canEdit(record) : true,
      config.canDelete ? config.canDelete(record) : false,
    ]).catch(() => [false, false]).then(([editable, deletable]) => {
      if (state.record !== record || state.editing) return; // drawn again meanwhile
      const buttons = [];
      if (editable) {
        buttons.push(h('button', { type: 'button', class: 'button', text: 'Edit', onclick: () => { state.editing = true; showMessage(null); render(); } }));
      }
      if (deletable) buttons.push(h('button', { type: 'button', class: 'button danger', text: 'Delete', onclick: confirmDelete }));
      toolbar.replaceChildren(...buttons);
      toolbar.dataset.ready = 'true';
    });
  }

  function renderEditor() {
    const set = fieldSet(config.fields, state.record, 'edit');
    const save = h('button', { type: 'submit', class: 'button', text: 'Save' });
    const cancel = h('button', {
      type: 'button', class: 'button secondary', text: 'Cancel',
      onclick: () => { state.editing = false; showMessage(null); render(); },
    });
    const form = h('form', { class: 'inline-editor', novalidate: true, 'aria-label': `Edit ${config.singular}` },
      set.element, h('div', { class: 'form-actions' }, save, cancel));
    form.addEventListener('keydown', (event) => { if (event.key === 'Escape') cancel.click(); });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      set.clearErrors();
      const patch = set.changes();
      if (Object.keys(patch).length === 0) { state.editing = false; render(); return; }
      save.disabled = true;
      try {
        const response = await api.patch(path, patch, { ifMatch: state.version });
        state.record = response.data;
        state.version = response.etag || response.data.version;
        state.editing = false;
        showMessage(notice('success', 'Saved.'));
        render();
        if (config.onChanged) config.onChanged(state.record);
        heading.focus();
      } catch (error) {
        if (error.isConflict) showConflict('changed');
        else if (error.isValidation) set.showErrors(error);
        else if (error.isForbidden) showMessage(notice('error', `You may not change this ${config.singular}.`));
        else showMessage(notice('error', `Not saved: ${error.message}`));
      } finally {
        save.disabled = false;
      }
    });
    toolbar.replaceChildren();
    body.replaceChildren(form);
    set.fields[0]?.focus();
  }

  function showConflict() {
    const reload = h('button', { type: 'button', class: 'button', text: 'Reload' });
    reload.addEventListener('click', async () => {
      reload.disabled = true;
      await load();
      showMessage(notice('info', `Reloaded: this is the latest version of the ${config.singular}.`));
      heading.focus();
    });
    showMessage(h('div', { class: 'notice notice-error conflict', role: 'alert' },
      h('p', { text: `Someone else changed this ${config.singular} since you opened it. Your changes were not saved.` }),
      reload));
    reload.focus();
  }

  function confirmDelete() {
    const yes = h('button', { type: 'button', class: 'button danger', text: `Delete ${config.singular}` });
    const no = h('button', { type: 'button', class: 'button secondary', text: 'Keep it', onclick: () => { showMessage(null); render(); } });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api.del(path, { ifMatch: state.version });
        if (config.onDeleted) config.onDeleted(state.record);
      } catch (error) {
        if (error.isConflict) showConflict();
        else showMessage(notice('error', error.isForbidden
          ? `You may not delete this ${config.singular}.` : `Not deleted: ${error.message}`));
      }
    });
    showMessage(h('div', { class: 'notice notice-warning', role: 'alert' },
      h('p', { text: `Delete “${heading.textContent}”? This cannot be undone.` }), h('div', { class: 'form-actions' }, yes, no)));
    no.focus();
  }

  function renderSections() {
    sections.replaceChildren();
    for (const section of config.sections || []) {
      const container = h('div', { class: 'section-body' });
      sections.append(h('section', { class: 'card detail-section', id: `section-${section.id}`, 'aria-label': section.title },
        h('h2', { text: section.title }), container));
      try {
        section.render(container, state.record);
      } catch (error) {
        container.replaceChildren(notice('error', error.message));
      }
    }
  }

  load();
  element.reload = load;
  return element;
}
