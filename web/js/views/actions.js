// Action items: the signed-in stakeholder's own (with one-click accept and complete) and every
// item of a crisis in its detail view.

import {h, replaceKeepingFocus} from '../dom.js';
import {actionStatusWord, dueIn, parseTime} from '../format.js';
import {t, tp} from '../i18n.js';
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
        onclick: (e) => ctx.updateAction(crisis.id, action, {status: 'accepted'}, e.currentTarget)}, t('action.accept')));
    }
    buttons.push(h('button', {type: 'button', class: 'btn btn-primary', dataset: {focusKey: `complete:${action.id}`},
      onclick: (e) => ctx.updateAction(crisis.id, action, {status: 'completed'}, e.currentTarget)}, t('action.complete')));
  }
  const due = parseTime(action.due);
  return h('li', {class: ['action', open ? 'action-open' : 'action-closed', action.overdue && 'action-overdue'],
    dataset: {actionId: action.id, status: action.status}},
  h('div', {class: 'action-head'},
    crisis.exercise || isExercise(action) ? exerciseBadge() : null,
    h('span', {class: ['status-chip', `action-status-${action.status}`]}, actionStatusWord(action.status)),
    action.overdue ? h('span', {class: 'badge badge-overdue'}, t('action.overdue.badge')) : null,
    action.escalated ? h('span', {class: 'badge badge-escalated'}, t('action.escalated')) : null,
    tlpBadge(action.tlp)),
  h('div', {class: 'action-name'}, action.name),
  h('div', {class: 'action-meta'},
    showCrisis ? h('span', {}, crisis.name, ' · ') : null,
    h('span', {}, '→ ', actedBy(ctx.state, action.assignee, action.assignee_person, {cls: 'action-assignee'})),
    h('span', {}, ' · ', open ? dueIn(due, ctx.state.now())
      : [`${t('action.updated-by')} `, actedBy(ctx.state, action.updated_by, action.updated_by_person
        ? {id: '', name: action.updated_by_person} : null)]),
    action.comment ? h('span', {class: 'action-comment'}, ` · “${action.comment}”`) : null),
  buttons.length ? h('div', {class: 'action-buttons'}, buttons) : null);
}

/** The "My action items" panel ("Mis acciones"). */
export function renderMyActions(container, countEl, ctx) {
  const mine = ctx.state.myActions();
  const open = mine.filter((m) => OPEN.has(m.action.status));
  countEl.textContent = open.length ? tp('actions.open', open.length) : '';
  if (!ctx.state.crisesLoaded) {
    replaceKeepingFocus(container, [h('p', {class: 'empty'}, t('common.loading'))]);
    return;
  }
  if (!mine.length) {
    replaceKeepingFocus(container, [h('p', {class: 'empty'}, t('actions.none'))]);
    return;
  }
  // Open items, then the last few finished ones (so a completed item visibly moves, not vanishes).
  const shown = [...open, ...mine.filter((m) => !OPEN.has(m.action.status)).slice(0, 3)];
  replaceKeepingFocus(container, [h('ul', {class: 'action-list'},
    shown.map(({crisis, action}) => actionRow(crisis, action, ctx, {showCrisis: true})))]);
}
