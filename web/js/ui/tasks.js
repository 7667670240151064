// tasks.js - one task as a list item with a "done" checkbox (PATCH tasks/{id} {"done"}
// with If-Match; a 412 reloads the task and says that someone else changed it), its due
// time (overdue ones marked), its contact and its assignee. Shared by the dashboard, the
// contact page and the tasks page.

import { api } from '../api.js';
import { asyncName, contactLink, userName } from '../directory.js';
import { formatDateTime, h, replaceChildren, uid } from '../dom.js';

/** Whether `task` is open and due before now. */
export function isOverdue(task, now = new Date()) {
  return !task.done && task.due_at && new Date(task.due_at) < now;
}

/**
 * An <li> for `task`. options: showContact (default true), showAssignee, onChange(task)
 * after a successful change, onMessage(node) to show a status or error message.
 */
export function taskItem(task, options = {}) {
  const id = uid('task');
  const state = { task };
  const checkbox = h('input', { type: 'checkbox', id, class: 'task-done' });
  const title = h('label', { for: id, class: 'task-title' });
  const meta = h('span', { class: 'task-meta' });
  const item = h('li', { class: 'task-item', dataset: { id: task.id } },
    h('div', { class: 'checkbox-row' }, checkbox, title), meta);

  function render() {
    const current = state.task;
    checkbox.checked = Boolean(current.done);
    title.textContent = current.title || `Task #${current.id}`;
    item.classList.toggle('done', Boolean(current.done));
    const overdue = isOverdue(current);
    item.classList.toggle('overdue', Boolean(overdue));
    replaceChildren(meta,
      current.due_at ? h('span', { class: overdue ? 'due overdue-text' : 'due' },
        overdue ? 'Overdue · ' : 'Due ', formatDateTime(current.due_at)) : h('span', { class: 'muted', text: 'No due date' }),
      options.showContact !== false && current.contact_id ? [' · ', contactLink(current.contact_id)] : null,
      options.showAssignee && current.assignee_id ? [' · ', asyncName(userName, current.assignee_id, `#${current.assignee_id}`)] : null);
  }

  checkbox.addEventListener('change', async () => {
    const wanted = checkbox.checked;
    checkbox.disabled = true;
    try {
      const response = await api.patch(`tasks/${state.task.id}`, { done: wanted }, { ifMatch: state.task.version });
      state.task = response.data;
      render();
      if (options.onMessage) options.onMessage(null);
      if (options.onChange) options.onChange(state.task, item);
    } catch (error) {
      let text = `Not saved: ${error.message}`;
      if (error.isConflict) {
        text = `Someone else changed “${state.task.title}” meanwhile; it was reloaded.`;
        try { state.task = await api.get(`tasks/${state.task.id}`); } catch { /* keep what we have */ }
      } else if (error.isForbidden) {
        text = `You may not change “${state.task.title}”.`;
      }
      render();
      if (options.onMessage) options.onMessage(h('div', { class: 'notice notice-error', role: 'alert', text }));
    } finally {
      checkbox.disabled = false;
    }
  });
  render();
  item.task = () => state.task;
  return item;
}
