// directory.js - names for ids: users (owners) and companies, cached for the session so
// that lists can show "Ada Lovelace" rather than owner_id 7. Only admins may list users;
// everyone else knows themselves and whatever ids they meet.

import { api } from './api.js';
import * as session from './session.js';

let usersPromise = null;
let companiesPromise = null;
const companyNames = new Map();

session.onSessionChange(() => { usersPromise = null; companiesPromise = null; companyNames.clear(); });

/** Users as [{value, label}] for owner pickers (admins: everyone; others: themselves). */
export function userOptions() {
  if (!usersPromise) {
    const me = session.user();
    usersPromise = (session.isAdmin()
      ? api.get('users', { query: { limit: 500, sort: 'name' } }).then((page) => page.data || [])
      : Promise.resolve(me ? [me] : []))
      .catch(() => (me ? [me] : []));
  }
  return usersPromise.then((users) => users.map((u) => ({ value: String(u.id), label: u.name || u.email })));
}

/** Options of an owner filter: "Me" (the API's owner_id=me), then the users an admin sees. */
export async function ownerFilterOptions() {
  const me = session.user();
  const others = (await userOptions()).filter((option) => !me || option.value !== String(me.id));
  return [{ value: 'me', label: 'Me' }, ...others];
}

/** A user's display name, or "user #id" when unknown. */
export async function userName(id) {
  if (id === null || id === undefined) return '';
  const me = session.user();
  if (me && String(me.id) === String(id)) return me.name || me.email;
  const options = await userOptions();
  const found = options.find((option) => option.value === String(id));
  return found ? found.label : `user #${id}`;
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

/** A span that shows `placeholder` until the async `lookup` resolves to a name. */
export function asyncName(lookup, id, placeholder = '') {
  const span = document.createElement('span');
  span.textContent = placeholder;
  if (id !== null && id !== undefined) {
    lookup(id).then((name) => { span.textContent = name; }).catch(() => {});
  }
  return span;
}
