// contacts.js - the contacts list and the contact page, built from the shared list and
// detail components; creating one whose email another contact has warns first and links
// to the existing ones. The contact page's sections (analytics, timeline with the log form,
// tasks, opportunities, purchases) come from contact-work.js.

import { api } from '../api.js';
import {
  asyncName, companyName, contactChanged, mayChange, ownerFilterOptions, searchCompanies, userName, userOptions,
} from '../directory.js';
import { emailLink, formatDateTime, h } from '../dom.js';
import { enumValues } from '../meta.js';
import { navigate } from '../router.js';
import * as session from '../session.js';
import { recordDetail } from '../ui/detail.js';
import { resourceList } from '../ui/list.js';
import { contactWorkSections } from './contact-work.js';

export const LIFECYCLES = enumValues('contacts', 'lifecycle');
export const RELATIONSHIP_LEVELS = ['utility', 'convenience', 'comfort', 'recognition', 'self-expression', 'co-creation'];

/** A contact's display name: its name, else its email, else "#id". */
export function contactName(contact) {
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(' ');
  return name || contact.email || `Contact #${contact.id}`;
}

/** The contact fields shown, edited and created (see ui/fields.js). */
export function contactFields() {
  return [
    { name: 'first_name', label: 'First name', autocomplete: 'off' },
    { name: 'last_name', label: 'Last name' },
    { name: 'email', label: 'Email', type: 'email' },
    { name: 'phone', label: 'Phone', type: 'tel' },
    { name: 'title', label: 'Job title' },
    {
      name: 'company_id', label: 'Company', type: 'lookup', numeric: true,
      search: searchCompanies, labelFor: companyName, placeholder: 'Type a company name',
      hint: 'Pick one of the matches; empty for none',
      display: (record) => (record.company_id
        ? h('a', { href: `#/companies/${record.company_id}` }, asyncName(companyName, record.company_id, `#${record.company_id}`))
        : ''),
    },
    {
      name: 'owner_id', label: 'Owner', type: 'select', numeric: true, options: userOptions,
      emptyLabel: 'Me (default)', unknownLabel: (id) => `user #${id}`,
      display: (record) => (record.owner_id ? asyncName(userName, record.owner_id, `#${record.owner_id}`) : ''),
    },
    {
      name: 'lifecycle', label: 'Lifecycle', type: 'select',
      options: LIFECYCLES.map((value) => ({ value, label: value })),
    },
    {
      name: 'relationship_level', label: 'Relationship level', type: 'select', numeric: true,
      options: RELATIONSHIP_LEVELS.map((label, i) => ({ value: String(i + 1), label: `${i + 1} · ${label}` })),
    },
    { name: 'tags', label: 'Tags', type: 'tags', hint: 'Separated by commas' },
    { name: 'source', label: 'Source', hint: 'Where the data came from' },
    {
      name: 'consent', label: 'Consents to email', type: 'checkbox',
      get: (record) => Boolean(record.consent && record.consent.email),
      set: (checked) => ({ email: Boolean(checked) }),
      display: (record) => {
        if (!record.consent || record.consent.email === undefined) return '';
        return record.consent.email ? `yes${record.consent.recorded_at ? ` (recorded ${formatDateTime(record.consent.recorded_at)})` : ''}` : 'no';
      },
    },
    { name: 'external_id', label: 'External id', create: false, edit: false },
  ];
}

/**
 * Before a contact is created: the contacts that already have its email address (any
 * case), as a warning with links to open them, or null when there are none.
 */
async function sameEmailWarning(body) {
  const email = String(body.email || '').trim().toLowerCase();
  if (!email) return null;
  const page = await api.get('contacts', { query: { q: email, limit: 100 } });
  const same = (page.data || []).filter((contact) => String(contact.email || '').toLowerCase() === email);
  if (same.length === 0) return null;
  const links = same.slice(0, 5).map((contact, i) => [i ? ', ' : '',
    h('a', { href: `#/contacts/${contact.id}`, text: `Open ${contactName(contact)}` })]);
  return [
    h('p', { text: same.length === 1 ? `A contact with the email ${body.email} already exists.`
      : `${same.length} contacts with the email ${body.email} already exist.` }),
    h('p', {}, links, same.length > 5 ? ', …' : ''),
  ];
}

function nameCell(contact) {
  return contactName(contact);
}

/** The contacts list. `options.query` fixes filters (e.g. a company's contacts). */
export function contactsList(options = {}) {
  const fields = contactFields();
  return resourceList({
    resource: 'contacts',
    title: options.title || 'Contacts',
    singular: 'contact',
    headingLevel: options.headingLevel,
    hideTitle: options.hideTitle,
    query: options.query,
    pageSize: options.pageSize || 25,
    location: options.location,
    search: { label: 'Search contacts', placeholder: 'Name, email, phone…' },
    columns: [
      { key: 'name', label: 'Name', sort: 'last_name', cell: nameCell },
      { key: 'email', label: 'Email', sort: 'email', cell: (c) => emailLink(c.email) },
      ...(options.query && options.query.company_id ? [] : [{
        key: 'company_id', label: 'Company',
        cell: (c) => (c.company_id ? asyncName(companyName, c.company_id, `#${c.company_id}`) : ''),
      }]),
      { key: 'lifecycle', label: 'Lifecycle' },
      { key: 'owner_id', label: 'Owner', cell: (c) => (c.owner_id ? asyncName(userName, c.owner_id, `#${c.owner_id}`) : '') },
      { key: 'updated_at', label: 'Updated', sort: 'updated_at', cell: (c) => (c.updated_at || '').slice(0, 10) },
    ],
    filters: options.filters === false ? [] : [
      { name: 'lifecycle', label: 'Lifecycle', type: 'select', options: LIFECYCLES.map((value) => ({ value, label: value })) },
      { name: 'owner_id', label: 'Owner', type: 'select', options: ownerFilterOptions },
      { name: 'tag', label: 'Tag', type: 'text', placeholder: 'e.g. vip' },
    ],
    href: (contact) => `#/contacts/${contact.id}`,
    create: session.scope('contacts', 'write') === 'none' ? null : {
      label: 'New contact',
      fields,
      check: sameEmailWarning,
      defaults: options.query && options.query.company_id ? { company_id: options.query.company_id } : null,
      onCreated: (contact) => navigate(`/contacts/${contact.id}`),
    },
  });
}

export function contactsPage(params, query) {
  return contactsList({ location: { path: '/contacts', query } });
}

export function contactPage({ id }) {
  return recordDetail({
    resource: 'contacts',
    id,
    singular: 'contact',
    title: contactName,
    fields: contactFields(),
    back: { href: '#/contacts', label: 'Contacts' },
    canEdit: (contact) => mayChange('contacts', 'write', contact.owner_id),
    canDelete: (contact) => mayChange('contacts', 'delete', contact.owner_id),
    onDeleted: () => navigate('/contacts'),
    onChanged: (contact) => contactChanged(contact.id),
    sections: contactWorkSections(),
  });
}
