// dashboard.js - the start page. Its figures (pipeline totals, tier chart, tasks due,
// recent interactions) come with the analytics, pipeline and task APIs; for now it
// greets the user and links to the work that is possible.

import { h } from '../dom.js';
import * as session from '../session.js';

export function dashboardPage() {
  const me = session.user();
  return h('section', { class: 'dashboard' },
    h('h1', { tabindex: '-1', text: 'Dashboard' }),
    h('p', { class: 'lead', text: `Welcome, ${me ? me.name || me.email : ''}.` }),
    h('div', { class: 'tiles' },
      h('a', { class: 'tile card', href: '#/contacts' },
        h('span', { class: 'tile-title', text: 'Contacts' }),
        h('span', { class: 'muted', text: 'Find, add and update people' })),
      h('a', { class: 'tile card', href: '#/companies' },
        h('span', { class: 'tile-title', text: 'Companies' }),
        h('span', { class: 'muted', text: 'Accounts and who works there' }))),
    h('div', { class: 'card', id: 'dashboard-figures' },
      h('h2', { text: 'Figures' }),
      h('p', { class: 'muted', text: 'Pipeline totals, tiers, tasks due and recent interactions are coming soon.' })));
}
