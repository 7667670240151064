// login.js - the login page: email and password; a clear message on a wrong password
// (401) and on throttling (429, "try again in N minutes" from Retry-After).

import { h, notice, uid } from '../dom.js';
import * as session from '../session.js';

/** Minutes to wait, rounded up, from a Retry-After in seconds (at least 1). */
export function minutesToWait(seconds) {
  return Math.max(1, Math.ceil((Number(seconds) || 60) / 60));
}

/**
 * Renders the login page. `reason` is an optional note (e.g. the session ended);
 * `onLoggedIn(user)` runs after a successful login.
 */
export function loginPage({ reason, onLoggedIn }) {
  const emailId = uid('login-email');
  const passwordId = uid('login-password');
  const email = h('input', { id: emailId, name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: passwordId, name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('div', { class: 'login-message' });
  const submit = h('button', { type: 'submit', class: 'button', text: 'Log in' });
  const form = h('form', { class: 'login-form card', novalidate: true, 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title', tabindex: '-1', text: 'Log in to CRM' }),
    reason ? notice('info', reason) : null,
    message,
    h('div', { class: 'field' }, h('label', { for: emailId, text: 'Email' }), email),
    h('div', { class: 'field' }, h('label', { for: passwordId, text: 'Password' }), password),
    h('div', { class: 'form-actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    if (!email.value.trim() || !password.value) {
      message.replaceChildren(notice('error', 'Enter your email and password.'));
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      const user = await session.login(email.value.trim(), password.value);
      onLoggedIn(user);
    } catch (error) {
      let text;
      if (error.status === 401) text = 'Wrong email or password.';
      else if (error.status === 429) {
        const minutes = minutesToWait(error.retryAfterSeconds);
        text = `Too many attempts, try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      } else if (error.status === 403) text = 'This account may not log in.';
      else text = `Could not log in: ${error.message}`;
      message.replaceChildren(notice('error', text));
      if (!error.isNetwork) password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  });
  setTimeout(() => email.focus(), 0);
  return h('div', { class: 'login-page' }, h('p', { class: 'brand brand-large', text: 'CRM' }), form);
}
