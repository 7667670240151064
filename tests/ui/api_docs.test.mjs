// api_docs.test.mjs - the readable API reference in headless Debian chromium: the footer
// of the logged-in UI links to /api.html, and that page renders every operation of
// /api/v1/openapi.json (and every webhook event) from the document, with a working filter.
//
// Run: cd tests/ui && CRM_BUILD=build node --test api_docs.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, logIn, requirePrerequisites, newPage, startCrm } from './harness.mjs';

const REP = { email: 'rep@example.com', name: 'Robin Rep', role: 'rep', team: 'north', password: 'rep-password-1' };

// Missing chromium or crmd fails the run (never a silent skip).
requirePrerequisites();

describe('API reference page', () => {
  let crm;
  let browser;

  before(async () => {
    crm = await startCrm([REP]);
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (crm) await crm.stop();
  });

  test('a logged-in user reaches /api.html from the footer and sees every endpoint', async () => {
    const document = await (await fetch(`${crm.baseUrl}/api/v1/openapi.json`)).json();
    const expected = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) expected.push(`${method.toUpperCase()} ${path}`);
    }
    const events = Object.keys(document.webhooks || {});
    assert.ok(expected.length > 50, `only ${expected.length} operations in the document`);
    assert.ok(events.length > 10, 'no webhooks in the document');

    const page = await newPage(browser, crm.baseUrl);
    try {
      await logIn(page, REP.email, REP.password);
      const link = page.locator('footer').getByRole('link', { name: 'API reference' });
      await link.waitFor();
      assert.equal(await link.getAttribute('href'), '/api.html');
      await link.click();
      await page.waitForURL('**/api.html');
      await page.getByRole('heading', { level: 1, name: 'CRM API reference' }).waitFor();
      await page.locator('#api-docs-status').waitFor({ state: 'detached' });

      // every operation of the document, once, as "METHOD path" in its summary line
      const shown = await page.locator('section.api-tag:not(.api-webhooks) details.api-operation > summary')
        .evaluateAll((nodes) => nodes.map((node) => {
          const codes = node.querySelectorAll('code');
          return `${codes[0].textContent} ${codes[1].textContent}`;
        }));
      assert.deepEqual([...shown].sort(), [...expected].sort());
      const contacts = document.paths['/api/v1/contacts'].get;
      await page.locator('details.api-operation', { hasText: contacts.summary }).first().waitFor();

      // the webhooks: one POST per event name the document lists
      const hooks = await page.locator('section.api-webhooks details.api-operation > summary')
        .evaluateAll((nodes) => nodes.map((node) => node.querySelectorAll('code')[1].textContent));
      assert.deepEqual([...hooks].sort(), [...events].sort());
      const merged = page.locator('section.api-webhooks details.api-operation').filter({ hasText: 'contact.merged' });
      await merged.locator('summary').click();
      await merged.getByText('X-CRM-Signature', { exact: true }).waitFor();

      // the filter narrows the list to the matching operations
      await page.getByLabel('Filter operations').fill('webhooks/events');
      const visible = await page.locator('details.api-operation:visible > summary').allTextContents();
      assert.equal(visible.length, 1, visible.join('\n'));
      assert.match(visible[0], /^GET \/api\/v1\/webhooks\/events /);
      await page.getByLabel('Filter operations').fill('');
      assert.equal(await page.locator('details.api-operation:visible').count(), expected.length + events.length);

      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });
});
