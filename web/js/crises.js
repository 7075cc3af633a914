// Keeps the crisis board in step with the hub. The hub computes every crisis view (severity
// name and colour, who is expected to acknowledge, overdue actions) and filters it for this
// stakeholder; the page only asks again when the stream shows that something crisis-related
// changed — a crisis version, an update, a sitrep, an acknowledgment, an action item.

import {ApiError} from './api.js';

const CRISIS_TYPES = new Set(['incident', 'note', 'report', 'crisis-acknowledgment', 'crisis-action']);
const DEBOUNCE_MS = 250; // a burst of events (a replay, a scenario step) costs one refresh
const PERIODIC_MS = 60000; // due times and "overdue" move with the clock, not with events

export class CrisisSync {
  constructor(api, state) {
    this.api = api;
    this.state = state;
    this.timer = null;
    this.running = false;
    this.again = false;
    this.interval = null;
  }

  start() {
    this.request();
    this.interval = setInterval(() => this.request(), PERIODIC_MS);
  }

  stop() {
    clearTimeout(this.timer);
    clearInterval(this.interval);
  }

  /** Called for every event the stream delivers. */
  consider(event) {
    if (CRISIS_TYPES.has(event.type)) this.request();
  }

  request() {
    if (this.running) {
      this.again = true; // refresh once more when the current one ends: it may have missed this change
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), DEBOUNCE_MS);
  }

  /** Refresh now and wait for it (after acknowledging, the clicker sees the result at once). */
  async now() {
    clearTimeout(this.timer);
    if (this.running) {
      this.again = true;
      return;
    }
    await this.run();
  }

  async run() {
    this.running = true;
    try {
      const crises = await this.api.crises();
      const details = await Promise.all(crises.map((crisis) => this.load(crisis.id)));
      this.state.setCrises(crises, details);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        this.state.notice(`Could not refresh the crises: ${error.message}`);
      }
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.request();
      }
    }
  }

  async load(id) {
    try {
      const [detail, history] = await Promise.all([this.api.crisis(id), this.api.history(id)]);
      return [id, detail, history];
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null; // no longer visible to us
      throw error;
    }
  }
}
