// The crisis board: active crises, most severe first (the hub's order), each with its NCISS
// severity colour as the hub reports it, status, lead, sectors, time since the last update,
// who has acknowledged the current version (and who only an earlier one), when it was declared,
// each overdue action with its owner and how late it is, where its plans stand, and the severity's changes.

import {clip, h, inkOn, replaceKeepingFocus, safeColour} from '../dom.js';
import {ago, crisisStatusWord, duration, fullTime, isoTime, parseTime, severityName, shortTime} from '../format.js';
import {t, tp} from '../i18n.js';
import {tlpBadge} from '../tlp.js';
import {ackStatus} from './acks.js';
import {severitySteps} from './charts.js';
import {exerciseBadge, exerciseBanner, isExercise} from './exercise.js';
import {planChecklist} from './plans.js';
import {who} from './who.js';

/** A severity block in the hub's colour. CSSOM writes are allowed by the CSP; style="" is not. */
export function severityBlock(severity, {large = false} = {}) {
  const colour = safeColour(severity.colour);
  const name = severityName(severity.name);
  const block = h('div', {class: ['severity', large && 'severity-large'], dataset: {level: severity.level},
    title: t('severity.title', {level: severity.level, name})},
  h('span', {class: 'severity-level'}, String(severity.level)),
  h('span', {class: 'severity-name'}, name));
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
      kind: event.type === 'report' ? 'sitrep' : action ? 'escalation' : 'latest',
      headline: event.type === 'report' ? o.name : o.abstract || clip(o.content, 140),
      full: event.type === 'report' ? o.description || '' : o.content || ''});
  }
  for (const action of actions.values()) {
    if (action.status !== 'completed') continue;
    entries.push({ms: parseTime(action.updated), source: action.updated_by, kind: 'done',
      exercise: crisis.exercise || isExercise(action),
      headline: t('board.completed', {name: action.name}), full: action.comment || ''});
  }
  if (!entries.length) return null;
  entries.sort((a, b) => b.ms - a.ms);
  const [newest, ...earlier] = entries;
  const now = state.now();
  return [
    h('p', {class: ['crisis-latest', `latest-${newest.kind}`], title: newest.full},
      newest.exercise ? exerciseBadge() : null,
      h('span', {class: 'crisis-latest-kind'}, t(`board.latest.${newest.kind}`)),
      newest.headline || '',
      h('span', {class: 'crisis-latest-by'}, ' — ', who(state, newest.source), `, ${ago(newest.ms, now)}`)),
    // The two before it, one line each: what the room missed while looking away.
    earlier.length ? h('ul', {class: 'crisis-recent', 'aria-label': t('board.earlier')}, earlier.slice(0, RECENT).map((e) =>
      h('li', {class: `recent-${e.kind}`, title: [e.headline, e.full].filter(Boolean).join(' — ')},
        e.exercise ? exerciseBadge() : null,
        h('time', {datetime: isoTime(e.ms), title: fullTime(e.ms)}, shortTime(e.ms, now, {zone: false})), ' ',
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
  return h('ul', {class: 'overdue-list', 'aria-label': t('board.overdue.list')}, overdue.map((a) =>
    h('li', {class: 'overdue', dataset: {actionId: a.id}},
      crisis.exercise || isExercise(a) ? exerciseBadge() : null,
      h('span', {class: 'badge badge-overdue overdue-late'}, t('due.overdue', {duration: duration(now - parseTime(a.due))})),
      h('span', {class: 'overdue-name', title: a.name}, a.name),
      h('span', {class: 'overdue-owner'}, '→ ', who(state, a.assignee, {tag: 'strong', cls: 'overdue-assignee'})),
      a.escalated ? h('span', {class: 'badge badge-escalated'}, t('action.escalated')) : null)));
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
    'aria-label': t(crisis.exercise ? 'board.card.label.exercise' : 'board.card.label',
      {name: crisis.name, severity: severityName(crisis.severity.name), status: crisisStatusWord(crisis.status)})},
  crisis.exercise ? exerciseBanner() : null,
  severityBlock(crisis.severity),
  h('div', {class: 'crisis-body'},
    h('h3', {class: 'crisis-name'},
      h('button', {type: 'button', class: 'crisis-open', dataset: {focusKey: `open:${crisis.id}`},
        title: t('board.open.title'),
        onclick: () => ctx.openCrisis(crisis.id)}, crisis.name)),
    h('div', {class: 'crisis-facts'},
      h('span', {class: ['status-chip', `crisis-status-${crisis.status}`]}, crisisStatusWord(crisis.status)),
      h('span', {class: 'fact'}, h('span', {class: 'fact-label'}, `${t('board.lead')} `),
        who(state, crisis.lead, {tag: 'strong', cls: 'crisis-lead'})),
      chips(t('board.sectors'), crisis.affected_sectors),
      tlpBadge(crisis.tlp)),
    h('div', {class: 'crisis-updated'},
      h('span', {class: 'declared', title: t('board.declared.title', {time: fullTime(declared)})},
        t('board.declared', {duration: duration(now - declared)}),
        h('span', {class: 'declared-at'}, ` (${shortTime(declared, now, {zone: false})})`)),
      ' · ',
      h('span', {class: 'since'}, t('board.last-update', {when: ago(last.ms, now)})), last.by ? [' · ', who(state, last.by)] : '',
      onTime > 0 ? h('span', {class: 'crisis-actions'}, ` · ${tp('board.on-time', onTime)}`) : null,
      overdue.length ? h('span', {class: 'badge badge-overdue'}, tp('board.overdue', overdue.length)) : null),
    overdueList(crisis, overdue, state),
    planChecklist(crisis, state.runsOf(crisis.id), state),
    latestEntry(crisis, detail, state),
    ackStatus(crisis.id, state.ackItem(crisis.id, crisis.id, crisis.modified), ctx)),
  h('div', {class: 'crisis-trend'},
    h('span', {class: 'trend-label'}, t('board.severity')),
    severitySteps({history: state.histories.get(crisis.id), current: crisis, severities: state.severities,
      who: (id) => state.stakeholderName(id), now})));
}

export function renderBoard(container, countEl, ctx) {
  const {state} = ctx;
  // Exercises never count among the real crises: counted apart, and said so.
  const drills = state.crises.filter((c) => c.exercise).length;
  const real = state.crises.length - drills;
  countEl.textContent = [real ? String(real) : '', drills ? tp('board.exercises', drills) : '']
    .filter(Boolean).join(' ');
  if (!state.crisesLoaded) {
    replaceKeepingFocus(container, [h('p', {class: 'empty'}, t('board.loading'))]);
    return;
  }
  if (!state.crises.length) {
    replaceKeepingFocus(container, [h('p', {class: 'empty empty-board'}, t('board.none'))]);
    return;
  }
  replaceKeepingFocus(container, state.crises.map((crisis) => card(crisis, ctx)));
}
