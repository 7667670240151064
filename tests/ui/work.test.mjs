// work.test.mjs - end-to-end tests of the day's work in the web UI (issue 5, second part),
// in headless Debian chromium against a real crmd with a fresh database: logging an
// interaction that shows in the timeline without a reload, the contact's tasks,
// opportunities, purchases and analytics, moving an opportunity to won on the board (drag
// and drop, and the keyboard "Move to" list with its Move button) with the totals changing on the board and the
// dashboard, a 412 on the board, the segment rule builder with its live count, the tasks
// and analytics pages, API keys in admin, and XSS attempts shown as text. Screenshots of
// the new pages go to docs/screenshots/.
//
// Run: make ui-test (or: cd tests/ui && CRM_BUILD=build node --test work.test.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiSession, launchBrowser, logIn, requirePrerequisites, newPage, screenshot, startCrm,
} from './harness.mjs';

const ADMIN = { email: 'admin@example.com', name: 'Alice Admin', role: 'admin', password: 'admin-password-1' };
const REP = { email: 'rep@example.com', name: 'Robin Rep', role: 'rep', team: 'north', password: 'rep-password-1' };
const MANAGER = { email: 'boss@example.com', name: 'Morgan Manager', role: 'manager', team: 'north', password: 'boss-password-1' };
const XSS = '<img src=x onerror=alert(1)>';
const PHONE = { width: 390, height: 844 };
const DAY = 86400 * 1000;

// Missing chromium or crmd fails the run (never a silent skip).
requirePrerequisites();

/** RFC 3339 UTC without fractions, `days` from now. */
function at(days) {
  return new Date(Date.now() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

describe('web UI: the day\'s work', () => {
  let crm;
  let browser;
  let admin;
  let rep;
  const ids = {};

  before(async () => {
    crm = await startCrm([ADMIN, REP, MANAGER]);
    browser = await launchBrowser();
    admin = await apiSession(crm.baseUrl, ADMIN.email, ADMIN.password);
    rep = await apiSession(crm.baseUrl, REP.email, REP.password);
    ids.grace = (await rep.create('contacts', {
      first_name: 'Grace', last_name: 'Hopper', email: 'grace@navy.example', lifecycle: 'customer', tags: ['vip'],
    })).id;
    ids.ada = (await rep.create('contacts', { first_name: 'Ada', last_name: 'Lovelace', lifecycle: 'lead' })).id;
    // Customers with purchases over the last year, for tiers, rankings and revenue.
    const buyers = [ids.grace];
    for (let i = 1; i <= 7; i++) {
      buyers.push((await rep.create('contacts', {
        first_name: `Buyer${i}`, last_name: 'Customer', lifecycle: i % 2 ? 'customer' : 'prospect', tags: i % 3 ? [] : ['vip'],
      })).id);
    }
    for (const [index, contactId] of buyers.entries()) {
      for (let k = 0; k <= index % 4; k++) {
        await rep.create('purchases', {
          contact_id: contactId, amount_cents: 10000 + 7300 * index + 2100 * k, occurred_at: at(-(20 + 47 * k + 9 * index)),
        });
      }
    }
    await rep.create('interactions', { contact_id: ids.grace, kind: 'email', direction: 'outbound', subject: 'Sent the brochure', occurred_at: at(-3) });
    ids.apollo = (await rep.create('opportunities', {
      name: 'Apollo upgrade', contact_id: ids.grace, stage: 'negotiation', amount_cents: 1200000, expected_close: at(20).slice(0, 10),
    })).id;
    ids.gemini = (await rep.create('opportunities', { name: 'Gemini renewal', contact_id: ids.ada, stage: 'proposal', amount_cents: 500000 })).id;
    ids.mercury = (await rep.create('opportunities', { name: 'Mercury pilot', contact_id: ids.ada, stage: 'lead', amount_cents: 80000 })).id;
    await admin.create('opportunities', { name: 'Admin deal', stage: 'qualified', amount_cents: 300000 });
    const endOfToday = new Date();
    endOfToday.setHours(23, 59, 0, 0);
    await rep.create('tasks', { title: 'Call Grace back', contact_id: ids.grace, due_at: at(-1) });
    await rep.create('tasks', {
      title: 'Send the quote', contact_id: ids.ada,
      due_at: new Date(Math.min(Date.now() + 3600 * 1000, endOfToday.getTime())).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    await rep.create('tasks', { title: 'Prepare the demo', due_at: at(3) });
    await rep.create('tasks', { title: 'Far in the future', due_at: at(30) });
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

  const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();

  test('contact: log a call and see it in the timeline without a reload; tasks, opportunities, purchases, analytics', async () => {
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${ids.grace}`);
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    await page.evaluate(() => { window.notReloaded = true; });
    const timeline = page.locator('#section-timeline');
    await timeline.locator('.timeline-item', { hasText: 'Sent the brochure' }).waitFor();

    await timeline.getByRole('button', { name: 'Log a call, email, meeting or note' }).click();
    const form = page.getByRole('form', { name: 'Log an interaction' });
    await form.getByLabel('Kind').selectOption('call');
    await form.getByLabel('Direction').selectOption('inbound');
    await form.getByLabel('Subject').fill('Asked about the new pricing');
    await form.getByLabel('Notes').fill('Wants a quote by Friday.');
    await form.getByRole('button', { name: 'Log it' }).click();
    const entry = timeline.locator('.timeline-item', { hasText: 'Asked about the new pricing' });
    await entry.waitFor();
    assert.equal(await entry.locator('.timeline-type').innerText(), 'Call · inbound');
    assert.match(await entry.innerText(), /Wants a quote by Friday\./);
    const order = await timeline.locator('.timeline-title').allInnerTexts();
    assert.ok(order.indexOf('Asked about the new pricing') < order.indexOf('Sent the brochure'), `newest first: ${order}`);
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
    const logged = (await rep.get(`interactions?contact_id=${ids.grace}&kind=call`)).body.data;
    assert.equal(logged.length, 1);
    assert.equal(logged[0].direction, 'inbound');
    assert.equal(logged[0].user_id, rep.user.id);

    // A task for this contact: add it, tick it off.
    const tasks = page.locator('#section-tasks');
    await tasks.getByText('Call Grace back').waitFor();
    await tasks.getByRole('button', { name: 'Add a task' }).click();
    await tasks.getByLabel('Title').fill('Send Grace the contract');
    await tasks.getByRole('button', { name: 'Add task' }).click();
    await tasks.getByText('Send Grace the contract').waitFor();
    await tasks.getByLabel('Send Grace the contract').check();
    await tasks.locator('.task-item.done', { hasText: 'Send Grace the contract' }).waitFor();
    const stored = (await rep.get(`tasks?contact_id=${ids.grace}&done=true`)).body.data;
    assert.deepEqual(stored.map((t) => t.title), ['Send Grace the contract']);
    assert.equal(stored[0].assignee_id, rep.user.id);

    // An opportunity: a bad amount is a 422 next to the field, then it is created.
    const opportunities = page.locator('#section-opportunities');
    await opportunities.getByRole('button', { name: 'Add an opportunity' }).click();
    const oppForm = page.getByRole('form', { name: 'New opportunity' });
    await oppForm.getByLabel('Name').fill('Hopper expansion');
    await oppForm.getByLabel('Stage').selectOption('qualified');
    await oppForm.getByLabel('Amount').fill('lots');
    await oppForm.getByRole('button', { name: 'Add opportunity' }).click();
    await oppForm.locator('.field[data-field="amount_cents"] .field-error').waitFor();
    await oppForm.getByLabel('Amount').fill('2500.50');
    await oppForm.getByRole('button', { name: 'Add opportunity' }).click();
    await opportunities.getByRole('link', { name: 'Hopper expansion' }).waitFor();
    const created = (await rep.get(`opportunities?contact_id=${ids.grace}&stage=qualified`)).body.data[0];
    assert.equal(created.amount_cents, 250050);
    await timeline.locator('.timeline-item.type-opportunity', { hasText: 'Hopper expansion' }).waitFor();

    // A purchase: listed, and the analytics follow.
    await page.locator('[data-figure="purchases"]').waitFor();
    const purchasesBefore = Number(await page.locator('[data-figure="purchases"] dd').innerText());
    const purchases = page.locator('#section-purchases');
    await purchases.getByRole('button', { name: 'Record a purchase' }).click();
    await purchases.getByLabel('Amount').fill('199.99');
    await purchases.getByLabel('Reference').fill('INV-0042');
    await purchases.getByRole('button', { name: 'Record purchase' }).click();
    await purchases.getByRole('cell', { name: 'INV-0042' }).waitFor();
    await page.waitForFunction((count) => document.querySelector('[data-figure="purchases"] dd')?.textContent === String(count), purchasesBefore + 1);
    for (const figure of ['historical_ltv', 'predicted_ltv', 'tier', 'churn_risk', 'rfm', 'stage', 'loyalty', 'value_class']) {
      assert.notEqual((await page.locator(`[data-figure="${figure}"] dd`).innerText()).trim(), '—', `${figure} is shown`);
    }
    await screenshot(page, 'contact-timeline');
    await done(page);
  });

  test('XSS: an interaction subject and an opportunity name are shown as text', async () => {
    await rep.create('interactions', { contact_id: ids.ada, kind: 'note', subject: XSS, body: `<script>alert(2)</script>` });
    await rep.create('opportunities', { name: XSS, contact_id: ids.ada, stage: 'lead', amount_cents: 100 });
    const page = await loggedIn(REP);
    await page.goto(`/#/contacts/${ids.ada}`);
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    const title = page.locator('#section-timeline .timeline-title', { hasText: XSS }).first();
    await title.waitFor();
    assert.equal(await title.innerText(), XSS);
    await page.locator('#section-opportunities').getByRole('link', { name: XSS }).waitFor();
    await nav(page, 'Pipeline');
    const card = page.locator('.deal-card h3', { hasText: XSS });
    await card.waitFor();
    assert.equal(await card.innerText(), XSS);
    await nav(page, 'Dashboard');
    await page.locator('#dashboard-interactions .timeline-title', { hasText: XSS }).waitFor();
    await page.waitForTimeout(300);
    assert.equal(await page.locator('main img').count(), 0, 'no <img> element was created');
    assert.equal(await page.locator('main script').count(), 0, 'no <script> element was created');
    await done(page);
  });

  test('pipeline: drag a card to won, and the totals change on the board and the dashboard', async () => {
    const page = await loggedIn(REP);
    const wonRow = page.locator('#dashboard-pipeline tr[data-stage="won"]');
    await wonRow.waitFor();
    assert.equal(await wonRow.locator('.stage-count').innerText(), '0');

    await nav(page, 'Pipeline');
    await page.getByRole('heading', { level: 1, name: 'Pipeline' }).waitFor();
    const column = (stage) => page.locator(`.board-column[data-stage="${stage}"]`);
    const card = page.locator('.deal-card', { hasText: 'Apollo upgrade' });
    await card.waitFor();
    await page.waitForFunction(() => document.querySelector('.board-column[data-stage="won"] .column-count')?.textContent === '0');
    const negotiationBefore = Number(await column('negotiation').locator('.column-count').innerText());

    await card.dragTo(column('won'));
    await column('won').locator('.deal-card', { hasText: 'Apollo upgrade' }).waitFor();
    await page.waitForFunction(() => document.querySelector('.board-column[data-stage="won"] .column-count')?.textContent === '1');
    assert.match(await column('won').locator('.column-totals').innerText(), /12,000\.00 total/);
    assert.equal(Number(await column('negotiation').locator('.column-count').innerText()), negotiationBefore - 1);
    await page.getByText('Moved “Apollo upgrade” to Won.').waitFor();
    const apollo = (await rep.get(`opportunities/${ids.apollo}`)).body;
    assert.equal(apollo.stage, 'won');
    assert.equal(apollo.probability, 100);

    // Without a mouse: the card's "Move to" list.
    const gemini = page.locator('.deal-card', { hasText: 'Gemini renewal' });
    await gemini.getByLabel('Move to…').selectOption('negotiation');
    await gemini.getByRole('button', { name: 'Move' }).click();
    await column('negotiation').locator('.deal-card', { hasText: 'Gemini renewal' }).waitFor();
    assert.equal((await rep.get(`opportunities/${ids.gemini}`)).body.stage, 'negotiation');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('.deal-card')?.textContent.includes('Gemini renewal')), true,
      'focus stays on the moved card');

    // A card of someone else cannot be moved by a rep: it offers no move.
    const adminDeal = column('qualified').locator('.deal-card', { hasText: 'Admin deal' });
    await adminDeal.waitFor();
    assert.equal(await adminDeal.getByLabel('Move to…').count(), 0);
    assert.equal(await adminDeal.getAttribute('draggable'), null);

    // Filters: my deals only.
    await page.getByLabel('Owner').selectOption('me');
    await page.waitForFunction(() => [...document.querySelectorAll('.deal-card h3')].every((h3) => h3.textContent !== 'Admin deal'));
    await page.locator('.deal-card', { hasText: 'Gemini renewal' }).waitFor();
    assert.ok(await page.locator('.deal-card', { hasText: 'Gemini renewal' }).count() === 1, 'my deals stay');
    await page.getByLabel('Owner').selectOption('');
    await page.locator('.deal-card', { hasText: 'Admin deal' }).waitFor();
    await screenshot(page, 'pipeline');

    await nav(page, 'Dashboard');
    await page.waitForFunction(() => document.querySelector('#dashboard-pipeline tr[data-stage="won"] .stage-count')?.textContent === '1');
    assert.match(await wonRow.locator('.stage-total').innerText(), /12,000\.00/);
    await page.locator('#dashboard-tiers svg.chart').waitFor();
    await page.locator('#dashboard-tasks .task-item', { hasText: 'Call Grace back' }).waitFor();
    await screenshot(page, 'dashboard');
    await done(page);
  });

  test('pipeline: a 412 says that someone else changed the card and reloads it', async () => {
    const page = await loggedIn(REP);
    await page.goto('/#/pipeline');
    const card = page.locator('.deal-card', { hasText: 'Mercury pilot' });
    await card.waitFor();
    await page.locator('.board:not([aria-busy])').waitFor(); // every column has its cards
    // Meanwhile an administrator moves it.
    const changed = await admin.patch(`opportunities/${ids.mercury}`, { stage: 'proposal' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await card.getByLabel('Move to…').selectOption('qualified');
    await card.getByRole('button', { name: 'Move' }).click();
    await page.getByText('Someone else changed “Mercury pilot” since the board was loaded, so it was not moved.').waitFor();
    await page.locator('.board-column[data-stage="proposal"] .deal-card', { hasText: 'Mercury pilot' }).waitFor();
    assert.equal((await rep.get(`opportunities/${ids.mercury}`)).body.stage, 'proposal', 'the stale move was not saved');
    // The reloaded card moves.
    const reloaded = page.locator('.deal-card', { hasText: 'Mercury pilot' });
    await reloaded.getByLabel('Move to…').selectOption('qualified');
    await reloaded.getByRole('button', { name: 'Move' }).click();
    await page.locator('.board-column[data-stage="qualified"] .deal-card', { hasText: 'Mercury pilot' }).waitFor();
    assert.equal((await rep.get(`opportunities/${ids.mercury}`)).body.stage, 'qualified');
    await done(page);
  });

  test('segments: build a rule with a nested group, see the live count, save it, list and export its members', async () => {
    const page = await loggedIn(REP);
    await nav(page, 'Segments');
    await page.getByRole('heading', { level: 1, name: 'Segments' }).waitFor();
    await page.getByRole('link', { name: 'New segment' }).click();
    await page.getByRole('heading', { level: 1, name: 'New segment' }).waitFor();
    await page.getByLabel('Name').fill('Engaged customers');
    const conditions = page.locator('.rule-condition');
    const count = page.locator('.live-count');

    // lifecycle is customer
    await conditions.nth(0).getByLabel('Value').selectOption('customer');
    const customers = (await rep.post('segments/preview', { rule: { all: [{ field: 'lifecycle', op: 'eq', value: 'customer' }] } })).body.count;
    await page.waitForFunction((n) => document.querySelector('.live-count .count-value')?.textContent === String(n), customers);

    // and any of: purchases >= 3, tags contains vip
    await page.getByRole('button', { name: 'Add group' }).click();
    const nested = conditions.nth(1);
    await nested.getByLabel('Field').selectOption({ label: 'Purchases' });
    await nested.getByLabel('Operator').selectOption({ label: 'is at least' });
    await nested.getByLabel('Value').fill('3');
    await page.locator('.rule-group .rule-group').getByRole('button', { name: 'Add condition' }).click();
    const second = conditions.nth(2);
    await second.getByLabel('Field').selectOption({ label: 'Tags' });
    await second.getByLabel('Value').fill('vip');
    const rule = {
      all: [{ field: 'lifecycle', op: 'eq', value: 'customer' },
        { any: [{ field: 'purchases_count', op: 'gte', value: 3 }, { field: 'tags', op: 'contains', value: 'vip' }] }],
    };
    const expected = (await rep.post('segments/preview', { rule })).body.count;
    assert.ok(expected > 0 && expected < customers, `the nested group narrows it (${expected} of ${customers})`);
    await page.waitForFunction((n) => document.querySelector('.live-count .count-value')?.textContent === String(n), expected);
    assert.match(await count.innerText(), new RegExp(`${expected} contacts? match`));

    // A bad value: the server's 422 stands next to that condition; removing it clears it.
    await page.locator('.rule-group').first().getByRole('button', { name: 'Add condition' }).last().click();
    const bad = conditions.nth(3);
    await bad.getByLabel('Field').selectOption({ label: 'Created' });
    await bad.getByLabel('Value').fill('someday');
    await bad.locator('.rule-error').waitFor();
    assert.ok(await bad.evaluate((el) => el.classList.contains('invalid')));
    await bad.getByRole('button', { name: /Remove the condition/ }).click();
    await page.waitForFunction((n) => document.querySelector('.live-count .count-value')?.textContent === String(n), expected);
    await screenshot(page, 'segments');

    await page.getByRole('button', { name: 'Save segment' }).click();
    await page.getByRole('heading', { level: 1, name: 'Engaged customers' }).waitFor();
    const members = page.locator('.segment-members');
    await members.getByText(new RegExp(`^${expected} members? shown$`)).waitFor();
    await members.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    const id = /#\/segments\/(\d+)/.exec(page.url())[1];
    const saved = (await rep.get(`segments/${id}`)).body;
    assert.equal(saved.kind, 'dynamic');
    assert.deepEqual(saved.rule, rule);
    const href = await members.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await page.evaluate(async (url) => {
      const response = await fetch(url);
      return { status: response.status, type: response.headers.get('Content-Type'), text: await response.text() };
    }, href);
    assert.equal(csv.status, 200);
    assert.match(csv.type, /text\/csv/);
    assert.match(csv.text, /Hopper/);
    assert.equal(csv.text.trim().split(/\r?\n/).length, expected + 1, 'a header and one row per member');
    await screenshot(page, 'segment-members');
    await done(page);
  });

  test('segments: a static segment gets its members by hand', async () => {
    const segment = await rep.create('segments', { name: 'Hand-picked', kind: 'static' });
    const page = await loggedIn(REP);
    await page.goto(`/#/segments/${segment.id}`);
    await page.getByRole('heading', { level: 1, name: 'Hand-picked' }).waitFor();
    const members = page.locator('.segment-members');
    await members.getByText('No members.').waitFor();
    await members.getByLabel('Add contacts').fill('Lovelace');
    await members.getByRole('button', { name: 'Add Ada Lovelace' }).click();
    await members.getByRole('link', { name: 'Ada Lovelace' }).waitFor();
    await members.getByLabel('Add contacts').fill('Hopper');
    await members.getByRole('button', { name: 'Add Grace Hopper' }).click();
    await members.getByText('2 members shown').waitFor();
    await members.getByRole('button', { name: 'Remove Ada Lovelace' }).click();
    await members.getByText('1 member shown').waitFor();
    const stored = (await rep.get(`segments/${segment.id}/members`)).body.data.map((c) => c.id);
    assert.deepEqual(stored, [ids.grace]);
    // Meanwhile an administrator changes the segment: adding is refused (412) with the
    // page's conflict notice, and its Reload button brings the new version.
    const changed = await admin.patch(`segments/${segment.id}`, { description: 'Changed meanwhile' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await members.getByLabel('Add contacts').fill('Lovelace');
    await members.getByRole('button', { name: 'Add Ada Lovelace' }).click();
    const conflict = page.locator('.detail-messages .conflict');
    await conflict.getByText('Someone else changed this segment since you opened it.').waitFor();
    assert.deepEqual((await rep.get(`segments/${segment.id}/members`)).body.data.map((c) => c.id), [ids.grace], 'the stale add was not saved');
    await conflict.getByRole('button', { name: 'Reload' }).click();
    await conflict.waitFor({ state: 'detached' });
    assert.equal(await page.getByLabel('Description', { exact: true }).inputValue(), 'Changed meanwhile');
    await page.locator('.segment-members').getByText('1 member shown').waitFor();
    // The page keeps up with the version: renaming it afterwards saves (no 412).
    await page.getByLabel('Name').fill('Hand-picked few');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await rep.get(`segments/${segment.id}`)).body.name, 'Hand-picked few');
    await done(page);
  });

  test('keyboard: every form control of the new pages has a label', async () => {
    const unlabelled = () => page.evaluate(() => [...document.querySelectorAll('main input, main select, main textarea')]
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.outerHTML));
    const page = await loggedIn(ADMIN);
    const visits = [
      ['/', '#dashboard-tasks .block-body'],
      [`/contacts/${ids.grace}`, '#section-timeline .timeline-item'],
      ['/pipeline', '.deal-card'],
      ['/tasks', '.task-group'],
      ['/segments/new', '.rule-condition'],
      ['/analytics', '#analytics-ltv table'],
      ['/admin/api-keys', 'form'],
    ];
    for (const [path, selector] of visits) {
      await page.goto(`/#${path}`);
      await page.locator(selector).first().waitFor();
      // Open the forms that appear on demand.
      for (const button of await page.locator('main .disclosure > button').all()) await button.click();
      if (path === '/segments/new') await page.getByRole('button', { name: 'Add group' }).click();
      assert.deepEqual(await unlabelled(), [], `${path}: every control has a label`);
    }
    await done(page);
  });

  test('tasks: overdue, today, this week and later; ticking one off', async () => {
    const page = await loggedIn(REP);
    await nav(page, 'Tasks');
    await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
    const group = (key) => page.locator(`.task-group[data-group="${key}"]`);
    await group('overdue').getByText('Call Grace back').waitFor();
    await group('today').getByText('Send the quote').waitFor();
    await group('week').getByText('Prepare the demo').waitFor();
    await group('later').getByText('Far in the future').waitFor();
    assert.equal(await page.getByLabel('Assignee').count(), 0, 'a rep sees only their own tasks');
    await page.getByLabel('Send the quote').check();
    await page.getByText('Done: “Send the quote”.').waitFor();
    const open = (await rep.get('tasks?assignee_id=me&done=false')).body.data.map((t) => t.title);
    assert.ok(!open.includes('Send the quote'));
    await screenshot(page, 'tasks');
    await done(page);

    // A manager picks whose tasks to see among the team.
    const boss = await loggedIn(MANAGER);
    await boss.goto('/#/tasks');
    await boss.getByLabel('Assignee').selectOption({ label: REP.name });
    await boss.locator('.task-group[data-group="overdue"]').getByText('Call Grace back').waitFor();
    await done(boss);
  });

  /** The first days ("YYYY-MM-01", UTC) of the last `count` months, oldest first. */
  function lastMonthStarts(count) {
    const now = new Date();
    return Array.from({ length: count }, (_, i) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (count - 1 - i), 1)).toISOString().slice(0, 10));
  }

  test('analytics: tier chart, revenue by month and the LTV ranking with the model', async () => {
    // A purchase five months ago, so that an older month is not empty either.
    const months = lastMonthStarts(12);
    await rep.create('purchases', { contact_id: ids.ada, amount_cents: 123456, occurred_at: `${months[6]}T12:00:00Z` });
    // Every purchase of the test so far, summed per UTC month: what the chart must show.
    const all = (await rep.get('purchases?limit=500')).body.data;
    const expected = new Map(months.map((month) => [month, 0]));
    for (const purchase of all) {
      const month = `${purchase.occurred_at.slice(0, 7)}-01`;
      if (expected.has(month)) expected.set(month, expected.get(month) + purchase.amount_cents);
    }
    assert.ok([...expected.values()].filter(Boolean).length >= 5, `purchases in several months: ${[...expected]}`);
    const page = await loggedIn(REP);
    await nav(page, 'Analytics');
    await page.getByRole('heading', { level: 1, name: 'Analytics' }).waitFor();
    const tiers = page.locator('#analytics-tiers');
    await tiers.locator('svg.chart').first().waitFor();
    const tierApi = (await rep.get('analytics/tiers')).body.tiers;
    for (const tier of tierApi) {
      const bar = tiers.locator(`svg.chart g.chart-bar.tier-${tier.name}`).first();
      assert.match(await bar.locator('.chart-value').textContent(), new RegExp(`^${tier.members} members?\\b`));
    }
    assert.equal(await tiers.locator('svg.chart title').first().textContent(), 'Members per tier');
    const revenue = page.locator('#analytics-revenue svg.chart');
    await revenue.waitFor();
    assert.equal(await revenue.locator('g.chart-bar').count(), 12, 'twelve months');
    const bars = await revenue.locator('g.chart-bar').evaluateAll((nodes) => nodes.map((bar) => ({
      start: bar.getAttribute('data-start'), cents: Number(bar.getAttribute('data-revenue-cents')),
      height: Number(bar.querySelector('rect').getAttribute('height')), label: bar.querySelector('.chart-label').textContent,
    })));
    assert.deepEqual(bars.map((bar) => bar.start), months, 'the last twelve months, oldest first');
    for (const bar of bars) {
      assert.equal(bar.cents, expected.get(bar.start), `revenue of ${bar.start}`);
      assert.equal(bar.height > 0, expected.get(bar.start) > 0, `a column for ${bar.start} exactly when it has purchases`);
      assert.match(bar.label, new RegExp(bar.start.slice(2, 4)), `${bar.start} is labelled with its year`);
    }
    const fiveMonthsAgo = bars.find((bar) => bar.start === months[6]);
    assert.ok(fiveMonthsAgo.cents >= 123456, 'the purchase made five months ago');
    assert.equal(await page.getByText('Summed in the browser').count(), 0, 'no client-side summing any more');
    const ltv = page.locator('#analytics-ltv');
    await ltv.locator('table.ltv-table tbody tr').first().waitFor();
    const ranking = (await rep.get('analytics/ltv?limit=25')).body;
    assert.equal(await ltv.locator('table.ltv-table tbody tr').count(), ranking.data.length);
    // Above the table, SVG bars of the top ten by predicted LTV, names drawn as text.
    const ltvBars = ltv.locator('svg.chart g.chart-bar');
    assert.equal(await ltvBars.count(), Math.min(10, ranking.data.length), 'one bar per customer of the top ten');
    const best = [...ranking.data].sort((a, b) => b.predicted_ltv_cents - a.predicted_ltv_cents)[0];
    const bestName = [best.first_name, best.last_name].filter(Boolean).join(' ') || best.email || `Contact #${best.contact_id}`;
    const firstBar = ltvBars.first();
    assert.equal(await firstBar.getAttribute('data-contact-id'), String(best.contact_id), 'the first bar is the highest predicted LTV');
    assert.equal(await firstBar.getAttribute('data-label'), bestName);
    assert.equal(Number(await firstBar.getAttribute('data-predicted-ltv-cents')), best.predicted_ltv_cents);
    assert.equal(await firstBar.locator('.chart-label').textContent(), bestName.length > 24 ? `${bestName.slice(0, 23)}…` : bestName);
    const barValue = await firstBar.locator('.chart-value').textContent();
    assert.equal(Number(barValue.replace(/[^0-9]/g, '')), best.predicted_ltv_cents, `the bar shows the amount: ${barValue}`);
    assert.equal(barValue, await ltv.locator(`table tr[data-id="${best.contact_id}"] td[data-label="Predicted LTV"]`).textContent());
    assert.equal(await ltv.locator('svg.chart img').count(), 0);
    assert.match(await ltv.locator('.model').innerText(), ranking.model.converged ? /converged/ : /did not converge/);
    await ltv.getByText('BG/NBD r').waitFor();
    await screenshot(page, 'analytics');
    await done(page);
  });

  test('admin: create an API key (shown once, copied), it works, then revoke it', async () => {
    const page = await loggedIn(ADMIN);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: crm.baseUrl });
    await nav(page, 'Admin');
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    const form = page.getByRole('form', { name: 'New API key' });
    await form.getByRole('button', { name: 'Create key' }).click();
    await form.locator('.field[data-field="name"] .field-error').waitFor();
    await form.getByLabel('Name').fill('Billing sync');
    await form.getByLabel('Acts as').selectOption({ label: REP.name });
    await form.getByLabel('Expires after (days)').fill('30');
    await form.getByLabel('Read-only (no changes)').check();
    await form.getByRole('button', { name: 'Create key' }).click();
    const keyInput = page.getByRole('textbox', { name: 'New API key' });
    await keyInput.waitFor();
    const key = await keyInput.inputValue();
    assert.match(key, /^crm_[A-Za-z0-9_-]{40,}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    const row = page.locator('.api-keys-table tr', { hasText: 'Billing sync' });
    await row.waitFor();
    assert.match(await row.innerText(), /Robin Rep/);
    assert.match(await row.innerText(), /read-only/);
    await screenshot(page, 'admin-api-keys');

    const bearer = (method, path) => fetch(`${crm.baseUrl}/api/v1/${path}`, {
      method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: method === 'GET' ? undefined : JSON.stringify({ first_name: 'Nope' }),
    });
    const me = await (await bearer('GET', 'auth/me')).json();
    assert.equal(me.user.email, REP.email);
    assert.equal((await bearer('POST', 'contacts')).status, 403, 'a read-only key');

    await row.getByRole('button', { name: 'Revoke Billing sync' }).click();
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('Revoked “Billing sync”: it stops working at once.').waitFor();
    await page.locator('.api-keys-table tr', { hasText: 'Billing sync' }).locator('.status-revoked').waitFor();
    assert.equal((await bearer('GET', 'auth/me')).status, 401);

    // Shown once: after a reload the key is nowhere on the page.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await page.locator('.api-keys-table tr', { hasText: 'Billing sync' }).waitFor();
    assert.equal((await page.content()).includes(key), false);
    await done(page);
  });

  test('phone width: the board stacks its columns and the dashboard fits', async () => {
    const page = await loggedIn(REP, PHONE);
    await page.locator('#dashboard-pipeline tr[data-stage="won"]').waitFor();
    let width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `dashboard: no horizontal scrolling (${width}px)`);
    await page.goto('/#/pipeline');
    await page.locator('.deal-card').first().waitFor();
    width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `board: no horizontal scrolling (${width}px)`);
    await screenshot(page, 'pipeline-phone', { fullPage: false });
    await done(page);
  });
});
