// lookup.js - a type-ahead picker (the ARIA combobox pattern) for fields whose choices are
// too many for a list, such as a contact's company: typing asks spec.search(text) for the
// matches, each shown with what tells look-alikes apart (spec.search gives a detail line,
// e.g. domain, owner and id). Arrow keys move through the matches, Enter or a click
// picks one, Escape closes the list; emptying the text clears the choice, and leaving
// with text that was not picked puts the current choice back.
//
// lookupInput(spec: {label, search(text) -> Promise<[{value, label, detail}]>,
//   labelFor(value) -> Promise<label>, placeholder}, initial value, input attributes)
//   -> {element, input, value()}

import { debounce, h, uid } from '../dom.js';

/** The list items of `options` (or a line saying there are none); `choose(option)` on a click. */
function optionItems(options, choose) {
  if (!options) return [h('li', { class: 'lookup-empty', text: 'The search failed; try again.' })];
  if (options.length === 0) return [h('li', { class: 'lookup-empty', text: 'Nothing matches.' })];
  return options.map((option) => {
    const item = h('li', { id: uid('lookup-option'), role: 'option', class: 'lookup-option', 'aria-selected': 'false' },
      h('span', { class: 'lookup-label', text: option.label }),
      option.detail ? h('span', { class: 'lookup-detail', text: option.detail }) : null);
    item.addEventListener('mousedown', (event) => event.preventDefault()); // keep the focus
    item.addEventListener('click', () => choose(option));
    return item;
  });
}

export function lookupInput(spec, initial, attrs) {
  const listId = uid('lookup-list');
  const input = h('input', {
    ...attrs, type: 'text', role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false',
    'aria-controls': listId, placeholder: spec.placeholder || 'Type to search…', spellcheck: 'false',
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'lookup-list', hidden: true, 'aria-label': `${spec.label}: matches` });
  const status = h('span', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const state = { value: initial || '', label: '', options: [], active: -1, seq: 0 };

  if (state.value) {
    Promise.resolve(spec.labelFor(state.value)).then((label) => {
      if (input.value === '' && document.activeElement !== input) input.value = label;
      state.label = label;
    }).catch(() => {});
  }

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    state.active = -1;
  }

  function highlight(index) {
    state.active = index;
    [...list.children].forEach((item, i) => item.setAttribute('aria-selected', String(i === index)));
    const item = list.children[index];
    if (item) {
      input.setAttribute('aria-activedescendant', item.id);
      item.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function choose(option) {
    state.value = String(option.value);
    state.label = option.label;
    input.value = option.label;
    close();
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  async function search() {
    const seq = ++state.seq;
    let options;
    try {
      options = await spec.search(input.value.trim());
    } catch {
      options = null;
    }
    if (seq !== state.seq || document.activeElement !== input) return;
    state.options = options || [];
    list.replaceChildren(...optionItems(options, choose));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    status.textContent = options ? `${options.length} match${options.length === 1 ? '' : 'es'}` : '';
    highlight(-1);
  }
  const searchSoon = debounce(search, 200);

  input.addEventListener('input', () => {
    if (input.value.trim() === '') { state.value = ''; state.label = ''; }
    searchSoon();
  });
  input.addEventListener('focus', () => { if (list.hidden) searchSoon(); });
  input.addEventListener('keydown', (event) => {
    const open = !list.hidden;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!open) { search(); return; }
      const count = state.options.length;
      if (count === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      highlight(state.active < 0 ? (step > 0 ? 0 : count - 1) : (state.active + step + count) % count);
    } else if (event.key === 'Enter' && open && state.active >= 0) {
      event.preventDefault();
      choose(state.options[state.active]);
    } else if (event.key === 'Escape' && open) {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  input.addEventListener('blur', () => {
    searchSoon.cancel();
    state.seq += 1;
    close();
    if (input.value.trim() !== '' && input.value !== state.label) input.value = state.label;
  });

  return {
    element: h('div', { class: 'lookup' }, input, list, status),
    input,
    value: () => state.value,
  };
}
