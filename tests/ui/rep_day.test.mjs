// rep_day.test.mjs - browser tests of issue 18, the defects found walking through a sales
// rep's day: the keyboard "Move to" list that saved every stage it passed, the lost reason,
// tasks due later or never, task counts, the revoked API key left on screen, contact links,
// list state in the URL, wording people understand, duplicate warnings, actions shown
// only when the role may do them, the paged board, phone width, the segment CSV, the
// company type-ahead and the quiet session check on page load. Each runs against a real
// crmd with a fresh database, in headless Debian chromium.
//
// Run: cd tests/ui && CRM_BUILD=build node --test rep_day.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import fs from 'node:fs';
import path from 'node:path';

import {
  SCREENSHOTS, apiSession, launchBrowser, logIn, requirePrerequisites, newPage, screenshot, startCrm,
} from './harness.mjs';

const ADMIN = { email: 'admin@example.com', name: 'Alice Admin', role: 'admin', password: 'admin-password-1' };
const REP = { email: 'rep@example.com', name: 'Robin Rep', role: 'rep', team: 'north', password: 'rep-password-1' };
const OTHER = { email: 'other@example.com', name: 'Olga Other', role: 'rep', team: 'north', password: 'other-password-1' };
const TASKER = { email: 'tess@example.com', name: 'Tess Tasker', role: 'rep', team: 'south', password: 'tess-password-1' };
const PHONE = { width: 390, height: 844 };
const DAY = 86400 * 1000;

// Missing chromium or crmd fails the run (never a silent skip).
requirePrerequisites();

/** RFC 3339 UTC without fractions, `days` from now. */
function at(days) {
  return new Date(Date.now() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

describe('web UI: a rep\'s day (issue 18)', () => {
  let crm;
  let browser;
  let admin;
  let rep;
  let other;
  const ids = {};

  before(async () => {
    crm = await startCrm([ADMIN, REP, OTHER, TASKER]);
    browser = await launchBrowser();
    admin = await apiSession(crm.baseUrl, ADMIN.email, ADMIN.password);
    rep = await apiSession(crm.baseUrl, REP.email, REP.password);
    other = await apiSession(crm.baseUrl, OTHER.email, OTHER.password);
    ids.grace = (await rep.create('contacts', {
      first_name: 'Grace', last_name: 'Hopper', email: 'grace@navy.example', phone: '+1 555 0100', lifecycle: 'customer',
    })).id;
    ids.olgas = (await other.create('contacts', { first_name: 'Otto', last_name: 'Olgason', email: 'otto@example.com' })).id;
  });

  after(async () => {
    if (browser) await browser.close();
    if (crm) await crm.stop();
  });

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

  /** The stage changes of an opportunity, oldest first, from its contact's timeline. */
  async function stageChanges(contactId, opportunityId) {
    const timeline = (await rep.get(`contacts/${contactId}/timeline?limit=100`)).body.data;
    return timeline.filter((item) => item.type === 'stage_change' && item.record.opportunity_id === opportunityId)
      .map((item) => `${item.record.from_stage}->${item.record.to_stage}`).reverse();
  }

  test('1: arrow keys in a card\'s "Move to" list save nothing; Enter or Move saves the one stage chosen', async () => {
    const deal = await rep.create('opportunities', { name: 'Keyboard deal', contact_id: ids.grace, stage: 'qualified', amount_cents: 100000 });
    const page = await loggedIn(REP);
    await page.goto('/#/pipeline');
    const card = page.locator('.deal-card', { hasText: 'Keyboard deal' });
    const select = card.getByLabel('Move to…');
    // (7: an empty closed column offers no cards to show)
    await page.waitForFunction(() => document.querySelector('.board-column[data-stage="lost"] .column-count')?.textContent === '0');
    assert.equal(await page.locator('.board-column[data-stage="lost"] .column-toggle').isVisible(), false);
    await select.focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    assert.equal(await select.inputValue(), 'won', 'the list moved on to Won');
    // Nothing was saved on the way.
    assert.equal((await rep.get(`opportunities/${deal.id}`)).body.stage, 'qualified');
    assert.equal(await page.locator('.board-column[data-stage="qualified"] .deal-card', { hasText: 'Keyboard deal' }).count(), 1);
    await page.keyboard.press('ArrowUp');
    assert.equal(await select.inputValue(), 'negotiation');
    await page.keyboard.press('Enter');
    await page.locator('.board-column[data-stage="negotiation"] .deal-card', { hasText: 'Keyboard deal' }).waitFor();
    assert.equal((await rep.get(`opportunities/${deal.id}`)).body.stage, 'negotiation');
    // The Move button is the other explicit choice.
    const moved = page.locator('.deal-card', { hasText: 'Keyboard deal' });
    await moved.getByLabel('Move to…').selectOption('proposal');
    assert.equal((await rep.get(`opportunities/${deal.id}`)).body.stage, 'negotiation', 'choosing alone saves nothing');
    await moved.getByRole('button', { name: 'Move' }).click();
    await page.locator('.board-column[data-stage="proposal"] .deal-card', { hasText: 'Keyboard deal' }).waitFor();
    assert.deepEqual(await stageChanges(ids.grace, deal.id), ['qualified->negotiation', 'negotiation->proposal']);
    await done(page);
  });

  test('2: moving a deal to Lost asks why (list and drag); Cancel keeps it where it was', async () => {
    const listed = await rep.create('opportunities', { name: 'Listed loss', contact_id: ids.grace, stage: 'proposal', amount_cents: 5000 });
    const dragged = await rep.create('opportunities', { name: 'Dragged loss', contact_id: ids.grace, stage: 'lead', amount_cents: 7000 });
    const page = await loggedIn(REP);
    await page.goto('/#/pipeline');
    const card = page.locator('.deal-card', { hasText: 'Listed loss' });
    await card.getByLabel('Move to…').selectOption('lost');
    await card.getByRole('button', { name: 'Move' }).click();
    const dialog = page.getByRole('dialog', { name: 'Why was “Listed loss” lost?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Mark as lost' }).click();
    await dialog.getByText('Say why the deal was lost.').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('“Listed loss” was not moved.').waitFor();
    assert.equal((await rep.get(`opportunities/${listed.id}`)).body.stage, 'proposal');
    assert.equal(await card.getByLabel('Move to…').inputValue(), 'proposal', 'the list shows the stage again');

    await card.getByLabel('Move to…').selectOption('lost');
    await card.getByRole('button', { name: 'Move' }).click();
    await dialog.getByLabel('Reason lost').fill('Went with a competitor');
    await dialog.getByRole('button', { name: 'Mark as lost' }).click();
    await page.locator('.board-column[data-stage="lost"] .deal-card', { hasText: 'Listed loss' }).waitFor();
    let stored = (await rep.get(`opportunities/${listed.id}`)).body;
    assert.equal(stored.stage, 'lost');
    assert.equal(stored.lost_reason, 'Went with a competitor');

    await page.locator('.deal-card', { hasText: 'Dragged loss' }).dragTo(page.locator('.board-column[data-stage="lost"]'));
    const dragDialog = page.getByRole('dialog', { name: 'Why was “Dragged loss” lost?' });
    await dragDialog.getByLabel('Reason lost').fill('No budget this year');
    await dragDialog.getByRole('button', { name: 'Mark as lost' }).click();
    await page.locator('.board-column[data-stage="lost"] .deal-card', { hasText: 'Dragged loss' }).waitFor();
    stored = (await rep.get(`opportunities/${dragged.id}`)).body;
    assert.equal(stored.stage, 'lost');
    assert.equal(stored.lost_reason, 'No budget this year');
    await done(page);
  });

  test('3, 4: tasks due later or never are listed (tasks page, dashboard); the counts follow a tick, in words', async () => {
    const tasker = await apiSession(crm.baseUrl, TASKER.email, TASKER.password);
    await tasker.create('tasks', { title: 'Ring the printer', due_at: at(2) });
    await tasker.create('tasks', { title: 'Book the venue', due_at: at(4) });
    const page = await loggedIn(TASKER);
    await page.goto('/#/tasks');
    const group = (key) => page.locator(`.task-group[data-group="${key}"]`);
    const status = page.locator('.tasks-page .list-status');
    await group('week').getByText('Book the venue').waitFor();
    assert.equal(await status.innerText(), '2 open tasks.');

    // 4: ticking one off changes the header and the group's count alike, in the singular.
    await page.getByLabel('Ring the printer').check();
    await page.getByText('Done: “Ring the printer”.').waitFor();
    assert.equal(await group('week').locator('.count').innerText(), '(1)');
    assert.equal(await status.innerText(), '1 open task.');

    // 3: one due in a month and one without a due date, added on the page, are listed.
    await page.getByRole('button', { name: 'New task' }).click();
    const form = page.getByRole('form', { name: 'New task' });
    await form.getByLabel('Title').fill('Renew the contract');
    const inMonth = new Date(Date.now() + 30 * DAY);
    const pad = (n) => String(n).padStart(2, '0');
    await form.getByLabel('Due').fill(`${inMonth.getFullYear()}-${pad(inMonth.getMonth() + 1)}-${pad(inMonth.getDate())}T10:00`);
    await form.getByRole('button', { name: 'Add task' }).click();
    await page.getByText('Added “Renew the contract”.').waitFor();
    await group('later').getByText('Renew the contract').waitFor();
    await page.getByRole('button', { name: 'New task' }).click();
    await form.getByLabel('Title').fill('Someday: tidy the archive');
    await form.getByLabel('Due').fill('');
    await form.getByRole('button', { name: 'Add task' }).click();
    await group('undated').getByText('Someday: tidy the archive').waitFor();
    assert.equal(await status.innerText(), '3 open tasks.');
    const open = (await tasker.get('tasks?assignee_id=me&done=false')).body.data;
    assert.equal(open.length, 3);
    assert.equal(open.find((t) => t.title.startsWith('Someday')).due_at, null);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    const block = page.locator('#dashboard-tasks');
    await block.getByText('Book the venue').waitFor();
    assert.equal(await block.locator('.tasks-later').innerText(), 'Also open: 1 due later, 1 without a due date. See all my tasks');
    await block.getByRole('link', { name: 'See all my tasks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
    await done(page);
  });

  test('9: revoking the key just created takes it off the "copy it now" panel', async () => {
    const page = await loggedIn(ADMIN);
    await page.goto('/#/admin/api-keys');
    const form = page.getByRole('form', { name: 'New API key' });
    await form.getByLabel('Name').fill('Short-lived sync');
    await form.getByRole('button', { name: 'Create key' }).click();
    const keyInput = page.getByRole('textbox', { name: 'New API key' });
    await keyInput.waitFor();
    const key = await keyInput.inputValue();
    await page.getByRole('button', { name: 'Revoke Short-lived sync' }).click();
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('Revoked “Short-lived sync”: it stops working at once.').waitFor();
    await keyInput.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate((text) => document.body.innerHTML.includes(text)
      || [...document.querySelectorAll('input')].some((input) => input.value.includes(text)), key), false,
    'the revoked key is nowhere on the page');
    await done(page);
  });

  test('13: email addresses and phone numbers are mailto: and tel: links', async () => {
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${ids.grace}`);
    const email = page.locator('.record-fields [data-field="email"] a');
    await email.waitFor();
    assert.equal(await email.getAttribute('href'), 'mailto:grace@navy.example');
    assert.equal(await email.innerText(), 'grace@navy.example');
    const phone = page.locator('.record-fields [data-field="phone"] a');
    assert.equal(await phone.getAttribute('href'), 'tel:+15550100');
    assert.equal(await phone.innerText(), '+1 555 0100');
    await page.goto('/#/contacts');
    const row = page.locator('.data-table tbody tr', { hasText: 'Grace Hopper' });
    assert.equal(await row.getByRole('link', { name: 'grace@navy.example' }).getAttribute('href'), 'mailto:grace@navy.example');
    await done(page);
  });

  test('8: search, filters and sort are in the URL: Back from a contact returns to the same list', async () => {
    await rep.create('contacts', { first_name: 'Grace', last_name: 'Kelly', lifecycle: 'lead' });
    const page = await loggedIn(REP);
    await page.goto('/#/contacts');
    await page.getByLabel('Search contacts').fill('grace');
    await page.getByLabel('Lifecycle').selectOption('customer');
    await page.getByRole('button', { name: 'Name' }).click();
    await page.waitForFunction(() => /q=grace/.test(location.hash) && /lifecycle=customer/.test(location.hash) && /sort=last_name/.test(location.hash));
    const rows = page.locator('.data-table tbody tr');
    await page.waitForFunction(() => document.querySelectorAll('.data-table tbody tr').length === 1);
    await rows.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Contacts' }).waitFor();
    assert.equal(await page.getByLabel('Search contacts').inputValue(), 'grace');
    assert.equal(await page.getByLabel('Lifecycle').inputValue(), 'customer');
    assert.equal(await page.locator('th[aria-sort="ascending"]').innerText(), 'Name ▲');
    await page.waitForFunction(() => document.querySelector('.list-status')?.textContent === '1 contact shown');
    assert.deepEqual(await rows.locator('td:first-child').allInnerTexts(), ['Grace Hopper']);
    // A shared link opens the same list.
    const shared = await newPage(browser, crm.baseUrl);
    await logIn(shared, REP.email, REP.password);
    await shared.goto(`/${new URL(page.url()).hash}`);
    await shared.waitForFunction(() => document.querySelector('.list-status')?.textContent === '1 contact shown');
    assert.equal(await shared.getByLabel('Search contacts').inputValue(), 'grace');
    await done(shared);
    await done(page);

    // The tasks page keeps whose tasks it shows, the segments list its search.
    await rep.create('tasks', { title: 'Robin\'s URL task', contact_id: ids.grace, due_at: at(1) });
    const boss = await loggedIn(ADMIN);
    await boss.goto('/#/tasks');
    await boss.getByLabel('Assignee').selectOption({ label: REP.name });
    await boss.getByText('Robin\'s URL task').waitFor();
    assert.match(boss.url(), new RegExp(`#/tasks\\?assignee=${rep.user.id}$`));
    await boss.locator('.task-item', { hasText: 'Robin\'s URL task' }).getByRole('link').click();
    await boss.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    await boss.goBack();
    await boss.getByText('Robin\'s URL task').waitFor();
    assert.equal(await boss.getByLabel('Assignee').inputValue(), String(rep.user.id));
    await boss.goto('/#/segments');
    await boss.getByLabel('Search segments').fill('vip');
    await boss.waitForFunction(() => /#\/segments\?q=vip$/.test(location.hash));
    await done(boss);
  });

  test('10: errors speak the user\'s words next to the field; a network failure says the server cannot be reached', async () => {
    const page = await loggedIn(REP);
    await page.goto('/#/contacts');
    await page.getByRole('button', { name: 'New contact' }).click();
    const form = page.getByRole('form', { name: 'New contact' });
    await form.getByLabel('Job title').fill('Engineer');
    await form.getByRole('button', { name: 'Create contact' }).click();
    const error = form.locator('.field[data-field="first_name"] .field-error');
    await error.waitFor();
    assert.equal(await error.innerText(), 'Enter a first name, a last name or an email address.');
    assert.doesNotMatch(await form.innerText(), /first_name|last_name/);

    // A segment condition with a bad date: the message stands by it, in words.
    await page.goto('/#/segments/new');
    const condition = page.locator('.rule-condition').first();
    await condition.getByLabel('Field').selectOption({ label: 'Created' });
    await condition.getByLabel('Value').fill('someday');
    const ruleError = condition.locator('.rule-error');
    await ruleError.waitFor();
    assert.equal(await ruleError.innerText(), 'Enter a date such as 2026-11-23, or a time back from today such as -90d (90 days ago).');
    await page.getByText('The rule has an error: see the condition marked below.').waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), /rule\.all|must be a timestamp/);

    // The server out of reach: the edit says so, and what was typed stays in the form.
    await page.goto(`/#/contacts/${ids.grace}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Job title').fill('Rear admiral');
    await page.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Not saved: the server cannot be reached. Check the connection and try again: nothing you entered was lost.').waitFor();
    assert.equal(await page.getByLabel('Job title').inputValue(), 'Rear admiral');
    assert.doesNotMatch(await page.locator('main').innerText(), /Failed to fetch/);
    await page.unroute('**/api/v1/**');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await rep.get(`contacts/${ids.grace}`)).body.title, 'Rear admiral');
    await done(page);
  });

  test('5: creating a contact with another\'s email warns first and offers to open the existing one', async () => {
    const sameEmail = async () => (await rep.get('contacts?q=grace%40navy.example&limit=100')).body.data
      .filter((c) => c.email.toLowerCase() === 'grace@navy.example').length;
    const page = await loggedIn(REP);
    await page.goto('/#/contacts');
    await page.getByRole('button', { name: 'New contact' }).click();
    const form = page.getByRole('form', { name: 'New contact' });
    await form.getByLabel('First name').fill('G.');
    await form.getByLabel('Email', { exact: true }).fill('Grace@Navy.example');
    await form.getByRole('button', { name: 'Create contact' }).click();
    await form.getByText('A contact with the email Grace@Navy.example already exists.').waitFor();
    assert.equal(await sameEmail(), 1, 'nothing was created yet');
    await form.getByRole('link', { name: 'Open Grace Hopper' }).click();
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();

    // Creating it anyway is the user's choice.
    await page.goBack();
    await page.getByRole('button', { name: 'New contact' }).click();
    await form.getByLabel('First name').fill('G.');
    await form.getByLabel('Email', { exact: true }).fill('grace@navy.example');
    await form.getByRole('button', { name: 'Create contact' }).click();
    await form.getByRole('button', { name: 'Create contact anyway' }).click();
    await page.getByRole('heading', { level: 1, name: 'G.' }).waitFor();
    assert.equal(await sameEmail(), 2);
    // A new address is created at once.
    await page.goto('/#/contacts');
    await page.getByRole('button', { name: 'New contact' }).click();
    await form.getByLabel('Email', { exact: true }).fill('new.person@example.org');
    await form.getByRole('button', { name: 'Create contact' }).click();
    await page.getByRole('heading', { level: 1, name: 'new.person@example.org' }).waitFor();
    await done(page);
  });

  test('11: only what the role may do is offered: Edit and Delete on contacts, Move on deals', async () => {
    await other.create('opportunities', { name: 'Olga\'s deal', stage: 'proposal', amount_cents: 1000 });
    await rep.create('opportunities', { name: 'Robin\'s deal', stage: 'proposal', amount_cents: 2000 });
    const toolbar = (page) => page.locator('.record-detail .toolbar[data-ready]');
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${ids.olgas}`);
    await page.getByRole('heading', { level: 1, name: 'Otto Olgason' }).waitFor();
    await toolbar(page).waitFor({ state: 'attached' });
    assert.deepEqual(await toolbar(page).getByRole('button').allInnerTexts(), [], 'another rep\'s contact: no Edit, no Delete');
    await page.goto(`/#/contacts/${ids.grace}`);
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    await toolbar(page).getByRole('button', { name: 'Edit' }).waitFor();
    assert.deepEqual(await toolbar(page).getByRole('button').allInnerTexts(), ['Edit'], 'own contact: Edit, no Delete for a rep');
    await page.goto('/#/pipeline');
    const mine = page.locator('.deal-card', { hasText: 'Robin\'s deal' });
    await mine.getByLabel('Move to…').waitFor();
    const theirs = page.locator('.deal-card', { hasText: 'Olga\'s deal' });
    await theirs.waitFor();
    assert.equal(await theirs.getByLabel('Move to…').count(), 0, 'no Move on another rep\'s deal');
    assert.equal(await theirs.getAttribute('draggable'), null);
    await done(page);

    const adminPage = await loggedIn(ADMIN);
    await adminPage.goto(`/#/contacts/${ids.olgas}`);
    await toolbar(adminPage).getByRole('button', { name: 'Edit' }).waitFor();
    assert.deepEqual(await toolbar(adminPage).getByRole('button').allInnerTexts(), ['Edit', 'Delete']);
    await adminPage.goto('/#/pipeline');
    await adminPage.locator('.deal-card', { hasText: 'Olga\'s deal' }).getByLabel('Move to…').waitFor();
    await done(adminPage);
  });

  test('also: a fresh page load asks for the session without a failed request', async () => {
    const page = await newPage(browser, crm.baseUrl);
    const failed = [];
    page.on('response', (response) => { if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`); });
    page.on('console', (message) => { if (message.type() === 'error') failed.push(`console: ${message.text()}`); });
    await page.goto('/');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.getByLabel('Email').fill(REP.email);
    await page.getByLabel('Password').fill(REP.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You are logged out.').waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    assert.deepEqual(failed, []);
    await done(page);
  });

  test('also: screenshots are written only when asked for (make screenshots sets CRM_SCREENSHOTS=1)', async () => {
    const file = path.join(SCREENSHOTS, 'rep-day-check.png');
    fs.rmSync(file, { force: true });
    const page = await loggedIn(REP);
    try {
      await screenshot(page, 'rep-day-check', { fullPage: false });
      assert.equal(fs.existsSync(file), process.env.CRM_SCREENSHOTS === '1',
        'docs/screenshots/ is written exactly when CRM_SCREENSHOTS=1');
    } finally {
      fs.rmSync(file, { force: true });
    }
    await done(page);
  });

  test('7: columns load a page of cards at a time, closed ones start collapsed; the owner filter is kept', async () => {
    for (let i = 1; i <= 30; i++) {
      await other.create('opportunities', { name: `Bulk lead ${String(i).padStart(2, '0')}`, stage: 'lead', amount_cents: 100 * i });
    }
    const losses = [];
    for (let i = 1; i <= 3; i++) losses.push(await other.create('opportunities', { name: `Old loss ${i}`, stage: 'lost', lost_reason: 'price' }));
    const counts = Object.fromEntries((await rep.get('pipeline')).body.stages.map((stage) => [stage.stage, stage.count]));
    assert.ok(counts.lead > 25);
    const page = await loggedIn(REP);
    await page.goto('/#/pipeline');
    const column = (stage) => page.locator(`.board-column[data-stage="${stage}"]`);
    await page.waitForFunction(() => document.querySelectorAll('.board-column[data-stage="lead"] .deal-card').length === 25);
    const more = column('lead').getByRole('button', { name: `Show more (${counts.lead - 25} left)` });
    await more.click();
    await page.waitForFunction((n) => document.querySelectorAll('.board-column[data-stage="lead"] .deal-card').length === n, counts.lead);
    await more.waitFor({ state: 'hidden' });
    // Closed columns are collapsed until opened.
    assert.equal(await column('lost').locator('.deal-card').count(), 0);
    const toggle = column('lost').getByRole('button', { name: `Show ${counts.lost} cards` });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    await column('lost').locator('.deal-card', { hasText: 'Old loss 3' }).waitFor();
    assert.equal(await column('lost').locator('.deal-card').count(), counts.lost);
    await column('lost').getByRole('button', { name: 'Hide cards' }).click();
    await column('lost').locator('.deal-card').first().waitFor({ state: 'detached' });

    // The owner filter is kept between visits, also after a reload.
    await page.getByLabel('Owner').selectOption({ label: OTHER.name });
    await column('lead').locator('.deal-card', { hasText: 'Bulk lead 01' }).waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('.deal-card h3')].some((h3) => h3.textContent === 'Robin\'s deal'));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipeline' }).click();
    await column('lead').locator('.deal-card', { hasText: 'Bulk lead 01' }).waitFor();
    assert.equal(await page.getByLabel('Owner').inputValue(), String(other.user.id));
    await page.reload();
    await column('lead').locator('.deal-card').first().waitFor();
    await page.waitForFunction((id) => document.querySelector('.board-filters select')?.value === id, String(other.user.id));
    assert.equal(await page.locator('.deal-card', { hasText: 'Robin\'s deal' }).count(), 0);
    await page.getByLabel('Owner').selectOption('');
    // A deal opened from a contact's page is shown, in its collapsed column too.
    await page.goto(`/#/pipeline?focus=${losses[0].id}`);
    await column('lost').locator('.deal-card.focused', { hasText: 'Old loss 1' }).waitFor();
    await done(page);
  });

  test('6: phone width: no sideways scrolling on analytics, chart text readable, dashboard tables labelled, touch hint', async () => {
    for (const [days, cents] of [[-40, 25000], [-100, 61000], [-200, 9000]]) {
      await rep.create('purchases', { contact_id: ids.grace, amount_cents: cents, occurred_at: at(days) });
    }
    await rep.create('opportunities', { name: 'Phone deal', stage: 'lead', amount_cents: 3000 });
    const page = await loggedIn(REP, PHONE);
    // Dashboard: the pipeline table has no empty "Sort by" pill and every figure its label.
    const table = page.locator('#dashboard-pipeline table');
    await table.locator('tfoot tr').waitFor();
    assert.equal(await table.locator('thead tr').isVisible(), false, 'nothing to sort: no "Sort by" row');
    const footLabels = await table.locator('tfoot td').evaluateAll((cells) => cells.map((cell) => getComputedStyle(cell, '::before').content));
    assert.deepEqual(footLabels, ['"Count: "', '"Total: "', '"Weighted: "']);

    await page.goto('/#/analytics');
    await page.locator('svg.chart .chart-label').first().waitFor();
    await page.locator('.ltv-ranking, .data-table').first().waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `analytics: no horizontal scrolling (${width}px)`);
    // Chart text is drawn at its own size, not shrunk with the picture.
    await page.waitForFunction(() => [...document.querySelectorAll('svg.chart')].every((chart) => {
      const scale = chart.getBoundingClientRect().width / chart.viewBox.baseVal.width;
      return [...chart.querySelectorAll('text')].every((text) => parseFloat(getComputedStyle(text).fontSize) * scale >= 10.5);
    }));
    await page.context().close();

    // A phone with a touch screen is not told to drag cards.
    const context = await browser.newContext({ baseURL: crm.baseUrl, viewport: PHONE, hasTouch: true, isMobile: true });
    const touch = await context.newPage();
    await logIn(touch, REP.email, REP.password);
    await touch.goto('/#/pipeline');
    const status = touch.locator('.pipeline-page .list-status');
    await touch.waitForFunction(() => /opportunit/.test(document.querySelector('.pipeline-page .list-status')?.textContent));
    assert.match(await status.innerText(), /Move a card with its “Move to” list\.$/);
    assert.doesNotMatch(await status.innerText(), /drag/i);
    await context.close();
  });

  test('14: the company picker is a type-ahead that tells companies of the same name apart', async () => {
    const auroras = [];
    for (const [domain, who] of [['aurora-berlin.example', admin], ['aurora-lyon.example', rep], ['aurora.example', other]]) {
      auroras.push(await who.create('companies', { name: 'Aurora Consulting', domain }));
    }
    for (let i = 0; i < 30; i++) await admin.create('companies', { name: `Filler Company ${i}` });
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${ids.grace}`);
    await page.locator('.toolbar[data-ready]').getByRole('button', { name: 'Edit' }).click();
    const picker = page.getByRole('combobox', { name: 'Company' });
    await picker.fill('auror');
    const options = page.getByRole('option');
    await page.waitForFunction(() => document.querySelectorAll('.lookup-option').length === 3);
    const texts = await options.allInnerTexts();
    for (const [i, company] of auroras.entries()) {
      assert.ok(texts.some((text) => text.includes(company.domain) && text.includes(`#${company.id}`)), `option ${i}: ${texts}`);
    }
    assert.ok(texts.some((text) => text.includes('owner Robin Rep')), texts.join(' | '));
    // The keyboard picks the one on Lyon.
    const lyon = texts.findIndex((text) => text.includes('aurora-lyon.example'));
    for (let i = 0; i <= lyon; i++) await picker.press('ArrowDown');
    await picker.press('Enter');
    assert.equal(await picker.inputValue(), 'Aurora Consulting');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await rep.get(`contacts/${ids.grace}`)).body.company_id, auroras[1].id);

    // Text typed but not picked does not change the company; emptying the field clears it.
    await page.locator('.toolbar[data-ready]').getByRole('button', { name: 'Edit' }).click();
    await picker.fill('Filler');
    await page.getByLabel('Job title').focus();
    assert.equal(await picker.inputValue(), 'Aurora Consulting');
    await picker.fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await rep.get(`contacts/${ids.grace}`)).body.company_id, null);
    await done(page);
  });
});
