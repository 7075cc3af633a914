// The crisis board: active crises, most severe first (the hub's order), each with its NCISS
// severity colour as the hub reports it, status, lead, sectors, time since the last update,
// who has acknowledged the current version (and who only an earlier one), when it was declared,
// each overdue action with its owner and how late it is, where its plans stand, and the severity's changes.

import {clip, h, inkOn, replaceKeepingFocus, safeColour} from '../dom.js';
import {ago, duration, parseTime, shortTime} from '../format.js';
import {tlpBadge} from '../tlp.js';
import {ackStatus} from './acks.js';
import {severitySteps} from './charts.js';
import {exerciseBadge, exerciseBanner, isExercise} from './exercise.js';
import {planChecklist} from './plans.js';
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

const OPEN = new Set(['assigned', 'accepted', 'in-progress']);
const RECENT = 2; // earlier updates shown under the latest

/** An escalation note the hub wrote ("Overdue: …") and the action item it is about, if the page has it. */
function escalatedAction(event, actions) {
  const o = event.object || {};
  if (!(Array.isArray(o.authors) && o.authors.includes('Crisis Hub'))) return null;
  return (o.object_refs || []).map((id) => actions.get(id)).find(Boolean) || null;
}

/**
 * The newest thing said about a crisis that is still true: an update, a sitrep, an escalation
 * whose action is still open — or, once an escalated action is done, its completion. An
 * "Overdue: …" line after the action was completed would tell the room the opposite of the truth.
 */
function latestEntry(crisis, detail, state) {
  const actions = new Map(((detail && detail.actions) || []).map((a) => [a.id, a]));
  const entries = [];
  for (const event of [...((detail && detail.updates) || []), ...((detail && detail.sitreps) || [])]) {
    const o = event.object || {};
    const action = event.type === 'note' ? escalatedAction(event, actions) : null;
    if (action && !OPEN.has(action.status)) continue; // resolved since: superseded by its completion below
    entries.push({ms: parseTime(event.time), source: event.source, exercise: crisis.exercise || isExercise(o),
      kind: event.type === 'report' ? 'SITREP' : action ? 'ESCALATION' : 'LATEST',
      headline: event.type === 'report' ? o.name : o.abstract || clip(o.content, 140),
      full: event.type === 'report' ? o.description || '' : o.content || ''});
  }
  for (const action of actions.values()) {
    if (action.status !== 'completed') continue;
    entries.push({ms: parseTime(action.updated), source: action.updated_by, kind: 'DONE',
      exercise: crisis.exercise || isExercise(action),
      headline: `Completed: ${action.name}`, full: action.comment || ''});
  }
  if (!entries.length) return null;
  entries.sort((a, b) => b.ms - a.ms);
  const [newest, ...earlier] = entries;
  const now = state.now();
  return [
    h('p', {class: ['crisis-latest', `latest-${newest.kind.toLowerCase()}`], title: newest.full},
      newest.exercise ? exerciseBadge() : null,
      h('span', {class: 'crisis-latest-kind'}, newest.kind),
      newest.headline || '',
      h('span', {class: 'crisis-latest-by'}, ' — ', who(state, newest.source), `, ${ago(newest.ms, now)}`)),
    // The two before it, one line each: what the room missed while looking away.
    earlier.length ? h('ul', {class: 'crisis-recent', 'aria-label': 'Earlier updates'}, earlier.slice(0, RECENT).map((e) =>
      h('li', {class: `recent-${e.kind.toLowerCase()}`, title: [e.headline, e.full].filter(Boolean).join(' — ')},
        e.exercise ? exerciseBadge() : null,
        h('time', {datetime: new Date(e.ms).toISOString()}, shortTime(e.ms, now)), ' ',
        h('span', {class: 'recent-headline'}, e.headline || ''),
        h('span', {class: 'crisis-latest-by'}, ' — ', who(state, e.source))))) : null,
  ];
}

function chips(label, values) {
  if (!values || !values.length) return null;
  return h('span', {class: 'chips'}, h('span', {class: 'chips-label'}, label),
    values.map((v) => h('span', {class: 'chip'}, v)));
}

/** Each overdue action: what, who owns it, how late — what the room must chase, without opening anything. */
function overdueList(crisis, overdue, state) {
  if (!overdue.length) return null;
  const now = state.now();
  return h('ul', {class: 'overdue-list', 'aria-label': 'Overdue action items'}, overdue.map((a) =>
    h('li', {class: 'overdue', dataset: {actionId: a.id}},
      crisis.exercise || isExercise(a) ? exerciseBadge() : null,
      h('span', {class: 'badge badge-overdue overdue-late'}, `${duration(now - parseTime(a.due))} overdue`),
      h('span', {class: 'overdue-name', title: a.name}, a.name),
      h('span', {class: 'overdue-owner'}, '→ ', who(state, a.assignee, {tag: 'strong', cls: 'overdue-assignee'})),
      a.escalated ? h('span', {class: 'badge badge-escalated'}, 'escalated') : null)));
}

function card(crisis, ctx) {
  const {state} = ctx;
  const now = state.now();
  const detail = state.details.get(crisis.id);
  const last = lastActivity(crisis, detail);
  const actions = (detail && detail.actions) || [];
  const openActions = actions.filter((a) => OPEN.has(a.status));
  const overdue = openActions.filter((a) => a.overdue).sort((a, b) => parseTime(a.due) - parseTime(b.due));
  const declared = parseTime(crisis.created);
  const onTime = openActions.length - overdue.length;
  return h('article', {class: ['crisis-card', crisis.exercise && 'crisis-card-exercise'],
    dataset: {crisisId: crisis.id, level: crisis.severity.level},
    'aria-label': `${crisis.exercise ? 'Exercise: ' : ''}${crisis.name}, severity ${crisis.severity.name}, ${crisis.status}`},
  crisis.exercise ? exerciseBanner() : null,
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
      h('span', {class: 'declared', title: `Declared ${new Date(declared).toString()}`},
        `Declared ${duration(now - declared)} ago`, h('span', {class: 'declared-at'}, ` (${shortTime(declared, now)})`)),
      ' · ',
      h('span', {class: 'since'}, `Last update ${ago(last.ms, now)}`), last.by ? [' · ', who(state, last.by)] : '',
      onTime > 0 ? h('span', {class: 'crisis-actions'}, ` · ${onTime} open action${onTime > 1 ? 's' : ''} on time`) : null,
      overdue.length ? h('span', {class: 'badge badge-overdue'}, `${overdue.length} OVERDUE`) : null),
    overdueList(crisis, overdue, state),
    planChecklist(crisis, state.runsOf(crisis.id), state),
    latestEntry(crisis, detail, state),
    ackStatus(crisis.id, state.ackItem(crisis.id, crisis.id, crisis.modified), ctx)),
  h('div', {class: 'crisis-trend'},
    h('span', {class: 'trend-label'}, 'Severity'),
    severitySteps({history: state.histories.get(crisis.id), current: crisis, severities: state.severities,
      who: (id) => state.stakeholderName(id), now})));
}

export function renderBoard(container, countEl, ctx) {
  const {state} = ctx;
  // Exercises never count among the real crises: counted apart, and said so.
  const drills = state.crises.filter((c) => c.exercise).length;
  const real = state.crises.length - drills;
  countEl.textContent = [real ? String(real) : '', drills ? `+ ${drills} exercise${drills > 1 ? 's' : ''}` : '']
    .filter(Boolean).join(' ');
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
