// harness.mjs - what the browser tests need around the browser: a real crmd on a free
// loopback port with a temporary database (prepared with crmctl init and crmctl user
// add), an API client that logs in like the browser does (cookie + CSRF token), Debian's
// chromium driven by playwright-core, and screenshots saved under docs/screenshots/ when
// asked for (CRM_SCREENSHOTS=1, as `make screenshots` does): a test run changes no file.
//
// CRM_BUILD names the build directory with crmd and crmctl (default: build/), relative
// to the repository root unless absolute; the same variable as tests/harness.py.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.resolve(REPO, process.env.CRM_BUILD || 'build');
export const CRMD = path.join(BUILD, 'crmd');
export const CRMCTL = path.join(BUILD, 'crmctl');
export const CHROMIUM = process.env.CRM_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = path.join(REPO, 'docs', 'screenshots');
const WRITE_SCREENSHOTS = process.env.CRM_SCREENSHOTS === '1';

const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
  'ERROR: UndefinedBehaviorSanitizer'];
const ENV = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=86',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};

function checkSanitizerOutput(text, what) {
  for (const marker of SANITIZER_MARKERS) {
    if (text.includes(marker)) throw new Error(`${what} reported a sanitizer error:\n${text.slice(-6000)}`);
  }
}

/** Why the browser tests cannot run here, or null when they can. */
/** Throws when the browser tests cannot run: a missing prerequisite fails, never skips. */
export function requirePrerequisites() {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`cannot run the browser tests: ${missing}`);
}

export function missingPrerequisite() {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (scripts/install-ui-deps installs it)`;
  if (!fs.existsSync(CRMD) || !fs.existsSync(CRMCTL)) return `no crmd/crmctl in ${BUILD} (run make first)`;
  return null;
}

/** Runs crmctl --db DB ARGS (stdin: text to feed); throws unless it exits 0. */
export function crmctl(dbPath, args, stdin) {
  const result = spawnSync(CRMCTL, ['--db', dbPath, ...args], { input: stdin ?? '', encoding: 'utf8', env: ENV, timeout: 120000 });
  checkSanitizerOutput(result.stderr || '', `crmctl ${args.join(' ')}`);
  if (result.status !== 0) {
    throw new Error(`crmctl ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/**
 * Creates a database with `users` ([{email, name, role, team?, password}]) and starts crmd
 * on it. Resolves to {baseUrl, dbPath, log(), stop()}; stop() checks a clean exit.
 */
export async function startCrm(users) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-ui-'));
  const dbPath = path.join(directory, 'crm.db');
  crmctl(dbPath, ['init']);
  for (const user of users) {
    const args = ['user', 'add', user.email, '--name', user.name, '--role', user.role, '--password-stdin'];
    if (user.team) args.push('--team', user.team);
    crmctl(dbPath, args, `${user.password}\n`);
  }
  const child = spawn(CRMD, ['--db', dbPath, '--listen', '127.0.0.1:0', '--threads', '4'],
    { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`crmd did not start:\n${log}`)), 30000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /listening on http:\/\/[^:]+:(\d+)\//.exec(log);
      if (match) { clearTimeout(timer); resolve(Number(match[1])); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`crmd exited with ${code}:\n${log}`)); });
  });
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    dbPath,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), 60000); });
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      try {
        if (!result) { child.kill('SIGKILL'); throw new Error('crmd did not stop on SIGTERM'); }
        checkSanitizerOutput(log, 'crmd');
        if (result.code !== 0) throw new Error(`crmd exited with ${result.code ?? result.signal}:\n${log.slice(-4000)}`);
      } finally {
        fs.rmSync(directory, { recursive: true, force: true });
      }
    },
  };
}

/**
 * An API client logged in as a browser would be: the crm_session cookie and the CSRF
 * token from the login answer. Its methods resolve to {status, headers, body}.
 */
export async function apiSession(baseUrl, email, password) {
  let cookie = '';
  let csrf = '';
  async function call(method, apiPath, body, headers = {}) {
    const all = { Accept: 'application/json', ...headers };
    if (cookie) all.Cookie = cookie;
    if (csrf && method !== 'GET') all['X-CSRF-Token'] = csrf;
    if (body !== undefined) all['Content-Type'] = 'application/json';
    const response = await fetch(`${baseUrl}/api/v1/${apiPath}`, {
      method, headers: all, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: response.status, headers: response.headers, body: parsed };
  }
  const client = {
    call,
    get: (p) => call('GET', p),
    post: (p, body) => call('POST', p, body),
    patch: (p, body, headers) => call('PATCH', p, body, headers),
    /** POSTs and insists on 201; returns the created record. */
    async create(p, body) {
      const result = await call('POST', p, body);
      if (result.status !== 201) throw new Error(`POST ${p} ${JSON.stringify(body)}: expected 201, got ${result.status} ${JSON.stringify(result.body)}`);
      return result.body;
    },
  };
  if (email) {
    const login = await call('POST', 'auth/login', { email, password });
    if (login.status !== 200) throw new Error(`login as ${email}: expected 200, got ${login.status} ${JSON.stringify(login.body)}`);
    const setCookie = login.headers.getSetCookie().find((c) => c.startsWith('crm_session='));
    cookie = setCookie.split(';')[0];
    csrf = login.body.csrf_token;
    client.user = login.body.user;
  }
  return client;
}

/** Launches Debian's chromium headless through playwright-core. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Saves a screenshot (full page unless options.fullPage is false) as
 * docs/screenshots/NAME.png when CRM_SCREENSHOTS=1; otherwise the page is still drawn into
 * an image (so a page that cannot be captured fails alike) but nothing is written.
 */
export async function screenshot(page, name, options = {}) {
  const fullPage = options.fullPage !== false;
  if (!WRITE_SCREENSHOTS) {
    await page.screenshot({ fullPage });
    return;
  }
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
}

/**
 * A new page at `baseUrl`; every uncaught page error and console error is collected in
 * page.problems (tests assert it stays empty), and native dialogs in page.dialogs.
 */
export async function newPage(browser, baseUrl, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ baseURL: baseUrl, viewport });
  const page = await context.newPage();
  page.problems = [];
  page.dialogs = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      page.problems.push(`console: ${message.text()}`);
    }
  });
  page.on('dialog', async (dialog) => { page.dialogs.push(`${dialog.type()}: ${dialog.message()}`); await dialog.dismiss(); });
  return page;
}

/** Logs in through the login form and waits for the dashboard. */
export async function logIn(page, email, password) {
  await page.goto('/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}
