// Exercises: crises declared to rehearse the plan. Everything of one says EXERCISE in words, in
// a striped magenta used for nothing else — never by colour alone — so that nobody in the room
// takes a drill for a real crisis, or a real crisis for a drill.

import {h} from '../dom.js';
import {t} from '../i18n.js';

/** Whether a STIX object belongs to an exercise: `exercise: true`, top-level or in an extension. */
export function isExercise(obj) {
  if (!obj || typeof obj !== 'object') return false;
  if (obj.exercise === true) return true;
  const extensions = obj.extensions;
  if (!extensions || typeof extensions !== 'object') return false;
  return Object.values(extensions).some((ext) => ext && typeof ext === 'object' && ext.exercise === true);
}

/** The banner across an exercise crisis, on the board and in its view. */
export function exerciseBanner() {
  return h('p', {class: 'exercise-banner', role: 'note'},
    h('strong', {class: 'exercise-word'}, t('exercise.word')),
    h('span', {class: 'exercise-note'}, ` — ${t('exercise.note')}`));
}

/** The mark on each item of an exercise: an action item, an update, a sitrep. */
export function exerciseBadge() {
  return h('strong', {class: 'badge badge-exercise', title: t('exercise.badge.title')}, t('exercise.word'));
}
