// dom.js - small helpers to build the page with the DOM API. Text always goes in as
// text nodes (never as HTML), so user data cannot inject markup; see h(). Also links that
// write an email (mailto:) or call a number (tel:).

/**
 * Creates an element. `attrs` keys: "class", "text" (textContent), "on<event>" (listener),
 * "dataset" (object), boolean true/false for boolean attributes, anything else via
 * setAttribute. Children: nodes, strings (as text), arrays, null/undefined/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function')
      element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, '');
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

/** Appends children (see h()) to `parent`; returns `parent`. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Removes all children of `element` and appends the new ones. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

let idCounter = 0;
/** A unique element id with a readable prefix. */
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Calls `fn` once `ms` milliseconds have passed without another call. */
export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

/** "2026-11-23T16:00:00Z" as a short local date and time; "" for empty values. */
export function formatDateTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A status message region; kind is "info", "error" or "success". */
export function notice(kind, ...children) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    children);
}

/** An email address as a mailto: link ("" for none). */
export function emailLink(address) {
  if (!address) return '';
  const text = String(address);
  const at = text.lastIndexOf('@');
  const href = at > 0 ? `${encodeURIComponent(text.slice(0, at))}@${encodeURIComponent(text.slice(at + 1))}` : encodeURIComponent(text);
  return h('a', { class: 'email-link', href: `mailto:${href}`, text });
}

/** A phone number as a tel: link with its digits (and a leading +); the text when it has none. */
export function phoneLink(number) {
  if (!number) return '';
  const text = String(number);
  const digits = text.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '');
  if (!/\d/.test(digits)) return text;
  return h('a', { class: 'phone-link', href: `tel:${digits}`, text });
}
