// session.js - who is logged in. The session itself is the HttpOnly cookie crm_session;
// this module keeps the user record and hands the CSRF token to the API client.

import { request, setCsrfToken } from './api.js';

let currentUser = null;
const listeners = new Set();

export function user() { return currentUser; }
export function isAdmin() { return Boolean(currentUser && currentUser.role === 'admin'); }

/** `listener(user)` runs whenever the user logs in or out. Returns an unsubscribe function. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(data) {
  currentUser = data && data.user ? data.user : null;
  setCsrfToken(data && data.csrf_token);
  for (const listener of listeners) listener(currentUser);
}

/** Asks the server whether the cookie is still a session. Resolves to the user or null. */
export async function restore() {
  try {
    const { data } = await request('GET', 'auth/me', { anonymous: true });
    setSession(data);
  } catch (error) {
    if (error.status !== 401) throw error;
    setSession(null);
  }
  return currentUser;
}

/**
 * Logs in; rejects with ApiError (401 wrong credentials, 429 throttled). The server
 * hashes a limited number of passwords at once and answers 503 with Retry-After when all
 * its slots are busy: such a login is tried again, a few times, after the delay it asks for.
 */
export async function login(email, password) {
  for (let attempt = 1; ; attempt++) {
    try {
      const { data } = await request('POST', 'auth/login', {
        body: { email, password }, anonymous: true,
      });
      setSession(data);
      return currentUser;
    } catch (error) {
      if (error.status !== 503 || attempt >= 5) throw error;
      const seconds = Math.min(error.retryAfterSeconds || 1, 5);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  }
}

/** Logs out on the server (best effort) and forgets the session here. */
export async function logout() {
  try {
    await request('POST', 'auth/logout', { anonymous: true });
  } catch {
    // Already logged out or the server is gone: either way the session ends here.
  }
  setSession(null);
}

/** Forgets the session without asking the server (it already answered 401). */
export function expire() { setSession(null); }
