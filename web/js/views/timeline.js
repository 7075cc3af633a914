// The timeline: everything this stakeholder may read, newest first, filterable by channel,
// sector, stakeholder and type. Events that arrive while the page is open (or that were missed
// during a drop and replayed) are highlighted for a minute.

import {h} from '../dom.js';
import {clockTime, describe, kindLabel, shortTime} from '../format.js';
import {tlpBadge} from '../tlp.js';
import {who} from './who.js';

const SHOWN = 200; // rows in the DOM; the rest is a count (and a filter away)
const FRESH_MS = 60000;

const FILTERS = [
  {key: 'channel', label: 'Channel'},
  {key: 'sector', label: 'Sector'},
  {key: 'source', label: 'Stakeholder'},
  {key: 'type', label: 'Type'},
];

export class TimelineView {
  constructor({list, filters, count}, ctx) {
    this.list = list;
    this.count = count;
    this.ctx = ctx;
    this.values = {channel: '', sector: '', source: '', type: ''};
    this.selects = {};
    this.optionKeys = {};
    this.nodes = new Map(); // event key -> {node, signature}: rows are built once, not on every change
    this.shownKeys = '';
    for (const {key, label} of FILTERS) {
      const id = `filter-${key}`;
      const select = h('select', {id, dataset: {filter: key}, onchange: (e) => {
        this.values[key] = e.currentTarget.value;
        this.render(new Set(['filters']));
      }});
      this.selects[key] = select;
      filters.append(h('div', {class: 'filter'}, h('label', {for: id}, label), select));
    }
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
    for (const {key, label} of FILTERS) {
      const options = all[key];
      const signature = options.map(([v]) => v).join('\n');
      if (signature === this.optionKeys[key]) continue;
      this.optionKeys[key] = signature;
      const select = this.selects[key];
      const value = this.values[key];
      select.replaceChildren(h('option', {value: ''}, 'All'),
        ...options.map(([v, text]) => h('option', {value: v}, text)));
      select.value = options.some(([v]) => v === value) ? value : '';
      this.values[key] = select.value;
    }
  }

  matches(received) {
    const {event} = received;
    const v = this.values;
    return (!v.channel || event.channel === v.channel)
      && (!v.sector || this.ctx.state.sectorOf(event.channel) === v.sector)
      && (!v.source || event.source === v.source)
      && (!v.type || event.type === v.type);
  }

  row(received, now) {
    const {event} = received;
    const {state} = this.ctx;
    const about = describe(event, {names: (id) => state.nameOf(id), who: (id) => state.stakeholderName(id),
      severity: (level) => state.severityLabel(level)});
    const signature = `${about.title}\n${about.detail}`;
    const cached = this.nodes.get(received.key);
    if (cached && cached.signature === signature) return cached.node;
    const node = h('li', {class: 'tl-item', dataset: {key: received.key, eventId: event.id, stixId: event.object && event.object.id,
      type: event.type, channel: event.channel, source: event.source, tlp: event.tlp}},
    h('div', {class: 'tl-meta'},
      h('span', {class: 'tl-new'}, 'NEW'),
      h('time', {datetime: event.time, title: new Date(received.ms).toString()},
        new Date(now).toDateString() === new Date(received.ms).toDateString() ? clockTime(received.ms) : shortTime(received.ms, now)),
      tlpBadge(event.tlp),
      h('span', {class: ['tl-kind', `kind-${event.type}`]}, about.kind),
      h('span', {class: 'tl-where'}, who(state, event.source, {cls: 'tl-source'}),
        h('span', {class: 'tl-channel'}, `→ ${event.channel}`))),
    h('div', {class: 'tl-title', title: about.title}, about.title),
    about.detail ? h('div', {class: 'tl-detail'}, about.detail) : null);
    this.nodes.set(received.key, {node, signature});
    return node;
  }

  render(dirty) {
    if (!['events', 'filters', 'tick', 'crises'].some((part) => dirty.has(part))) return;
    const {state} = this.ctx;
    this.updateOptions();
    const now = state.now();
    const shown = [];
    let total = 0;
    for (const received of state.events) {
      if (!this.matches(received)) continue;
      total += 1;
      if (shown.length < SHOWN) shown.push(received);
    }
    const nodes = shown.map((r) => {
      const node = this.row(r, now);
      node.classList.toggle('is-new', r.fresh && Date.now() - r.arrivedAt < FRESH_MS);
      return node;
    });
    const keys = shown.map((r) => r.key).join('\n');
    if (keys !== this.shownKeys || dirty.has('events')) {
      this.shownKeys = keys;
      this.list.replaceChildren(...nodes);
    }
    // Forget rows that scrolled out of the shown window, so the cache stays as small as the list.
    if (this.nodes.size > SHOWN * 3) {
      const keep = new Set(shown.map((r) => r.key));
      for (const key of this.nodes.keys()) if (!keep.has(key)) this.nodes.delete(key);
    }
    const filtered = Object.values(this.values).some(Boolean);
    if (!state.historyLoaded && !total) this.count.textContent = 'loading…';
    else this.count.textContent = total > SHOWN ? `newest ${SHOWN} of ${total}` : `${total}${filtered ? ' matching' : ''}`;
    if (!total) {
      this.list.replaceChildren(h('li', {class: 'empty'}, state.historyLoaded
        ? (filtered ? 'Nothing matches these filters.' : 'Nothing yet in the last 24 hours.') : 'Loading history…'));
      this.shownKeys = '';
    }
  }
}
