// format.js - how figures and times read on the pages: money from minor units and a
// currency code, dates, percentages, and the conversions between the API's RFC 3339 UTC
// timestamps and the browser's date and datetime-local inputs.

const moneyFormats = new Map();

/** 123456, "EUR" -> "€1,234.56" (in the browser's locale); null -> "". */
export function formatMoney(cents, currency, options = {}) {
  if (cents === null || cents === undefined || cents === '') return '';
  const code = currency || 'EUR';
  const key = `${code}/${options.compact ? 'c' : ''}`;
  let format = moneyFormats.get(key);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, options.compact
        ? { style: 'currency', currency: code, notation: 'compact', maximumFractionDigits: 1 }
        : { style: 'currency', currency: code });
    } catch {
      format = { format: (value) => `${value.toFixed(2)} ${code}` };
    }
    moneyFormats.set(key, format);
  }
  return format.format(Number(cents) / 100);
}

/**
 * Amounts of a pipeline or summary entry that may hold several currencies: the flat
 * `key` in `currency` when there is one, else each of by_currency joined with " + ".
 */
export function formatAmounts(entry, key, currency) {
  if (currency && entry[key] !== null && entry[key] !== undefined) return formatMoney(entry[key], currency);
  const parts = (entry.by_currency || []).map((row) => formatMoney(row[key], row.currency));
  return parts.length ? parts.join(' + ') : formatMoney(0, currency || undefined);
}

/** 0.4231 -> "42 %" (digits after the point optional). */
export function formatPercent(share, digits = 0) {
  if (share === null || share === undefined || Number.isNaN(Number(share))) return '';
  return `${(Number(share) * 100).toFixed(digits)} %`;
}

/** A number with grouping: 12345.678 -> "12,345.68". */
export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || value === '') return '';
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
}

/** 1, "open task" -> "1 open task"; 3 -> "3 open tasks" (`many`: the plural when not +s). */
export function plural(count, one, many = `${one}s`) {
  return `${formatNumber(count)} ${Number(count) === 1 ? one : many}`;
}

/** "2026-11-23T16:00:00Z" or "2026-11-23" -> "23 Nov 2026" (local). */
export function formatDate(value) {
  if (!value) return '';
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00`) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

const pad = (n) => String(n).padStart(2, '0');

/** A Date as the local calendar day "YYYY-MM-DD". */
export function localDay(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A Date as the API's timestamp: RFC 3339 UTC without fractions. */
export function apiTimestamp(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A datetime-local value ("2026-11-23T16:05") for an RFC 3339 time (or now). */
export function toLocalInput(value) {
  const date = value ? new Date(value) : new Date();
  if (Number.isNaN(date.getTime())) return '';
  return `${localDay(date)}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local or date input's value as the API's timestamp; "" -> null. */
export function fromLocalInput(value) {
  if (!value) return null;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value);
  return Number.isNaN(date.getTime()) ? value : apiTimestamp(date);
}

/** Midnight (local) of the day `date` is in, plus `days` days. */
export function dayStart(date, days = 0) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
}

/** Words for a stage, kind, ... ("self_expression" -> "self expression"). */
export function humanize(value) {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[_-]+/g, ' ');
}

/** "Lead" from "lead". */
export function capitalize(value) {
  const text = humanize(value);
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}
