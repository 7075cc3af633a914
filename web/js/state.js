// What the page knows: the events the stream delivered, the crises the API returned, and the
// connection's state. Views read it and re-render when told what changed. The page never
// decides visibility: it holds exactly what the hub sent to this stakeholder.

import {compareIds, idMillis, parseTime, playbookOf, severityName} from './format.js';

const MAX_EVENTS = 20000; // a bound on memory for a screen left on for days
const MAX_NOTICES = 4;

/** A received event, with what the page adds: its time and whether it arrived while watching. */
class Received {
  constructor(event, fresh) {
    this.key = `${event.channel}/${event.id}`;
    this.event = event;
    this.ms = idMillis(event.id);
    this.fresh = fresh;
    this.arrivedAt = Date.now();
  }
}

/** Newest first: by time, then by id within a channel. */
function newerFirst(a, b) {
  return b.ms - a.ms || compareIds(b.event.id, a.event.id) || (a.key < b.key ? -1 : 1);
}

export class RoomState {
  /**
   * @param {object} me        GET /api/v1/me
   * @param {object[]} channels GET /api/v1/channels
   * @param {object} directory GET /api/v1/stakeholders: the hub's title, names and severity scale
   * @param {number} skewMs    the hub's clock minus ours
   * @param {(id: string) => Promise<object|null>} lookup  the newest readable version of a STIX object
   */
  constructor({me, channels, directory, skewMs, lookup}) {
    this.me = me;
    this.channels = new Map(channels.map((c) => [c.name, c]));
    this.title = directory.title;
    this.stakeholders = new Map(directory.stakeholders.map((s) => [s.id, s]));
    this.hubSource = directory.hub_source; // the source of what the hub writes itself (escalations)
    this.skewMs = skewMs;
    this.lookupObject = lookup;
    this.events = []; // Received, newest first
    this.seen = new Set();
    this.names = new Map(); // STIX id -> a name to show for it
    this.indicators = new Map(); // indicator id -> Received (newest version)
    this.sightings = new Map(); // sighting id -> Received (newest version)
    this.lookups = new Map(); // STIX id -> 'pending' | 'missing' | object (fetched on demand)
    // indicator id -> Set of ids it is related to (malware, campaign, intrusion set…), from the
    // relationship objects this page received in either direction: what "search EKANS" follows.
    this.related = new Map();
    this.sources = new Set();
    this.types = new Set();
    this.crises = [];
    this.details = new Map(); // crisis id -> {crisis, updates, sitreps, actions, acks}
    this.histories = new Map(); // crisis id -> versions
    this.plans = new Map(); // crisis id -> {runs, seq}: its plan runs, and which read of them that was
    // The plans this stakeholder may start: playbook id -> {id, name, description, modified, channel}, from
    // the course-of-action objects carrying a CACAO playbook it may read (listed, or received live).
    this.playbooks = new Map();
    this.playbooksLoaded = false;
    // level -> {name, colour, description}: the hub's scale, so that every level has its label
    this.severities = new Map(directory.severity_scale.map((s) => [s.level, s]));
    this.crisesLoaded = false;
    this.crisesAt = 0; // when the crisis views were last fetched: the board's "as of"
    this.connection = {state: 'connecting'};
    this.historyLoaded = false;
    this.notices = [];
    this.listeners = new Set();
    this.dirty = new Set();
    this.timer = null;
  }

  /** The hub's time now: "3 min ago" must not depend on a wrong clock in the room. */
  now() {
    return Date.now() + this.skewMs;
  }

  readableChannels() {
    return Object.entries(this.me.channels || {}).filter(([, rights]) => rights.read).map(([name]) => name);
  }

  /** A stakeholder's display name; its id when the hub does not know it (gone from the config, or foreign). */
  stakeholderName(id) {
    if (!id) return '—';
    const known = this.stakeholders.get(id);
    if (known) return known.name;
    // The hub writes as the STIX identity "Crisis Hub" (model.hub_identity): short, where the title is long.
    return id === this.hubSource ? 'Crisis Hub' : id;
  }

  /** The label of a severity level: '4 Severe' ('4 Severa'), or the bare number for a level off the scale. */
  severityLabel(level) {
    const known = this.severities.get(level);
    return known ? `${level} ${severityName(known.name)}` : String(level);
  }

  /** The sector an event belongs to: its channel's sector, else the channel itself. */
  sectorOf(channelName) {
    const channel = this.channels.get(channelName);
    return (channel && channel.sector) || channelName;
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  /** Mark parts as changed; listeners run once for a burst of changes (a replay is thousands). */
  touch(...parts) {
    for (const part of parts) this.dirty.add(part);
    if (this.timer === null) this.timer = setTimeout(() => this.flush(), 30);
  }

  flush() {
    this.timer = null;
    const dirty = this.dirty;
    this.dirty = new Set();
    for (const listener of this.listeners) listener(dirty);
  }

  // events ---------------------------------------------------------------------------------
  addEvent(event, {fresh}) {
    const received = new Received(event, fresh);
    if (this.seen.has(received.key)) return false;
    this.seen.add(received.key);
    this.insert(received);
    this.index(received);
    this.touch('events');
    return true;
  }

  insert(received) {
    // Events mostly arrive newest last, so the binary search almost always ends at the front.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newerFirst(this.events[mid], received) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.events.splice(lo, 0, received);
    if (this.events.length > MAX_EVENTS) {
      const dropped = this.events.pop();
      this.seen.delete(dropped.key);
    }
  }

  index(received) {
    const {event} = received;
    const obj = event.object || {};
    this.sources.add(event.source);
    this.types.add(event.type);
    const name = obj.name || obj.abstract;
    if (obj.id && name) this.names.set(obj.id, name);
    if (event.type === 'indicator') this.keepNewest(this.indicators, obj.id, received);
    if (event.type === 'sighting') this.keepNewest(this.sightings, obj.id, received);
    if (event.type === 'relationship') this.relate(obj.source_ref, obj.target_ref);
    if (event.type === 'course-of-action' && this.addPlaybook(obj, event.channel)) this.touch('plans');
  }

  /** Keep a course-of-action that carries a CACAO playbook as a plan to offer; false if it carries none. */
  addPlaybook(obj, channel) {
    const playbook = playbookOf(obj);
    if (!playbook) return false;
    const known = this.playbooks.get(playbook.id);
    if (known && parseTime(known.modified) > parseTime(playbook.modified)) return false;
    this.playbooks.set(playbook.id, {...playbook, channel});
    return true;
  }

  /** The plans listed from the hub (each channel's course-of-action objects): the list is complete now. */
  setPlaybooks(found) {
    for (const {obj, channel} of found) this.addPlaybook(obj, channel);
    this.playbooksLoaded = true;
    this.touch('plans');
  }

  relate(a, b) {
    if (typeof a !== 'string' || typeof b !== 'string') return;
    const link = (from, to) => {
      if (!this.related.has(from)) this.related.set(from, new Set());
      this.related.get(from).add(to);
    };
    link(a, b);
    link(b, a);
  }

  /** The ids an object is related to by a relationship the page received. */
  relatedTo(id) {
    return [...(this.related.get(id) || [])];
  }

  keepNewest(map, id, received) {
    const current = map.get(id);
    if (!current || parseTime(received.event.object.modified) >= parseTime(current.event.object.modified)) {
      map.set(id, received);
    }
  }

  nameOf(id) {
    if (this.names.has(id)) return this.names.get(id);
    const found = this.lookups.get(id);
    return found && typeof found === 'object' ? found.name || found.pattern || null : null;
  }

  /** Sightings grouped by the object they sighted (newest first within each group). */
  sightingsByTarget() {
    const groups = new Map();
    for (const received of this.sightings.values()) {
      const target = received.event.object.sighting_of_ref;
      if (!groups.has(target)) groups.set(target, []);
      groups.get(target).push(received);
    }
    for (const list of groups.values()) list.sort(newerFirst);
    return groups;
  }

  /**
   * An object a sighting refers to but the page has not received (older than the history
   * window): ask the hub once. The hub answers only if this stakeholder may read it.
   */
  lookup(id) {
    if (this.lookups.has(id) || !id) return this.lookups.get(id);
    this.lookups.set(id, 'pending');
    this.lookupObject(id).then(
      (found) => {
        const event = found && found.events && found.events[found.events.length - 1];
        this.lookups.set(id, event ? event.object : 'missing');
        this.touch('events');
      },
      () => this.lookups.set(id, 'missing'),
    );
    return 'pending';
  }

  // crises -----------------------------------------------------------------------------------
  setCrises(crises, details) {
    this.crises = crises;
    this.details = new Map();
    this.histories = new Map();
    const plans = new Map();
    for (const entry of details) {
      if (!entry) continue;
      const [id, detail, history, read] = entry;
      this.details.set(id, detail);
      this.histories.set(id, history);
      // A run moved and read on its own since this refresh began is newer: keep it.
      const known = this.plans.get(id);
      const newer = known && (!read || read.runs === null || known.seq > read.seq);
      if (newer) plans.set(id, known);
      else if (read && read.runs !== null) plans.set(id, read);
    }
    this.plans = plans;
    for (const crisis of crises) {
      this.names.set(crisis.id, crisis.name);
    }
    for (const detail of this.details.values()) {
      for (const item of detail.acks || []) if (!this.names.has(item.id)) this.names.set(item.id, item.label);
      for (const action of detail.actions || []) this.names.set(action.id, action.name);
    }
    this.crisesLoaded = true;
    this.crisesAt = this.now();
    this.touch('crises');
  }

  /** One crisis's runs, read on their own (a run moved): shown unless a newer read is already shown. */
  setPlans(crisisId, runs, seq) {
    if (!this.crises.some((c) => c.id === crisisId)) return;
    const known = this.plans.get(crisisId);
    if (known && known.seq > seq) return;
    this.plans.set(crisisId, {runs, seq});
    this.touch('plans');
  }

  /** The plan runs of a crisis the page has read, oldest first. */
  runsOf(crisisId) {
    const known = this.plans.get(crisisId);
    return (known && known.runs) || [];
  }

  /**
   * Whether the signed-in stakeholder may change a crisis, hence start a plan for it: it writes the
   * crisis's channel (GET /api/v1/me). Only whether to offer the control: the hub decides (403).
   */
  mayRevise(crisis) {
    const rights = (this.me.channels || {})[crisis.channel];
    return Boolean(rights && rights.write);
  }

  /** The acknowledgment record of one version of an item, or undefined. */
  ackItem(crisisId, itemId, version) {
    const detail = this.details.get(crisisId);
    return detail && (detail.acks || []).find((a) => a.id === itemId && a.version === version);
  }

  /**
   * Which version an acknowledged item's `version` is: {n, of, current} where n counts from 1 in
   * the order of the versions the hub lists for it, and current is its newest; null when unknown.
   * "Acknowledged v2, not v3" is what separates an old acknowledgment from a missing one.
   */
  versionOf(crisisId, itemId, version) {
    const detail = this.details.get(crisisId);
    if (!detail) return null;
    const versions = [...new Set((detail.acks || []).filter((a) => a.id === itemId).map((a) => a.version))]
      .sort((a, b) => parseTime(a) - parseTime(b) || (a < b ? -1 : a > b ? 1 : 0));
    const n = versions.indexOf(version) + 1;
    return n ? {n, of: versions.length, current: versions[versions.length - 1]} : null;
  }

  /** For each stakeholder, the newest earlier version of an item it acknowledged: {n, version}. */
  earlierAcks(crisisId, itemId) {
    const detail = this.details.get(crisisId);
    const out = new Map();
    for (const item of (detail && detail.acks) || []) {
      if (item.id !== itemId) continue;
      const info = this.versionOf(crisisId, itemId, item.version);
      for (const a of item.acknowledged || []) {
        const known = out.get(a.stakeholder);
        if (info && (!known || known.n < info.n)) out.set(a.stakeholder, {n: info.n, version: item.version});
      }
    }
    return out;
  }

  /** The crisis an object belongs to, when it is one the page shows: its id, or null. */
  crisisOf(obj) {
    if (!obj) return null;
    const ids = new Set(this.crises.map((c) => c.id));
    if (ids.has(obj.id)) return obj.id;
    for (const ref of [obj.crisis_ref, ...(Array.isArray(obj.object_refs) ? obj.object_refs : [])]) {
      if (ids.has(ref)) return ref;
    }
    return null;
  }

  /**
   * Whether an action item is the signed-in caller's: assigned to their stakeholder and, when the
   * committee named a person of it, to them (a colleague's item is theirs; a token sees all of its
   * stakeholder's).
   */
  isMine(action) {
    if (action.assignee !== this.me.stakeholder) return false;
    const named = action.assignee_person;
    return !named || !this.me.person || named.id === this.me.person.id;
  }

  /** The signed-in caller's action items (see isMine), open ones first, soonest due first. */
  myActions() {
    const mine = [];
    for (const crisis of this.crises) {
      const detail = this.details.get(crisis.id);
      for (const action of (detail && detail.actions) || []) {
        if (this.isMine(action)) mine.push({crisis, action});
      }
    }
    const open = (a) => ['assigned', 'accepted', 'in-progress'].includes(a.action.status);
    return mine.sort((a, b) => Number(open(b)) - Number(open(a)) || parseTime(a.action.due) - parseTime(b.action.due));
  }

  // connection and notices -------------------------------------------------------------------
  setConnection(status) {
    this.connection = {...status, since: Date.now()};
    if (status.state === 'live') this.historyLoaded = true;
    if (status.resumed) this.lastResume = status.resumed;
    this.touch('connection');
  }

  /**
   * A line in the room's notices. `text` is a function returning the sentence (in the page's
   * language at the time it is shown: a switch of language rewrites the notices too), or a string.
   */
  notice(text) {
    this.notices = [{text, at: Date.now()}, ...this.notices].slice(0, MAX_NOTICES);
    this.touch('notices');
  }
}
