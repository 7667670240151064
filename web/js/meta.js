// meta.js - what the server says about its resources (GET /api/v1/meta: fields, enums,
// filters), loaded once per session, so that pages take enums and field rules from the
// server instead of copying the C descriptors. app.js loads it before the first page of a
// session; enumValues() hands out arrays at import time that fill in place when it has.

import { api } from './api.js';

let loading = null;
const resources = new Map(); // name -> the resource's entry of GET meta
const liveArrays = [];       // [{resource, field, except, values}] handed out by enumValues()

function fill(entry) {
  const field = fieldMeta(entry.resource, entry.field);
  const values = (field && field.values) || [];
  entry.values.splice(0, entry.values.length, ...values.filter((v) => !entry.except.includes(v)));
}

/** Loads GET meta once per session (again only after a failure). Resolves when loaded. */
export function loadMeta() {
  loading ||= api.get('meta').then((meta) => {
    resources.clear();
    for (const resource of meta.resources) resources.set(resource.name, resource);
    liveArrays.forEach(fill);
  }).catch((error) => { loading = null; throw error; });
  return loading;
}

/** The meta entry of a resource's field ({name, type, flags, values, max_length, ...}), or null. */
export function fieldMeta(resource, field) {
  const entry = resources.get(resource);
  return (entry && entry.fields.find((f) => f.name === field)) || null;
}

/**
 * The values of an enum field as the server has them, without `except`: an array that is
 * filled (in place) once meta is loaded, so it may be taken at import time.
 */
export function enumValues(resource, field, { except = [] } = {}) {
  const entry = { resource, field, except, values: [] };
  liveArrays.push(entry);
  fill(entry);
  return entry.values;
}
