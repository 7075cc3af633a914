// Formatting of times, event ids and STIX objects for display, in the page's language (i18n.js).
// Pure functions, no DOM.

import {clip} from './dom.js';
import {hubTimeZone, locale, t, tOr, tp} from './i18n.js';

/** The milliseconds part of an event id (`<ms>-<seq>`): an event's id is also its time on the hub. */
export function idMillis(id) {
  return Number(String(id).split('-', 1)[0]) || 0;
}

/** Compare event ids as (ms, seq): '9-0' is before '10-0', which string order gets wrong. */
export function compareIds(a, b) {
  const [am, as] = String(a).split('-').map(Number);
  const [bm, bs] = String(b).split('-').map(Number);
  return am - bm || (as || 0) - (bs || 0);
}

// Times. Every absolute time is the hub's (hubTimeZone(): its config's hub.time_zone), never the
// browser's, written as the page's language writes it (locale()); where a time stands alone it
// carries the zone's abbreviation ("14:03 CST"), where a column or a line of times shares one zone
// the zone is said once (the board clock) or in the time's tooltip. Formatters are made once per
// language and zone: the board asks for hundreds of times a second while a replay arrives.

const formatters = new Map();

function formatter(options, tag = locale()) {
  const zone = hubTimeZone();
  const key = `${tag}|${zone}|${JSON.stringify(options)}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(tag, {timeZone: zone, ...options});
    formatters.set(key, found);
  }
  return found;
}

const valid = (ms) => Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;

/** 14:03:22 on the hub's clock, 24-hour (the room's clock). */
export function clockTime(ms) {
  if (!valid(ms)) return '—';
  return formatter({hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'}).format(ms);
}

/** 14:03 on the hub's clock. */
export function hourMinute(ms) {
  if (!valid(ms)) return '—';
  return formatter({hour: '2-digit', minute: '2-digit', hourCycle: 'h23'}).format(ms);
}

/**
 * The hub's time zone as people there name it at `ms`: "CST", "UTC", or the offset ("GMT+1") where
 * a zone has no common abbreviation. The same in every language, as the hub's own texts write it.
 */
export function zoneName(ms = Date.now()) {
  if (!valid(ms)) return hubTimeZone();
  const part = formatter({timeZoneName: 'short'}, 'en-US').formatToParts(ms).find((p) => p.type === 'timeZoneName');
  return part ? part.value : hubTimeZone();
}

/** "14:03 CST": a time standing alone, with its zone. */
export function zoned(text, ms) {
  return `${text} ${zoneName(ms)}`;
}

/** The calendar day of `ms` in the hub's time zone: "today" is the hub's today. */
function dayOf(ms) {
  return formatter({year: 'numeric', month: '2-digit', day: '2-digit'}, 'en-CA').format(ms);
}

/** Whether two times fall on the same day in the hub's time zone. */
export function sameDay(a, b) {
  return valid(a) && valid(b) && dayOf(a) === dayOf(b);
}

/**
 * 14:03, or "Tue 6 Dec 14:03" ("mar 6 dic 14:03") when not today, with the zone unless `zone` is
 * false: a column of times in one zone (the timeline, a chart's axis) says it once, or in a tooltip.
 */
export function shortTime(ms, now, {zone = true} = {}) {
  if (!valid(ms)) return '—';
  const hm = hourMinute(ms);
  const text = sameDay(ms, now) ? hm
    : `${formatter({weekday: 'short', day: 'numeric', month: 'short'}).format(ms).replace(/,/g, '')} ${hm}`;
  return zone ? zoned(text, ms) : text;
}

/** The whole date and time with the zone, for a tooltip: "Sunday 6 December 2026 at 14:03:22 CST". */
export function fullTime(ms) {
  if (!valid(ms)) return '';
  const text = formatter({weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit',
    minute: '2-digit', second: '2-digit', hourCycle: 'h23'}).format(ms);
  return zoned(text, ms);
}

/** ISO 8601 for a <time datetime>, or nothing for a time the page could not read. */
export function isoTime(ms) {
  return valid(ms) ? new Date(ms).toISOString() : undefined;
}

const relativeFormats = new Map();

/** `deltaMs` from now in words of the page's language: "3 min ago", "in 30 min"; "hace 3 min", "dentro de 30 min". */
export function relative(deltaMs) {
  const tag = locale();
  let rtf = relativeFormats.get(tag);
  if (!rtf) {
    rtf = new Intl.RelativeTimeFormat(tag, {numeric: 'auto', style: 'short'});
    relativeFormats.set(tag, rtf);
  }
  const sign = deltaMs < 0 ? -1 : 1;
  const seconds = Math.round(Math.abs(deltaMs) / 1000);
  if (seconds < 10) return rtf.format(0, 'second');
  if (seconds < 60) return rtf.format(sign * seconds, 'second');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return rtf.format(sign * minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return rtf.format(sign * hours, 'hour');
  return rtf.format(sign * Math.floor(hours / 24), 'day');
}

/** '3 min ago' / 'hace 3 min': how long ago `ms` was, on the hub's clock `now`. */
export function ago(ms, now) {
  return relative(Math.min(0, ms - now));
}

/** 'due in 12 min' / '5 min overdue' for a due time (and the same in Spanish). */
export function dueIn(ms, now) {
  if (ms >= now) {
    const minutes = Math.round((ms - now) / 60000);
    if (minutes < 1) return t('due.now');
    return minutes < 120 ? t('due.in', {when: relative(minutes * 60000)}) : t('due.at', {time: shortTime(ms, now)});
  }
  const late = Math.ceil((now - ms) / 60000);
  return late < 120 ? t('due.overdue', {duration: duration(late * 60000)})
    : t('due.overdue-since', {time: shortTime(ms, now)});
}

export function parseTime(iso) {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

/** The crisis properties of an incident carrying the hub's crisis extension, or null. */
export function crisisExtension(obj) {
  if (!obj || obj.type !== 'incident' || typeof obj.extensions !== 'object' || obj.extensions === null) return null;
  for (const ext of Object.values(obj.extensions)) {
    if (ext && typeof ext === 'object' && 'severity' in ext && 'status' in ext) return ext;
  }
  return null;
}

// The course-of-action extension that carries a playbook (the hub's plans: hub/plans/carrier.py).
const PLAYBOOK_EXTENSION = 'extension-definition--1e1c1bd7-c527-4215-8e18-e199e74da57c';

/** The CACAO playbook a course-of-action carries, as a plan to offer: {id, name, description, modified}, or null. */
export function playbookOf(obj) {
  if (!obj || obj.type !== 'course-of-action' || typeof obj.extensions !== 'object' || obj.extensions === null) return null;
  const ext = obj.extensions[PLAYBOOK_EXTENSION];
  if (!ext || typeof ext !== 'object' || typeof ext.playbook_id !== 'string') return null;
  if (String(ext.playbook_standard || '').trim().toLowerCase() !== 'cacao') return null;
  if (!ext.playbook_id.startsWith('playbook--')) return null;
  return {id: ext.playbook_id, name: String(obj.name || ext.playbook_id), description: String(obj.description || ''),
    modified: String(obj.modified || '')};
}

/** The kind of cyber observable a STIX pattern is about: "[ipv4-addr:value = '…']" -> "ipv4-addr". */
export function observableType(pattern) {
  const match = /\[\s*([a-z0-9-]+):/.exec(String(pattern || ''));
  return match ? match[1] : 'pattern';
}

/** A human label for a STIX type, in the page's language ('kind.<type>'; an unknown type in words of its name). */
export function kindLabel(type) {
  const words = String(type).replace(/^x-/, '').split('-').join(' ');
  return tOr(`kind.${type}`, words.charAt(0).toUpperCase() + words.slice(1));
}

/** A crisis status the hub sends ('containing') in words ('containing' / 'en contención'). */
export function crisisStatusWord(status) {
  return tOr(`crisis.status.${status}`, status ?? '?');
}

/** An action item's status ('in-progress') in words ('in-progress' / 'en curso'). */
export function actionStatusWord(status) {
  return tOr(`action.status.${status}`, status ?? '?');
}

// The default NCISS scale's names (hub/crisis/taxonomy.py): translated; a scale of the hub's own is its words.
const NCISS_NAMES = new Set(['Baseline', 'Low', 'Medium', 'High', 'Severe', 'Emergency']);

/** A severity's name as the hub reports it, in the page's language when it is one of NCISS's. */
export function severityName(name) {
  return NCISS_NAMES.has(name) ? t(`severity.name.${name.toLowerCase()}`) : String(name ?? '');
}

/** "Jorge Salas (Federal Electricity Commission)" when a person acted for the stakeholder, else the stakeholder. */
export function actedBy(stakeholderName, person) {
  return person && person.name ? `${person.name} (${stakeholderName})` : stakeholderName;
}

/**
 * What a timeline row says about an event: {kind, title, detail}. `names` resolves STIX ids
 * of objects the page has seen to their names (for sightings, acknowledgments and relationships),
 * `who` stakeholder ids to display names, `severity` a crisis severity level to its label.
 */
export function describe(event, {names = () => null, who = (id) => id, severity = String} = {}) {
  const o = event.object || {};
  const ext = crisisExtension(o);
  switch (event.type) {
    case 'indicator':
      return {kind: kindLabel('indicator'), title: o.name || o.pattern || o.id, detail: o.pattern || ''};
    case 'sighting': {
      const of = names(o.sighting_of_ref) || o.sighting_of_ref || t('timeline.an-object');
      const count = Number.isInteger(o.count) ? o.count : 1;
      return {kind: kindLabel('sighting'), title: t('timeline.sighted', {who: who(event.source), what: of}),
        detail: count > 1 ? tp('timeline.times', count) : ''};
    }
    case 'note':
      return {kind: o.authors && o.authors.includes('Crisis Hub') ? t('timeline.kind.escalation') : kindLabel('note'),
        title: o.abstract || clip(o.content, 120), detail: o.abstract ? o.content || '' : ''};
    case 'report':
      return {kind: t('timeline.kind.sitrep'), title: o.name || o.id, detail: o.description || ''};
    case 'incident':
      if (ext) {
        return {kind: t('timeline.kind.crisis'), title: o.name || o.id,
          detail: t('timeline.crisis-detail', {severity: severity(ext.severity), status: crisisStatusWord(ext.status),
            lead: ext.lead ? who(ext.lead) : '—'})};
      }
      return {kind: kindLabel('incident'), title: o.name || o.id, detail: o.description || ''};
    case 'crisis-acknowledgment':
      return {kind: t('timeline.kind.ack'),
        title: t('timeline.acknowledged', {who: actedBy(who(o.acknowledged_by || event.source), event.person)}),
        detail: names(o.object_ref) || o.object_ref || ''};
    case 'crisis-action': {
      const parts = [o.assignee ? who(o.assignee) : '?', o.status ? actionStatusWord(o.status) : '?'];
      if (o.escalated) parts.push(t('action.escalated'));
      return {kind: t('timeline.kind.action'), title: o.name || o.id, detail: parts.join(' · ')};
    }
    case 'relationship': {
      const type = o.relationship_type || 'related-to';
      return {kind: kindLabel('relationship'),
        title: `${names(o.source_ref) || o.source_ref} ${tOr(`relationship.${type}`, type)} ${names(o.target_ref) || o.target_ref}`,
        detail: o.description || ''};
    }
    default:
      return {kind: kindLabel(event.type), title: o.name || o.id || event.type, detail: o.description || ''};
  }
}

/** The value a STIX pattern compares against: "[ipv4-addr:value = '192.0.2.1']" -> "192.0.2.1". */
export function observableValue(pattern) {
  // The compared value follows the operator; a quoted property name (hashes.'SHA-256') does not.
  const text = String(pattern || '');
  const match = /(?:=|!=|>=|<=|>|<|LIKE|MATCHES)\s*'((?:[^'\\]|\\.)*)'/.exec(text) || /'((?:[^'\\]|\\.)*)'/.exec(text);
  return match ? match[1] : '';
}

/** A long hash as its ends ("e5262db1…8b60"): enough to tell two apart at a glance. */
export function shortValue(value) {
  const v = String(value || '');
  return /^[0-9a-fA-F]{24,}$/.test(v) ? `${v.slice(0, 8)}…${v.slice(-4)}` : v;
}

/**
 * A label split so that its distinguishing part survives a narrow column: {rest, key}. When the
 * name contains the observable's value ("Ransomware C2 192.0.2.146"), the value is the key and
 * the rest may be cut; `withValue` adds the value as the key when the name does not say it.
 */
export function labelParts(name, pattern, {withValue = false} = {}) {
  const text = String(name ?? '').replace(/\s+/g, ' ').trim();
  const value = observableValue(pattern);
  if (value && text.includes(value)) {
    return {rest: text.replace(value, ' ').replace(/\s+/g, ' ').trim(), key: value};
  }
  if (withValue && value) return {rest: text, key: shortValue(value)};
  return {rest: text, key: ''};
}

/** '45 s', '12 min', '2 h 5 min', '3 days' ('3 días'): a duration for "declared … ago" and "… overdue". */
export function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return t('duration.seconds', {n: seconds});
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t('duration.minutes', {n: minutes});
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? t('duration.hours-minutes', {h: hours, m: minutes % 60}) : t('duration.hours', {n: hours});
  return tp('duration.days', Math.floor(hours / 24));
}
