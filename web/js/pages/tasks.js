// tasks.js - the tasks page: every open task, grouped as overdue, today, this week (the next
// 7 days), later and without a due date, each with a "done" checkbox; a quick form to add
// one. Managers and administrators pick whose tasks they see (their team's people, or
// everybody's for an administrator); everyone else sees their own.

import { api } from '../api.js';
import { directory, userOptions } from '../directory.js';
import { h, notice, replaceChildren, uid } from '../dom.js';
import { replaceQuery } from '../router.js';
import { apiTimestamp, dayStart, fromLocalInput, plural, toLocalInput } from '../format.js';
import * as session from '../session.js';
import { disclosure, inlineForm } from '../ui/forms.js';
import { taskItem } from '../ui/tasks.js';
import { canWrite } from './contact-work.js';

const MAX_TASKS = 2000; // open tasks loaded onto the page (4 pages of 500)

const GROUPS = [
  { key: 'overdue', title: 'Overdue', empty: 'Nothing overdue.' },
  { key: 'today', title: 'Today', empty: 'Nothing else due today.' },
  { key: 'week', title: 'This week', empty: 'Nothing due in the next 7 days.' },
  { key: 'later', title: 'Later', empty: 'Nothing due later.' },
  { key: 'undated', title: 'No due date', empty: 'Every open task has a due date.' },
];

/** Which group a task belongs to: overdue, today, week (the next 7 days), later or undated. */
export function taskGroup(task, now = new Date()) {
  if (!task.due_at) return 'undated';
  const due = new Date(task.due_at);
  if (due < now) return 'overdue';
  if (due < dayStart(now, 1)) return 'today';
  if (due < dayStart(now, 8)) return 'week';
  return 'later';
}

/**
 * "3 open tasks, 1 overdue." for list items of tasks (open ones lack the "done" class);
 * `more` when not every open task was loaded.
 */
export function openTasksText(items, more = false) {
  const open = items.filter((item) => !item.classList.contains('done'));
  if (open.length === 0) return 'No open tasks.';
  const overdue = open.filter((item) => item.classList.contains('overdue')).length;
  const count = more ? `${open.length}+ open tasks` : plural(open.length, 'open task');
  return `${count}${overdue ? `, ${overdue} overdue` : ''}.`;
}

/** Whose tasks the caller may pick: [{value, label}] ("me" first), or null for "only mine". */
async function assigneeChoices() {
  const me = session.user();
  if (!me || (me.role !== 'manager' && me.role !== 'admin')) return null;
  const people = (await directory()).filter((user) => !user.disabled && user.id !== me.id
    && (me.role === 'admin' || (me.team && user.team === me.team)));
  return [{ value: 'me', label: 'Me' }, ...people.map((user) => ({ value: String(user.id), label: user.name })),
    ...(me.role === 'admin' ? [{ value: '', label: 'Everybody' }] : [])];
}

/** The assignee of the URL (?assignee=7, all for everybody's), as the API's assignee_id. */
function assigneeFromUrl(query) {
  const value = (query && query.assignee) || 'me';
  return value === 'all' ? '' : value;
}

export function tasksPage(params, query) {
  const state = { assignee: assigneeFromUrl(query), seq: 0, more: false };
  const message = h('div', { class: 'tasks-message' });
  const status = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite' });
  const groups = new Map();
  const groupArea = h('div', { class: 'task-groups' });
  for (const group of GROUPS) {
    const headingId = uid(`tasks-${group.key}`);
    const count = h('span', { class: 'count' });
    const list = h('ul', { class: 'task-list', 'aria-labelledby': headingId });
    const empty = h('p', { class: 'muted', text: group.empty, hidden: true });
    groupArea.append(h('section', { class: `card task-group ${group.key}`, dataset: { group: group.key }, 'aria-labelledby': headingId },
      h('h2', { id: headingId }, h('span', { text: group.title }), ' ', count), empty, list));
    groups.set(group.key, { list, count, empty });
  }

  const filterArea = h('div', { class: 'list-controls' });
  /** Whose tasks are shown, also in the URL (so that Back returns to them). */
  function setAssignee(value) {
    state.assignee = value;
    replaceQuery('/tasks', { assignee: value === '' ? 'all' : value === 'me' ? '' : value });
    load();
  }
  assigneeChoices().then((choices) => {
    if (!choices || !choices.some((choice) => choice.value === state.assignee)) {
      if (state.assignee !== 'me') setAssignee('me'); // not one the caller may pick
      if (!choices) return;
    }
    const id = uid('tasks-assignee');
    const select = h('select', { id }, choices.map((choice) => h('option', { value: choice.value, text: choice.label })));
    select.value = state.assignee;
    select.addEventListener('change', () => setAssignee(select.value));
    filterArea.append(h('div', { class: 'field field-filter' }, h('label', { for: id, text: 'Assignee' }), select));
  }).catch(() => {});

  /** The groups' counts and the status line, from what the lists show now. */
  function updateCounts() {
    const items = [];
    for (const { list, count, empty } of groups.values()) {
      const open = [...list.children].filter((item) => !item.classList.contains('done')).length;
      count.textContent = `(${open})`;
      empty.hidden = list.children.length > 0;
      items.push(...list.children);
    }
    status.textContent = openTasksText(items, state.more);
  }

  async function load() {
    const seq = ++state.seq;
    status.textContent = 'Loading…';
    try {
      const tasks = [];
      let cursor = null;
      do {
        const page = await api.get('tasks', {
          query: { assignee_id: state.assignee || undefined, done: 'false', sort: 'due_at', limit: 500, cursor: cursor || undefined },
        });
        if (seq !== state.seq) return;
        tasks.push(...(page.data || []));
        cursor = page.next_cursor;
      } while (cursor && tasks.length < MAX_TASKS);
      state.more = Boolean(cursor);
      for (const { list } of groups.values()) replaceChildren(list);
      const now = new Date();
      for (const task of tasks) {
        groups.get(taskGroup(task, now)).list.append(taskItem(task, {
          showAssignee: state.assignee !== 'me',
          onMessage: (node) => replaceChildren(message, node || ''),
          onChange: (changed) => {
            replaceChildren(message, notice('success', changed.done ? `Done: “${changed.title}”.` : `Reopened: “${changed.title}”.`));
            updateCounts();
          },
        }));
      }
      updateCounts();
    } catch (error) {
      if (seq !== state.seq) return;
      status.textContent = '';
      replaceChildren(message, notice('error', `Could not load the tasks: ${error.message}`));
    }
  }

  let add = null;
  if (canWrite('tasks')) {
    const me = session.user();
    add = disclosure('New task', (close) => inlineForm({
      label: 'New task',
      fields: [
        { name: 'title', label: 'Title', required: true },
        { name: 'due_at', label: 'Due', type: 'datetime-local', get: (r) => toLocalInput(r.due_at), set: fromLocalInput },
        {
          name: 'assignee_id', label: 'Assignee', type: 'select', numeric: true, options: userOptions,
          emptyLabel: 'Nobody', unknownLabel: (id) => `user #${id}`,
        },
      ],
      defaults: { assignee_id: me ? me.id : null, due_at: apiTimestamp(new Date(Date.now() + 3600 * 1000)) },
      submitLabel: 'Add task',
      submit: (body) => api.post('tasks', body),
      forbiddenText: 'You may not assign this task (a rep may only assign tasks to themselves).',
      onDone: (task) => { close(); replaceChildren(message, notice('success', `Added “${task.title}”.`)); load(); },
      cancel: close,
    }));
  }
  load();
  return h('section', { class: 'tasks-page' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text: 'Tasks' })),
    add ? add.element : null, filterArea, message, status, groupArea);
}
