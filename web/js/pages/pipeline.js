// pipeline.js - the pipeline board: opportunities as cards (ui/deal-card.js) in one column
// per stage (lead, qualified, proposal, negotiation, won, lost) with each column's count,
// total and weighted total from GET pipeline. Each column loads its own pages of cards
// ("Show more"); the closed columns, won and lost, start collapsed. A card moves to another
// stage by dragging it onto a column or with its "Move to" list and Move button: PATCH
// with If-Match; a move to lost asks for the reason (lost_reason) first; a 412 says that
// someone else changed the card and reloads it; the totals are fetched again after every
// move. Only cards the caller may change can move. Filters: owner and expected close
// period, remembered per user between visits.

import { api } from '../api.js';
import { ownerFilterOptions, teamsById } from '../directory.js';
import { h, notice, replaceChildren, uid } from '../dom.js';
import { capitalize, formatAmounts, formatNumber, localDay, plural } from '../format.js';
import * as session from '../session.js';
import { STAGES, askLostReason, dealCard } from '../ui/deal-card.js';
import { readableFieldError } from '../ui/wording.js';
import { canWrite } from './contact-work.js';

const COLUMN_PAGE = 25; // cards a column loads at a time
const CLOSED = new Set(['won', 'lost']); // columns collapsed until opened

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


/** The board's filters as last chosen by this user (localStorage), or the defaults. */
function savedFilters() {
  const me = session.user();
  try {
    const saved = JSON.parse(window.localStorage.getItem(`crm.pipeline.${me ? me.id : 0}`) || '{}');
    return { owner: String(saved.owner || ''), period: PERIODS.some((p) => p.value === saved.period) ? saved.period : '' };
  } catch {
    return { owner: '', period: '' };
  }
}

function saveFilters(filters) {
  const me = session.user();
  try {
    window.localStorage.setItem(`crm.pipeline.${me ? me.id : 0}`, JSON.stringify(filters));
  } catch { /* private mode: the filters last this visit only */ }
}

/** The owner and period selects, set from and writing to `filters`; `onChange()` after a change. */
function boardFilters(filters, onChange) {
  const ownerId = uid('board-owner');
  const owner = h('select', { id: ownerId }, h('option', { value: '', text: 'Anyone' }));
  ownerFilterOptions().then((options) => {
    for (const option of options) owner.append(h('option', { value: option.value, text: option.label }));
    owner.value = filters.owner;
    if (owner.value !== filters.owner) { filters.owner = ''; owner.value = ''; onChange(); } // gone since
  }).catch(() => {});
  owner.addEventListener('change', () => { filters.owner = owner.value; onChange(); });
  const periodId = uid('board-period');
  const period = h('select', { id: periodId }, PERIODS.map((p) => h('option', { value: p.value, text: p.label })));
  period.value = filters.period;
  period.addEventListener('change', () => { filters.period = period.value; onChange(); });
  return h('div', { class: 'board-filters', role: 'search', 'aria-label': 'Filter the board' },
    h('div', { class: 'field' }, h('label', { for: ownerId, text: 'Owner' }), owner),
    h('div', { class: 'field' }, h('label', { for: periodId, text: 'Expected close' }), period));
}

/**
 * One stage's column: heading with count, totals, card list, "Show more" and, for closed
 * stages, a button that opens and closes it. handlers: onDrop(id), onMore(), onToggle().
 */
function boardColumn(stage, handlers) {
  const headingId = uid(`column-${stage}`);
  const list = h('ul', { class: 'card-list', 'aria-labelledby': headingId });
  const totals = h('p', { class: 'column-totals' });
  const count = h('span', { class: 'column-count' });
  const more = h('button', { type: 'button', class: 'button secondary small show-more', hidden: true, text: 'Show more' });
  more.addEventListener('click', handlers.onMore);
  const toggle = CLOSED.has(stage)
    ? h('button', { type: 'button', class: 'button secondary small column-toggle', 'aria-expanded': 'false', text: 'Show cards' }) : null;
  if (toggle) toggle.addEventListener('click', handlers.onToggle);
  const column = h('section', { class: `board-column column-${stage}`, dataset: { stage }, 'aria-labelledby': headingId },
    h('h2', { id: headingId }, h('span', { text: capitalize(stage) }), count), totals, toggle, list, more);
  column.addEventListener('dragover', (event) => {
    if (!handlers.dragging()) return;
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
    handlers.onDrop(event.dataTransfer.getData('text/plain'));
  });
  return {
    stage, column, list, totals, count, more, toggle,
    open: !CLOSED.has(stage), cursor: null, loaded: 0, total: null, seq: 0,
  };
}

/** What a 412 on a move says: someone else changed the card (now `fresh`, or gone). */
function conflictNotice(opportunity, fresh) {
  return h('div', { class: 'notice notice-error conflict', role: 'alert' },
    h('p', { text: `Someone else changed “${opportunity.name}” since the board was loaded, so it was not moved.` }),
    h('p', { text: fresh ? `The card was reloaded: it is now in ${capitalize(fresh.stage)}. Move it again if you still want to.` : 'It no longer exists.' }));
}

/** What another failed move says. */
function moveErrorText(opportunity, error) {
  if (error.isForbidden) return `You may not move “${opportunity.name}” (it is not yours).`;
  if (error.isValidation) {
    return `Not moved: ${(error.errors || []).map((e) => readableFieldError(e.field, e.message)).join('; ') || error.message}`;
  }
  return `Not moved: ${error.message}`;
}

/*
 * The board's working parts share one context: ctx = {state: {cards (id -> {opportunity,
 * card}), seq, dragged, teams}, columns (stage -> column), filters, focusId,
 * showMessage(node), status, board (aria-busy while loading)}.
 */

/** The API query of the board's filters. */
function filterQuery(filters) {
  const range = periodRange(filters.period);
  return { owner_id: filters.owner || undefined, expected_close_from: range.from || undefined, expected_close_to: range.to || undefined };
}

/** How to move a card, in words that do not assume a mouse. */
function moveHint() {
  if (!canWrite('opportunities')) return '';
  const pointer = window.matchMedia && window.matchMedia('(pointer: fine)').matches;
  return pointer ? ' Move a card with its “Move to” list, or drag it to another column.' : ' Move a card with its “Move to” list.';
}

/** A card for `opportunity`, movable when the caller may change it. */
function renderCard(ctx, opportunity) {
  const { state } = ctx;
  const movable = session.may('opportunities', 'write', opportunity.owner_id, (id) => (state.teams ? state.teams.get(String(id)) : null));
  return dealCard(opportunity, {
    movable,
    onMove: (stage) => move(ctx, opportunity.id, stage),
    onDragStart: () => { state.dragged = String(opportunity.id); },
    onDragEnd: () => {
      state.dragged = null;
      for (const { column } of ctx.columns.values()) column.classList.remove('drop-target');
    },
  });
}

/** Puts (or replaces) the card of `opportunity` in its stage's column: on top, or last for a page. */
function place(ctx, opportunity, atEnd = false) {
  const previous = ctx.state.cards.get(opportunity.id);
  const card = renderCard(ctx, opportunity);
  ctx.state.cards.set(opportunity.id, { opportunity, card });
  if (previous) previous.card.remove();
  const target = ctx.columns.get(opportunity.stage);
  if (target) {
    if (atEnd) target.list.append(card); else target.list.prepend(card);
  }
  return card;
}

/** A column's "Show more" and toggle follow what it has loaded and its total. */
function updateColumn(target) {
  const shown = target.list.children.length;
  const left = target.total === null ? null : Math.max(0, target.total - shown);
  target.more.hidden = !target.open || !target.cursor;
  target.more.textContent = left ? `Show more (${formatNumber(left)} left)` : 'Show more';
  if (target.toggle) {
    target.toggle.hidden = !target.open && target.total === 0; // nothing to show
    target.toggle.setAttribute('aria-expanded', String(target.open));
    target.toggle.textContent = target.open ? 'Hide cards'
      : `Show ${target.total === null ? 'cards' : plural(target.total, 'card')}`;
  }
}

/** Takes a column's cards off the board. */
function clearColumn(ctx, target) {
  for (const item of [...target.list.children]) { ctx.state.cards.delete(Number(item.dataset.id)); item.remove(); }
}

/** Opens a closed column (loading its first page) or closes it again. */
function setOpen(ctx, target, open) {
  target.open = open;
  if (open) {
    loadColumn(ctx, target, false);
    return;
  }
  target.seq += 1;
  clearColumn(ctx, target);
  target.cursor = null;
  updateColumn(target);
}

/** Loads a column's first page (replacing its cards) or, with `append`, its next one. */
async function loadColumn(ctx, target, append) {
  const seq = ++target.seq;
  target.more.disabled = true;
  const sort = CLOSED.has(target.stage) ? '-closed_at' : 'expected_close';
  try {
    const page = await api.get('opportunities', {
      query: { ...filterQuery(ctx.filters), stage: target.stage, sort, limit: COLUMN_PAGE, cursor: append ? target.cursor : undefined },
    });
    if (seq !== target.seq) return;
    if (!append) clearColumn(ctx, target);
    for (const opportunity of page.data || []) place(ctx, opportunity, true);
    target.cursor = page.next_cursor || null;
    updateColumn(target);
  } catch (error) {
    if (seq !== target.seq) return;
    ctx.showMessage(notice('error', error.isForbidden ? 'You may not see the pipeline.' : `Could not load the ${target.stage} cards: ${error.message}`));
  } finally {
    if (seq === target.seq) target.more.disabled = false;
  }
}

/** Moves card `id` to `stage` (asking why first for lost); see the top of the file. */
async function move(ctx, id, stage) {
  const entry = ctx.state.cards.get(id);
  if (!entry || entry.opportunity.stage === stage) return;
  const { opportunity } = entry;
  const body = { stage };
  if (stage === 'lost') {
    const reason = await askLostReason(opportunity);
    if (reason === null) {
      entry.card.resetMove();
      entry.card.querySelector('.move-select')?.focus();
      ctx.showMessage(notice('info', `“${opportunity.name}” was not moved.`));
      return;
    }
    body.lost_reason = reason;
  }
  try {
    const response = await api.patch(`opportunities/${id}`, body, { ifMatch: opportunity.version });
    const card = place(ctx, response.data);
    card.classList.add('moved');
    card.querySelector('.move-select')?.focus();
    ctx.showMessage(notice('success', `Moved “${opportunity.name}” to ${capitalize(stage)}.`));
    loadTotals(ctx);
  } catch (error) {
    if (error.isConflict) {
      let fresh = null;
      try { fresh = (await api.getRecord(`opportunities/${id}`)).data; } catch { /* gone or hidden */ }
      if (fresh) place(ctx, fresh).classList.add('moved');
      else { entry.card.remove(); ctx.state.cards.delete(id); }
      ctx.showMessage(conflictNotice(opportunity, fresh));
      loadTotals(ctx);
    } else {
      place(ctx, opportunity); // back where it was
      ctx.showMessage(notice('error', moveErrorText(opportunity, error)));
    }
  }
}

/** Each column's count and totals, and the status line, from GET pipeline. */
async function loadTotals(ctx) {
  try {
    const pipeline = await api.get('pipeline', { query: filterQuery(ctx.filters) });
    const all = (pipeline.stages || []).reduce((n, stage) => n + stage.count, 0);
    ctx.status.textContent = all === 0 ? 'No opportunities match.' : `${plural(all, 'opportunity', 'opportunities')}.${moveHint()}`;
    for (const stage of pipeline.stages || []) {
      const target = ctx.columns.get(stage.stage);
      if (!target) continue;
      target.count.textContent = formatNumber(stage.count);
      replaceChildren(target.totals,
        h('strong', { class: 'total', text: formatAmounts(stage, 'amount_cents', pipeline.currency) }),
        ' total · ', h('span', { class: 'weighted', text: formatAmounts(stage, 'weighted_amount_cents', pipeline.currency) }), ' weighted');
      target.column.dataset.count = String(stage.count);
      target.total = stage.count;
      updateColumn(target);
    }
  } catch (error) {
    ctx.showMessage(notice('error', `Could not load the totals: ${error.message}`));
  }
}

/** Shows the card of ?focus=id (from a contact's page) wherever it is, opening its column. */
async function showFocused(ctx) {
  const { focusId } = ctx;
  let opportunity = ctx.state.cards.get(focusId)?.opportunity;
  if (!opportunity) {
    try { opportunity = (await api.getRecord(`opportunities/${focusId}`)).data; } catch { return; }
  }
  const target = ctx.columns.get(opportunity.stage);
  if (target && !target.open) { target.open = true; await loadColumn(ctx, target, false); }
  const card = ctx.state.cards.has(focusId) ? ctx.state.cards.get(focusId).card : place(ctx, opportunity);
  card.classList.add('focused');
  card.scrollIntoView({ block: 'center' });
}

/** (Re)loads the board for the current filters: totals, and the open columns' first pages. */
async function load(ctx) {
  const { state } = ctx;
  const seq = ++state.seq;
  ctx.board.setAttribute('aria-busy', 'true'); // until the open columns have their cards
  ctx.status.textContent = 'Loading…';
  ctx.showMessage(null);
  for (const target of ctx.columns.values()) {
    target.seq += 1;
    target.cursor = null;
    target.total = null;
    clearColumn(ctx, target);
    updateColumn(target);
  }
  try {
    if (!state.teams && session.scope('opportunities', 'write') === 'team') state.teams = await teamsById();
  } catch { /* cards of the team then do not offer moves; the server decides anyway */ }
  if (seq !== state.seq) return;
  loadTotals(ctx);
  await Promise.all([...ctx.columns.values()].filter((target) => target.open).map((target) => loadColumn(ctx, target, false)));
  if (seq !== state.seq) return;
  ctx.board.removeAttribute('aria-busy');
  if (ctx.focusId) showFocused(ctx);
}

export function pipelinePage(params, routeQuery) {
  const messages = h('div', { class: 'board-messages', 'aria-live': 'polite' });
  const ctx = {
    state: { cards: new Map(), seq: 0, dragged: null, teams: null },
    columns: new Map(),
    filters: savedFilters(),
    focusId: routeQuery && routeQuery.focus ? Number(routeQuery.focus) : 0,
    showMessage: (node) => replaceChildren(messages, node || ''),
    status: h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' }),
    board: h('div', { class: 'board' }),
  };
  const { board } = ctx;
  for (const stage of STAGES) {
    const target = boardColumn(stage, {
      dragging: () => Boolean(ctx.state.dragged),
      onDrop: (id) => {
        const dragged = id || ctx.state.dragged;
        ctx.state.dragged = null;
        if (dragged) move(ctx, Number(dragged), stage);
      },
      onMore: () => loadColumn(ctx, target, true),
      onToggle: () => setOpen(ctx, target, !target.open),
    });
    ctx.columns.set(stage, target);
    board.append(target.column);
  }
  const filterArea = boardFilters(ctx.filters, () => { saveFilters(ctx.filters); load(ctx); });
  load(ctx);
  return h('section', { class: 'pipeline-page' },
    h('h1', { tabindex: '-1', text: 'Pipeline' }),
    filterArea, messages, ctx.status, board);
}
