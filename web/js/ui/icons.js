// icons.js - small line icons as SVG (20x20, drawn with the current text colour) for the
// kinds of timeline entries. Decorative only: every icon stands next to a text label, so
// they are aria-hidden.

import { svg } from './chart.js';

const SHAPES = {
  call: [['path', { d: 'M5 3h3l1.5 4-2 1.5a11 11 0 0 0 4 4l1.5-2 4 1.5v3a2 2 0 0 1-2 2A15 15 0 0 1 3 5a2 2 0 0 1 2-2z' }]],
  email: [['rect', { x: 2, y: 4, width: 16, height: 12, rx: 1.5 }], ['path', { d: 'M2.5 5l7.5 6 7.5-6' }]],
  meeting: [['circle', { cx: 7, cy: 7, r: 3 }], ['circle', { cx: 14.5, cy: 8, r: 2.3 }],
    ['path', { d: 'M2 17c0-3 2.3-5 5-5s5 2 5 5M12.5 15.5c.3-2 1.6-3.2 3.2-3.2 1.7 0 2.8 1.3 3.1 3.2' }]],
  note: [['path', { d: 'M5 2h7l4 4v12H5zM12 2v4h4M8 10h5M8 13h5' }]],
  ticket: [['path', { d: 'M2 6h16v3a1.5 1.5 0 0 0 0 3v3H2v-3a1.5 1.5 0 0 0 0-3zM13 6v9' }]],
  chat: [['path', { d: 'M3 4h14v9H9l-4 3v-3H3z' }]],
  sms: [['rect', { x: 6, y: 2, width: 8, height: 16, rx: 2 }], ['path', { d: 'M9 15h2' }]],
  visit: [['path', { d: 'M10 18s6-5.5 6-10a6 6 0 0 0-12 0c0 4.5 6 10 6 10z' }], ['circle', { cx: 10, cy: 8, r: 2 }]],
  opportunity: [['rect', { x: 2, y: 6, width: 16, height: 11, rx: 2 }], ['path', { d: 'M7 6V4h6v2M2 11h16' }]],
  stage_change: [['path', { d: 'M3 10h12M11 6l4 4-4 4' }]],
  purchase: [['circle', { cx: 10, cy: 10, r: 7.5 }],
    ['path', { d: 'M12.5 7.6c-.6-.8-1.5-1.1-2.5-1.1-1.4 0-2.5.7-2.5 1.8 0 2.7 5 1.2 5 3.9 0 1.1-1.1 1.8-2.5 1.8-1 0-2-.3-2.6-1.1M10 5v1.5M10 13.5V15' }]],
  task: [['rect', { x: 3, y: 3, width: 14, height: 14, rx: 2 }], ['path', { d: 'M6.5 10l2.5 2.5 4.5-5' }]],
};

/** The icon called `name` (an interaction kind or a timeline type); a dot if unknown. */
export function icon(name) {
  const shapes = SHAPES[name] || [['circle', { cx: 10, cy: 10, r: 3 }]];
  return svg('svg', {
    class: `icon icon-${SHAPES[name] ? name : 'other'}`, viewBox: '0 0 20 20', width: 20, height: 20,
    'aria-hidden': 'true', focusable: 'false',
  }, shapes.map(([tag, attrs]) => svg(tag, attrs)));
}
