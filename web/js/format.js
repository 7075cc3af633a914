// Formatting of times, event ids and STIX objects for display. Pure functions, no DOM.

import {clip} from './dom.js';

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

const pad = (n) => String(n).padStart(2, '0');

/** 14:03:22, local time (the room's clock). */
export function clockTime(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 14:03, or 'Tue 14:03' when not today. */
export function shortTime(ms, now) {
  const d = new Date(ms);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (new Date(now).toDateString() === d.toDateString()) return hm;
  return `${d.toLocaleDateString(undefined, {weekday: 'short', day: 'numeric', month: 'short'})} ${hm}`;
}

/** '40 s ago', '3 min ago', '2 h 5 min ago', '3 days ago'. */
export function ago(ms, now) {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return seconds < 10 ? 'just now' : `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min ago` : `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** 'in 12 min' / '5 min overdue' for a due time. */
export function dueIn(ms, now) {
  if (ms >= now) {
    const minutes = Math.round((ms - now) / 60000);
    return minutes < 1 ? 'due now' : minutes < 120 ? `due in ${minutes} min` : `due ${shortTime(ms, now)}`;
  }
  const late = Math.ceil((now - ms) / 60000);
  return late < 120 ? `${late} min overdue` : `overdue since ${shortTime(ms, now)}`;
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

const KIND_LABELS = {
  indicator: 'Indicator',
  sighting: 'Sighting',
  note: 'Update',
  report: 'Report',
  incident: 'Incident',
  'crisis-acknowledgment': 'Acknowledgment',
  'crisis-action': 'Action item',
  'attack-pattern': 'ATT&CK technique',
  malware: 'Malware',
  relationship: 'Relationship',
  'course-of-action': 'Course of action',
  identity: 'Identity',
  'marking-definition': 'Marking',
  vulnerability: 'Vulnerability',
  'threat-actor': 'Threat actor',
  campaign: 'Campaign',
  'intrusion-set': 'Intrusion set',
  'observed-data': 'Observed data',
};

/** A human label for a STIX type. */
export function kindLabel(type) {
  if (KIND_LABELS[type]) return KIND_LABELS[type];
  const words = String(type).replace(/^x-/, '').split('-').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * What a timeline row says about an event: {kind, title, detail}. `names` resolves STIX ids
 * of objects the page has seen to their names (for sightings, acknowledgments and relationships),
 * `who` stakeholder ids to display names, `severity` a crisis severity level to its label.
 */
/** "Jorge Salas (Federal Electricity Commission)" when a person acted for the stakeholder, else the stakeholder. */
export function actedBy(stakeholderName, person) {
  return person && person.name ? `${person.name} (${stakeholderName})` : stakeholderName;
}

export function describe(event, {names = () => null, who = (id) => id, severity = String} = {}) {
  const o = event.object || {};
  const ext = crisisExtension(o);
  switch (event.type) {
    case 'indicator':
      return {kind: 'Indicator', title: o.name || o.pattern || o.id, detail: o.pattern || ''};
    case 'sighting': {
      const of = names(o.sighting_of_ref) || o.sighting_of_ref || 'an object';
      const count = Number.isInteger(o.count) ? o.count : 1;
      return {kind: 'Sighting', title: `${who(event.source)} sighted ${of}`, detail: count > 1 ? `${count} times` : ''};
    }
    case 'note':
      return {kind: o.authors && o.authors.includes('Crisis Hub') ? 'Escalation' : 'Update',
        title: o.abstract || clip(o.content, 120), detail: o.abstract ? o.content || '' : ''};
    case 'report':
      return {kind: 'Sitrep', title: o.name || o.id, detail: o.description || ''};
    case 'incident':
      if (ext) {
        return {kind: 'Crisis', title: o.name || o.id,
          detail: `Severity ${severity(ext.severity)} · ${ext.status} · lead ${ext.lead ? who(ext.lead) : '—'}`};
      }
      return {kind: 'Incident', title: o.name || o.id, detail: o.description || ''};
    case 'crisis-acknowledgment':
      return {kind: 'Ack', title: `${actedBy(who(o.acknowledged_by || event.source), event.person)} acknowledged`,
        detail: names(o.object_ref) || o.object_ref || ''};
    case 'crisis-action':
      return {kind: 'Action', title: o.name || o.id,
        detail: `${o.assignee ? who(o.assignee) : '?'} · ${o.status || '?'}${o.escalated ? ' · escalated' : ''}`};
    case 'relationship':
      return {kind: 'Relationship',
        title: `${names(o.source_ref) || o.source_ref} ${o.relationship_type || 'related-to'} ${names(o.target_ref) || o.target_ref}`,
        detail: o.description || ''};
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

/** '45 s', '12 min', '2 h 5 min', '3 days': a duration for "declared … ago" and "… overdue". */
export function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}
