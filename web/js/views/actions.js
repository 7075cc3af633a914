// Action items: the signed-in stakeholder's own (with one-click accept and complete) and every
// item of a crisis in its detail view.

import {h, replaceKeepingFocus} from '../dom.js';
import {dueIn, parseTime} from '../format.js';
import {tlpBadge} from '../tlp.js';
import {exerciseBadge, isExercise} from './exercise.js';
import {actedBy} from './who.js';

const OPEN = new Set(['assigned', 'accepted', 'in-progress']);

/** One action item; its buttons appear only for its assignee, and only while it is open. */
export function actionRow(crisis, action, ctx, {showCrisis = false} = {}) {
  const open = OPEN.has(action.status);
  const buttons = [];
  if (ctx.state.isMine(action) && open) {
    if (action.status === 'assigned') {
      buttons.push(h('button', {type: 'button', class: 'btn', dataset: {focusKey: `accept:${action.id}`},
        onclick: (e) => ctx.updateAction(crisis.id, action, {status: 'accepted'}, e.currentTarget)}, 'Accept'));
    }
    buttons.push(h('button', {type: 'button', class: 'btn btn-primary', dataset: {focusKey: `complete:${action.id}`},
      onclick: (e) => ctx.updateAction(crisis.id, action, {status: 'completed'}, e.currentTarget)}, 'Mark complete'));
  }
  const due = parseTime(action.due);
  return h('li', {class: ['action', open ? 'action-open' : 'action-closed', action.overdue && 'action-overdue'],
    dataset: {actionId: action.id, status: action.status}},
  h('div', {class: 'action-head'},
    crisis.exercise || isExercise(action) ? exerciseBadge() : null,
    h('span', {class: ['status-chip', `action-status-${action.status}`]}, action.status),
    action.overdue ? h('span', {class: 'badge badge-overdue'}, 'OVERDUE') : null,
    action.escalated ? h('span', {class: 'badge badge-escalated'}, 'escalated') : null,
    tlpBadge(action.tlp)),
  h('div', {class: 'action-name'}, action.name),
  h('div', {class: 'action-meta'},
    showCrisis ? h('span', {}, crisis.name, ' · ') : null,
    h('span', {}, '→ ', actedBy(ctx.state, action.assignee, action.assignee_person, {cls: 'action-assignee'})),
    h('span', {}, ' · ', open ? dueIn(due, ctx.state.now())
      : ['updated by ', actedBy(ctx.state, action.updated_by, action.updated_by_person
        ? {id: '', name: action.updated_by_person} : null)]),
    action.comment ? h('span', {class: 'action-comment'}, ` · “${action.comment}”`) : null),
  buttons.length ? h('div', {class: 'action-buttons'}, buttons) : null);
}

/** The "My action items" panel. */
export function renderMyActions(container, countEl, ctx) {
  const mine = ctx.state.myActions();
  const open = mine.filter((m) => OPEN.has(m.action.status));
  countEl.textContent = open.length ? `${open.length} open` : '';
  if (!ctx.state.crisesLoaded) {
    replaceKeepingFocus(container, [h('p', {class: 'empty'}, 'Loading…')]);
    return;
  }
  if (!mine.length) {
    replaceKeepingFocus(container, [h('p', {class: 'empty'}, 'Nothing assigned to you.')]);
    return;
  }
  // Open items, then the last few finished ones (so a completed item visibly moves, not vanishes).
  const shown = [...open, ...mine.filter((m) => !OPEN.has(m.action.status)).slice(0, 3)];
  replaceKeepingFocus(container, [h('ul', {class: 'action-list'},
    shown.map(({crisis, action}) => actionRow(crisis, action, ctx, {showCrisis: true})))]);
}
