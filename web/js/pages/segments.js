// segments.js - segments of contacts: the list, and one page per segment to create or
// change it. A dynamic segment's rule is made with the rule builder, with a live count of
// the matching contacts (POST segments/preview, debounced); a static segment's members are
// added and removed by hand. Saved segments list their members (paged) and link to the CSV
// export. Saving and changing members honour If-Match (412: reload offered) and 422s show
// next to the field or the rule condition they name.

import { api, request } from '../api.js';
import { asyncName, contactDisplayName, userName } from '../directory.js';
import { debounce, emailLink, formatDateTime, h, notice, replaceChildren, uid } from '../dom.js';
import { formatNumber } from '../format.js';
import { navigate } from '../router.js';
import { fieldSet } from '../ui/fields.js';
import { resourceList } from '../ui/list.js';
import { ruleBuilder } from '../ui/rule-builder.js';
import { readableMessage } from '../ui/wording.js';
import { canWrite } from './contact-work.js';

export function segmentsPage(params, query) {
  const list = resourceList({
    resource: 'segments',
    location: { path: '/segments', query },
    title: 'Segments',
    singular: 'segment',
    headingLevel: 'h2',
    hideTitle: true,
    search: { label: 'Search segments', placeholder: 'Name…' },
    columns: [
      { key: 'name', label: 'Name', sort: 'name' },
      { key: 'kind', label: 'Kind' },
      { key: 'description', label: 'Description' },
      { key: 'owner_id', label: 'Owner', cell: (s) => (s.owner_id ? asyncName(userName, s.owner_id, `#${s.owner_id}`) : '') },
      { key: 'updated_at', label: 'Updated', sort: 'updated_at', cell: (s) => (s.updated_at || '').slice(0, 10) },
    ],
    filters: [{ name: 'kind', label: 'Kind', type: 'select', options: [{ value: 'dynamic', label: 'dynamic' }, { value: 'static', label: 'static' }] }],
    href: (segment) => `#/segments/${segment.id}`,
    emptyText: 'No segments yet.',
  });
  return h('section', { class: 'segments-page' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text: 'Segments' }),
      canWrite('segments') ? h('a', { class: 'button', href: '#/segments/new', text: 'New segment' }) : null),
    h('p', { class: 'muted', text: 'Groups of contacts: dynamic ones by a rule (always current), static ones by hand.' }),
    list);
}

function segmentFields(creating) {
  return [
    { name: 'name', label: 'Name', required: true },
    { name: 'description', label: 'Description' },
    {
      name: 'kind', label: 'Kind', type: 'select', required: true, edit: creating, create: creating,
      options: [{ value: 'dynamic', label: 'Dynamic: by a rule' }, { value: 'static', label: 'Static: chosen by hand' }],
    },
  ];
}

/* ------------------------------------------------------------------ members */

function membersSection(segment, onChanged, onConflict) {
  const state = { next: null, seq: 0 };
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table compact', hidden: true },
    h('caption', { class: 'visually-hidden', text: 'Members' }),
    h('thead', {}, h('tr', {}, ['Name', 'Email', 'Lifecycle', ''].map((text) => h('th', { scope: 'col', text })))), tbody);
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const message = h('div');
  const more = h('button', { type: 'button', class: 'button secondary small', hidden: true, text: 'Load more' });
  const isStatic = segment.kind === 'static';
  const editable = isStatic && canWrite('segments');

  async function changeMembers(method, ids) {
    try {
      const response = await request(method, `segments/${segment.id}/members`, { body: { contact_ids: ids }, ifMatch: segment.version });
      replaceChildren(message);
      onChanged();
      return response;
    } catch (error) {
      if (error.isConflict) {
        // The page's conflict notice, with its Reload button.
        replaceChildren(message);
        onConflict();
        return null;
      }
      replaceChildren(message, notice('error', error.isForbidden ? 'You may not change this segment’s members.' : `Not changed: ${error.message}`));
      return null;
    }
  }

  async function load(append) {
    const seq = ++state.seq;
    status.textContent = 'Loading…';
    try {
      const page = await api.get(`segments/${segment.id}/members`, { query: { limit: 25, cursor: append ? state.next : undefined } });
      if (seq !== state.seq) return;
      if (!append) replaceChildren(tbody);
      for (const contact of page.data || []) {
        const remove = editable ? h('button', {
          type: 'button', class: 'button secondary small', text: 'Remove', 'aria-label': `Remove ${contactDisplayName(contact)}`,
          onclick: () => changeMembers('DELETE', [contact.id]),
        }) : null;
        tbody.append(h('tr', { dataset: { id: contact.id } },
          h('td', { dataset: { label: 'Name' } }, h('a', { href: `#/contacts/${contact.id}`, text: contactDisplayName(contact) })),
          h('td', { dataset: { label: 'Email' } }, emailLink(contact.email)),
          h('td', { dataset: { label: 'Lifecycle' }, text: contact.lifecycle || '' }),
          h('td', {}, remove)));
      }
      state.next = page.next_cursor || null;
      more.hidden = !state.next;
      table.hidden = tbody.children.length === 0;
      status.textContent = tbody.children.length === 0 ? 'No members.'
        : `${tbody.children.length}${state.next ? '+' : ''} member${tbody.children.length === 1 && !state.next ? '' : 's'} shown`;
    } catch (error) {
      if (seq !== state.seq) return;
      status.textContent = '';
      replaceChildren(message, notice('error', `Could not load the members: ${error.message}`));
    }
  }
  more.addEventListener('click', () => load(true));

  // Static segments: find contacts and add them.
  let adder = null;
  if (editable) {
    const searchId = uid('member-search');
    const input = h('input', { id: searchId, type: 'search', autocomplete: 'off', placeholder: 'Name or email' });
    const results = h('ul', { class: 'member-search-results', 'aria-live': 'polite' });
    const search = debounce(async () => {
      const q = input.value.trim();
      if (!q) { replaceChildren(results); return; }
      try {
        const page = await api.get('contacts', { query: { q, limit: 8 } });
        replaceChildren(results, ...(page.data || []).map((contact) => h('li', {},
          h('span', { text: `${contactDisplayName(contact)}${contact.email ? ` · ${contact.email}` : ''}` }),
          h('button', {
            type: 'button', class: 'button small', text: 'Add', 'aria-label': `Add ${contactDisplayName(contact)}`,
            onclick: async () => { if (await changeMembers('POST', [contact.id])) input.focus(); },
          }))));
        if (!(page.data || []).length) replaceChildren(results, h('li', { class: 'muted', text: 'No contact matches.' }));
      } catch (error) {
        replaceChildren(results, h('li', { text: error.message }));
      }
    }, 250);
    input.addEventListener('input', search);
    adder = h('div', { class: 'field' }, h('label', { for: searchId, text: 'Add contacts' }), input, results);
  }

  const exportLink = h('a', {
    class: 'button secondary', href: `/api/v1/segments/${encodeURIComponent(segment.id)}/export`, download: `segment-${segment.id}.csv`,
    text: 'Export CSV',
  });
  load(false);
  return h('section', { class: 'card segment-members', 'aria-labelledby': 'members-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'members-title', text: 'Members' }), exportLink),
    segment.kind === 'dynamic' ? h('p', { class: 'muted small', text: 'The contacts the saved rule matches now.' }) : null,
    adder, message, status, h('div', { class: 'table-wrap' }, table), more);
}

/* ------------------------------------------------------------------ the editor */

export function segmentPage({ id }) {
  const creating = id === 'new';
  const state = { segment: null, version: null, rule: null, complete: false, previewSeq: 0 };
  const heading = h('h1', { tabindex: '-1', text: creating ? 'New segment' : 'Segment' });
  const messages = h('div', { class: 'detail-messages' });
  const body = h('div');
  const members = h('div');
  const element = h('section', { class: 'segment-page' },
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/segments', text: '← Segments' })),
    h('div', { class: 'page-head' }, heading), messages, body, members);

  const count = h('p', { class: 'live-count', role: 'status', 'aria-live': 'polite' });
  const preview = debounce(async () => {
    const seq = ++state.previewSeq;
    if (!state.complete) {
      replaceChildren(count, 'Complete every condition to see how many contacts match.');
      return;
    }
    replaceChildren(count, 'Counting…');
    try {
      const answer = await api.post('segments/preview', { rule: state.rule });
      if (seq !== state.previewSeq) return;
      builder.clearErrors();
      const sample = (answer.sample || []).slice(0, 5).map(contactDisplayName);
      replaceChildren(count, h('strong', { class: 'count-value', text: formatNumber(answer.count) }),
        answer.count === 1 ? ' contact matches' : ' contacts match',
        sample.length ? h('span', { class: 'muted small' }, ` — e.g. ${sample.join(', ')}${answer.count > sample.length ? ', …' : ''}`) : null);
    } catch (error) {
      if (seq !== state.previewSeq) return;
      if (error.isValidation) {
        const placed = builder.showErrors(error);
        replaceChildren(count, placed ? 'The rule has an error: see the condition marked below.'
          : `The rule has an error: ${readableMessage((error.errors[0] || {}).message || error.message)}`);
      } else {
        replaceChildren(count, `Could not count: ${error.message}`);
      }
    }
  }, 400);

  let builder = null;
  let set = null;
  const builderArea = h('div', { class: 'rule-area' });

  function showBuilder(kind) {
    if (kind !== 'dynamic') {
      replaceChildren(builderArea, h('p', { class: 'muted', text: creating ? 'Add the members after saving.' : 'A static segment has no rule: its members are chosen by hand below.' }));
      return;
    }
    if (!builder) {
      builder = ruleBuilder({
        rule: state.segment ? state.segment.rule : null,
        onChange: (rule, complete) => { state.rule = rule; state.complete = complete; preview(); },
      });
    }
    replaceChildren(builderArea, h('h2', { text: 'Rule' }), builder.element, count);
  }

  function showConflict() {
    const reload = h('button', { type: 'button', class: 'button', text: 'Reload' });
    reload.addEventListener('click', () => { builder = null; load(); });
    replaceChildren(messages, h('div', { class: 'notice notice-error conflict', role: 'alert' },
      h('p', { text: 'Someone else changed this segment since you opened it. Your changes were not saved.' }), reload));
    messages.scrollIntoView({ block: 'nearest' });
    reload.focus();
  }

  function render() {
    const segment = state.segment;
    set = fieldSet(segmentFields(creating), segment || { kind: 'dynamic' }, creating ? 'create' : 'edit');
    const save = h('button', { type: 'submit', class: 'button', text: creating ? 'Save segment' : 'Save changes' });
    const actions = h('div', { class: 'form-actions' }, save);
    if (!creating && canWrite('segments')) {
      const remove = h('button', { type: 'button', class: 'button danger', text: 'Delete' });
      remove.addEventListener('click', () => confirmDelete(remove));
      actions.append(remove);
    }
    const form = h('form', { class: 'card segment-editor', novalidate: true, 'aria-label': creating ? 'New segment' : 'Edit segment' },
      set.element, builderArea, canWrite('segments') ? actions : null);
    const kindField = set.fields.find((field) => field.spec.name === 'kind');
    const kind = () => (kindField ? kindField.value() : segment.kind);
    if (kindField) kindField.input.addEventListener('change', () => showBuilder(kind()));
    showBuilder(kind());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      set.clearErrors();
      replaceChildren(messages);
      const payload = creating ? set.values() : set.changes();
      if (kind() === 'dynamic') {
        if (!state.complete) {
          replaceChildren(messages, notice('error', 'Complete every condition of the rule first.'));
          return;
        }
        if (creating || JSON.stringify(state.rule) !== JSON.stringify(segment.rule)) payload.rule = state.rule;
      }
      if (!creating && Object.keys(payload).length === 0) {
        replaceChildren(messages, notice('info', 'Nothing changed.'));
        return;
      }
      save.disabled = true;
      try {
        if (creating) {
          const created = await api.post('segments', payload);
          navigate(`/segments/${created.id}`);
          return;
        }
        const response = await api.patch(`segments/${segment.id}`, payload, { ifMatch: state.version });
        state.segment = response.data;
        state.version = response.etag || response.data.version;
        heading.textContent = state.segment.name;
        replaceChildren(messages, notice('success', 'Saved.'));
        renderMembers();
      } catch (error) {
        if (error.isConflict) showConflict();
        else if (error.isValidation) {
          const placed = builder ? builder.showErrors(error) : false;
          const other = error.errors.filter((e) => !String(e.field || '').startsWith('rule'));
          if (other.length || !placed) set.showErrors({ errors: other.length ? other : error.errors, message: error.message });
        } else if (error.isForbidden) replaceChildren(messages, notice('error', 'You may not change this segment.'));
        else replaceChildren(messages, notice('error', `Not saved: ${error.message}`));
      } finally {
        save.disabled = false;
      }
    });
    replaceChildren(body, form);
  }

  function confirmDelete(button) {
    const yes = h('button', { type: 'button', class: 'button danger', text: 'Delete segment' });
    const no = h('button', { type: 'button', class: 'button secondary', text: 'Keep it', onclick: () => { replaceChildren(messages); button.focus(); } });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api.del(`segments/${state.segment.id}`, { ifMatch: state.version });
        navigate('/segments');
      } catch (error) {
        if (error.isConflict) showConflict();
        else replaceChildren(messages, notice('error', error.isForbidden ? 'You may not delete this segment.' : `Not deleted: ${error.message}`));
      }
    });
    replaceChildren(messages, h('div', { class: 'notice notice-warning', role: 'alert' },
      h('p', { text: `Delete “${state.segment.name}”? The contacts stay.` }), h('div', { class: 'form-actions' }, yes, no)));
    no.focus();
  }

  function renderMembers() {
    if (!state.segment) { replaceChildren(members); return; }
    replaceChildren(members, membersSection(state.segment, async () => {
      // Adding or removing members bumps the segment's version.
      try {
        const response = await api.getRecord(`segments/${state.segment.id}`);
        state.segment = response.data;
        state.version = response.etag || response.data.version;
      } catch { /* the next save will say */ }
      renderMembers();
    }, showConflict));
  }

  async function load() {
    try {
      const response = await api.getRecord(`segments/${encodeURIComponent(id)}`);
      state.segment = response.data;
      state.version = response.etag || response.data.version;
      heading.textContent = state.segment.name;
      replaceChildren(messages);
      render();
      renderMembers();
      const meta = h('p', { class: 'record-meta', text: `#${state.segment.id} · ${state.segment.kind} · version ${state.segment.version} · updated ${formatDateTime(state.segment.updated_at)}` });
      body.append(meta);
    } catch (error) {
      heading.textContent = error.isNotFound ? 'No such segment' : 'Could not load the segment';
      replaceChildren(body, notice('error', error.isNotFound ? 'This segment does not exist or you may not see it.' : error.message));
    }
  }

  if (creating) render();
  else load();
  return element;
}
