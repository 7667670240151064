// ui.test.mjs - end-to-end tests of the web UI in headless Debian chromium against a real
// crmd with a fresh database: log in, search, open and edit a contact, a 412 conflict,
// validation errors next to fields, an XSS attempt shown as text, admin pages for admins
// only, an admin creating a user. Screenshots of the main pages go to docs/screenshots/.
//
// Run: make ui-test (or: cd tests/ui && CRM_BUILD=build node --test).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiSession, launchBrowser, logIn, requirePrerequisites, newPage, screenshot, startCrm,
} from './harness.mjs';

const ADMIN = { email: 'admin@example.com', name: 'Alice Admin', role: 'admin', password: 'admin-password-1' };
const REP = { email: 'rep@example.com', name: 'Robin Rep', role: 'rep', team: 'north', password: 'rep-password-1' };
const REP2 = { email: 'rep2@example.com', name: 'Sam Second', role: 'rep', team: 'north', password: 'rep2-password-1' };
const LOCKED = { email: 'locked@example.com', name: 'Lou Locked', role: 'rep', password: 'locked-password-1' };
const XSS = '<img src=x onerror=alert(1)>';
const PHONE = { width: 390, height: 844 };

// Missing chromium or crmd fails the run (never a silent skip).
requirePrerequisites();

describe('web UI', () => {
  let crm;
  let browser;
  let admin; // API client logged in as ADMIN
  let rep; // API client logged in as REP
  const ids = {};

  before(async () => {
    crm = await startCrm([ADMIN, REP, REP2, LOCKED]);
    browser = await launchBrowser();
    admin = await apiSession(crm.baseUrl, ADMIN.email, ADMIN.password);
    rep = await apiSession(crm.baseUrl, REP.email, REP.password);
    const acme = await admin.create('companies', { name: 'Acme Tools', domain: 'acme.example', industry: 'manufacturing' });
    ids.acme = acme.id;
    ids.grace = (await rep.create('contacts', {
      first_name: 'Grace', last_name: 'Hopper', email: 'grace@acme.example', title: 'Engineer',
      company_id: acme.id, lifecycle: 'customer', tags: ['vip'],
    })).id;
    ids.ada = (await rep.create('contacts', { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.org', lifecycle: 'lead' })).id;
    ids.xss = (await rep.create('contacts', { first_name: XSS, last_name: 'Mallory', email: 'mallory@example.net' })).id;
    // Enough contacts for more than one page (the list shows 25 at a time).
    for (let i = 1; i <= 27; i++) {
      await admin.create('contacts', { first_name: `Person${String(i).padStart(2, '0')}`, last_name: 'Filler', lifecycle: 'prospect' });
    }
  });

  after(async () => {
    if (browser) await browser.close();
    if (crm) await crm.stop();
  });

  /** A page logged in as `who`; the caller closes its context. */
  async function loggedIn(who, viewport) {
    const page = await newPage(browser, crm.baseUrl, viewport);
    await logIn(page, who.email, who.password);
    return page;
  }

  async function done(page) {
    assert.deepEqual(page.problems, [], 'no page errors or console errors');
    assert.deepEqual(page.dialogs, [], 'no dialogs');
    await page.context().close();
  }

  test('login: a wrong password says so; the right one opens the dashboard; logout', async () => {
    const page = await newPage(browser, crm.baseUrl);
    await page.goto('/');
    await page.getByRole('heading', { name: 'Log in to CRM' }).waitFor();
    await screenshot(page, 'login');
    await page.getByLabel('Email', { exact: true }).fill(REP.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong email or password.').waitFor();
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password field is emptied');

    await page.getByLabel('Password').fill(REP.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    assert.match(await page.locator('.user-name').innerText(), /Robin Rep/);

    // A reload keeps the session (auth/me), then logging out returns to the login page.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to CRM' }).waitFor();
    await page.getByText('You are logged out.').waitFor();
    await page.goto('/#/contacts');
    await page.getByRole('heading', { name: 'Log in to CRM' }).waitFor();

    // A session that ends while the page is open (here: the cookie is gone) leads back to
    // the login page on the next API call, and after logging in to the page that was open.
    await logIn(page, REP.email, REP.password);
    await page.goto('/#/companies');
    await page.getByRole('heading', { level: 1, name: 'Companies' }).waitFor();
    await page.context().clearCookies();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByText('Your session has ended. Please log in again.').waitFor();
    await page.getByLabel('Email').fill(REP.email);
    await page.getByLabel('Password').fill(REP.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Contacts' }).waitFor();
    await done(page);
  });

  test('login: throttling shows "too many attempts, try again in N minutes"', async () => {
    const anonymous = await apiSession(crm.baseUrl);
    let last;
    for (let i = 0; i < 10; i++) {
      last = await anonymous.post('auth/login', { email: LOCKED.email, password: `wrong-${i}` });
      assert.equal(last.status, 401, `attempt ${i + 1}: expected 401, got ${last.status}`);
    }
    const page = await newPage(browser, crm.baseUrl);
    await page.goto('/');
    await page.getByLabel('Email', { exact: true }).fill(LOCKED.email);
    await page.getByLabel('Password').fill(LOCKED.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const message = page.getByText(/Too many attempts, try again in \d+ minutes?\./);
    await message.waitFor();
    const minutes = Number(/in (\d+) minute/.exec(await message.innerText())[1]);
    assert.ok(minutes >= 1 && minutes <= 15, `minutes to wait: ${minutes}`);
    await done(page);
  });

  test('contacts: search as you type, filter, sort, load more, open a contact', async () => {
    const page = await loggedIn(REP);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('heading', { level: 1, name: 'Contacts' }).waitFor();
    const rows = page.locator('.data-table tbody tr');
    await page.getByRole('button', { name: 'Load more' }).waitFor();
    assert.equal(await rows.count(), 25, 'the first page has 25 rows');
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText('30 contacts shown').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Load more' }).isVisible(), false);

    // Sorting by clicking the Name header (last name), then again for descending.
    const firstName = () => page.evaluate(() => document.querySelector('.data-table tbody tr td')?.textContent);
    await page.getByRole('button', { name: 'Name' }).click();
    await page.locator('th[aria-sort="ascending"]').waitFor();
    await page.waitForFunction(() => /Filler$/.test(document.querySelector('.data-table tbody tr td')?.textContent));
    await page.getByRole('button', { name: 'Name' }).click();
    await page.locator('th[aria-sort="descending"]').waitFor();
    await page.waitForFunction((name) => document.querySelector('.data-table tbody tr td')?.textContent === name, `${XSS} Mallory`);
    assert.equal(await firstName(), `${XSS} Mallory`, 'descending by last name');

    // Filter by lifecycle.
    await page.getByLabel('Lifecycle').selectOption('customer');
    await page.waitForFunction(() => document.querySelectorAll('.data-table tbody tr').length === 1);
    assert.equal(await rows.first().locator('td').first().innerText(), 'Grace Hopper');
    await page.getByLabel('Lifecycle').selectOption('');
    // Filter by owner: "Me" are the three the rep created.
    await page.getByLabel('Owner').selectOption('me');
    await page.waitForFunction(() => document.querySelectorAll('.data-table tbody tr').length === 3);
    await page.getByLabel('Owner').selectOption('');
    await page.getByRole('button', { name: 'Load more' }).waitFor();
    await screenshot(page, 'contacts');

    // Search as you type.
    await page.getByLabel('Search contacts').pressSequentially('hopper', { delay: 40 });
    await page.waitForFunction(() => document.querySelectorAll('.data-table tbody tr').length === 1);
    assert.equal(await rows.first().locator('td').first().innerText(), 'Grace Hopper');
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    await page.locator('[data-field="company_id"] dd', { hasText: 'Acme Tools' }).waitFor();
    for (const section of ['Timeline', 'Opportunities', 'Purchases', 'Analytics']) {
      await page.getByRole('heading', { level: 2, name: section }).waitFor();
    }
    await screenshot(page, 'contact');
    await done(page);
  });

  test('contact: inline edit saves with If-Match; a 422 shows next to the field', async () => {
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${ids.grace}`);
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Job title').fill('Rear Admiral');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await page.locator('[data-field="title"] dd', { hasText: 'Rear Admiral' }).waitFor();
    const stored = await rep.get(`contacts/${ids.grace}`);
    assert.equal(stored.body.title, 'Rear Admiral');
    assert.equal(stored.body.version, 2);

    // A bad email: the server's 422 message stands next to the email field.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Email', { exact: true }).fill('not-an-email');
    await page.getByRole('button', { name: 'Save' }).click();
    const error = page.locator('.field[data-field="email"] .field-error');
    await error.waitFor();
    assert.notEqual((await error.innerText()).trim(), '');
    assert.equal(await page.getByLabel('Email', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('.field-error:visible').count(), 1, 'only the email field has an error');
    await screenshot(page, 'contact-validation');
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await rep.get(`contacts/${ids.grace}`)).body.email, 'grace@acme.example');
    await done(page);
  });

  test('contact: a 412 conflict says someone else changed it and Reload shows the new version', async () => {
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${ids.ada}`);
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Phone').fill('+44 1111');

    // Meanwhile someone else changes the same contact through the API.
    const changed = await admin.patch(`contacts/${ids.ada}`, { phone: '+44 2222', title: 'Countess' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));

    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Someone else changed this contact since you opened it.').waitFor();
    await screenshot(page, 'contact-conflict');
    await page.getByRole('button', { name: 'Reload' }).click();
    await page.locator('[data-field="phone"] dd', { hasText: '+44 2222' }).waitFor();
    await page.locator('[data-field="title"] dd', { hasText: 'Countess' }).waitFor();
    assert.equal((await rep.get(`contacts/${ids.ada}`)).body.phone, '+44 2222', 'the stale edit was not saved');

    // After the reload an edit goes through.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Phone').fill('+44 3333');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await rep.get(`contacts/${ids.ada}`)).body.phone, '+44 3333');
    await done(page);
  });

  test('contacts: creating one shows validation errors next to the fields, then opens it', async () => {
    const page = await loggedIn(REP);
    await page.goto('/#/contacts');
    await page.getByRole('button', { name: 'New contact' }).click();
    const form = page.getByRole('form', { name: 'New contact' });
    await form.getByLabel('First name').fill('Katherine');
    await form.getByLabel('Email', { exact: true }).fill('katherine@');
    await form.getByRole('button', { name: 'Create contact' }).click();
    await form.locator('.field[data-field="email"] .field-error').waitFor();
    await form.getByLabel('Email', { exact: true }).fill('katherine@nasa.example');
    await form.getByLabel('Last name').fill('Johnson');
    await form.getByLabel('Lifecycle').selectOption('prospect');
    await form.getByLabel('Tags').fill('space, math');
    await form.getByRole('button', { name: 'Create contact' }).click();
    await page.getByRole('heading', { level: 1, name: 'Katherine Johnson' }).waitFor();
    const id = /#\/contacts\/(\d+)/.exec(page.url())[1];
    const stored = (await rep.get(`contacts/${id}`)).body;
    assert.deepEqual(stored.tags, ['space', 'math']);
    assert.equal(stored.owner_id, rep.user.id, 'the owner defaults to the caller');
    await done(page);
  });

  test('XSS: a contact named <img src=x onerror=alert(1)> is shown as text, no dialog fires', async () => {
    const page = await loggedIn(REP);
    await page.goto('/#/contacts');
    await page.getByLabel('Search contacts').fill('Mallory');
    const link = page.getByRole('link', { name: `${XSS} Mallory` });
    await link.waitFor();
    assert.equal(await link.innerText(), `${XSS} Mallory`);
    // The search result list shows the name as text too: no element was injected.
    assert.equal(await page.locator('main img').count(), 0, 'no <img> element in the contacts list');
    assert.equal(await page.locator('main [onerror]').count(), 0, 'no onerror attribute in the contacts list');
    assert.equal(await page.locator('.data-table tbody tr', { hasText: XSS }).count(), 1, 'the row shows the markup as text');
    await link.click();
    await page.getByRole('heading', { level: 1, name: `${XSS} Mallory` }).waitFor();
    await page.locator('[data-field="first_name"] dd', { hasText: XSS }).waitFor();
    await page.waitForTimeout(300);
    assert.equal(await page.locator('main img').count(), 0, 'no <img> element was created');
    await done(page);
  });

  test('companies: list, open one with its contacts, create one', async () => {
    const page = await loggedIn(REP);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Companies' }).click();
    await page.getByRole('link', { name: 'Acme Tools' }).click();
    await page.getByRole('heading', { level: 1, name: 'Acme Tools' }).waitFor();
    await page.locator('#section-contacts').getByRole('link', { name: 'Grace Hopper' }).waitFor();
    await screenshot(page, 'company');
    await page.getByRole('link', { name: '← Companies' }).click();
    await page.getByRole('button', { name: 'New company' }).click();
    const form = page.getByRole('form', { name: 'New company' });
    await form.getByRole('button', { name: 'Create company' }).click();
    await form.locator('.field[data-field="name"] .field-error').waitFor();
    await form.getByLabel('Name').fill('Initech');
    await form.getByLabel('Domain').fill('initech.example');
    await form.getByRole('button', { name: 'Create company' }).click();
    await page.getByRole('heading', { level: 1, name: 'Initech' }).waitFor();
    await done(page);
  });

  test('contact: delete asks first; a rep may not delete (and is not offered it), an admin may', async () => {
    const doomed = await rep.create('contacts', { first_name: 'Temporary', last_name: 'Person' });
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${doomed.id}`);
    await page.getByRole('heading', { level: 1, name: 'Temporary Person' }).waitFor();
    await page.locator('.toolbar[data-ready]').getByRole('button', { name: 'Edit' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
    await done(page);

    const adminPage = await loggedIn(ADMIN);
    await adminPage.goto(`/#/contacts/${doomed.id}`);
    await adminPage.getByRole('heading', { level: 1, name: 'Temporary Person' }).waitFor();
    await adminPage.getByRole('button', { name: 'Delete' }).click();
    await adminPage.getByRole('button', { name: 'Keep it' }).click();
    assert.equal((await admin.get(`contacts/${doomed.id}`)).status, 200, 'Keep it keeps it');
    await adminPage.getByRole('button', { name: 'Delete' }).click();
    await adminPage.getByRole('button', { name: 'Delete contact' }).click();
    await adminPage.getByRole('heading', { level: 1, name: 'Contacts' }).waitFor();
    assert.equal((await admin.get(`contacts/${doomed.id}`)).status, 404);
    await done(adminPage);
  });

  test('a rep sees no Admin entry and #/admin says not allowed', async () => {
    const page = await loggedIn(REP);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Dashboard', 'Contacts', 'Companies', 'Pipeline', 'Tasks', 'Segments', 'Analytics']) {
      await nav.getByRole('link', { name }).waitFor();
    }
    assert.equal(await nav.getByRole('link', { name: 'Admin' }).count(), 0);
    await page.goto('/#/admin');
    await page.getByRole('heading', { level: 1, name: 'Not allowed' }).waitFor();
    await page.goto('/#/admin/users');
    await page.getByRole('heading', { level: 1, name: 'Not allowed' }).waitFor();
    await page.goto('/#/admin/api-keys');
    await page.getByRole('heading', { level: 1, name: 'Not allowed' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create key' }).count(), 0);
    assert.equal((await rep.get('users')).status, 403, 'and the API refuses too');
    await page.goto('/#/pipeline');
    await page.getByRole('heading', { level: 1, name: 'Pipeline' }).waitFor();
    await done(page);
  });

  test('admin: the users page lists users and the admin creates and edits a user', async () => {
    const page = await loggedIn(ADMIN);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.getByRole('link', { name: REP.email }).waitFor();
    await screenshot(page, 'admin-users');
    await page.getByRole('button', { name: 'New user' }).click();
    const form = page.getByRole('form', { name: 'New user' });
    await form.getByLabel('Email', { exact: true }).fill('newrep@example.com');
    await form.getByLabel('Name').fill('Nina New');
    await form.getByLabel('Role').selectOption('rep');
    await form.getByLabel('Team').fill('south');
    await form.getByLabel('Password').fill('short');
    await form.getByRole('button', { name: 'Create user' }).click();
    await form.locator('.field[data-field="password"] .field-error').waitFor();
    await form.getByLabel('Password').fill('nina-password-1');
    await form.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { level: 1, name: 'Nina New' }).waitFor();
    await page.locator('[data-field="team"] dd', { hasText: 'south' }).waitFor();
    const nina = await apiSession(crm.baseUrl, 'newrep@example.com', 'nina-password-1');
    assert.equal(nina.user.role, 'rep');

    // Make her a manager in another team.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Role').selectOption('manager');
    await page.getByLabel('Team').fill('east');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    const stored = (await admin.get(`users/${nina.user.id}`)).body;
    assert.equal(stored.role, 'manager');
    assert.equal(stored.team, 'east');
    assert.equal(stored.password, undefined, 'no password in the API');
    await done(page);
  });

  test('phone width: navigation behind a menu button, lists as cards', async () => {
    const page = await loggedIn(REP, PHONE);
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).isVisible(), false);
    await menu.click();
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('heading', { level: 1, name: 'Contacts' }).waitFor();
    await page.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no horizontal scrolling (page is ${width}px wide)`);
    await screenshot(page, 'contacts-phone', { fullPage: false });
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    await screenshot(page, 'contact-phone');
    await done(page);
  });

  test('keyboard: tab reaches the navigation with a visible focus ring and Enter follows links', async () => {
    const page = await loggedIn(REP);
    // The skip link comes first and moves focus to the page's content.
    await page.locator('.skip-link').focus();
    assert.ok(await page.locator('.skip-link').isVisible(), 'the focused skip link is visible');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    await page.locator('.skip-link').focus();
    await page.keyboard.press('Tab'); // brand
    await page.keyboard.press('Tab'); // Dashboard
    await page.keyboard.press('Tab'); // Contacts
    const focused = await page.evaluate(() => ({
      text: document.activeElement.textContent,
      outline: getComputedStyle(document.activeElement).outlineStyle,
    }));
    assert.equal(focused.text, 'Contacts');
    assert.notEqual(focused.outline, 'none', 'the focused link has an outline');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Contacts' }).waitFor();
    // Every form control on the page has a label.
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.outerHTML));
    assert.deepEqual(unlabelled, []);
    await done(page);
  });
});
