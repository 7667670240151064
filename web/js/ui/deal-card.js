// deal-card.js - one opportunity as a card of the pipeline board (name, amount, owner,
// expected close, contact) with, when the caller may move it, a "Move to" list and a Move
// button: choosing in the list saves nothing (arrow keys pass through every stage), Enter
// or the button does. Also the dialog that asks why a deal was lost.

import { asyncName, contactName, userName } from '../directory.js';
import { h, uid } from '../dom.js';
import { capitalize, formatDate, formatMoney } from '../format.js';
import { enumValues } from '../meta.js';

/** The stages of an opportunity, in order, as the server has them (GET meta). */
export const STAGES = enumValues('opportunities', 'stage');

/**
 * An <li> for `opportunity`. options: movable (offer the move controls and dragging),
 * onMove(stage) on an explicit choice, onDragStart(), onDragEnd().
 */
export function dealCard(opportunity, options) {
  const selectId = uid('move');
  const select = h('select', { id: selectId, class: 'move-select' },
    STAGES.map((stage) => h('option', { value: stage, text: capitalize(stage), selected: stage === opportunity.stage })));
  const moveButton = h('button', { type: 'button', class: 'button small move-button', text: 'Move', disabled: true });
  select.addEventListener('change', () => { moveButton.disabled = select.value === opportunity.stage; });
  select.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    if (select.value !== opportunity.stage) options.onMove(select.value);
  });
  moveButton.addEventListener('click', () => options.onMove(select.value));
  const amount = formatMoney(opportunity.amount_cents, opportunity.currency);
  const card = h('li', {
    class: `deal-card stage-${opportunity.stage}`, draggable: options.movable ? 'true' : undefined,
    dataset: { id: opportunity.id, stage: opportunity.stage }, 'aria-label': `${opportunity.name}, ${amount}`,
  },
  h('h3', { class: 'deal-name', text: opportunity.name }),
  h('p', { class: 'deal-amount', text: amount }),
  h('p', { class: 'deal-owner' }, 'Owner: ', opportunity.owner_id ? asyncName(userName, opportunity.owner_id, `#${opportunity.owner_id}`) : 'nobody'),
  opportunity.expected_close ? h('p', { class: 'deal-close', text: `Close: ${formatDate(opportunity.expected_close)}` }) : null,
  opportunity.contact_id ? h('p', { class: 'deal-contact' }, 'With ', h('a', { href: `#/contacts/${opportunity.contact_id}` },
    asyncName(contactName, opportunity.contact_id, `#${opportunity.contact_id}`))) : null,
  options.movable ? h('div', { class: 'field move-field' }, h('label', { for: selectId, text: 'Move to…' }),
    h('div', { class: 'move-row' }, select, moveButton)) : null);
  card.addEventListener('dragstart', (event) => {
    event.dataTransfer.setData('text/plain', String(opportunity.id));
    event.dataTransfer.effectAllowed = 'move';
    card.classList.add('dragging');
    options.onDragStart();
  });
  card.addEventListener('dragend', () => {
    card.classList.remove('dragging');
    options.onDragEnd();
  });
  /** Puts the "Move to" list back on the card's stage (a move was cancelled). */
  card.resetMove = () => {
    select.value = opportunity.stage;
    moveButton.disabled = true;
  };
  return card;
}

/**
 * Asks why `opportunity` was lost, in a modal dialog: resolves to the reason (text, not
 * empty) or null when the user cancels.
 */
export function askLostReason(opportunity) {
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
