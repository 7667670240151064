// admin.js - the admin pages (admins only): users (list, create, edit role, team,
// disabled, password). API keys come later. Anyone else sees "not allowed".

import { h } from '../dom.js';
import { navigate } from '../router.js';
import * as session from '../session.js';
import { recordDetail } from '../ui/detail.js';
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
    h('span', { class: 'muted', text: 'API keys (coming soon)' }));
}

function notAllowed() {
  return notAllowedPage('Only administrators can see the admin pages.');
}

export function adminUsersPage() {
  if (!session.isAdmin()) return notAllowed();
  const list = resourceList({
    resource: 'users',
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
      onCreated: (user) => navigate(`/admin/users/${user.id}`),
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
  }));
}
