// directory.js - names for ids: users (owners, assignees) from GET users/directory (every
// user may read it: id, name, team), companies and contacts, cached for the session so that
// lists can show "Ada Lovelace" rather than owner_id 7.
//
// Pickers offer whom the caller may assign records to: administrators everybody,
// managers their team, everyone else themselves (the server has the last word anyway).

import { api } from './api.js';
import * as session from './session.js';

let directoryPromise = null;
let companiesPromise = null;
const companyNames = new Map();
const contactNames = new Map();

session.onSessionChange(() => {
  directoryPromise = null;
  companiesPromise = null;
  companyNames.clear();
  contactNames.clear();
});

/** Every user as {id, name, team, disabled}, by name (the caller alone if unreadable). */
export function directory() {
  if (!directoryPromise) {
    const me = session.user();
    const fallback = me ? [{ id: me.id, name: me.name || me.email, team: me.team || null, disabled: false }] : [];
    directoryPromise = api.get('users/directory')
      .then((answer) => (answer && Array.isArray(answer.data) ? answer.data : fallback))
      .catch(() => fallback);
  }
  return directoryPromise;
}

/** Each user's team by id (for the "team" permission scope). */
export async function teamsById() {
  return new Map((await directory()).map((user) => [String(user.id), user.team || null]));
}

/**
 * Whether the caller may `action` (write, delete) a `resource` record owned by `ownerId`:
 * resolves to a boolean (the team scope needs the owner's team from the directory).
 */
export async function mayChange(resource, action, ownerId) {
  if (session.scope(resource, action) !== 'team') return session.may(resource, action, ownerId);
  const teams = await teamsById();
  return session.may(resource, action, ownerId, (id) => teams.get(String(id)) || null);
}

/** Forgets the cached directory (after a user was created or changed). */
export function directoryChanged() { directoryPromise = null; }

const option = (user) => ({ value: String(user.id), label: user.name || `user #${user.id}` });

/**
 * Users a record may be assigned to, as [{value, label}]: administrators everybody
 * enabled, managers the enabled users of their team, others themselves.
 */
export async function userOptions() {
  const me = session.user();
  if (!me) return [];
  const users = (await directory()).filter((user) => !user.disabled);
  if (me.role === 'admin') return users.map(option);
  if (me.role === 'manager' && me.team) {
    return users.filter((user) => user.team === me.team || user.id === me.id).map(option);
  }
  return users.filter((user) => user.id === me.id).map(option)
    .concat(users.some((user) => user.id === me.id) ? [] : [{ value: String(me.id), label: me.name || me.email }]);
}

/** Options of an owner filter: "Me" (the API's owner_id=me), then every other user. */
export async function ownerFilterOptions() {
  const me = session.user();
  const others = (await directory()).filter((user) => !me || user.id !== me.id).map(option);
  return [{ value: 'me', label: 'Me' }, ...others];
}

/** A user's display name, or "user #id" when unknown. */
export async function userName(id) {
  if (id === null || id === undefined || id === '') return '';
  const me = session.user();
  if (me && String(me.id) === String(id)) return me.name || me.email;
  const found = (await directory()).find((user) => String(user.id) === String(id));
  return found ? found.name : `user #${id}`;
}

/** Companies as [{value, label}] for company pickers (the first 500 by name). */
export function companyOptions() {
  if (!companiesPromise) {
    companiesPromise = api.get('companies', { query: { limit: 500, sort: 'name' } })
      .then((page) => page.data || [])
      .catch(() => []);
  }
  return companiesPromise.then((companies) => {
    for (const company of companies) companyNames.set(String(company.id), company.name);
    return companies.map((c) => ({ value: String(c.id), label: c.name }));
  });
}

/**
 * Companies whose name, domain or industry match `text` (the first ones by name when it
 * is empty), for a type-ahead picker: [{value, label, detail}], the detail telling
 * companies of the same name apart (domain, industry, owner, id).
 */
export async function searchCompanies(text) {
  const query = text ? { q: text, limit: 20 } : { sort: 'name', limit: 20 };
  const page = await api.get('companies', { query });
  const companies = page.data || [];
  return Promise.all(companies.map(async (company) => {
    companyNames.set(String(company.id), company.name);
    const owner = company.owner_id ? `owner ${await userName(company.owner_id)}` : null;
    return {
      value: String(company.id),
      label: company.name,
      detail: [company.domain, company.industry, owner, `#${company.id}`].filter(Boolean).join(' · '),
    };
  }));
}

/** Forgets cached companies (after one was created, renamed or deleted). */
export function companiesChanged() { companiesPromise = null; companyNames.clear(); }

/** A company's name, fetched once when it is not in the cached list. */
export async function companyName(id) {
  if (id === null || id === undefined) return '';
  const key = String(id);
  if (!companyNames.has(key)) await companyOptions();
  if (!companyNames.has(key)) {
    try {
      const company = await api.get(`companies/${encodeURIComponent(key)}`);
      companyNames.set(key, company.name);
    } catch {
      companyNames.set(key, `company #${key}`);
    }
  }
  return companyNames.get(key);
}

/** A contact's display name: its name, else its email, else "Contact #id". */
export function contactDisplayName(contact) {
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(' ');
  return name || contact.email || `Contact #${contact.id}`;
}

/** Remembers contacts already loaded (a list page) so that contactName() need not ask. */
export function rememberContacts(contacts) {
  for (const contact of contacts || []) {
    contactNames.set(String(contact.id), Promise.resolve(contactDisplayName(contact)));
  }
}

/** A contact's display name, fetched once per session. */
export function contactName(id) {
  if (id === null || id === undefined) return Promise.resolve('');
  const key = String(id);
  if (!contactNames.has(key)) {
    contactNames.set(key, api.get(`contacts/${encodeURIComponent(key)}`)
      .then(contactDisplayName)
      .catch(() => `contact #${key}`));
  }
  return contactNames.get(key);
}

/** Forgets a contact's cached name (after it was renamed). */
export function contactChanged(id) { contactNames.delete(String(id)); }

/** A span that shows `placeholder` until the async `lookup` resolves to a name. */
export function asyncName(lookup, id, placeholder = '') {
  const span = document.createElement('span');
  span.textContent = placeholder;
  if (id !== null && id !== undefined) {
    lookup(id).then((name) => { span.textContent = name; }).catch(() => {});
  }
  return span;
}

/** A link to a contact's page showing its name once known. */
export function contactLink(id) {
  const link = document.createElement('a');
  link.href = `#/contacts/${encodeURIComponent(id)}`;
  link.append(asyncName(contactName, id, `#${id}`));
  return link;
}
