// admin.js - the admin pages (admins only): users (list, create, edit role, team,
// disabled, password) and API keys (list, create - the key is shown once, with a copy
// button - and revoke). Anyone else sees "not allowed".

import { api } from '../api.js';
import { directory, directoryChanged } from '../directory.js';
import { formatDateTime, h, notice, replaceChildren, uid } from '../dom.js';
import { navigate } from '../router.js';
import * as session from '../session.js';
import { recordDetail } from '../ui/detail.js';
import { inlineForm } from '../ui/forms.js';
import { resourceList } from '../ui/list.js';
import { notAllowedPage } from './soon.js';

export const ROLES = ['admin', 'manager', 'rep', 'viewer'];
const roleOptions = ROLES.map((value) => ({ value, label: value }));

function userFields() {
  return [
    { name: 'email', label: 'Email', type: 'email', required: true },
    { name: 'name', label: 'Name', required: true },
    { name: 'role', label: 'Role', type: 'select', required: true, options: roleOptions, unknownLabel: (r) => r },
    { name: 'team', label: 'Team' },
    { name: 'disabled', label: 'Disabled (cannot log in)', type: 'checkbox', create: false },
    { name: 'password', label: 'Password', type: 'password', hint: 'At least 8 characters', edit: false, view: false, autocomplete: 'new-password' },
    { name: 'password', label: 'New password', type: 'password', hint: 'Leave empty to keep the current one', create: false, view: false, autocomplete: 'new-password' },
  ];
}

function adminNav(current) {
  const link = (href, text, key) => h('a', { href, text, 'aria-current': key === current ? 'page' : undefined });
  return h('nav', { class: 'subnav', 'aria-label': 'Admin' },
    link('#/admin/users', 'Users', 'users'),
    link('#/admin/api-keys', 'API keys', 'api-keys'));
}

function notAllowed() {
  return notAllowedPage('Only administrators can see the admin pages.');
}

export function adminUsersPage(params, query) {
  if (!session.isAdmin()) return notAllowed();
  const list = resourceList({
    resource: 'users',
    location: { path: '/admin/users', query },
    title: 'Users',
    singular: 'user',
    search: false,
    columns: [
      { key: 'email', label: 'Email', sort: 'email' },
      { key: 'name', label: 'Name', sort: 'name' },
      { key: 'role', label: 'Role' },
      { key: 'team', label: 'Team' },
      { key: 'disabled', label: 'Status', cell: (u) => (u.disabled ? 'disabled' : 'active') },
    ],
    filters: [
      { name: 'role', label: 'Role', type: 'select', options: roleOptions },
    ],
    href: (user) => `#/admin/users/${user.id}`,
    create: {
      label: 'New user',
      fields: userFields(),
      defaults: { role: 'rep' },
      onCreated: (user) => { directoryChanged(); navigate(`/admin/users/${user.id}`); },
    },
  });
  return h('div', { class: 'admin' }, adminNav('users'), list);
}

export function adminUserPage({ id }) {
  if (!session.isAdmin()) return notAllowed();
  return h('div', { class: 'admin' }, adminNav('users'), recordDetail({
    resource: 'users',
    id,
    singular: 'user',
    title: (user) => user.name || user.email,
    fields: userFields(),
    back: { href: '#/admin/users', label: 'Users' },
    onChanged: directoryChanged,
  }));
}

/* ------------------------------------------------------------------ API keys */

/** Copies `text` to the clipboard (the Clipboard API, else a selection and execCommand). */
async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    try { return document.execCommand('copy'); } catch { return false; }
  }
}

/** The box that shows a new key, once. */
function newKeyBox(created) {
  const id = uid('new-key');
  const input = h('input', { id, type: 'text', readonly: true, class: 'new-key-value', autocomplete: 'off', spellcheck: 'false' });
  input.value = created.key;
  const copied = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'button', text: 'Copy' });
  copy.addEventListener('click', async () => {
    copied.textContent = (await copyText(input)) ? 'Copied.' : 'Select the key and copy it by hand.';
  });
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'new-key', role: 'alert', dataset: { keyId: created.id } },
    h('p', {}, h('strong', { text: `The key “${created.name}” for ${created.user_name || `user #${created.user_id}`}: ` }),
      'copy it now. It is shown only this once; the server keeps only a hash of it.'),
    h('div', { class: 'key-row' }, h('label', { for: id, class: 'visually-hidden', text: 'New API key' }), input, copy, copied));
}

export function adminApiKeysPage() {
  if (!session.isAdmin()) return notAllowed();
  const me = session.user();
  const state = { next: null, seq: 0 };
  const messages = h('div', { class: 'detail-messages' });
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table compact api-keys-table', hidden: true },
    h('caption', { class: 'visually-hidden', text: 'API keys' }),
    h('thead', {}, h('tr', {}, ['Name', 'User', 'Key starts', 'Access', 'Created', 'Expires', 'Last used', 'Status', '']
      .map((text) => h('th', { scope: 'col', text })))), tbody);
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'button secondary', hidden: true, text: 'Load more' });

  function row(key) {
    const cells = [
      h('td', { dataset: { label: 'Name' }, class: 'key-name', text: key.name }),
      h('td', { dataset: { label: 'User' }, text: key.user_name || `user #${key.user_id}` }),
      h('td', { dataset: { label: 'Key starts' } }, h('code', { text: `${key.prefix}…` })),
      h('td', { dataset: { label: 'Access' }, text: key.read_only ? 'read-only' : 'read and write' }),
      h('td', { dataset: { label: 'Created' }, text: formatDateTime(key.created_at) }),
      h('td', { dataset: { label: 'Expires' }, text: key.expires_at ? formatDateTime(key.expires_at) : 'never' }),
      h('td', { dataset: { label: 'Last used' }, text: key.last_used_at ? formatDateTime(key.last_used_at) : 'never' }),
      h('td', { dataset: { label: 'Status' } }, h('span', { class: `status-badge status-${key.status}`, text: key.status })),
    ];
    const actions = h('td', {});
    if (key.status !== 'revoked') {
      const revoke = h('button', { type: 'button', class: 'button danger small', text: 'Revoke', 'aria-label': `Revoke ${key.name}` });
      revoke.addEventListener('click', () => confirmRevoke(key, revoke));
      actions.append(revoke);
    }
    return h('tr', { dataset: { id: key.id } }, cells, actions);
  }

  /** A revoked key is of no use to copy: its "copy it now" box goes. */
  function forgetShownKey(id) {
    const box = created.querySelector('.new-key');
    if (box && box.dataset.keyId === String(id)) replaceChildren(created);
  }

  function confirmRevoke(key, button) {
    const yes = h('button', { type: 'button', class: 'button danger', text: 'Revoke key' });
    const no = h('button', { type: 'button', class: 'button secondary', text: 'Keep it', onclick: () => { replaceChildren(messages); button.focus(); } });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api.del(`api-keys/${key.id}`);
        forgetShownKey(key.id);
        replaceChildren(messages, notice('success', `Revoked “${key.name}”: it stops working at once.`));
      } catch (error) {
        if (error.status === 409) forgetShownKey(key.id);
        replaceChildren(messages, notice('error', error.status === 409 ? `“${key.name}” was revoked already.` : `Not revoked: ${error.message}`));
      }
      load(false);
    });
    replaceChildren(messages, h('div', { class: 'notice notice-warning', role: 'alert' },
      h('p', { text: `Revoke “${key.name}” of ${key.user_name || `user #${key.user_id}`}? Programs using it lose access at once.` }),
      h('div', { class: 'form-actions' }, yes, no)));
    no.focus();
  }

  async function load(append) {
    const seq = ++state.seq;
    status.textContent = 'Loading…';
    try {
      const page = await api.get('api-keys', { query: { limit: 100, cursor: append ? state.next : undefined } });
      if (seq !== state.seq) return;
      if (!append) replaceChildren(tbody);
      for (const key of page.data || []) tbody.append(row(key));
      state.next = page.next_cursor || null;
      more.hidden = !state.next;
      table.hidden = tbody.children.length === 0;
      status.textContent = tbody.children.length === 0 ? 'No API keys yet.' : `${tbody.children.length}${state.next ? '+' : ''} key${tbody.children.length === 1 && !state.next ? '' : 's'}`;
    } catch (error) {
      if (seq !== state.seq) return;
      status.textContent = '';
      replaceChildren(messages, notice('error', `Could not load the keys: ${error.message}`));
    }
  }
  more.addEventListener('click', () => load(true));

  const userChoices = () => directory().then((users) => users.filter((user) => !user.disabled)
    .map((user) => ({ value: String(user.id), label: user.name })));
  const created = h('div');
  const form = inlineForm({
    label: 'New API key',
    fields: [
      { name: 'name', label: 'Name', required: true, hint: 'What uses it, e.g. “billing sync”' },
      { name: 'user_id', label: 'Acts as', type: 'select', numeric: true, required: true, options: userChoices, unknownLabel: (id) => `user #${id}` },
      { name: 'expires_days', label: 'Expires after (days)', type: 'number', hint: 'Empty: never' },
      { name: 'read_only', label: 'Read-only (no changes)', type: 'checkbox' },
    ],
    defaults: { user_id: me ? me.id : null },
    submitLabel: 'Create key',
    submit: (body) => api.post('api-keys', body),
    onDone: (key) => {
      replaceChildren(created, newKeyBox(key));
      created.querySelector('button').focus();
      load(false);
    },
  });
  load(false);
  return h('div', { class: 'admin' }, adminNav('api-keys'),
    h('section', { class: 'api-keys-page' },
      h('h1', { tabindex: '-1', text: 'API keys' }),
      h('p', { class: 'muted', text: 'Keys let other systems use the API as a user, with that user’s permissions (Authorization: Bearer …).' }),
      created, messages, h('div', { class: 'card' }, form), status, h('div', { class: 'table-wrap' }, table), more));
}
