// api.js - the client of crmd's REST API (/api/v1): JSON in and out, the session's CSRF
// token on every unsafe request, RFC 9457 problem details (and a server that cannot be
// reached) turned into ApiError exceptions, and a hook that sends the user to the login page when the session is gone.

const BASE = '/api/v1';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What a request that never reached the server ("Failed to fetch") says. */
const UNREACHABLE = 'the server cannot be reached. Check the connection and try again: nothing you entered was lost.';

let csrfToken = null;
let onUnauthorized = null;

/** An API answer other than 2xx. `fieldErrors` maps a field name to its messages. */
export class ApiError extends Error {
  constructor(status, problem, headers) {
    const text = (problem && (problem.detail || problem.title)) || `HTTP ${status}`;
    super(text);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem || {};
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
    this.fieldErrors = {};
    for (const error of this.errors) {
      const field = error && error.field ? String(error.field) : '';
      (this.fieldErrors[field] ||= []).push(String(error.message || 'invalid'));
    }
    const retryAfter = headers ? headers.get('Retry-After') : null;
    this.retryAfterSeconds = retryAfter ? retryAfterSeconds(retryAfter) : null;
  }

  /** 412: the record changed since it was read (If-Match did not match). */
  get isConflict() { return this.status === 412; }
  get isValidation() { return this.status === 422; }
  get isForbidden() { return this.status === 403; }
  get isNotFound() { return this.status === 404; }
  get isThrottled() { return this.status === 429; }
  /** The request never reached the server (offline, server down). */
  get isNetwork() { return this.status === 0; }
}

/** Retry-After is either seconds or an HTTP date. */
function retryAfterSeconds(value) {
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
}

export function setCsrfToken(token) { csrfToken = token || null; }

/** `handler(error)` runs when an authenticated call answers 401. */
export function setUnauthorizedHandler(handler) { onUnauthorized = handler; }

/** "contacts", {q: "x", empty: ""} -> "/api/v1/contacts?q=x" (empty values are left out). */
export function apiPath(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    params.append(key, String(value));
  }
  const search = params.toString();
  return `${BASE}/${path.replace(/^\/+/, '')}${search ? `?${search}` : ''}`;
}

/**
 * Sends one request. options: query, body (JSON-encoded), ifMatch (a version or an
 * ETag), signal, anonymous (a 401 does not trigger the login redirect).
 * Resolves to {status, data, etag, version, headers}; rejects with ApiError.
 */
export async function request(method, path, options = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (UNSAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (options.ifMatch !== undefined && options.ifMatch !== null) {
    const tag = String(options.ifMatch);
    headers['If-Match'] = tag.startsWith('"') || tag.startsWith('W/') ? tag : `"${tag}"`;
  }
  let response;
  try {
    response = await fetch(apiPath(path, options.query), {
      method, headers, body, signal: options.signal, credentials: 'same-origin', cache: 'no-store',
    });
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new ApiError(0, { detail: UNREACHABLE });
  }
  let data = null;
  const type = response.headers.get('Content-Type') || '';
  if (response.status !== 204 && type.includes('json')) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers);
    if (response.status === 401 && !options.anonymous && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  const etag = response.headers.get('ETag');
  const version = etag ? Number(etag.replace(/^W\//, '').replace(/"/g, '')) : null;
  return { status: response.status, data, etag, version, headers: response.headers };
}

export const api = {
  get: (path, options) => request('GET', path, options).then((r) => r.data),
  /** GET one record: {data, etag}. */
  getRecord: (path, options) => request('GET', path, options),
  post: (path, body, options) => request('POST', path, { ...options, body }).then((r) => r.data),
  patch: (path, body, options) => request('PATCH', path, { ...options, body }),
  del: (path, options) => request('DELETE', path, options),
};
