// Charts drawn as SVG by hand: three small kinds are all the room needs, and a library would
// be more code to vendor and review than this. Each chart has an aria-label that says in words
// what it shows, and a <title> per mark for a pointer hover.

import {h, inkOn, s, safeColour} from '../dom.js';
import {clockTime, duration, hourMinute, parseTime, severityName, shortTime} from '../format.js';
import {t, tp} from '../i18n.js';
import {tlpBadge} from '../tlp.js';
import {keyedLabel} from './label.js';

const SERIES = 8; // .series-0 … .series-7 in app.css

function niceMax(value) {
  if (value <= 4) return Math.max(1, value);
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return value;
}

// Bucket widths a time axis may use, and the steps its labels may fall on.
const STEPS_MS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600].map((s) => s * 1000);
const MIN_SPAN_MS = 2 * 60 * 1000;

/** HH:MM, or HH:MM:SS when labels are less than a minute apart. */
function tickLabel(ms, stepMs) {
  const text = clockTime(ms);
  return stepMs < 60000 ? text : text.slice(0, 5);
}

/**
 * Events per sector from `since` (when the crisis was declared) to now, in columns stacked by
 * sector. The axis spans the crisis, not a fixed window: a crisis two minutes old gets
 * 5-second columns, one two days old 2-hour columns, so the bars always say how activity moved.
 * `events` are Received records newest first; `sectorOf(channel)` names a sector. `width` is the
 * drawing's width in units of 1/15 rem (see chartWidth), so its text keeps the page's type size.
 */
export function sectorChart({events, sectors, sectorOf, now, since, width = 360}) {
  const span = Math.max(now - since, MIN_SPAN_MS);
  const bucketMs = STEPS_MS.find((step) => span / step <= 24) || STEPS_MS[STEPS_MS.length - 1];
  const start = Math.floor((now - span) / bucketMs) * bucketMs;
  const buckets = Math.max(1, Math.ceil((now - start) / bucketMs));
  const counts = new Map(sectors.map((name) => [name, new Array(buckets).fill(0)]));
  for (const received of events) {
    if (received.ms < start) break; // newest first: the rest is older still
    const sector = sectorOf(received.event.channel);
    if (!counts.has(sector)) counts.set(sector, new Array(buckets).fill(0));
    const i = Math.max(0, Math.min(buckets - 1, Math.floor((received.ms - start) / bucketMs)));
    counts.get(sector)[i] += 1;
  }
  const names = [...counts.keys()];
  const totals = names.map((name) => counts.get(name).reduce((a, b) => a + b, 0));
  const stackMax = Math.max(0, ...Array.from({length: buckets}, (_, i) => names.reduce((t, n) => t + counts.get(n)[i], 0)));
  const yMax = niceMax(stackMax);

  const W = Math.max(240, Math.round(width)); const H = 150; const left = 30; const right = 8; const top = 8; const bottom = 22;
  const plotW = W - left - right; const plotH = H - top - bottom;
  const colW = plotW / buckets;
  const x = (ms) => left + ((ms - start) / (buckets * bucketMs)) * plotW;
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
        class: `series-${n % SERIES}`, x: left + i * colW + (colW > 4 ? 1 : 0), width: Math.max(1, colW - (colW > 4 ? 2 : 0)),
        y: y(base + value), height: Math.max(1, y(base) - y(base + value)), dataset: {from},
      }, s('title', {}, tp('chart.sector.mark', value,
        {sector: name, from: tickLabel(from, bucketMs), to: tickLabel(from + bucketMs, bucketMs)}))));
      base += value;
    });
  }
  // Time labels about every 70 units, on round times, none so close to the right that it meets 'now'.
  const labelMs = STEPS_MS.find((step) => (step / (buckets * bucketMs)) * plotW >= 70) || STEPS_MS[STEPS_MS.length - 1];
  for (let at = Math.ceil(start / labelMs) * labelMs; at < now; at += labelMs) {
    if (x(at) < left + 12 && at !== start) continue;
    if (x(at) > W - right - 44) break;
    marks.push(s('text', {class: 'axis tick', x: x(at), y: H - 6, 'text-anchor': at === start ? 'start' : 'middle',
      dataset: {ms: at}}, tickLabel(at, labelMs)));
  }
  marks.push(s('text', {class: 'axis', x: W - right, y: H - 6, 'text-anchor': 'end'}, t('chart.now')));
  const summary = names.map((name, n) => `${name} ${totals[n]}`).join(', ') || t('chart.no-events');
  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg',
    dataset: {start, bucketMs},
    'aria-label': t('chart.sector.label', {since: tickLabel(start, bucketMs), width: duration(bucketMs), summary})}, marks);
  const legend = h('ul', {class: 'legend'}, names.map((name, n) =>
    h('li', {}, h('span', {class: ['swatch', `series-${n % SERIES}`], 'aria-hidden': 'true'}), `${name} `,
      h('strong', {}, String(totals[n])))));
  return [svg, legend];
}

/**
 * Sightings per indicator, the most sighted first, as bars of HTML: each is a button that opens
 * the indicator, labelled so that what tells two indicators apart shows — the observable's value
 * and the TLP (an AMBER original and its GREEN copy share a name) — with the full name on hover
 * and focus. rows: [{id, name, parts: {rest, key}, tlp, value, detail}]
 */
export function sightingsChart(rows, {max = 6, open = () => {}, query = ''} = {}) {
  if (!rows.length) return [h('p', {class: 'empty'}, query ? t('chart.sightings.no-match') : t('chart.sightings.none'))];
  const shown = rows.slice(0, max);
  const vMax = Math.max(...shown.map((r) => r.value), 1);
  const summary = shown.map((r) => `${r.name} ${r.value}`).join(', ');
  const label = query ? t('chart.sightings.label.query', {query, summary}) : t('chart.sightings.label', {summary});
  return [h('ul', {class: 'bars', 'aria-label': label},
    shown.map((r) => {
      const fill = h('span', {class: 'bar-fill'});
      fill.style.width = `${Math.max(2, (r.value / vMax) * 100)}%`; // CSSOM, which the CSP allows (style="" it does not)
      const full = [r.parts.rest, r.parts.key].filter(Boolean).join(' ');
      return h('li', {class: 'bar-row', dataset: {stixId: r.id}},
        h('button', {type: 'button', class: 'bar-open', title: t('chart.sightings.bar', {name: full, n: r.value, who: r.detail}),
          dataset: {focusKey: `bar:${r.id}`}, onclick: () => open(r.id)},
        r.tlp ? tlpBadge(r.tlp) : null,
        keyedLabel(r.parts, {cls: 'bar-label'}),
        h('span', {class: 'bar-track', 'aria-hidden': 'true'}, fill),
        h('span', {class: 'bar-value'}, String(r.value))));
    }))];
}

/** A severity change's tooltip: "14:03:22: severity 3 High (by National CERT)". */
function pointTitle(p, nameOf, who) {
  const params = {time: clockTime(p.ms), level: p.level, name: nameOf(p.level)};
  return p.by ? t('chart.severity.point.by', {...params, who: who(p.by)}) : t('chart.severity.point', params);
}

/** The severity chart in words: "Severity over time: 2 Medium at 14:03, then 4 Severe at 14:20". */
function severitySummary(points, nameOf) {
  const steps = points.map((p, i) => {
    const step = t('chart.severity.step', {level: p.level, name: nameOf(p.level), time: hourMinute(p.ms)});
    return i ? t('chart.severity.then', {step}) : step;
  });
  return t('chart.severity.label', {summary: steps.join(', ')});
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
  if (!points.length) return h('p', {class: 'empty'}, t('chart.severity.none'));
  const levels = [...severities.keys(), ...points.map((p) => p.level), 1]; // 1: never a zero-high axis
  const yTopLevel = Math.max(...levels);
  const W = compact ? 200 : 520; const H = compact ? 44 : 200;
  const left = compact ? 4 : 92; const right = compact ? 6 : 12; const top = compact ? 6 : 12; const bottom = compact ? 6 : 26;
  const t0 = points[0].ms; const t1 = Math.max(now, points[points.length - 1].ms + 1);
  const x = (ms) => left + ((ms - t0) / (t1 - t0)) * (W - left - right);
  const y = (v) => top + (1 - v / yTopLevel) * (H - top - bottom);
  const colourOf = (v) => safeColour(severities.get(v) && severities.get(v).colour);
  // The scale is the hub's (GET /api/v1/stakeholders); a level off it shows as a bare number.
  const nameOf = (v) => severityName((severities.get(v) && severities.get(v).name) || '');
  const marks = [];
  if (!compact) {
    for (let v = 0; v <= yTopLevel; v += 1) {
      marks.push(s('line', {class: 'grid', x1: left, x2: W - right, y1: y(v), y2: y(v)}));
      marks.push(s('text', {class: 'axis', x: left - 8, y: y(v) + 4, 'text-anchor': 'end'}, `${v} ${nameOf(v)}`.trim()));
    }
    marks.push(s('text', {class: 'axis', x: left, y: H - 6}, shortTime(t0, now)));
    marks.push(s('text', {class: 'axis', x: W - right, y: H - 6, 'text-anchor': 'end'}, t('chart.now')));
  }
  let d = `M${x(points[0].ms)},${y(points[0].level)}`;
  for (let i = 1; i < points.length; i += 1) d += ` H${x(points[i].ms)} V${y(points[i].level)}`;
  d += ` H${x(t1)}`;
  marks.push(s('path', {class: 'severity-line', d}));
  for (const p of points) {
    // `fill` is an SVG presentation attribute, not inline CSS: the CSP allows it. The colour is checked.
    marks.push(s('circle', {class: 'severity-point', cx: x(p.ms), cy: y(p.level), r: compact ? 3.5 : 6, fill: colourOf(p.level)},
      s('title', {}, pointTitle(p, nameOf, who))));
  }
  return s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', class: ['chart-svg', compact ? 'sparkline' : 'severity-chart'],
    'aria-label': severitySummary(points, nameOf)}, marks);
}

/**
 * The board's severity sparkline: each change of level as a dot in the level's colour with its
 * number, and the time under it, evenly spaced and read left to right up to "now". A time axis
 * would squeeze changes made in the first minutes of a crisis hours old into one corner; the
 * sequence says what happened and when, and the level it stands at now.
 */
export function severitySteps({history, current, severities, who = (id) => id, now}) {
  const points = [];
  let level = null;
  for (const version of history || []) {
    const change = version.changes && version.changes.severity;
    if (change) level = change[1];
    if (level !== null && (!points.length || points[points.length - 1].level !== level)) {
      points.push({ms: parseTime(version.time), level, by: version.by});
    }
  }
  if (!points.length && current) points.push({ms: parseTime(current.created), level: current.severity.level});
  if (!points.length) return h('p', {class: 'empty'}, t('chart.severity.none'));
  const nameOf = (v) => severityName((severities.get(v) && severities.get(v).name) || '');
  const step = 70; const x0 = 26; const tail = 66; const H = 40; const cy = 14;
  const W = x0 + (points.length - 1) * step + tail;
  const xs = points.map((_, i) => x0 + i * step);
  const marks = [s('path', {class: 'severity-line', d: `M${xs[0]},${cy} H${W - 40}`})]; // short of "now" in any language
  // Changes within one minute of each other need their seconds to be told apart.
  const minutes = points.map((p) => shortTime(p.ms, now, {zone: false}));
  const precise = new Set(minutes).size < minutes.length;
  const at = (ms) => (precise ? clockTime(ms) : shortTime(ms, now, {zone: false}));
  points.forEach((p, i) => {
    const colour = safeColour(severities.get(p.level) && severities.get(p.level).colour);
    marks.push(s('circle', {class: 'severity-point', cx: xs[i], cy, r: 10, fill: colour},
      s('title', {}, pointTitle(p, nameOf, who))));
    // `fill` is an SVG presentation attribute, not inline CSS: the CSP allows it. The colours are checked.
    marks.push(s('text', {class: 'step-level', x: xs[i], y: cy + 4.5, 'text-anchor': 'middle', fill: inkOn(colour)}, String(p.level)));
    marks.push(s('text', {class: 'axis', x: xs[i], y: H - 2, 'text-anchor': 'middle'}, at(p.ms)));
  });
  marks.push(s('text', {class: 'axis', x: W - 2, y: cy + 4, 'text-anchor': 'end'}, t('chart.now')));
  return s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', class: ['chart-svg', 'sparkline'], preserveAspectRatio: 'xMinYMid meet',
    'aria-label': severitySummary(points, nameOf)}, marks);
}
