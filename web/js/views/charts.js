// Charts drawn as SVG by hand: three small kinds are all the room needs, and a library would
// be more code to vendor and review than this. Each chart has an aria-label that says in words
// what it shows, and a <title> per mark for a pointer hover.

import {clip, h, s, safeColour} from '../dom.js';
import {clockTime, parseTime, shortTime} from '../format.js';

const SERIES = 8; // .series-0 … .series-7 in app.css

function niceMax(value) {
  if (value <= 4) return Math.max(1, value);
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return value;
}

/**
 * Events per sector over the last `hours`, in half-hour columns stacked by sector.
 * `events` are Received records newest first; `sectorOf(channel)` names a sector.
 */
export function sectorChart({events, sectors, sectorOf, now, hours = 6}) {
  const bucketMs = 30 * 60 * 1000;
  const buckets = hours * 2;
  const end = Math.ceil(now / bucketMs) * bucketMs;
  const start = end - buckets * bucketMs;
  const counts = new Map(sectors.map((name) => [name, new Array(buckets).fill(0)]));
  for (const received of events) {
    if (received.ms < start) break; // newest first: the rest is older still
    const sector = sectorOf(received.event.channel);
    if (!counts.has(sector)) counts.set(sector, new Array(buckets).fill(0));
    const i = Math.min(buckets - 1, Math.floor((received.ms - start) / bucketMs));
    counts.get(sector)[i] += 1;
  }
  const names = [...counts.keys()];
  const totals = names.map((name) => counts.get(name).reduce((a, b) => a + b, 0));
  const stackMax = Math.max(0, ...Array.from({length: buckets}, (_, i) => names.reduce((t, n) => t + counts.get(n)[i], 0)));
  const yMax = niceMax(stackMax);

  const W = 360; const H = 150; const left = 30; const right = 6; const top = 8; const bottom = 22;
  const plotW = W - left - right; const plotH = H - top - bottom;
  const colW = plotW / buckets;
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const marks = [];
  for (const v of [0, yMax / 2, yMax]) {
    marks.push(s('line', {class: 'grid', x1: left, x2: W - right, y1: y(v), y2: y(v)}));
    marks.push(s('text', {class: 'axis', x: left - 4, y: y(v) + 4, 'text-anchor': 'end'}, String(Math.round(v * 10) / 10)));
  }
  for (let i = 0; i < buckets; i += 1) {
    let base = 0;
    names.forEach((name, n) => {
      const value = counts.get(name)[i];
      if (!value) return;
      const from = start + i * bucketMs;
      marks.push(s('rect', {
        class: `series-${n % SERIES}`, x: left + i * colW + 1, width: Math.max(1, colW - 2),
        y: y(base + value), height: Math.max(1, y(base) - y(base + value)),
      }, s('title', {}, `${name}, ${clockTime(from).slice(0, 5)}–${clockTime(from + bucketMs).slice(0, 5)}: ${value} events`)));
      base += value;
    });
    const at = start + i * bucketMs;
    // Hour labels, but none so close to the right edge that it would collide with 'now'.
    if (new Date(at).getMinutes() === 0 && i > 0 && i < buckets - 1) {
      marks.push(s('text', {class: 'axis', x: left + i * colW, y: H - 6, 'text-anchor': 'middle'}, clockTime(at).slice(0, 5)));
    }
  }
  marks.push(s('text', {class: 'axis', x: W - right, y: H - 6, 'text-anchor': 'end'}, 'now'));
  const summary = names.map((name, n) => `${name} ${totals[n]}`).join(', ') || 'no events';
  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg',
    'aria-label': `Events per sector over the last ${hours} hours: ${summary}`}, marks);
  const legend = h('ul', {class: 'legend'}, names.map((name, n) =>
    h('li', {}, h('span', {class: ['swatch', `series-${n % SERIES}`], 'aria-hidden': 'true'}), `${name} `,
      h('strong', {}, String(totals[n])))));
  return [svg, legend];
}

/** Horizontal bars: sightings per indicator, the most sighted first. rows: [{label, value, detail}] */
export function sightingsChart(rows, {max = 6} = {}) {
  if (!rows.length) return [h('p', {class: 'empty'}, 'No sightings yet.')];
  const shown = rows.slice(0, max);
  const W = 360; const row = 24; const labelW = 170; const valueW = 34;
  const H = shown.length * row + 4;
  const vMax = Math.max(...shown.map((r) => r.value), 1);
  const barW = W - labelW - valueW - 8;
  const marks = shown.flatMap((r, i) => {
    const yTop = 2 + i * row;
    const width = Math.max(2, (r.value / vMax) * barW);
    return [
      s('text', {class: 'bar-label', x: labelW - 6, y: yTop + 16, 'text-anchor': 'end'}, clip(r.label, 22)),
      s('rect', {class: 'bar', x: labelW, y: yTop + 4, width, height: row - 8},
        s('title', {}, `${r.label}: ${r.value} sighted (${r.detail})`)),
      s('text', {class: 'bar-value', x: labelW + width + 6, y: yTop + 16}, String(r.value)),
    ];
  });
  const summary = shown.map((r) => `${r.label} ${r.value}`).join(', ');
  return [s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg',
    'aria-label': `Sightings per indicator: ${summary}`}, marks)];
}

/**
 * Crisis severity over time, as a step line from /api/v1/crises/{id}/history.
 * `severities` maps level -> {name, colour} on the hub's scale, `who` a stakeholder id to its
 * name; `compact` is a sparkline.
 */
export function severityChart({history, current, severities, who = (id) => id, now, compact = false}) {
  const points = [];
  let level = null;
  for (const version of history || []) {
    const change = version.changes && version.changes.severity;
    if (change) level = change[1];
    if (level !== null) points.push({ms: parseTime(version.time), level, by: version.by});
  }
  if (!points.length && current) points.push({ms: parseTime(current.created), level: current.severity.level});
  if (!points.length) return h('p', {class: 'empty'}, 'No history yet.');
  const levels = [...severities.keys(), ...points.map((p) => p.level), 1]; // 1: never a zero-high axis
  const yTopLevel = Math.max(...levels);
  const W = compact ? 200 : 520; const H = compact ? 44 : 200;
  const left = compact ? 4 : 92; const right = compact ? 6 : 12; const top = compact ? 6 : 12; const bottom = compact ? 6 : 26;
  const t0 = points[0].ms; const t1 = Math.max(now, points[points.length - 1].ms + 1);
  const x = (ms) => left + ((ms - t0) / (t1 - t0)) * (W - left - right);
  const y = (v) => top + (1 - v / yTopLevel) * (H - top - bottom);
  const colourOf = (v) => safeColour(severities.get(v) && severities.get(v).colour);
  // The scale is the hub's (GET /api/v1/stakeholders); a level off it shows as a bare number.
  const nameOf = (v) => (severities.get(v) && severities.get(v).name) || '';
  const marks = [];
  if (!compact) {
    for (let v = 0; v <= yTopLevel; v += 1) {
      marks.push(s('line', {class: 'grid', x1: left, x2: W - right, y1: y(v), y2: y(v)}));
      marks.push(s('text', {class: 'axis', x: left - 8, y: y(v) + 4, 'text-anchor': 'end'}, `${v} ${nameOf(v)}`.trim()));
    }
    marks.push(s('text', {class: 'axis', x: left, y: H - 6}, shortTime(t0, now)));
    marks.push(s('text', {class: 'axis', x: W - right, y: H - 6, 'text-anchor': 'end'}, 'now'));
  }
  let d = `M${x(points[0].ms)},${y(points[0].level)}`;
  for (let i = 1; i < points.length; i += 1) d += ` H${x(points[i].ms)} V${y(points[i].level)}`;
  d += ` H${x(t1)}`;
  marks.push(s('path', {class: 'severity-line', d}));
  for (const p of points) {
    // `fill` is an SVG presentation attribute, not inline CSS: the CSP allows it. The colour is checked.
    marks.push(s('circle', {class: 'severity-point', cx: x(p.ms), cy: y(p.level), r: compact ? 3.5 : 6, fill: colourOf(p.level)},
      s('title', {}, `${clockTime(p.ms)}: severity ${p.level} ${nameOf(p.level)}${p.by ? ` (by ${who(p.by)})` : ''}`)));
  }
  const summary = points.map((p) => `${p.level} ${nameOf(p.level)} at ${clockTime(p.ms).slice(0, 5)}`).join(', then ');
  return s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', class: ['chart-svg', compact ? 'sparkline' : 'severity-chart'],
    'aria-label': `Severity over time: ${summary}`}, marks);
}
