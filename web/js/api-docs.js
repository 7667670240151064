// api-docs.js - renders the server's OpenAPI document (/api/v1/openapi.json) as a
// readable reference on /api.html: operations grouped by tag, with their parameters,
// bodies, answers and authentication, then the schemas. Everything is inserted as text
// through the DOM API (never as HTML), so the page works under the strict CSP and a
// description can never inject markup.

const DOCUMENT_URL = '/api/v1/openapi.json';

/** Creates an element with text or child nodes; `className` optional. */
function el(tag, className, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** The value a local "#/a/b" reference points at, or undefined. */
function resolve(doc, ref) {
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return undefined;
  let value = doc;
  for (const part of ref.slice(2).split('/')) {
    if (value === undefined || value === null) return undefined;
    value = value[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return value;
}

/** The last segment of a reference: "#/components/schemas/Contact" -> "Contact". */
function refName(ref) {
  return String(ref).split('/').pop();
}

/** A short, readable type of a schema: "string (date-time) or null", "array of Contact". */
function typeText(schema) {
  if (!schema || typeof schema !== 'object') return 'any';
  if (schema.$ref) return refName(schema.$ref);
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (Array.isArray(schema.anyOf || schema.oneOf)) {
    return (schema.anyOf || schema.oneOf).map(typeText).join(' or ');
  }
  if (Array.isArray(schema.enum)) {
    return 'one of ' + schema.enum.map((value) => JSON.stringify(value)).join(', ');
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type || 'object'];
  return types.map((type) => {
    if (type === 'array') return 'array of ' + typeText(schema.items);
    if (type === 'string' && schema.format) return `string (${schema.format})`;
    return type;
  }).join(' or ');
}

/** Limits of a schema as text: "1..500, default 50". */
function limitsText(schema) {
  if (!schema || typeof schema !== 'object') return '';
  const parts = [];
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    parts.push(`${schema.minimum ?? ''}..${schema.maximum ?? ''}`);
  }
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  if (schema.maxItems !== undefined) parts.push(`at most ${schema.maxItems} items`);
  if (schema.pattern) parts.push(`pattern ${schema.pattern}`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.readOnly) parts.push('read-only');
  if (schema.writeOnly) parts.push('write-only');
  return parts.join(', ');
}

function table(headings, rows) {
  return el('table', 'api-table',
    el('thead', null, el('tr', null, headings.map((heading) => el('th', null, heading)))),
    el('tbody', null, rows.map((row) => el('tr', null, row.map((cell) => el('td', null, cell))))));
}

/** The members of an object schema as a table (name, type, required, notes). */
function propertiesTable(doc, schema) {
  const target = schema && schema.$ref ? resolve(doc, schema.$ref) : schema;
  if (!target || !target.properties) return el('p', 'muted', typeText(schema));
  const required = new Set(target.required || []);
  const rows = Object.entries(target.properties).map(([name, member]) => [
    el('code', null, name),
    typeText(member),
    required.has(name) ? 'required' : '',
    [member.description, limitsText(member)].filter(Boolean).join(' '),
  ]);
  const note = target.additionalProperties === false ? 'Other members are refused.' : null;
  return [table(['member', 'type', '', 'notes'], rows), note && el('p', 'muted', note)];
}

function securityText(doc, security) {
  if (!security || security.length === 0) return 'No authentication.';
  const schemes = doc.components?.securitySchemes || {};
  return 'Authentication: ' + security.map((requirement) => Object.keys(requirement)
    .map((name) => {
      const scheme = schemes[name] || {};
      if (scheme.scheme === 'bearer') return 'Authorization: Bearer <API key>';
      if (scheme.in === 'cookie') return `cookie ${scheme.name}`;
      if (scheme.in === 'header') return `header ${scheme.name}`;
      return name;
    }).join(' + ')).join(', or ') + '.';
}

/** One operation; `who`: the line on who sends it, else its authentication. */
function operationSection(doc, path, method, operation, who) {
  const parameters = (operation.parameters || [])
    .map((parameter) => (parameter.$ref ? resolve(doc, parameter.$ref) : parameter))
    .filter(Boolean);
  const responses = Object.entries(operation.responses || {}).map(([code, response]) => {
    const ref = response.$ref;
    const resolved = ref ? resolve(doc, ref) || {} : response;
    const content = resolved.content || {};
    const types = Object.entries(content)
      .map(([media, body]) => `${media}: ${typeText(body.schema)}`).join('; ');
    return [el('code', null, code), resolved.description || '', types];
  });
  const body = operation.requestBody;
  const bodySchema = body && Object.values(body.content || {})[0]?.schema;
  const details = el('details', 'api-operation',
    el('summary', null, el('code', 'api-method', method.toUpperCase()), ' ',
      el('code', 'api-path', path), ' ', operation.summary || ''),
    operation.description && el('p', null, operation.description),
    el('p', 'muted', who || securityText(doc, operation.security)),
    parameters.length > 0 && [el('h4', null, 'Parameters'),
      table(['name', 'in', 'type', 'notes'], parameters.map((parameter) => [
        el('code', null, parameter.name), parameter.in + (parameter.required ? ', required' : ''),
        typeText(parameter.schema),
        [parameter.description, limitsText(parameter.schema)].filter(Boolean).join(' '),
      ]))],
    bodySchema && [el('h4', null, 'Request body: ' + typeText(bodySchema)),
      propertiesTable(doc, bodySchema)],
    el('h4', null, 'Answers'),
    table(['status', 'meaning', 'body'], responses));
  details.dataset.search = `${method} ${path} ${operation.summary || ''}`.toLowerCase();
  details.id = operation.operationId || `${method}-${path}`;
  return details;
}

function render(doc, root) {
  const tags = new Map((doc.tags || []).map((tag) => [tag.name, { tag, operations: [] }]));
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, operation] of Object.entries(item)) {
      const name = (operation.tags || ['other'])[0];
      if (!tags.has(name)) tags.set(name, { tag: { name }, operations: [] });
      tags.get(name).operations.push(operationSection(doc, path, method, operation));
    }
  }
  const filter = el('input', 'api-filter');
  filter.type = 'search';
  filter.placeholder = 'Filter by path or summary';
  filter.setAttribute('aria-label', 'Filter operations');
  const sections = [];
  for (const { tag, operations } of tags.values()) {
    if (operations.length === 0) continue;
    const section = el('section', 'api-tag', el('h2', null, tag.name),
      tag.description && el('p', 'muted', tag.description), operations);
    sections.push(section);
  }
  // The requests the server sends (OpenAPI "webhooks"), one per event name.
  const webhooks = Object.entries(doc.webhooks || {}).flatMap(([event, item]) =>
    Object.entries(item).map(([method, operation]) => operationSection(doc, event, method,
      operation, 'Sent by the server to your endpoint (no authentication: check X-CRM-Signature).')));
  if (webhooks.length > 0) {
    sections.push(el('section', 'api-tag api-webhooks', el('h2', null, 'Webhooks'),
      el('p', 'muted', 'Requests the server POSTs to the endpoints registered at /api/v1/webhooks, one kind per event.'),
      webhooks));
  }
  filter.addEventListener('input', () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const section of sections) {
      let shown = 0;
      for (const details of section.querySelectorAll('details.api-operation')) {
        const match = words.every((word) => details.dataset.search.includes(word));
        details.hidden = !match;
        if (match) shown += 1;
      }
      section.hidden = shown === 0;
    }
  });
  const schemas = Object.entries(doc.components?.schemas || {}).map(([name, schema]) =>
    el('details', 'api-schema', el('summary', null, el('code', null, name), ' ',
      schema.description || ''), propertiesTable(doc, schema)));
  root.append(
    el('p', null, `Version ${doc.info?.version || '?'}. ${doc.info?.description || ''}`),
    el('label', 'api-filter-label', 'Filter ', filter),
    ...sections,
    el('section', 'api-schemas', el('h2', null, 'Schemas'), schemas));
}

async function main() {
  const root = document.getElementById('api-docs');
  const status = document.getElementById('api-docs-status');
  try {
    const response = await fetch(DOCUMENT_URL, { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    render(await response.json(), root);
    status.remove();
  } catch (error) {
    status.textContent = `The API description could not be loaded: ${error.message}`;
  }
}

main();
