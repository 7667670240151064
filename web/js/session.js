// session.js - who is logged in and what they may do. The session itself is the HttpOnly
// cookie crm_session; this module keeps the user record and the caller's permissions
// (scopes per resource and action, from auth/session or auth/me) and hands the CSRF token
// to the API client. Pages offer only the actions the caller may do; the server still
// decides every request.

import { request, setCsrfToken } from './api.js';

let currentUser = null;
let permissions = null;
const listeners = new Set();

export function user() { return currentUser; }
export function isAdmin() { return Boolean(currentUser && currentUser.role === 'admin'); }

/**
 * The caller's scope for `action` (read, write, delete) on `resource`: all, team, own or
 * none. Without permissions from the server (an older crmd) every action is offered.
 */
export function scope(resource, action) {
  if (!currentUser) return 'none';
  if (!permissions) return 'all';
  const granted = permissions[resource];
  return (granted && granted[action]) || 'none';
}

/**
 * Whether the caller may `action` a record of `resource` owned by `ownerId` (null: no
 * owner, covered only by "all"); `teamOf(id)` gives a user's team for the team scope.
 */
export function may(resource, action, ownerId, teamOf) {
  const owned = ownerId !== null && ownerId !== undefined && ownerId !== '';
  const mine = owned && currentUser && String(ownerId) === String(currentUser.id);
  switch (scope(resource, action)) {
  case 'all': return true;
  case 'own': return Boolean(mine);
  case 'team':
    if (mine) return true;
    return Boolean(owned && currentUser.team && teamOf && teamOf(ownerId) === currentUser.team);
  default: return false;
  }
}

/** `listener(user)` runs whenever the user logs in or out. Returns an unsubscribe function. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(data) {
  currentUser = data && data.user ? data.user : null;
  permissions = currentUser && data.permissions ? data.permissions : null;
  setCsrfToken(data && data.csrf_token);
  for (const listener of listeners) listener(currentUser);
}

/**
 * Asks the server whether the cookie is still a session (auth/session answers
 * {"user":null} rather than an error when it is not). Resolves to the user or null.
 */
export async function restore() {
  const { data } = await request('GET', 'auth/session', { anonymous: true });
  setSession(data);
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
      // The session's permissions come with auth/session; the login answer alone serves
      // if that fails.
      let full = data;
      try { full = (await request('GET', 'auth/session', { anonymous: true })).data; } catch { /* keep data */ }
      setSession(full && full.user ? full : data);
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
