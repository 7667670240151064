// soon.js - the page for sections whose API is not there yet (pipeline, tasks, segments,
// analytics): a heading and a short note, so navigation already has its final shape.

import { h } from '../dom.js';

export function comingSoonPage(title, what) {
  return h('section', { class: 'coming-soon' },
    h('h1', { tabindex: '-1', text: title }),
    h('div', { class: 'card' },
      h('p', { text: `${title} is coming soon.` }),
      what ? h('p', { class: 'muted', text: what }) : null));
}

/** The page for a route a user's role does not allow. */
export function notAllowedPage(what) {
  return h('section', { class: 'not-allowed' },
    h('h1', { tabindex: '-1', text: 'Not allowed' }),
    h('div', { class: 'notice notice-error', role: 'alert' },
      h('p', { text: what || 'You are not allowed to see this page.' })),
    h('p', {}, h('a', { href: '#/', text: 'Back to the dashboard' })));
}

export function notFoundPage() {
  return h('section', {},
    h('h1', { tabindex: '-1', text: 'Page not found' }),
    h('p', {}, h('a', { href: '#/', text: 'Back to the dashboard' })));
}
