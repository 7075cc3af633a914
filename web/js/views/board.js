// The crisis board: active crises, most severe first (the hub's order), each with its NCISS
// severity colour as the hub reports it, status, lead, sectors, time since the last update,
// who has acknowledged the current version, and a severity sparkline.

import {clip, h, inkOn, replaceKeepingFocus, safeColour} from '../dom.js';
import {ago, parseTime} from '../format.js';
import {tlpBadge} from '../tlp.js';
import {ackStatus} from './acks.js';
import {severityChart} from './charts.js';
import {who} from './who.js';

/** A severity block in the hub's colour. CSSOM writes are allowed by the CSP; style="" is not. */
export function severityBlock(severity, {large = false} = {}) {
  const colour = safeColour(severity.colour);
  const block = h('div', {class: ['severity', large && 'severity-large'], dataset: {level: severity.level},
    title: `Severity ${severity.level}: ${severity.name}`},
  h('span', {class: 'severity-level'}, String(severity.level)),
  h('span', {class: 'severity-name'}, severity.name));
  block.style.backgroundColor = colour;
  block.style.color = inkOn(colour);
  return block;
}

/** The time of the newest thing said about a crisis: its own last version, an update or a sitrep. */
export function lastActivity(crisis, detail) {
  let latest = {ms: parseTime(crisis.updated), by: crisis.updated_by};
  for (const event of [...((detail && detail.updates) || []), ...((detail && detail.sitreps) || [])]) {
    const ms = parseTime(event.time);
    if (ms > latest.ms) latest = {ms, by: event.source};
  }
  return latest;
}

/** The newest situation update or sitrep headline: what the room should read first. */
function latestEntry(detail, state) {
  const entries = [...((detail && detail.updates) || []), ...((detail && detail.sitreps) || [])];
  if (!entries.length) return null;
  const newest = entries.reduce((a, b) => (parseTime(b.time) > parseTime(a.time) ? b : a));
  const o = newest.object || {};
  const headline = newest.type === 'report' ? o.name : o.abstract || clip(o.content, 140);
  return h('p', {class: 'crisis-latest', title: newest.type === 'report' ? o.description || '' : o.content || ''},
    h('span', {class: 'crisis-latest-kind'}, newest.type === 'report' ? 'SITREP' : 'LATEST'),
    headline || '',
    h('span', {class: 'crisis-latest-by'}, ' — ', who(state, newest.source), `, ${ago(parseTime(newest.time), state.now())}`));
}

function chips(label, values) {
  if (!values || !values.length) return null;
  return h('span', {class: 'chips'}, h('span', {class: 'chips-label'}, label),
    values.map((v) => h('span', {class: 'chip'}, v)));
}

function card(crisis, ctx) {
  const {state} = ctx;
  const detail = state.details.get(crisis.id);
  const last = lastActivity(crisis, detail);
  const actions = (detail && detail.actions) || [];
  const openActions = actions.filter((a) => ['assigned', 'accepted', 'in-progress'].includes(a.status));
  const overdue = openActions.filter((a) => a.overdue);
  return h('article', {class: 'crisis-card', dataset: {crisisId: crisis.id, level: crisis.severity.level},
    'aria-label': `${crisis.name}, severity ${crisis.severity.name}, ${crisis.status}`},
  severityBlock(crisis.severity),
  h('div', {class: 'crisis-body'},
    h('h3', {class: 'crisis-name'},
      h('button', {type: 'button', class: 'crisis-open', dataset: {focusKey: `open:${crisis.id}`},
        title: 'Open the crisis: its updates, sitreps, acknowledgments and actions',
        onclick: () => ctx.openCrisis(crisis.id)}, crisis.name)),
    h('div', {class: 'crisis-facts'},
      h('span', {class: ['status-chip', `crisis-status-${crisis.status}`]}, crisis.status),
      h('span', {class: 'fact'}, h('span', {class: 'fact-label'}, 'Lead '), who(state, crisis.lead, {tag: 'strong', cls: 'crisis-lead'})),
      chips('Sectors', crisis.affected_sectors),
      tlpBadge(crisis.tlp)),
    h('div', {class: 'crisis-updated'},
      h('span', {class: 'since'}, `Last update ${ago(last.ms, state.now())}`), last.by ? [' · ', who(state, last.by)] : '',
      openActions.length ? h('span', {class: 'crisis-actions'}, ` · ${openActions.length} open action${openActions.length > 1 ? 's' : ''}`) : null,
      overdue.length ? h('span', {class: 'badge badge-overdue'}, `${overdue.length} OVERDUE`) : null),
    latestEntry(detail, state),
    ackStatus(crisis.id, state.ackItem(crisis.id, crisis.id, crisis.modified), ctx)),
  h('div', {class: 'crisis-trend'},
    h('span', {class: 'trend-label'}, 'Severity'),
    severityChart({history: state.histories.get(crisis.id), current: crisis, severities: state.severities,
      who: (id) => state.stakeholderName(id), now: state.now(), compact: true})));
}

export function renderBoard(container, countEl, ctx) {
  const {state} = ctx;
  countEl.textContent = state.crises.length ? String(state.crises.length) : '';
  if (!state.crisesLoaded) {
    replaceKeepingFocus(container, [h('p', {class: 'empty'}, 'Loading crises…')]);
    return;
  }
  if (!state.crises.length) {
    replaceKeepingFocus(container, [h('p', {class: 'empty empty-board'}, 'No active crisis that you may see.')]);
    return;
  }
  replaceKeepingFocus(container, state.crises.map((crisis) => card(crisis, ctx)));
}
