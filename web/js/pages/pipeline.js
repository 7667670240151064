// pipeline.js - the pipeline board: opportunities as cards in one column per stage (lead,
// qualified, proposal, negotiation, won, lost) with each column's count, total and
// weighted total from GET pipeline. A card moves to another stage by dragging it onto a
// column (HTML5 drag and drop) or with its "Move to" list and Move button (keyboard; the
// list alone saves nothing): PATCH with If-Match; a move to lost asks for the reason
// (lost_reason) first; a 412 says that someone else changed the card and reloads it; the totals are
// fetched again after every move. Filters: owner and expected close period.

import { api } from '../api.js';
import { asyncName, contactName, ownerFilterOptions, teamsById, userName } from '../directory.js';
import { h, notice, replaceChildren, uid } from '../dom.js';
import { capitalize, formatAmounts, formatDate, formatMoney, formatNumber, localDay } from '../format.js';
import * as session from '../session.js';
import { readableFieldError } from '../ui/wording.js';
import { STAGES, canWrite } from './contact-work.js';

const MAX_CARDS = 2000; // opportunities loaded onto one board (4 pages of 500)

/** The expected-close periods of the filter: value -> {from, to} (local days). */
function periodRange(value, today = new Date()) {
  const y = today.getFullYear();
  const m = today.getMonth();
  const day = (date) => localDay(date);
  switch (value) {
  case 'this-month': return { from: day(new Date(y, m, 1)), to: day(new Date(y, m + 1, 0)) };
  case 'next-month': return { from: day(new Date(y, m + 1, 1)), to: day(new Date(y, m + 2, 0)) };
  case 'this-quarter': {
    const q = Math.floor(m / 3) * 3;
    return { from: day(new Date(y, q, 1)), to: day(new Date(y, q + 3, 0)) };
  }
  case 'next-90-days': return { from: day(today), to: day(new Date(y, m, today.getDate() + 90)) };
  case 'past': return { from: null, to: day(new Date(y, m, today.getDate() - 1)) };
  default: return { from: null, to: null };
  }
}

const PERIODS = [
  { value: '', label: 'Any time' },
  { value: 'this-month', label: 'This month' },
  { value: 'next-month', label: 'Next month' },
  { value: 'this-quarter', label: 'This quarter' },
  { value: 'next-90-days', label: 'Next 90 days' },
  { value: 'past', label: 'Already past' },
];

/**
 * Asks why `opportunity` was lost, in a modal dialog: resolves to the reason (text, not
 * empty) or null when the user cancels.
 */
function askLostReason(opportunity) {
  return new Promise((resolve) => {
    const inputId = uid('lost-reason');
    const errorId = `${inputId}-error`;
    const titleId = uid('lost-title');
    const input = h('textarea', { id: inputId, rows: 3, required: true, maxlength: 500, 'aria-describedby': errorId });
    const error = h('p', { class: 'field-error', id: errorId, hidden: true, text: 'Say why the deal was lost.' });
    const cancel = h('button', { type: 'button', class: 'button secondary', text: 'Cancel' });
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: titleId, text: `Why was “${opportunity.name}” lost?` }),
      h('div', { class: 'field' }, h('label', { for: inputId, class: 'required', text: 'Reason lost' }), input, error),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button danger', text: 'Mark as lost' }), cancel));
    const dialog = h('dialog', { class: 'lost-dialog', 'aria-labelledby': titleId }, form);
    let answer = null;
    form.addEventListener('submit', (event) => {
      const reason = input.value.trim();
      if (reason === '') {
        event.preventDefault();
        error.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      answer = reason;
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

export function pipelinePage(params, routeQuery) {
  const focusId = routeQuery && routeQuery.focus ? Number(routeQuery.focus) : 0;
  const state = { owner: '', period: '', cards: new Map(), seq: 0, dragged: null, teams: null };
  const messages = h('div', { class: 'board-messages', 'aria-live': 'polite' });
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const columns = new Map();
  const board = h('div', { class: 'board' });

  // ---- filters
  const ownerId = uid('board-owner');
  const owner = h('select', { id: ownerId }, h('option', { value: '', text: 'Anyone' }));
  ownerFilterOptions().then((options) => {
    for (const option of options) owner.append(h('option', { value: option.value, text: option.label }));
  }).catch(() => {});
  owner.addEventListener('change', () => { state.owner = owner.value; load(); });
  const periodId = uid('board-period');
  const period = h('select', { id: periodId }, PERIODS.map((p) => h('option', { value: p.value, text: p.label })));
  period.addEventListener('change', () => { state.period = period.value; load(); });
  const filters = h('div', { class: 'board-filters', role: 'search', 'aria-label': 'Filter the board' },
    h('div', { class: 'field' }, h('label', { for: ownerId, text: 'Owner' }), owner),
    h('div', { class: 'field' }, h('label', { for: periodId, text: 'Expected close' }), period));

  function filterQuery() {
    const range = periodRange(state.period);
    return { owner_id: state.owner || undefined, expected_close_from: range.from || undefined, expected_close_to: range.to || undefined };
  }

  // ---- columns, with drop handling
  for (const stage of STAGES) {
    const headingId = uid(`column-${stage}`);
    const list = h('ul', { class: 'card-list', 'aria-labelledby': headingId });
    const totals = h('p', { class: 'column-totals' });
    const count = h('span', { class: 'column-count' });
    const column = h('section', { class: `board-column column-${stage}`, dataset: { stage }, 'aria-labelledby': headingId },
      h('h2', { id: headingId }, h('span', { text: capitalize(stage) }), count), totals, list);
    column.addEventListener('dragover', (event) => {
      if (!state.dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'move';
      column.classList.add('drop-target');
    });
    column.addEventListener('dragleave', (event) => {
      if (!column.contains(event.relatedTarget)) column.classList.remove('drop-target');
    });
    column.addEventListener('drop', (event) => {
      event.preventDefault();
      column.classList.remove('drop-target');
      const id = event.dataTransfer.getData('text/plain') || state.dragged;
      state.dragged = null;
      if (id) move(Number(id), stage);
    });
    columns.set(stage, { column, list, totals, count });
    board.append(column);
  }

  // ---- cards
  function renderCard(opportunity) {
    const selectId = uid('move');
    const select = h('select', { id: selectId, class: 'move-select' },
      STAGES.map((stage) => h('option', { value: stage, text: capitalize(stage), selected: stage === opportunity.stage })));
    const moveButton = h('button', { type: 'button', class: 'button small move-button', text: 'Move', disabled: true });
    // Choosing in the list only picks the target (arrow keys pass through every stage):
    // the move is saved on an explicit choice, the Move button or Enter.
    select.addEventListener('change', () => { moveButton.disabled = select.value === opportunity.stage; });
    select.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      if (select.value !== opportunity.stage) move(opportunity.id, select.value);
    });
    moveButton.addEventListener('click', () => move(opportunity.id, select.value));
    // Only cards the caller may change can move (a rep's own deals, a manager's team's).
    const movable = session.may('opportunities', 'write', opportunity.owner_id, (id) => (state.teams ? state.teams.get(String(id)) : null));
    const card = h('li', {
      class: `deal-card stage-${opportunity.stage}`, draggable: movable ? 'true' : undefined, dataset: { id: opportunity.id, stage: opportunity.stage },
      'aria-label': `${opportunity.name}, ${formatMoney(opportunity.amount_cents, opportunity.currency)}`,
    },
    h('h3', { class: 'deal-name', text: opportunity.name }),
    h('p', { class: 'deal-amount', text: formatMoney(opportunity.amount_cents, opportunity.currency) }),
    h('p', { class: 'deal-owner' }, 'Owner: ', opportunity.owner_id ? asyncName(userName, opportunity.owner_id, `#${opportunity.owner_id}`) : 'nobody'),
    opportunity.expected_close ? h('p', { class: 'deal-close', text: `Close: ${formatDate(opportunity.expected_close)}` }) : null,
    opportunity.contact_id ? h('p', { class: 'deal-contact' }, 'With ', h('a', { href: `#/contacts/${opportunity.contact_id}` },
      asyncName(contactName, opportunity.contact_id, `#${opportunity.contact_id}`))) : null,
    movable ? h('div', { class: 'field move-field' }, h('label', { for: selectId, text: 'Move to…' }),
      h('div', { class: 'move-row' }, select, moveButton)) : null);
    card.addEventListener('dragstart', (event) => {
      state.dragged = String(opportunity.id);
      event.dataTransfer.setData('text/plain', String(opportunity.id));
      event.dataTransfer.effectAllowed = 'move';
      card.classList.add('dragging');
    });
    card.addEventListener('dragend', () => {
      card.classList.remove('dragging');
      state.dragged = null;
      for (const { column } of columns.values()) column.classList.remove('drop-target');
    });
    return card;
  }

  /** Puts (or replaces) the card of `opportunity` in its stage's column. */
  function place(opportunity) {
    const previous = state.cards.get(opportunity.id);
    const card = renderCard(opportunity);
    state.cards.set(opportunity.id, { opportunity, card });
    if (previous) previous.card.remove();
    const target = columns.get(opportunity.stage);
    if (target) target.list.prepend(card);
    return card;
  }

  function showMessage(node) { replaceChildren(messages, node || ''); }

  /** Puts a card's "Move to" list back on the card's stage (a move was cancelled). */
  function resetMoveSelect(id) {
    const entry = state.cards.get(id);
    const select = entry && entry.card.querySelector('.move-select');
    if (!select) return;
    select.value = entry.opportunity.stage;
    entry.card.querySelector('.move-button').disabled = true;
  }

  async function move(id, stage) {
    const entry = state.cards.get(id);
    if (!entry || entry.opportunity.stage === stage) return;
    const { opportunity } = entry;
    const body = { stage };
    if (stage === 'lost') {
      const reason = await askLostReason(opportunity);
      if (reason === null) {
        resetMoveSelect(id);
        entry.card.querySelector('.move-select')?.focus();
        showMessage(notice('info', `“${opportunity.name}” was not moved.`));
        return;
      }
      body.lost_reason = reason;
    }
    try {
      const response = await api.patch(`opportunities/${id}`, body, { ifMatch: opportunity.version });
      const card = place(response.data);
      card.classList.add('moved');
      card.querySelector('.move-select')?.focus();
      showMessage(notice('success', `Moved “${opportunity.name}” to ${capitalize(stage)}.`));
      loadTotals();
    } catch (error) {
      if (error.isConflict) {
        let fresh = null;
        try { fresh = (await api.getRecord(`opportunities/${id}`)).data; } catch { /* gone or hidden */ }
        if (fresh) place(fresh).classList.add('moved');
        else { entry.card.remove(); state.cards.delete(id); }
        showMessage(h('div', { class: 'notice notice-error conflict', role: 'alert' },
          h('p', { text: `Someone else changed “${opportunity.name}” since the board was loaded, so it was not moved.` }),
          h('p', { text: fresh ? `The card was reloaded: it is now in ${capitalize(fresh.stage)}. Move it again if you still want to.` : 'It no longer exists.' })));
        loadTotals();
      } else {
        place(opportunity); // back where it was
        let text = `Not moved: ${error.message}`;
        if (error.isForbidden) text = `You may not move “${opportunity.name}” (it is not yours).`;
        else if (error.isValidation) text = `Not moved: ${(error.errors || []).map((e) => readableFieldError(e.field, e.message)).join('; ') || error.message}`;
        showMessage(notice('error', text));
      }
    }
  }

  // ---- loading
  async function loadTotals() {
    try {
      const pipeline = await api.get('pipeline', { query: filterQuery() });
      for (const stage of pipeline.stages || []) {
        const target = columns.get(stage.stage);
        if (!target) continue;
        target.count.textContent = formatNumber(stage.count);
        replaceChildren(target.totals, 
          h('strong', { class: 'total', text: formatAmounts(stage, 'amount_cents', pipeline.currency) }),
          ' total · ', h('span', { class: 'weighted', text: formatAmounts(stage, 'weighted_amount_cents', pipeline.currency) }), ' weighted');
        target.column.dataset.count = String(stage.count);
      }
    } catch (error) {
      showMessage(notice('error', `Could not load the totals: ${error.message}`));
    }
  }

  async function load() {
    const seq = ++state.seq;
    status.textContent = 'Loading…';
    const query = { ...filterQuery(), limit: 500, sort: 'expected_close' };
    loadTotals();
    try {
      if (!state.teams && session.scope('opportunities', 'write') === 'team') state.teams = await teamsById();
      const rows = [];
      let cursor = null;
      do {
        const page = await api.get('opportunities', { query: { ...query, cursor: cursor || undefined } });
        if (seq !== state.seq) return;
        rows.push(...(page.data || []));
        cursor = page.next_cursor;
      } while (cursor && rows.length < MAX_CARDS);
      state.cards.clear();
      for (const { list } of columns.values()) replaceChildren(list);
      for (const opportunity of rows.reverse()) place(opportunity); // place() prepends
      status.textContent = rows.length === 0 ? 'No opportunities match.'
        : `${rows.length}${cursor ? '+' : ''} opportunities.${canWrite('opportunities') ? ' Drag a card to another column, or use its “Move to” list.' : ''}`;
      if (focusId && state.cards.has(focusId)) {
        const card = state.cards.get(focusId).card;
        card.classList.add('focused');
        card.scrollIntoView({ block: 'center' });
      }
    } catch (error) {
      if (seq !== state.seq) return;
      status.textContent = '';
      showMessage(notice('error', error.isForbidden ? 'You may not see the pipeline.' : `Could not load the board: ${error.message}`));
    }
  }
  load();
  return h('section', { class: 'pipeline-page' },
    h('h1', { tabindex: '-1', text: 'Pipeline' }),
    filters, messages, status, board);
}
