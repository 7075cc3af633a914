// Indicators and sightings: each indicator with its observable type, pattern, source, time and
// TLP, how often and by which institutions it was sighted (sightings' `sighting_of_ref`), a
// search — by name, value, source, and the malware, campaign or intrusion set an indicator is
// related to by the relationships the page received — and the "sightings per indicator" chart,
// which follows the search. Rows are <details>: keyboard-expandable.

import {h, replaceKeepingFocus} from '../dom.js';
import {clockTime, fullTime, kindLabel, labelParts, observableType, shortTime} from '../format.js';
import {t, tOr} from '../i18n.js';
import {tlpBadge} from '../tlp.js';
import {sightingsChart} from './charts.js';
import {keyedLabel} from './label.js';
import {who, whoList} from './who.js';

const SHOWN = 60;

function sightingCount(received) {
  const count = received.event.object.count;
  return Number.isInteger(count) && count > 0 ? count : 1;
}

export class IndicatorsView {
  constructor({list, search, chart, count}, ctx) {
    this.list = list;
    this.search = search;
    this.chart = chart;
    this.count = count;
    this.ctx = ctx;
    this.open = new Set(); // indicator ids the user expanded, kept across re-renders
    search.addEventListener('input', () => this.render(new Set(['filters'])));
  }

  /** Every indicator the page knows of, and any sighted object it was not sent (resolved on demand). */
  rows() {
    const {state} = this.ctx;
    const sightings = state.sightingsByTarget();
    const rows = [];
    for (const [id, received] of state.indicators) {
      rows.push({id, indicator: received.event.object, received, sightings: sightings.get(id) || []});
    }
    for (const [id, list] of sightings) {
      if (state.indicators.has(id)) continue;
      const found = state.lookup(id);
      const indicator = found && typeof found === 'object' ? found : null;
      rows.push({id, indicator, received: null, sightings: list, missing: found === 'missing'});
    }
    const latest = (row) => Math.max(row.received ? row.received.ms : 0, ...row.sightings.map((r) => r.ms));
    return rows.sort((a, b) => latest(b) - latest(a));
  }

  /** What an indicator is related to, by name: [{id, kind, name}] (EKANS, the campaign, …). */
  related(id) {
    const {state} = this.ctx;
    return state.relatedTo(id).filter((other) => !other.startsWith('indicator--'))
      .map((other) => {
        const name = state.nameOf(other);
        if (!name) state.lookup(other); // older than the history window: ask the hub once (it answers if readable)
        return {id: other, kind: kindLabel(other.split('--')[0]), name};
      })
      .filter((r) => r.name);
  }

  matches(row, query) {
    if (!query) return true;
    const o = row.indicator || {};
    const {state} = this.ctx;
    const related = this.related(row.id).flatMap((r) => [r.name, r.kind]);
    const sources = [row.received && row.received.event.source, ...row.sightings.map((r) => r.event.source)]
      .filter(Boolean);
    const haystack = [row.id, o.name, o.pattern, o.description, ...(o.indicator_types || []), ...related,
      ...sources, ...sources.map((id) => state.stakeholderName(id))]
      .filter(Boolean).join('\n').toLowerCase();
    return query.split(/\s+/).every((word) => haystack.includes(word));
  }

  item(row, now) {
    const {state} = this.ctx;
    const o = row.indicator || {};
    const total = row.sightings.reduce((n, r) => n + sightingCount(r), 0);
    const sighters = [...new Set(row.sightings.map((r) => r.event.source))];
    const name = o.name || o.pattern || (row.missing ? t('ioc.hidden') : row.id);
    const type = observableType(o.pattern);
    const related = this.related(row.id);
    const details = h('details', {class: 'ioc', dataset: {stixId: row.id}, open: this.open.has(row.id)},
      h('summary', {},
        h('div', {class: 'ioc-head'},
          row.received ? tlpBadge(row.received.event.tlp) : null,
          keyedLabel(labelParts(name, o.pattern), {cls: 'ioc-name'}),
          h('span', {class: 'chip ioc-type'}, type === 'pattern' ? t('ioc.type.pattern') : type)),
        o.pattern ? h('code', {class: 'ioc-pattern', title: o.pattern}, o.pattern) : null,
        related.length ? h('div', {class: 'ioc-related'}, `${t('ioc.related')} `,
          related.map((r, i) => [i ? ', ' : '', h('strong', {}, r.name), ` (${r.kind.toLowerCase()})`])) : null,
        h('div', {class: 'ioc-meta'},
          row.received ? [who(state, row.received.event.source, {cls: 'ioc-source'}), ' · ',
            h('time', {title: fullTime(row.received.ms)}, shortTime(row.received.ms, now, {zone: false})),
            ` · ${row.received.event.channel}`]
            : t('ioc.before-load'),
          total ? h('span', {class: 'ioc-sighted'}, ` · ${t('ioc.sighted-by', {n: total})} `,
            h('strong', {class: 'ioc-sighters'}, whoList(state, sighters))) : null)),
      h('div', {class: 'ioc-body'},
        o.description ? h('p', {}, o.description) : null,
        Array.isArray(o.indicator_types) ? h('p', {class: 'muted'}, t('ioc.types', {types: o.indicator_types
          .map((type) => tOr(`indicator-type.${type}`, type)).join(', ')})) : null,
        row.sightings.length ? h('ul', {class: 'sightings', 'aria-label': t('ioc.sightings')}, row.sightings.map((r) =>
          h('li', {class: 'sighting', dataset: {source: r.event.source}},
            tlpBadge(r.event.tlp), ' ',
            who(state, r.event.source, {tag: 'strong'}),
            ` ${t('ioc.sighted-it', {n: sightingCount(r)})} · ${clockTime(r.ms)} · ${r.event.channel}`)))
          : h('p', {class: 'muted'}, t('ioc.no-sighting'))));
    details.addEventListener('toggle', () => {
      if (details.open) this.open.add(row.id);
      else this.open.delete(row.id);
    });
    return details;
  }

  render(dirty) {
    if (!['events', 'filters'].some((part) => dirty.has(part))) return;
    const {state} = this.ctx;
    const now = state.now();
    const query = this.search.value.trim().toLowerCase();
    const rows = this.rows();
    const matching = rows.filter((row) => this.matches(row, query));
    this.count.textContent = query ? t('ioc.count.matching', {n: matching.length, total: rows.length})
      : rows.length ? String(rows.length) : '';
    // The chart beside the list follows the search: "EKANS" shows how often EKANS's indicators were sighted.
    const chartRows = matching.filter((r) => r.sightings.length).map((r) => ({
      id: r.id,
      name: (r.indicator && (r.indicator.name || r.indicator.pattern)) || r.id,
      parts: labelParts((r.indicator && (r.indicator.name || r.indicator.pattern)) || r.id, r.indicator && r.indicator.pattern,
        {withValue: true}),
      tlp: r.received ? r.received.event.tlp : null,
      value: r.sightings.reduce((n, s) => n + sightingCount(s), 0),
      detail: [...new Set(r.sightings.map((s) => s.event.source))].map((id) => state.stakeholderName(id)).join(', '),
    })).sort((a, b) => b.value - a.value);
    replaceKeepingFocus(this.chart, sightingsChart(chartRows, {open: (id) => this.ctx.openIndicator(id), query}));
    if (!matching.length) {
      replaceKeepingFocus(this.list, [h('p', {class: 'empty'},
        query ? t('ioc.no-match') : state.historyLoaded ? t('ioc.none') : t('common.loading'))]);
      return;
    }
    // Rebuilding <details> would steal focus from a summary: keep it on the same indicator.
    const items = matching.slice(0, SHOWN).map((row) => {
      const node = this.item(row, now);
      node.querySelector('summary').dataset.focusKey = `ioc:${row.id}`;
      return node;
    });
    replaceKeepingFocus(this.list, items);
  }
}
