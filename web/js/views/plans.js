// Crisis plans: the national protocol (a CACAO playbook) run by the hub for a crisis. On the board,
// a checklist per plan — how far it got and the steps that matter now: done, running, LATE, on
// whom it waits, failed. In the crisis view, the whole flow in the playbook's order, steps not
// reached included, and, for whoever may change the crisis, a control to start a stored plan.
// The hub computes every step's state (GET /api/v1/crises/{id}/plans); the page only tells it.
// Each state is said in words and a mark, never by colour alone.

import {h} from '../dom.js';
import {dueIn, fullTime, parseTime, shortTime} from '../format.js';
import {t, tOr, tp} from '../i18n.js';
import {tlpBadge} from '../tlp.js';
import {exerciseBadge} from './exercise.js';
import {actedBy, closedByList, whoList} from './who.js';

const WORK = new Set(['action', 'playbook-action']); // the steps someone does; the rest is the flow's wiring
const DONE = new Set(['completed', 'skipped']);
const OPEN = new Set(['running', 'delayed']);
const TROUBLE = new Set(['failed', 'timed-out']);
const RECENT_DONE = 2; // done steps the board's checklist keeps, the latest ones

const MARKS = {pending: '○', delayed: '◔', running: '▶', completed: '✓', failed: '✕', 'timed-out': '⌛', skipped: '↷'};

// The hub's codes in words: a step's state ('plan.state.timed-out'), its type ('plan.type.if-condition'),
// a run's status ('plan.run.cancelled') and what started it ('plan.trigger.by-hand'); a code the page
// does not know is shown as the hub sent it.
const stateWord = (state) => tOr(`plan.state.${state}`, state || '?');
const typeLabel = (type) => (type ? tOr(`plan.type.${type}`, type) : t('plan.step'));
const runWord = (status) => tOr(`plan.run.${status}`, status);
const triggerWords = (trigger) => tOr(`plan.trigger.${trigger}`, trigger);

/** Whether a step is running past its due time: as the hub said when read, or since then by the clock. */
export function isLate(step, now) {
  if (step.late) return true;
  const due = parseTime(step.due);
  return step.state === 'running' && due > 0 && due < now;
}

/** '3 of 17 steps done': a step done or skipped counts, as in the sitrep's briefing. */
export function progressText(run) {
  const done = run.steps.filter((s) => DONE.has(s.state)).length;
  return tp('plan.progress', run.steps.length, {done});
}

/** A step's mark and state in words, LATE apart: what the checklist and the flow both show. */
function stateParts(step, late) {
  return [
    h('span', {class: 'step-mark', 'aria-hidden': 'true'}, MARKS[step.state] || '·'), ' ',
    late ? [h('strong', {class: 'badge badge-late'}, t('plan.late')), ' '] : null,
    h('span', {class: ['step-state', `step-state-${step.state}`]}, stateWord(step.state)), ' ',
  ];
}

/** The steps the board shows: every open or failed one, and the latest done ones; in the playbook's order. */
function currentSteps(run) {
  const work = run.steps.filter((s) => WORK.has(s.type));
  const shown = new Set(work.filter((s) => OPEN.has(s.state) || TROUBLE.has(s.state)));
  const done = work.filter((s) => s.state === 'completed')
    .sort((a, b) => parseTime(b.finished) - parseTime(a.finished)).slice(0, RECENT_DONE);
  for (const step of done) shown.add(step);
  return run.steps.filter((s) => shown.has(s));
}

function checklistStep(step, state, now) {
  const late = isLate(step, now);
  const due = parseTime(step.due);
  let detail = null;
  if (OPEN.has(step.state) && step.waiting_on.length) {
    detail = [` · ${t('plan.waiting-on')} `, whoList(state, step.waiting_on, {cls: 'step-waiting'})];
  } else if (step.state === 'completed' && step.done_by.length === 1) {
    detail = [` · ${t('plan.by')} `, closedByList(state, step)];
  } else if (step.state === 'completed' && step.done_by.length) {
    // A whole group's names would crowd the board: the count, the names in the tooltip (and in the view).
    detail = h('span', {title: step.done_by.map((id) => state.stakeholderName(id)).join(', ')},
      ` · ${t('plan.by-all', {n: step.done_by.length})}`);
  } else if (TROUBLE.has(step.state) && step.note) {
    detail = h('span', {class: 'step-note'}, ` · ${step.note}`);
  }
  return h('li', {class: ['plan-step', `plan-step-${step.state}`, late && 'plan-step-late'],
    dataset: {stepId: step.id, state: step.state, late: late ? 'true' : undefined}},
  stateParts(step, late),
  h('span', {class: 'step-name'}, step.name),
  detail,
  OPEN.has(step.state) && due ? h('time', {class: 'step-due', datetime: step.due, title: fullTime(due)},
    ` · ${dueIn(due, now)}`) : null);
}

/** The board's checklist of a crisis's plans: each running one with its current steps, each ended one in brief. */
export function planChecklist(crisis, runs, state) {
  if (!runs.length) return null;
  const now = state.now();
  return h('div', {class: 'plan-checklists'}, runs.map((run) => {
    const running = run.status === 'running';
    // A running plan: where it stands. An ended one: its line, and what failed in it if anything did.
    const shown = running ? currentSteps(run) : run.steps.filter((s) => WORK.has(s.type) && TROUBLE.has(s.state));
    return h('section', {class: ['plan-checklist', `plan-checklist-${run.status}`], dataset: {runId: run.id},
      'aria-label': t('plan.label', {name: run.name})},
    h('div', {class: 'plan-head'},
      crisis.exercise ? exerciseBadge() : null,
      h('span', {class: 'plan-kind'}, t('plan.kind')),
      h('span', {class: 'plan-name', title: run.name}, run.name),
      h('span', {class: 'plan-progress'}, running ? progressText(run)
        : t('plan.ended-progress', {status: runWord(run.status), progress: progressText(run)}))),
    shown.length ? h('ul', {class: 'plan-steps'}, shown.map((step) => checklistStep(step, state, now))) : null);
  }));
}

/** "Not assigned: State Oil Company, … — may not read TLP:RED": who the plan names but the run could not reach. */
function withheldLine(step, run, state) {
  if (!step.withheld.length) return null;
  const known = step.withheld.filter((id) => state.stakeholders.has(id));
  const unknown = step.withheld.filter((id) => !state.stakeholders.has(id));
  const label = `TLP:${String(run.tlp || '?').toUpperCase()}`;
  return h('p', {class: 'flow-withheld'},
    known.length ? [h('strong', {}, `${t('plan.not-assigned')} `), whoList(state, known),
      ` — ${t('plan.not-assigned.tlp', {tlp: label})}`] : null,
    known.length && unknown.length ? '. ' : null,
    unknown.length ? [h('strong', {}, `${t('plan.not-assigned')} `), unknown.join(', '),
      ` — ${t('plan.not-assigned.unknown')}`] : null);
}

function labelled(label, nodes) {
  return h('span', {class: 'flow-who'}, h('span', {class: 'flow-label'}, `${label} `), nodes);
}

function flowStep(step, index, run, state, now) {
  const late = isLate(step, now);
  const due = parseTime(step.due);
  const people = [
    step.assignees.length ? labelled(t('plan.assigned-to'), whoList(state, step.assignees)) : null,
    OPEN.has(step.state) && step.waiting_on.length
      ? labelled(t('plan.waiting-on.label'), whoList(state, step.waiting_on, {cls: 'step-waiting'})) : null,
    step.done_by.length ? labelled(step.state === 'completed' ? t('plan.done-by') : t('plan.closed-by'),
      closedByList(state, step)) : null,
  ].filter(Boolean);
  const when = due ? h('time', {class: 'step-due', datetime: step.due, title: fullTime(due)},
    OPEN.has(step.state) ? dueIn(due, now) : t('due.at', {time: shortTime(due, now)})) : null;
  const finished = parseTime(step.finished);
  return h('li', {class: ['flow-step', `flow-step-${step.state}`, late && 'flow-step-late'],
    dataset: {stepId: step.id, state: step.state, type: step.type, late: late ? 'true' : undefined}},
  h('span', {class: 'flow-index'}, String(index + 1)),
  h('div', {class: 'flow-main'},
    h('div', {class: 'flow-title'},
      stateParts(step, late),
      h('span', {class: 'step-name'}, step.name),
      h('span', {class: 'step-type'}, typeLabel(step.type))),
    people.length || when || finished ? h('div', {class: 'flow-meta'},
      people.flatMap((p, i) => (i ? [' · ', p] : [p])),
      when ? [people.length ? ' · ' : null, when] : null,
      finished && !OPEN.has(step.state) ? h('span', {class: 'step-finished'},
        `${people.length || when ? ' · ' : ''}${t('plan.finished', {state: stateWord(step.state), time: shortTime(finished, now)})}`)
        : null) : null,
    withheldLine(step, run, state),
    step.note ? h('p', {class: 'flow-note'}, step.note) : null));
}

function runFlow(crisis, run, state) {
  const now = state.now();
  const started = parseTime(run.started);
  const finished = parseTime(run.finished);
  return h('article', {class: ['plan-run', `plan-run-${run.status}`], dataset: {runId: run.id, status: run.status},
    'aria-label': t('plan.label', {name: run.name})},
  h('div', {class: 'plan-run-head'},
    crisis.exercise ? exerciseBadge() : null,
    h('strong', {class: 'plan-name'}, run.name),
    h('span', {class: ['status-chip', `plan-status-${run.status}`]}, runWord(run.status)),
    h('span', {class: 'plan-progress'}, progressText(run)),
    tlpBadge(run.tlp)),
  h('p', {class: 'plan-run-meta'},
    `${t('plan.started')} `, started ? h('time', {datetime: run.started, title: fullTime(started)}, shortTime(started, now)) : '',
    ` ${t('plan.by')} `, actedBy(state, run.started_by, run.started_by_person), ` ${triggerWords(run.trigger)}`,
    finished ? [` · ${t('plan.ended')} `, h('time', {datetime: run.finished, title: fullTime(finished)}, shortTime(finished, now))]
      : null),
  run.note ? h('p', {class: 'plan-run-note'}, run.note) : null,
  h('ol', {class: 'plan-flow', 'aria-label': t('plan.steps-of', {name: run.name})},
    run.steps.map((step, i) => flowStep(step, i, run, state, now))));
}

/** The control that starts a stored plan, for whoever may change the crisis. */
function startControl(crisis, ctx, choice) {
  const {state} = ctx;
  const plans = [...state.playbooks.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (!plans.length) {
    return h('p', {class: 'plan-start-empty muted small'},
      state.playbooksLoaded ? t('plan.start.none') : t('plan.start.looking'));
  }
  const selected = plans.some((p) => p.id === choice.value) ? choice.value : plans[0].id;
  const select = h('select', {id: 'plan-start-choice', class: 'plan-start-choice', dataset: {focusKey: 'plan-start-choice'},
    onchange: (e) => {
      choice.value = e.currentTarget.value;
    }},
  plans.map((p) => h('option', {value: p.id, selected: p.id === selected, title: p.description || undefined}, p.name)));
  return h('form', {class: 'plan-start', onsubmit: (e) => {
    e.preventDefault();
    const button = e.currentTarget.querySelector('button');
    ctx.startPlan(crisis.id, select.value, button);
  }},
  h('label', {for: 'plan-start-choice'}, t('plan.start.label')),
  select,
  h('button', {type: 'submit', class: 'btn btn-primary', dataset: {focusKey: 'plan-start'}}, t('plan.start')));
}

/**
 * The crisis view's plans: each run's whole flow, and the start control when `mayStart`.
 * `choice` ({value}) keeps the plan picked in the control across the view's live re-renders.
 */
export function planSection(crisis, runs, ctx, {mayStart, choice}) {
  if (!runs.length && !mayStart) return null;
  return h('section', {class: 'detail-plans', 'aria-label': t('plan.section')},
    h('div', {class: 'plans-head'},
      h('h3', {}, t('plan.section.count', {n: runs.length})),
      mayStart ? startControl(crisis, ctx, choice) : null),
    runs.length ? runs.map((run) => runFlow(crisis, run, ctx.state))
      : h('p', {class: 'empty'}, t('plan.runs.none')));
}
