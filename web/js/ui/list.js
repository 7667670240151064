// list.js - the one list component behind every resource list (contacts, companies,
// users, and later ones): search-as-you-type (`q`), filters, sorting by column header,
// paging with next_cursor ("Load more"), and an optional create form.
//
// config: {
//   resource: 'contacts', title, singular, headingLevel: 'h1'|'h2', hideTitle (for screen
//   readers only, where a section heading already says it),
//   columns: [{key, label, sort: 'field' (sortable), cell(record) -> text|Node}],
//   search: {label, placeholder} | false,
//   filters: [{name, label, type: 'select'|'text', options: [...] | async () => [...]}],
//   query: {fixed query parameters, e.g. company_id},
//   href(record) -> '#/contacts/1',
//   create: {label, fields: [field specs], defaults: {record}, prepare(body) -> body,
//            onCreated(record), check(body) -> Promise<warning node | null>: asked before
//            saving; a warning stops the create until the user chooses "Create anyway"} | null,
//   pageSize: 25, emptyText,
//   location: {path: '/contacts', query} -- a page's list: search, filters and sort start
//             from the route's query and are written back to the URL as they change }

import { api } from '../api.js';
import { debounce, h, notice, uid } from '../dom.js';
import { replaceQuery } from '../router.js';
import { fieldSet } from './fields.js';

/** Renders the list into a new element and starts loading. Returns the element. */
export function resourceList(config) {
  const state = { q: '', filters: {}, sort: config.defaultSort || '', rows: [], next: null, seq: 0 };
  const fromUrl = (config.location && config.location.query) || {};
  if (config.location) {
    state.q = fromUrl.q || '';
    if (config.columns.some((column) => column.sort && [column.sort, `-${column.sort}`].includes(fromUrl.sort))) state.sort = fromUrl.sort;
    for (const filter of config.filters || []) if (fromUrl[filter.name]) state.filters[filter.name] = fromUrl[filter.name];
  }
  const heading = config.headingLevel || 'h1';
  const titleId = uid('list-title');
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const errorBox = h('div', { class: 'list-error' });
  const tbody = h('tbody');
  const headRow = h('tr');
  const loadMore = h('button', { type: 'button', class: 'button secondary', hidden: true, text: 'Load more' });
  const table = h('table', { class: 'data-table', 'aria-labelledby': titleId }, h('thead', {}, headRow), tbody);
  const createArea = h('div', { class: 'create-area' });

  // ---- column headers: a button per sortable column, aria-sort on the header cell.
  const headerCells = config.columns.map((column) => {
    const th = h('th', { scope: 'col' });
    if (column.sort) {
      const button = h('button', { type: 'button', class: 'sort-button', dataset: { sort: column.sort } },
        column.label, h('span', { class: 'sort-indicator', 'aria-hidden': 'true' }));
      button.addEventListener('click', () => {
        state.sort = state.sort === column.sort ? `-${column.sort}` : column.sort;
        updateSortHeaders();
        reload();
      });
      th.append(button);
    } else {
      th.textContent = column.label;
    }
    headRow.append(th);
    return { column, th };
  });

  function updateSortHeaders() {
    for (const { column, th } of headerCells) {
      if (!column.sort) continue;
      const indicator = th.querySelector('.sort-indicator');
      if (state.sort === column.sort) {
        th.setAttribute('aria-sort', 'ascending');
        indicator.textContent = ' ▲';
      } else if (state.sort === `-${column.sort}`) {
        th.setAttribute('aria-sort', 'descending');
        indicator.textContent = ' ▼';
      } else {
        th.removeAttribute('aria-sort');
        indicator.textContent = '';
      }
    }
  }

  // ---- search and filters
  const controls = h('div', { class: 'list-controls', role: 'search' });
  if (config.search !== false) {
    const id = uid('search');
    const input = h('input', {
      id, type: 'search', class: 'search-input', autocomplete: 'off',
      placeholder: (config.search && config.search.placeholder) || 'Name, email, …',
    });
    input.value = state.q;
    const debounced = debounce(() => { state.q = input.value.trim(); reload(); }, 250);
    input.addEventListener('input', debounced);
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') { debounced.cancel(); state.q = input.value.trim(); reload(); }
    });
    controls.append(h('div', { class: 'field field-search' },
      h('label', { for: id, text: (config.search && config.search.label) || 'Search' }), input));
  }
  for (const filter of config.filters || []) {
    const id = uid(`filter-${filter.name}`);
    let input;
    if (filter.type === 'select') {
      input = h('select', { id, name: filter.name }, h('option', { value: '', text: filter.anyLabel || 'Any' }));
      const fill = (options) => {
        for (const option of options) input.append(h('option', { value: String(option.value), text: option.label }));
        if (state.filters[filter.name]) input.value = state.filters[filter.name];
      };
      if (typeof filter.options === 'function') Promise.resolve(filter.options()).then(fill).catch(() => {});
      else fill(filter.options || []);
      input.addEventListener('change', () => { state.filters[filter.name] = input.value; reload(); });
    } else {
      input = h('input', { id, name: filter.name, type: 'text', autocomplete: 'off', placeholder: filter.placeholder });
      input.value = state.filters[filter.name] || '';
      const debounced = debounce(() => { state.filters[filter.name] = input.value.trim(); reload(); }, 300);
      input.addEventListener('input', debounced);
    }
    controls.append(h('div', { class: 'field field-filter' }, h('label', { for: id, text: filter.label }), input));
  }

  // ---- rows
  function renderRow(record) {
    const cells = config.columns.map((column, index) => {
      let content = column.cell ? column.cell(record) : record[column.key];
      if (content === null || content === undefined) content = '';
      if (index === 0 && config.href) {
        const text = content instanceof Node ? content : String(content) || `#${record.id}`;
        content = h('a', { href: config.href(record) }, text);
      }
      return h('td', { dataset: { label: column.label } }, content);
    });
    return h('tr', { dataset: { id: record.id } }, cells);
  }

  /** A page's list keeps its search, filters and sort in the URL. */
  function writeLocation() {
    if (!config.location) return;
    replaceQuery(config.location.path, { q: state.q, ...state.filters, sort: state.sort });
  }

  async function load(append) {
    const seq = ++state.seq;
    if (!append) writeLocation();
    const query = { ...(config.query || {}), limit: config.pageSize || 25 };
    if (state.q) query.q = state.q;
    if (state.sort) query.sort = state.sort;
    for (const [name, value] of Object.entries(state.filters)) if (value) query[name] = value;
    if (append && state.next) query.cursor = state.next;
    status.textContent = 'Loading…';
    loadMore.disabled = true;
    try {
      const page = await api.get(config.resource, { query });
      if (seq !== state.seq) return; // a newer search superseded this one
      errorBox.replaceChildren();
      const rows = page.data || [];
      if (!append) { state.rows = []; tbody.replaceChildren(); }
      state.rows.push(...rows);
      for (const record of rows) tbody.append(renderRow(record));
      state.next = page.next_cursor || null;
      loadMore.hidden = !state.next;
      table.hidden = state.rows.length === 0;
      const what = state.rows.length === 1 ? config.singular : config.title.toLowerCase();
      status.textContent = state.rows.length === 0
        ? (state.q || Object.values(state.filters).some(Boolean) ? `No ${config.title.toLowerCase()} match.` : config.emptyText || `No ${config.title.toLowerCase()} yet.`)
        : `${state.rows.length}${state.next ? '+' : ''} ${what} shown`;
    } catch (error) {
      if (seq !== state.seq) return;
      status.textContent = '';
      errorBox.replaceChildren(notice('error', error.isForbidden
        ? `You are not allowed to see ${config.title.toLowerCase()}.` : `Could not load ${config.title.toLowerCase()}: ${error.message}`));
    } finally {
      if (seq === state.seq) loadMore.disabled = false;
    }
  }
  const reload = () => load(false);
  loadMore.addEventListener('click', () => load(true));

  // ---- create form
  let createButton = null;
  if (config.create) {
    createButton = h('button', { type: 'button', class: 'button', 'aria-expanded': 'false', text: config.create.label });
    createButton.addEventListener('click', () => {
      if (createArea.firstChild) { closeCreate(); return; }
      openCreate();
    });
  }
  function closeCreate() {
    createArea.replaceChildren();
    createButton.setAttribute('aria-expanded', 'false');
    createButton.focus();
  }
  function openCreate() {
    const set = fieldSet(config.create.fields, config.create.defaults || null, 'create');
    const submit = h('button', { type: 'submit', class: 'button', text: `Create ${config.singular}` });
    const cancel = h('button', { type: 'button', class: 'button secondary', text: 'Cancel', onclick: closeCreate });
    const warningBox = h('div', { class: 'create-warning' });
    const form = h('form', { class: 'card create-form', novalidate: true, 'aria-label': config.create.label },
      h('h2', { text: config.create.label }), set.element, warningBox, h('div', { class: 'form-actions' }, submit, cancel));
    let acceptedWarning = null; // the body the user chose to create despite the warning
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      set.clearErrors();
      warningBox.replaceChildren();
      submit.disabled = true;
      try {
        let body = set.values();
        if (config.create.prepare) body = config.create.prepare(body);
        if (config.create.check && JSON.stringify(body) !== acceptedWarning) {
          const warning = await config.create.check(body).catch(() => null);
          if (warning) {
            const anyway = h('button', { type: 'button', class: 'button secondary', text: `Create ${config.singular} anyway` });
            anyway.addEventListener('click', () => { acceptedWarning = JSON.stringify(body); form.requestSubmit(submit); });
            warningBox.replaceChildren(h('div', { class: 'notice notice-warning', role: 'alert' }, warning, anyway));
            return;
          }
        }
        const record = await api.post(config.resource, body);
        if (config.create.onCreated) config.create.onCreated(record);
        else { closeCreate(); reload(); }
      } catch (error) {
        set.showErrors(error);
      } finally {
        submit.disabled = false;
      }
    });
    createArea.replaceChildren(form);
    createButton.setAttribute('aria-expanded', 'true');
    set.fields[0]?.focus();
  }

  updateSortHeaders();
  const element = h('section', { class: 'resource-list', dataset: { resource: config.resource } },
    h('div', { class: 'page-head' }, h(heading, { id: titleId, class: config.hideTitle ? 'visually-hidden' : undefined, tabindex: heading === 'h1' ? '-1' : undefined, text: config.title }), createButton),
    createArea, controls, errorBox, status, h('div', { class: 'table-wrap' }, table), loadMore);
  table.hidden = true;
  reload();
  element.reload = reload;
  return element;
}
