// app.js - the web UI's entry point: restores the session, draws the layout (navigation,
// user menu) and maps hash routes to pages. Pages are functions that return an element;
// a new page slots in with one route() line and, if it has one, a navigation entry.

import { setUnauthorizedHandler } from './js/api.js';
import { h, notice } from './js/dom.js';
import { loadMeta } from './js/meta.js';
import * as router from './js/router.js';
import * as session from './js/session.js';
import { adminApiKeysPage, adminUserPage, adminUsersPage } from './js/pages/admin.js';
import { analyticsPage } from './js/pages/analytics.js';
import { companiesPage, companyPage } from './js/pages/companies.js';
import { contactPage, contactsPage } from './js/pages/contacts.js';
import { dashboardPage } from './js/pages/dashboard.js';
import { loginPage } from './js/pages/login.js';
import { pipelinePage } from './js/pages/pipeline.js';
import { segmentPage, segmentsPage } from './js/pages/segments.js';
import { notFoundPage } from './js/pages/soon.js';
import { tasksPage } from './js/pages/tasks.js';

const root = document.getElementById('app');

/** Navigation entries: the section a route belongs to is the first part of its path. */
const NAVIGATION = [
  { section: '', label: 'Dashboard', href: '#/' },
  { section: 'contacts', label: 'Contacts', href: '#/contacts' },
  { section: 'companies', label: 'Companies', href: '#/companies' },
  { section: 'pipeline', label: 'Pipeline', href: '#/pipeline' },
  { section: 'tasks', label: 'Tasks', href: '#/tasks' },
  { section: 'segments', label: 'Segments', href: '#/segments' },
  { section: 'analytics', label: 'Analytics', href: '#/analytics' },
  { section: 'admin', label: 'Admin', href: '#/admin/users', adminOnly: true },
];

router.route('/', dashboardPage, { title: 'Dashboard' });
router.route('/contacts', contactsPage, { title: 'Contacts' });
router.route('/contacts/:id', contactPage, { title: 'Contact' });
router.route('/companies', companiesPage, { title: 'Companies' });
router.route('/companies/:id', companyPage, { title: 'Company' });
router.route('/pipeline', pipelinePage, { title: 'Pipeline' });
router.route('/tasks', tasksPage, { title: 'Tasks' });
router.route('/segments', segmentsPage, { title: 'Segments' });
router.route('/segments/:id', segmentPage, { title: 'Segment' });
router.route('/analytics', analyticsPage, { title: 'Analytics' });
router.route('/admin', adminUsersPage, { title: 'Admin' });
router.route('/admin/users', adminUsersPage, { title: 'Users' });
router.route('/admin/users/:id', adminUserPage, { title: 'User' });
router.route('/admin/api-keys', adminApiKeysPage, { title: 'API keys' });
router.setFallback(notFoundPage);

let layout = null;
let pendingNote = null;

/** The frame around every page once logged in: header, navigation, main area. */
function buildLayout(user) {
  const main = h('main', { id: 'main', tabindex: '-1' });
  const navList = h('ul', { class: 'nav-list', id: 'nav-list' });
  const links = [];
  for (const entry of NAVIGATION) {
    if (entry.adminOnly && user.role !== 'admin') continue;
    const link = h('a', { href: entry.href, text: entry.label, dataset: { section: entry.section } });
    links.push(link);
    navList.append(h('li', {}, link));
  }
  const menuButton = h('button', {
    type: 'button', class: 'menu-button', 'aria-expanded': 'false', 'aria-controls': 'nav-list', text: 'Menu',
  });
  const nav = h('nav', { class: 'main-nav', 'aria-label': 'Main' }, menuButton, navList);
  menuButton.addEventListener('click', () => {
    const open = menuButton.getAttribute('aria-expanded') !== 'true';
    menuButton.setAttribute('aria-expanded', String(open));
    nav.classList.toggle('open', open);
  });
  const logoutButton = h('button', { type: 'button', class: 'button secondary small', text: 'Log out' });
  logoutButton.addEventListener('click', async () => {
    logoutButton.disabled = true;
    await session.logout();
    pendingNote = 'You are logged out.';
    router.navigate('/');
  });
  const skip = h('a', { class: 'skip-link', href: '#main', text: 'Skip to content' });
  skip.addEventListener('click', (event) => { event.preventDefault(); main.focus(); });
  const header = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/', text: 'CRM' }),
    nav,
    h('div', { class: 'user-menu' },
      h('span', { class: 'user-name' }, user.name || user.email, ' ', h('span', { class: 'role-badge', text: user.role })),
      logoutButton));
  const footer = h('footer', { class: 'site-footer' },
    h('a', { href: '/api.html', text: 'API reference' }), ' · ',
    h('a', { href: '/api/v1/openapi.json', text: 'OpenAPI document' }));
  const frame = h('div', { class: 'layout' }, skip, header, main, footer);
  return {
    frame, main, links, nav, menuButton, user,
    /** Marks the current section in the navigation and closes the phone menu. */
    select(section) {
      for (const link of links) {
        if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
      nav.classList.remove('open');
      menuButton.setAttribute('aria-expanded', 'false');
    },
  };
}

function showLogin(reason) {
  layout = null;
  document.title = 'Log in · CRM';
  root.replaceChildren(loginPage({
    reason,
    onLoggedIn: async () => {
      await loadMeta().catch(() => {}); // a page that needs it says what failed
      const { path } = router.currentLocation();
      if (path === '/login') router.navigate('/');
      else renderRoute();
    },
  }));
}

/** Draws the page for the current hash (or the login page without a session). */
function renderRoute() {
  const user = session.user();
  const { path, query } = router.currentLocation();
  if (!user) {
    const note = pendingNote;
    pendingNote = null;
    showLogin(note);
    return;
  }
  if (path === '/login') { router.navigate('/'); return; }
  if (!layout || layout.user !== user) {
    layout = buildLayout(user);
    root.replaceChildren(layout.frame);
  }
  const match = router.resolve(path);
  layout.select(path.split('/')[1] || '');
  let page;
  try {
    page = match.route.render(match.params, query);
  } catch (error) {
    page = notice('error', `This page failed: ${error.message}`);
  }
  layout.main.replaceChildren(page);
  document.title = `${(match.route.options && match.route.options.title) || 'CRM'} · CRM`;
  // Move focus to the new page's heading so keyboard and screen reader users follow along.
  const heading = layout.main.querySelector('h1');
  if (heading) {
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

setUnauthorizedHandler(() => {
  if (!session.user()) return;
  session.expire();
  pendingNote = 'Your session has ended. Please log in again.';
  renderRoute();
});

async function main() {
  root.replaceChildren(h('p', { class: 'loading', role: 'status', text: 'Loading…' }));
  try {
    if (await session.restore()) await loadMeta();
  } catch (error) {
    root.replaceChildren(notice('error', error.isNetwork
      ? 'The server cannot be reached. Check the connection, then reload the page.'
      : `The server does not answer: ${error.message}`));
    return;
  }
  router.start(renderRoute);
}

main();
