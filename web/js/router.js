// router.js - a tiny hash router: "#/contacts/12?tab=x" is matched against patterns like
// "/contacts/:id" in the order they were added.

const routes = [];
let fallback = null;
let handler = null;

/** Adds a route; `render(params, query)` is what the app calls when it matches. */
export function route(pattern, render, options = {}) {
  const names = [];
  const source = pattern.replace(/\/:(\w+)/g, (_, name) => {
    names.push(name);
    return '/([^/]+)';
  });
  routes.push({ pattern, regexp: new RegExp(`^${source}/?$`), names, render, options });
}

export function setFallback(render) { fallback = render; }

/** The current hash as {path, query}. */
export function currentLocation() {
  const hash = window.location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  return { path: path || '/', query: Object.fromEntries(new URLSearchParams(search)) };
}

/** Finds the route for `path`: {route, params} or null. */
export function resolve(path) {
  for (const entry of routes) {
    const match = entry.regexp.exec(path);
    if (!match) continue;
    const params = {};
    entry.names.forEach((name, i) => { params[name] = decodeURIComponent(match[i + 1]); });
    return { route: entry, params };
  }
  return fallback ? { route: { render: fallback, options: {} }, params: {} } : null;
}

/**
 * Replaces the current history entry with "#<path>?<query>" without drawing the page
 * again (no hashchange): a page's own state, such as a list's search, lives in the URL
 * so that Back and a shared link return to it. Empty values are left out.
 */
export function replaceQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value));
  }
  const search = params.toString();
  const hash = `#${path}${search ? `?${search}` : ''}`;
  if (window.location.hash !== hash) window.history.replaceState(window.history.state, '', hash);
}

/** Goes to "#<path>" (which triggers the hashchange listener). */
export function navigate(path) {
  if (window.location.hash === `#${path}`) {
    if (handler) handler();
  } else {
    window.location.hash = path;
  }
}

/** Starts listening; `onChange()` runs now and on every hash change. */
export function start(onChange) {
  handler = onChange;
  window.addEventListener('hashchange', onChange);
  onChange();
}
