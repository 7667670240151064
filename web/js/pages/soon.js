// soon.js - the pages for routes that show nothing of their own: "not allowed" (a page
// the user's role may not see) and "page not found".

import { h } from '../dom.js';

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
