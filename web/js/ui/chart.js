// chart.js - small SVG bar charts drawn with the DOM (no library, nothing inline that the
// Content-Security-Policy would refuse). Labels and values are <text> elements, so they
// are real text: selectable, readable by screen readers and by the tests. The <svg> has
// role="img" with a <title> and a <desc>; a visually hidden table repeats the figures.
// A chart in a container narrower than its width is drawn again at the container's width,
// so that its text keeps its size on a phone rather than shrinking with the picture.
//
// barChart({
//   title, description,                 what the chart shows (title and desc of the svg)
//   bars: [{label, value, valueLabel, note, className}],
//   orientation: 'horizontal' (labels left, bars right; the default) | 'vertical',
//   valueHeading: 'Members',            column heading of the hidden table
//   width, barHeight (horizontal), height (vertical),
// }) -> <figure class="chart">

import { h, uid } from '../dom.js';

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children (strings become text nodes). */
export function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.setAttribute('class', value);
    else if (key === 'text') element.textContent = value;
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A "nice" upper end for an axis that starts at 0 (1, 2, 2.5, 5 times a power of ten). */
export function niceMaximum(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** Characters that fit `pixels` of a label in the chart's font, roughly. */
function fit(text, pixels) {
  const max = Math.max(3, Math.floor(pixels / 7));
  const value = String(text ?? '');
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** The figures as a table for screen readers (in a box: a table is as wide as its text). */
function hiddenTable(config, caption) {
  return h('div', { class: 'visually-hidden' }, h('table', {},
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: config.labelHeading || 'Item' }),
      h('th', { scope: 'col', text: config.valueHeading || 'Value' }))),
    h('tbody', {}, config.bars.map((bar) => h('tr', {},
      h('th', { scope: 'row', text: bar.label }),
      h('td', { text: [bar.valueLabel ?? String(bar.value), bar.note].filter(Boolean).join(' · ') }))))));
}

/** `config` for drawing at `width` (narrower than its own): the fixed parts shrink too, within limits. */
function narrowed(config, width) {
  const own = config.width || (config.orientation === 'vertical' ? 640 : 560);
  if (!(width > 0) || width >= own) return { ...config, width: own };
  const factor = width / own;
  return {
    ...config,
    width,
    labelWidth: Math.max(64, Math.round((config.labelWidth || 120) * factor)),
    valueWidth: Math.max(96, Math.round((config.valueWidth || 150) * factor)),
    axisWidth: Math.max(48, Math.round((config.axisWidth || 70) * factor)),
  };
}

function horizontal(config, root) {
  const width = config.width || 560;
  const barHeight = config.barHeight || 26;
  const gap = 10;
  const labelWidth = config.labelWidth || 120;
  const valueWidth = config.valueWidth || 150;
  const plot = width - labelWidth - valueWidth;
  const height = config.bars.length * (barHeight + gap) + gap;
  const max = Math.max(...config.bars.map((bar) => Number(bar.value) || 0), 0) || 1;
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  config.bars.forEach((bar, index) => {
    const y = gap + index * (barHeight + gap);
    const length = Math.max(0, ((Number(bar.value) || 0) / max) * plot);
    root.append(svg('g', { class: `chart-bar ${bar.className || ''}`.trim(), 'data-label': bar.label },
      svg('text', { class: 'chart-label', x: labelWidth - 8, y: y + barHeight / 2, 'text-anchor': 'end', 'dominant-baseline': 'central', text: fit(bar.label, labelWidth - 8) }),
      svg('rect', { class: 'chart-rect', x: labelWidth, y, width: length.toFixed(1), height: barHeight, rx: 3 }),
      svg('text', { class: 'chart-value', x: labelWidth + length + 6, y: y + barHeight / 2, 'dominant-baseline': 'central', text: fit([bar.valueLabel ?? String(bar.value), bar.note].filter(Boolean).join(' · '), valueWidth + plot - length - 6) })));
  });
}

function vertical(config, root) {
  const width = config.width || 640;
  const height = config.height || 260;
  const top = 24;
  const bottom = 40;
  const left = config.axisWidth || 70;
  const plotHeight = height - top - bottom;
  const plotWidth = width - left - 10;
  const max = niceMaximum(Math.max(...config.bars.map((bar) => Number(bar.value) || 0), 0));
  const slot = plotWidth / Math.max(1, config.bars.length);
  const barWidth = Math.max(4, Math.min(48, slot * 0.7));
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  // Grid lines with the axis values at 0, 1/2 and the maximum.
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotHeight * (1 - fraction);
    root.append(svg('line', { class: 'chart-grid', x1: left, x2: width - 10, y1: y, y2: y }),
      svg('text', { class: 'chart-axis', x: left - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'central', text: config.axisLabel ? config.axisLabel(max * fraction) : String(max * fraction) }));
  }
  config.bars.forEach((bar, index) => {
    const value = Math.max(0, Number(bar.value) || 0);
    const barHeight = (value / max) * plotHeight;
    const x = left + index * slot + (slot - barWidth) / 2;
    const y = top + plotHeight - barHeight;
    root.append(svg('g', { class: `chart-bar ${bar.className || ''}`.trim(), 'data-label': bar.label },
      svg('rect', { class: 'chart-rect', x: x.toFixed(1), y: y.toFixed(1), width: barWidth.toFixed(1), height: barHeight.toFixed(1), rx: 2 }),
      bar.showValue === false ? null : svg('text', { class: 'chart-value chart-value-top', x: (x + barWidth / 2).toFixed(1), y: (y - 5).toFixed(1), 'text-anchor': 'middle', text: bar.shortValue ?? '' }),
      svg('text', { class: 'chart-label', x: (x + barWidth / 2).toFixed(1), y: height - bottom + 16, 'text-anchor': 'middle', text: fit(bar.label, slot + 8) })));
  });
}

/** Draws a bar chart; see the top of this file. Returns a <figure>. */
export function barChart(config) {
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const root = svg('svg', {
    class: `chart chart-${config.orientation || 'horizontal'}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    preserveAspectRatio: 'xMinYMin meet',
  }, svg('title', { id: titleId, text: config.title }), svg('desc', { id: descId, text: config.description || '' }));
  if (config.bars.length === 0) {
    return h('figure', { class: 'chart-figure' },
      h('figcaption', { text: config.title }),
      h('p', { class: 'muted chart-empty', text: config.emptyText || 'Nothing to show yet.' }));
  }
  const heading = [...root.childNodes];
  const ownWidth = config.width || (config.orientation === 'vertical' ? 640 : 560);
  let drawnWidth = ownWidth;
  const draw = (width) => {
    const fitted = narrowed(config, width);
    drawnWidth = fitted.width || ownWidth;
    root.replaceChildren(...heading);
    if (config.orientation === 'vertical') vertical(fitted, root);
    else horizontal(fitted, root);
  };
  draw(0);
  const figure = h('figure', { class: 'chart-figure' },
    config.caption === false ? null : h('figcaption', { text: config.title }),
    root, hiddenTable(config, config.title));
  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(() => {
      const width = Math.floor(root.getBoundingClientRect().width);
      if (width > 0 && Math.abs(Math.min(width, ownWidth) - drawnWidth) > 4) draw(width);
    }).observe(root);
  }
  return figure;
}
