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
