// wording.js - the server's validation messages in the words of the people filling in the
// forms: the messages a person meets are rephrased, API field names (first_name,
// rule.all[1].value) become the form's labels, and nothing technical is left over.

/** Messages rephrased whole: [pattern, text or (match, label) -> text]. */
const PHRASES = [
  [/needs at least one of first_name, last_name or email/, 'Enter a first name, a last name or an email address.'],
  [/^must be a timestamp/, 'Enter a date such as 2026-11-23, or a time back from today such as -90d (90 days ago).'],
  [/^must be a date such as/, 'Enter a date such as 2026-11-23.'],
  [/^not a valid address/, 'This is not an email address (name@example.com).'],
  [/^must be a domain name/, 'Enter a domain name such as example.com.'],
  [/^is required/, 'This is required.'],
  [/^must be at most (\d+) characters/, (m) => `Use at most ${m[1]} characters.`],
  [/^must have at most (\d+) tags/, (m) => `Use at most ${m[1]} tags.`],
  [/^must be an integer|^must be a number|^must be the id of a record/, 'Enter a whole number.'],
  [/^must be one of (.*)/, (m) => `Choose one of ${m[1].replace(/_/g, ' ')}.`],
  [/does not exist|^no such |you may not (read|see|use)/i, 'This record does not exist or you may not use it.'],
  [/^only lost opportunities have one/, 'Only a lost deal has a reason lost.'],
  [/^only won or lost opportunities have one/, 'Only a won or lost deal has a closing date.'],
  [/^a value is required/, 'Enter a value.'],
];

/** "first_name" -> "first name"; "rule.all[1].value" -> "value". */
function plainName(name) {
  const last = String(name).split(/[.[\]]+/).filter((part) => part && !/^\d+$/.test(part)).pop() || String(name);
  return last.replace(/_/g, ' ');
}

/**
 * A server message in plain words. `labels` maps API field names to the form's labels
 * ({first_name: 'First name'}); names left in the message become those labels, or words.
 */
export function readableMessage(message, labels = {}) {
  const text = String(message || '').trim();
  for (const [pattern, replacement] of PHRASES) {
    const match = pattern.exec(text);
    if (match) return typeof replacement === 'function' ? replacement(match) : replacement;
  }
  const worded = text.replace(/\b[a-z]+(?:_[a-z]+)+\b|\brule(?:\.[a-z]+|\[\d+\])+/g,
    (name) => (labels[name] ? labels[name].toLowerCase() : plainName(name)));
  return worded ? worded[0].toUpperCase() + worded.slice(1) : 'This is not valid.';
}

/** A field the form does not show, with its message: "Job title: use at most 200 characters." */
export function readableFieldError(field, message, labels = {}) {
  const label = labels[field] || (field ? plainName(field) : '');
  const worded = readableMessage(message, labels);
  return label ? `${label[0].toUpperCase()}${label.slice(1)}: ${worded[0].toLowerCase()}${worded.slice(1)}` : worded;
}
