// One crisis, opened from the board in a modal dialog (Esc closes it, focus returns to the
// board): what it is, its plans step by step, its severity over time, its timeline of situation
// updates and sitreps with who has acknowledged each, and its action items.

import {clip, h, replaceKeepingFocus} from '../dom.js';
import {ago, crisisStatusWord, fullTime, hourMinute, parseTime, shortTime} from '../format.js';
import {t, tOr} from '../i18n.js';
import {tlpBadge} from '../tlp.js';
import {ackStatus} from './acks.js';
import {actionRow} from './actions.js';
import {lastActivity, severityBlock} from './board.js';
import {exerciseBadge, exerciseBanner, isExercise} from './exercise.js';
import {severityChart} from './charts.js';
import {planSection} from './plans.js';
import {who, whoList} from './who.js';

function fact(label, value) {
  return h('div', {class: 'fact-row'}, h('dt', {}, label), h('dd', {}, value));
}

/** A changed crisis field's new value, in words: names for stakeholders, labels for severities. */
function changedTo(state, field, to) {
  if (field === 'lead') return state.stakeholderName(to);
  if (field === 'status') return crisisStatusWord(to);
  if (field === 'category') return tOr(`category.${to}`, to);
  if (field === 'subcategory') return tOr(`subcategory.${to}`, to);
  if (field === 'affected_stakeholders') return (to || []).map((id) => state.stakeholderName(id)).join(', ') || '—';
  if (field === 'severity') return state.severityLabel(to);
  return Array.isArray(to) ? to.join(', ') : String(to ?? '—');
}

function entry(crisis, event, ctx) {
  const o = event.object || {};
  const isSitrep = event.type === 'report';
  const escalation = !isSitrep && Array.isArray(o.authors) && o.authors.includes('Crisis Hub');
  const title = isSitrep ? o.name : o.abstract;
  const text = isSitrep ? o.description : o.content;
  const ms = parseTime(event.time);
  return h('li', {class: ['entry', isSitrep && 'entry-sitrep', escalation && 'entry-escalation'],
    dataset: {stixId: o.id, eventId: event.id}},
  h('div', {class: 'entry-meta'},
    crisis.exercise || isExercise(o) ? exerciseBadge() : null,
    h('time', {datetime: event.time, title: fullTime(ms)}, shortTime(ms, ctx.state.now(), {zone: false})),
    h('span', {class: 'entry-kind'}, t(isSitrep ? 'crisis.entry.sitrep' : escalation ? 'crisis.entry.escalation' : 'crisis.entry.update')),
    tlpBadge(event.tlp),
    who(ctx.state, event.source, {cls: 'entry-source'}),
    h('span', {class: 'entry-channel'}, event.channel)),
  title ? h('div', {class: 'entry-title'}, title) : null,
  text ? h('p', {class: 'entry-text'}, text) : null,
  ackStatus(crisis.id, ctx.state.ackItem(crisis.id, o.id, o.modified), ctx));
}

export class CrisisDialog {
  constructor(dialog, ctx) {
    this.dialog = dialog;
    this.ctx = ctx;
    this.crisisId = null;
    this.planChoice = {value: null}; // the plan picked in the start control, kept across live re-renders
    this.title = dialog.querySelector('#crisis-dialog-title');
    this.body = dialog.querySelector('#crisis-detail');
    dialog.querySelector('#crisis-dialog-close').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      // The board was rebuilt while the dialog was open, so the button that opened it is gone:
      // give focus to its replacement, for keyboard users to carry on where they were.
      const key = `open:${this.crisisId}`;
      this.crisisId = null;
      const opener = [...document.querySelectorAll('.crisis-open')].find((el) => el.dataset.focusKey === key);
      if (opener) opener.focus();
    });
  }

  open(id) {
    this.crisisId = id;
    const crisis = this.ctx.state.crises.find((c) => c.id === id);
    if (crisis && this.ctx.state.mayRevise(crisis)) this.ctx.loadPlaybooks();
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
  }

  render() {
    if (!this.crisisId) return;
    const {state} = this.ctx;
    const crisis = state.crises.find((c) => c.id === this.crisisId);
    const detail = state.details.get(this.crisisId);
    if (!crisis || !detail) {
      this.title.textContent = t('crisis.title');
      replaceKeepingFocus(this.body, [h('p', {class: 'empty'}, crisis ? t('common.loading') : t('crisis.gone'))]);
      return;
    }
    this.title.textContent = crisis.exercise ? t('crisis.title.exercise', {name: crisis.name}) : crisis.name;
    const now = state.now();
    const last = lastActivity(crisis, detail);
    const entries = [...detail.updates, ...detail.sitreps].sort((a, b) => parseTime(b.time) - parseTime(a.time));
    const head = h('div', {class: 'detail-head'},
      severityBlock(crisis.severity, {large: true}),
      h('div', {class: 'detail-summary'},
        crisis.description ? h('p', {class: 'detail-description'}, crisis.description) : null,
        h('dl', {class: 'facts'},
          fact(t('crisis.fact.status'),
            h('span', {class: ['status-chip', `crisis-status-${crisis.status}`]}, crisisStatusWord(crisis.status))),
          fact(t('crisis.fact.lead'), who(state, crisis.lead, {cls: 'crisis-lead'})),
          fact(t('crisis.fact.category'), `${tOr(`category.${crisis.category}`, crisis.category)} / ${
            tOr(`subcategory.${crisis.subcategory}`, crisis.subcategory)}`),
          fact(t('crisis.fact.sectors'), (crisis.affected_sectors || []).join(', ') || '—'),
          fact(t('crisis.fact.affected'), h('span', {class: 'crisis-affected'}, whoList(state, crisis.affected_stakeholders))),
          fact(t('crisis.fact.marking'), tlpBadge(crisis.tlp)),
          fact(t('crisis.fact.declared'), t('crisis.declared', {time: shortTime(parseTime(crisis.created), now),
            when: ago(last.ms, now)}))),
        h('div', {class: 'detail-ack'}, h('h3', {}, t('crisis.current-version')),
          ackStatus(crisis.id, state.ackItem(crisis.id, crisis.id, crisis.modified), this.ctx))));
    const timeline = h('section', {class: 'detail-timeline', 'aria-label': t('crisis.updates.label')},
      h('h3', {}, t('crisis.updates', {n: entries.length})),
      entries.length ? h('ol', {class: 'entries'}, entries.map((e) => entry(crisis, e, this.ctx)))
        : h('p', {class: 'empty'}, t('crisis.updates.none')));
    const history = state.histories.get(crisis.id) || [];
    const side = h('section', {class: 'detail-side'},
      h('h3', {}, t('crisis.severity-over-time')),
      severityChart({history, current: crisis, severities: state.severities, who: (id) => state.stakeholderName(id), now}),
      h('ol', {class: 'versions'}, history.slice().reverse().slice(0, 8).map((v) =>
        h('li', {}, h('time', {datetime: v.time, title: fullTime(parseTime(v.time))}, hourMinute(parseTime(v.time))), ' ',
          who(state, v.by), ': ',
          clip(Object.entries(v.changes || {}).map(([field, [, to]]) =>
            `${tOr(`crisis.field.${field}`, field)} → ${changedTo(state, field, to)}`).join('; '), 160)))),
      h('h3', {}, t('crisis.actions', {n: detail.actions.length})),
      detail.actions.length ? h('ul', {class: 'action-list'}, detail.actions.map((a) => actionRow(crisis, a, this.ctx)))
        : h('p', {class: 'empty'}, t('crisis.actions.none')));
    const plans = planSection(crisis, state.runsOf(crisis.id), this.ctx,
      {mayStart: state.mayRevise(crisis), choice: this.planChoice});
    replaceKeepingFocus(this.body, [crisis.exercise ? exerciseBanner() : null, head, plans,
      h('div', {class: 'detail-columns'}, timeline, side)].filter(Boolean));
  }
}
