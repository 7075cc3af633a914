// One object, opened from a timeline row: what it is, who shared it where and when, its text,
// what it relates to (an indicator's malware, its sightings) and the STIX object exactly as
// the hub sent it to this page — as text. A crisis opens in the crisis dialog instead.

import {h, replaceKeepingFocus} from '../dom.js';
import {clockTime, crisisExtension, describe, fullTime, kindLabel, labelParts, parseTime} from '../format.js';
import {t} from '../i18n.js';
import {tlpBadge} from '../tlp.js';
import {keyedLabel} from './label.js';
import {who} from './who.js';

function fact(label, value) {
  return value === null || value === undefined || value === '' ? null
    : h('div', {class: 'fact-row'}, h('dt', {}, label), h('dd', {}, value));
}

export class ObjectDialog {
  constructor(dialog, ctx) {
    this.dialog = dialog;
    this.ctx = ctx;
    this.target = null; // {received} or {indicator: id}
    this.opener = null;
    this.title = dialog.querySelector('#object-dialog-title');
    this.body = dialog.querySelector('#object-detail');
    dialog.querySelector('#object-dialog-close').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      this.target = null;
      // The row that opened it may have been rebuilt meanwhile: focus the row with the same key.
      const key = this.opener;
      this.opener = null;
      const again = key && [...document.querySelectorAll('#timeline [data-focus-key]')].find((el) => el.dataset.focusKey === key);
      if (again) again.focus();
    });
  }

  remember() {
    const active = document.activeElement;
    this.opener = active && active.dataset ? active.dataset.focusKey || null : null;
  }

  openEvent(received) {
    const o = received.event.object || {};
    if (received.event.type === 'incident' && crisisExtension(o) && this.ctx.state.crises.some((c) => c.id === o.id)) {
      this.ctx.openCrisis(o.id);
      return;
    }
    this.remember();
    this.target = {received};
    this.show();
  }

  openIndicator(id) {
    this.remember();
    this.target = {indicator: id};
    this.show();
  }

  show() {
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** The newest version the page holds of the target, as {event, ms} (or a looked-up object). */
  current() {
    const {state} = this.ctx;
    if (this.target.received) return this.target.received;
    const id = this.target.indicator;
    if (state.indicators.has(id)) return state.indicators.get(id);
    const found = state.lookup(id);
    return found && typeof found === 'object' ? {event: {type: found.type, object: found}, ms: 0} : null;
  }

  render() {
    if (!this.target) return;
    const {state} = this.ctx;
    const received = this.current();
    if (!received) {
      this.title.textContent = t('object.indicator');
      replaceKeepingFocus(this.body, [h('p', {class: 'empty'}, t('object.hidden'))]);
      return;
    }
    const {event} = received;
    const o = event.object || {};
    const about = describe(event, {names: (id) => state.nameOf(id), who: (id) => state.stakeholderName(id),
      severity: (level) => state.severityLabel(level)});
    this.title.textContent = `${kindLabel(event.type)}: ${about.title}`;
    const crisisId = state.crisisOf(o);
    const crisis = crisisId && state.crises.find((c) => c.id === crisisId);
    const body = [
      h('dl', {class: 'facts'},
        fact(t('object.marking'), event.tlp ? tlpBadge(event.tlp) : null),
        fact(t('object.shared-by'), event.source ? who(state, event.source, {cls: 'object-source'}) : null),
        fact(t('object.channel'), event.channel),
        fact(t('object.received'), received.ms ? fullTime(received.ms) : null),
        fact(t('object.version'), o.modified),
        fact(t('object.pattern'), o.pattern ? h('code', {class: 'object-pattern'}, o.pattern) : null)),
      ...[o.abstract, o.content, o.description].filter((t) => typeof t === 'string' && t)
        .map((t) => h('p', {class: 'object-text'}, t)),
      crisis ? h('p', {}, h('button', {type: 'button', class: 'btn', onclick: () => {
        this.dialog.close();
        this.ctx.openCrisis(crisis.id);
      }}, t('object.open-crisis', {name: crisis.name}))) : null,
    ];
    if (event.type === 'sighting' && o.sighting_of_ref) {
      body.push(h('p', {}, h('button', {type: 'button', class: 'btn', onclick: () => this.openIndicator(o.sighting_of_ref)},
        t('object.open-indicator', {name: state.nameOf(o.sighting_of_ref) || o.sighting_of_ref}))));
    }
    const related = state.relatedTo(o.id).map((id) => ({id, name: state.nameOf(id)})).filter((r) => r.name);
    if (related.length) {
      body.push(h('h3', {}, t('object.related')), h('ul', {class: 'object-related'}, related.map((r) =>
        h('li', {}, h('span', {class: 'chip'}, kindLabel(r.id.split('--')[0])), ' ', r.name))));
    }
    if (event.type === 'indicator') {
      const sightings = state.sightingsByTarget().get(o.id) || [];
      body.push(h('h3', {}, t('object.sightings', {n: sightings.length})), sightings.length
        ? h('ol', {class: 'object-sightings'}, sightings.map((r) => {
          const so = r.event.object;
          const count = Number.isInteger(so.count) && so.count > 0 ? so.count : 1;
          return h('li', {dataset: {stixId: so.id}}, h('time', {title: fullTime(r.ms)}, clockTime(r.ms)), ' ',
            tlpBadge(r.event.tlp), ' ', who(state, r.event.source, {tag: 'strong'}), ` ${t('ioc.sighted-it', {n: count})}`,
            so.last_seen ? ` · ${t('object.last-seen', {time: clockTime(parseTime(so.last_seen))})}` : '');
        }))
        : h('p', {class: 'muted'}, t('ioc.no-sighting')));
      this.title.replaceChildren(`${kindLabel(event.type)}: `, keyedLabel(labelParts(o.name || o.pattern || o.id, o.pattern)));
    }
    body.push(h('details', {class: 'object-raw'}, h('summary', {}, t('object.raw')),
      h('pre', {}, JSON.stringify(o, null, 2))));
    replaceKeepingFocus(this.body, body);
  }
}
