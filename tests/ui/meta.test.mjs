// meta.test.mjs - the web UI takes its enums from the server (GET /api/v1/meta, web/js/meta.js)
// instead of copying the C descriptors: against a real crmd in headless chromium, the
// options of the contact form's lifecycle, the interaction form's kind and direction, the
// opportunity form's stage, the board's columns and the rule builder's lifecycle values are
// those GET meta answers; the page asks for meta once per session; and no file under web/
// holds a copy of an enum's values.
//
// Run: make ui-test (or: cd tests/ui && CRM_BUILD=build node --test meta.test.mjs).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  REPO, apiSession, launchBrowser, logIn, requirePrerequisites, newPage, startCrm,
} from './harness.mjs';

const ADMIN = { email: 'admin@example.com', name: 'Alice Admin', role: 'admin', password: 'admin-password-1' };
// Missing chromium or crmd fails the run (never a silent skip).
requirePrerequisites();

/** The non-empty option values of a <select>. */
const optionValues = (select) => select.evaluate((element) => [...element.options].map((o) => o.value).filter(Boolean));

/** Every .js and .html file under web/, recursively. */
function webFiles(directory = path.join(REPO, 'web')) {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory()) return webFiles(file);
    return /\.(js|mjs|html)$/.test(entry.name) ? [file] : [];
  });
}

describe('web UI: enums come from GET /api/v1/meta', () => {
  let crm;
  let browser;
  let admin;
  let meta;
  let contactId;

  /** The values of an enum field as GET meta says. */
  const values = (resource, field) => meta.resources.find((r) => r.name === resource)
    .fields.find((f) => f.name === field).values;

  before(async () => {
    crm = await startCrm([ADMIN]);
    browser = await launchBrowser();
    admin = await apiSession(crm.baseUrl, ADMIN.email, ADMIN.password);
    const answer = await admin.get('meta');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    meta = answer.body;
    contactId = (await admin.create('contacts', { first_name: 'Meta', last_name: 'Tester' })).id;
  });

  after(async () => {
    if (browser) await browser.close();
    if (crm) await crm.stop();
  });

  test('forms, board and rule builder offer the server\'s values; meta is asked once', async () => {
    const page = await newPage(browser, crm.baseUrl);
    const metaRequests = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/v1/meta') metaRequests.push(request.url());
    });
    await logIn(page, ADMIN.email, ADMIN.password);
    assert.equal(metaRequests.length, 1, 'meta is loaded with the session');

    await page.goto('/#/contacts');
    await page.getByRole('button', { name: 'New contact' }).click();
    const contactForm = page.getByRole('form', { name: 'New contact' });
    assert.deepEqual(await optionValues(contactForm.getByLabel('Lifecycle')), values('contacts', 'lifecycle'));

    await page.goto(`/#/contacts/${contactId}`);
    await page.getByRole('heading', { level: 1, name: 'Meta Tester' }).waitFor();
    await page.locator('#section-timeline').getByRole('button', { name: 'Log a call, email, meeting or note' }).click();
    const interactionForm = page.getByRole('form', { name: 'Log an interaction' });
    assert.deepEqual(await optionValues(interactionForm.getByLabel('Kind')),
      values('interactions', 'kind').filter((kind) => kind !== 'ticket'));
    assert.deepEqual(await optionValues(interactionForm.getByLabel('Direction')), values('interactions', 'direction'));
    await page.locator('#section-opportunities').getByRole('button', { name: 'Add an opportunity' }).click();
    const opportunityForm = page.getByRole('form', { name: 'New opportunity' });
    assert.deepEqual(await optionValues(opportunityForm.getByLabel('Stage')), values('opportunities', 'stage'));

    await page.goto('/#/pipeline');
    await page.locator('.board-column').first().waitFor();
    assert.deepEqual(await page.locator('.board-column').evaluateAll((columns) => columns.map((c) => c.dataset.stage)),
      values('opportunities', 'stage'));

    await page.goto('/#/segments/new');
    await page.getByRole('heading', { level: 1, name: 'New segment' }).waitFor();
    const firstCondition = page.locator('.rule-condition').first();
    assert.deepEqual(await optionValues(firstCondition.getByLabel('Value')), values('contacts', 'lifecycle'));

    assert.equal(metaRequests.length, 1, 'meta is asked once per session, not per page');
    assert.deepEqual(page.problems, [], 'no page errors or console errors');
    await page.context().close();
  });

  test('no file under web/ copies an enum of the server', () => {
    const sources = webFiles().map((file) => [file, fs.readFileSync(file, 'utf8')]);
    let enums = 0;
    for (const resource of meta.resources) {
      for (const field of resource.fields.filter((f) => f.values && f.values.length >= 3)) {
        enums++;
        // any three values in their order, quoted as JavaScript or JSON writes them
        for (let i = 0; i + 3 <= field.values.length; i++) {
          const run = field.values.slice(i, i + 3);
          for (const quote of ["'", '"']) {
            const copy = run.map((v) => `${quote}${v}${quote}`).join(', ');
            for (const [file, text] of sources) {
              assert.ok(!text.includes(copy), `${path.relative(REPO, file)} copies ${resource.name}.${field.name}: ${copy}`);
            }
          }
        }
      }
    }
    assert.ok(enums >= 4, `checked ${enums} enums`); // lifecycle, kind, status, stage
  });
});
