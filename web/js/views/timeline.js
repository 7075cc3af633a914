// The timeline: everything this stakeholder may read, newest first, filterable by channel,
// sector, stakeholder and type, or narrowed to decisions and updates. Repeated sightings of one
// indicator are one live row (how many, first and last seen, by whom) that moves up as new ones
// arrive, so a feed sighting the same C2 every 20 s does not bury the committee's decisions.
// A row opens the object it is about. Events that arrive while the page is open (or that were
// missed during a drop and replayed) are highlighted for a minute.

import {h} from '../dom.js';
import {clockTime, describe, fullTime, isoTime, kindLabel, labelParts, parseTime, sameDay, shortTime} from '../format.js';
import {t, tp} from '../i18n.js';
import {tlpBadge} from '../tlp.js';
import {exerciseBadge, isExercise} from './exercise.js';
import {keyedLabel} from './label.js';
import {who, whoList} from './who.js';

const SHOWN = 200; // rows in the DOM; the rest is a count (and a filter away)
const FRESH_MS = 60000;
// What the committee decided or said: crisis versions, updates and escalations, sitreps, action items, plans.
export const DECISION_TYPES = new Set(['incident', 'note', 'report', 'crisis-action', 'course-of-action']);

const FILTERS = ['channel', 'sector', 'source', 'type']; // each labelled by 'timeline.filter.<key>'

function sightingCount(received) {
  const count = received.event.object.count;
  return Number.isInteger(count) && count > 0 ? count : 1;
}

/** Sightings of one indicator, newest first: one row. */
class SightingGroup {
  constructor(ref, received) {
    this.ref = ref;
    this.key = `sightings:${ref}`;
    this.latest = received;
    this.members = [];
    this.ids = new Set();
  }

  add(received) {
    const id = received.event.object.id;
    if (this.ids.has(id)) return; // an older version of a sighting already counted
    this.ids.add(id);
    this.members.push(received);
  }

  summary() {
    let times = 0;
    let first = Infinity;
    let last = 0;
    for (const r of this.members) {
      const o = r.event.object;
      times += sightingCount(r);
      first = Math.min(first, parseTime(o.first_seen) || r.ms);
      last = Math.max(last, parseTime(o.last_seen) || r.ms);
    }
    return {reports: this.members.length, times, first, last,
      sources: [...new Set(this.members.map((r) => r.event.source))]};
  }
}

export class TimelineView {
  constructor({list, filters, count}, ctx) {
    this.list = list;
    this.count = count;
    this.ctx = ctx;
    this.values = {channel: '', sector: '', source: '', type: ''};
    this.decisionsOnly = false;
    this.selects = {};
    this.labels = {};
    this.optionKeys = {};
    this.nodes = new Map(); // row key -> {node, signature}: rows are built once, not on every change
    this.shownKeys = '';
    for (const key of FILTERS) {
      const id = `filter-${key}`;
      const select = h('select', {id, dataset: {filter: key}, onchange: (e) => {
        this.values[key] = e.currentTarget.value;
        this.render(new Set(['filters']));
      }});
      this.selects[key] = select;
      this.labels[key] = h('label', {for: id});
      filters.append(h('div', {class: 'filter'}, this.labels[key], select));
    }
    this.toggle = h('button', {type: 'button', id: 'filter-decisions', class: 'btn btn-quiet btn-toggle',
      'aria-pressed': 'false', onclick: () => {
        this.decisionsOnly = !this.decisionsOnly;
        this.toggle.setAttribute('aria-pressed', String(this.decisionsOnly));
        this.render(new Set(['filters']));
      }});
    filters.append(h('div', {class: 'filter filter-toggle'}, this.toggle));
    this.relabel();
  }

  /** Words of the filters, in the page's language; rows and options are rebuilt at the next render. */
  relabel() {
    for (const key of FILTERS) this.labels[key].textContent = t(`timeline.filter.${key}`);
    this.toggle.textContent = t('timeline.decisions');
    this.toggle.title = t('timeline.decisions.title');
    this.optionKeys = {};
    this.nodes.clear();
    this.shownKeys = '';
  }

  options() {
    const {state} = this.ctx;
    const channels = state.readableChannels();
    const sectors = [...new Set(channels.map((c) => state.sectorOf(c)))].sort();
    return {
      channel: channels.map((c) => [c, (state.channels.get(c) && state.channels.get(c).title) || c]),
      sector: sectors.map((s) => [s, s]),
      source: [...state.sources].map((s) => [s, state.stakeholderName(s)]).sort((a, b) => a[1].localeCompare(b[1])),
      type: [...state.types].sort().map((t) => [t, kindLabel(t)]),
    };
  }

  updateOptions() {
    const all = this.options();
    for (const key of FILTERS) {
      const options = all[key];
      const signature = options.map(([v]) => v).join('\n');
      if (signature === this.optionKeys[key]) continue;
      this.optionKeys[key] = signature;
      const select = this.selects[key];
      const value = this.values[key];
      select.replaceChildren(h('option', {value: ''}, t('timeline.filter.all')),
        ...options.map(([v, text]) => h('option', {value: v}, text)));
      select.value = options.some(([v]) => v === value) ? value : '';
      this.values[key] = select.value;
    }
  }

  matches(received) {
    const {event} = received;
    const v = this.values;
    return (!this.decisionsOnly || DECISION_TYPES.has(event.type))
      && (!v.channel || event.channel === v.channel)
      && (!v.sector || this.ctx.state.sectorOf(event.channel) === v.sector)
      && (!v.source || event.source === v.source)
      && (!v.type || event.type === v.type);
  }

  /** The rows to show, newest first: events, with each indicator's sightings folded into one. */
  entries() {
    const groups = new Map();
    const out = [];
    for (const received of this.ctx.state.events) {
      if (!this.matches(received)) continue;
      const o = received.event.object || {};
      if (received.event.type === 'sighting' && typeof o.sighting_of_ref === 'string') {
        let group = groups.get(o.sighting_of_ref);
        if (!group) {
          group = new SightingGroup(o.sighting_of_ref, received);
          groups.set(o.sighting_of_ref, group);
          out.push(group);
        }
        group.add(received);
      } else {
        out.push(received);
      }
    }
    return out;
  }

  cached(key, signature, build) {
    const cached = this.nodes.get(key);
    if (cached && cached.signature === signature) return cached.node;
    const node = build();
    this.nodes.set(key, {node, signature});
    return node;
  }

  timeOf(ms, now) {
    // Today's rows at the second; older ones with their day. The zone is the board clock's, and in the tooltip.
    return h('time', {datetime: isoTime(ms), title: fullTime(ms)}, sameDay(ms, now) ? clockTime(ms) : shortTime(ms, now, {zone: false}));
  }

  /** A row the whole of which opens its object; its title is the button a keyboard reaches. */
  shell(props, meta, title, detail, open) {
    return h('li', {...props, onclick: open},
      h('div', {class: 'tl-meta'}, meta),
      h('div', {class: 'tl-title'}, h('button', {type: 'button', class: 'tl-open', dataset: {focusKey: `tl:${props.dataset.key}`},
        title: title.full}, title.node), title.after || null),
      detail ? h('div', {class: 'tl-detail', title: detail}, detail) : null);
  }

  /** "National CERT acknowledged v2, not v3": an old acknowledgment is not a current one. */
  ackVersion(o) {
    const info = this.ctx.state.versionOf(o.crisis_ref, o.object_ref, o.object_modified);
    if (!info || info.of < 2) return '';
    return ` ${o.object_modified === info.current ? t('ack.version', {n: info.n}) : t('ack.version.old', {n: info.n, of: info.of})}`;
  }

  eventRow(received, now) {
    const {event} = received;
    const {state} = this.ctx;
    const o = event.object || {};
    const about = describe(event, {names: (id) => state.nameOf(id), who: (id) => state.stakeholderName(id),
      severity: (level) => state.severityLabel(level)});
    let title = about.title;
    if (event.type === 'crisis-acknowledgment') title += this.ackVersion(o);
    const parts = event.type === 'indicator' ? labelParts(title, o.pattern) : {rest: title, key: ''};
    const signature = `${title}\n${about.detail}`;
    return this.cached(received.key, signature, () => this.shell(
      {class: 'tl-item', dataset: {key: received.key, eventId: event.id, stixId: o.id, type: event.type,
        channel: event.channel, source: event.source, tlp: event.tlp}},
      [h('span', {class: 'tl-new'}, t('timeline.new')), this.timeOf(received.ms, now), tlpBadge(event.tlp),
        isExercise(o) ? exerciseBadge() : null,
        h('span', {class: ['tl-kind', `kind-${event.type}`]}, about.kind),
        h('span', {class: 'tl-where'},
          event.person ? h('span', {class: 'tl-person', title: t('timeline.person.title')}, `${event.person.name} · `) : null,
          who(state, event.source, {cls: 'tl-source'}),
          h('span', {class: 'tl-channel'}, `→ ${event.channel}`))],
      {node: keyedLabel(parts), full: title},
      about.detail,
      () => this.ctx.openEvent(received)));
  }

  groupRow(group, now) {
    const {state} = this.ctx;
    const sum = group.summary();
    const target = state.indicators.get(group.ref);
    const indicator = (target && target.event.object) || null;
    const name = state.nameOf(group.ref) || group.ref;
    const parts = labelParts(name, indicator && indicator.pattern, {withValue: true});
    const names = sum.sources.map((id) => state.stakeholderName(id)).join(', ');
    const full = t('timeline.sighted', {who: names, what: [parts.rest, parts.key].filter(Boolean).join(' ')});
    const detail = [tp('timeline.reports', sum.reports), `${sum.times}×`, t('timeline.first-seen', {time: clockTime(sum.first)}),
      t('timeline.last-seen', {time: clockTime(sum.last)})].join(' · ');
    const latest = group.latest;
    const signature = `${full}\n${detail}\n${latest.key}\n${target ? target.event.tlp : ''}`;
    return this.cached(group.key, signature, () => this.shell(
      {class: ['tl-item', 'tl-group'], dataset: {key: group.key, group: 'sightings', sightingOf: group.ref,
        reports: sum.reports, times: sum.times, type: 'sighting', tlp: latest.event.tlp}},
      [h('span', {class: 'tl-new'}, t('timeline.new')), this.timeOf(latest.ms, now), tlpBadge(latest.event.tlp),
        h('span', {class: ['tl-kind', 'kind-sighting']},
          sum.reports > 1 ? t('timeline.sightings', {n: sum.reports}) : kindLabel('sighting')),
        h('span', {class: 'tl-where'}, whoList(state, sum.sources, {cls: 'tl-source'}))],
      {node: keyedLabel({rest: t('timeline.sighted', {who: names, what: parts.rest}).trim(), key: parts.key}), full,
        // Two indicators may share a name and differ only by TLP (the AMBER original, the GREEN copy).
        after: target ? h('span', {class: 'tl-target-tlp', title: t('timeline.target-tlp.title')}, tlpBadge(target.event.tlp))
          : null},
      detail,
      () => this.ctx.openIndicator(group.ref)));
  }

  render(dirty) {
    if (!['events', 'filters', 'tick', 'crises'].some((part) => dirty.has(part))) return;
    const {state} = this.ctx;
    this.updateOptions();
    const now = state.now();
    const entries = this.entries();
    const total = entries.length;
    const shown = entries.slice(0, SHOWN);
    const nodes = shown.map((entry) => {
      const group = entry instanceof SightingGroup;
      const node = group ? this.groupRow(entry, now) : this.eventRow(entry, now);
      const newest = group ? entry.latest : entry;
      node.classList.toggle('is-new', newest.fresh && Date.now() - newest.arrivedAt < FRESH_MS);
      return node;
    });
    const keys = nodes.map((n) => n.dataset.key).join('\n');
    if (keys !== this.shownKeys || nodes.some((n) => !n.isConnected)) {
      this.shownKeys = keys;
      // Keep keyboard focus on the same row when the list is rebuilt under it.
      const active = document.activeElement;
      const focusKey = active && this.list.contains(active) ? active.dataset.focusKey : undefined;
      this.list.replaceChildren(...nodes);
      if (focusKey) {
        const again = this.list.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
        if (again) again.focus({preventScroll: true});
      }
    }
    // Forget rows that scrolled out of the shown window, so the cache stays as small as the list.
    if (this.nodes.size > SHOWN * 3) {
      const keep = new Set(nodes.map((n) => n.dataset.key));
      for (const key of this.nodes.keys()) if (!keep.has(key)) this.nodes.delete(key);
    }
    const filtered = this.decisionsOnly || Object.values(this.values).some(Boolean);
    if (!state.historyLoaded && !total) this.count.textContent = t('timeline.count.loading');
    else if (total > SHOWN) this.count.textContent = t('timeline.count.newest', {n: SHOWN, total});
    else this.count.textContent = filtered ? tp('timeline.count.matching', total) : String(total);
    if (!total) {
      this.list.replaceChildren(h('li', {class: 'empty'}, state.historyLoaded
        ? (filtered ? t('timeline.none.filtered') : t('timeline.none')) : t('timeline.loading')));
      this.shownKeys = '';
    }
  }
}
