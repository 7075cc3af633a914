// Keeps the crisis board in step with the hub. The hub computes every crisis view (severity
// name and colour, who is expected to acknowledge, overdue actions) and filters it for this
// stakeholder; the page only asks again when the stream shows that something crisis-related
// changed — a crisis version, an update, a sitrep, an acknowledgment, an action item. A plan
// run's move (a new version of its crisis-plan-run) changes only that crisis's runs: those alone
// are asked again.

import {ApiError} from './api.js';
import {t} from './i18n.js';

const CRISIS_TYPES = new Set(['incident', 'note', 'report', 'crisis-acknowledgment', 'crisis-action']);
const DEBOUNCE_MS = 250; // a burst of events (a replay, a scenario step) costs one refresh
const PERIODIC_MS = 60000; // due times and "overdue" move with the clock, not with events
const RUN_TYPE = 'crisis-plan-run';

/** Why a read failed, for a notice: the hub's words, or the page's when the hub could not be reached. */
const reason = (error) => (error instanceof ApiError && error.status === 0 ? t('error.unreachable.reason') : error.message);

export class CrisisSync {
  constructor(api, state) {
    this.api = api;
    this.state = state;
    this.timer = null;
    this.running = false;
    this.again = false;
    this.interval = null;
    this.planCrises = new Set(); // crises whose runs to ask again
    this.planTimer = null;
    this.fetches = 0; // numbers each read of runs: an older answer never replaces a newer one
  }

  start() {
    this.request();
    this.interval = setInterval(() => this.request(), PERIODIC_MS);
  }

  stop() {
    clearTimeout(this.timer);
    clearTimeout(this.planTimer);
    clearInterval(this.interval);
  }

  /** Called for every event the stream delivers. */
  consider(event) {
    // An action item a plan assigned (plan_run_ref) is a crisis-action: the whole refresh below reads
    // the runs too, so its step shows done with the item.
    if (CRISIS_TYPES.has(event.type)) this.request();
    const obj = event.object || {};
    if (event.type === RUN_TYPE && typeof obj.crisis_ref === 'string') this.requestPlans(obj.crisis_ref);
  }

  /** Read one crisis's runs again soon (a burst of moves costs one read). */
  requestPlans(crisisId) {
    this.planCrises.add(crisisId);
    clearTimeout(this.planTimer);
    this.planTimer = setTimeout(() => this.runPlans(), DEBOUNCE_MS);
  }

  /** Read one crisis's runs now and show them (after starting a plan, the starter sees it at once). */
  async plansNow(crisisId) {
    const seq = ++this.fetches;
    const runs = await this.plans(crisisId);
    if (runs !== null) this.state.setPlans(crisisId, runs, seq);
  }

  async runPlans() {
    const ids = [...this.planCrises];
    this.planCrises.clear();
    await Promise.all(ids.map((id) => this.plansNow(id)));
  }

  /** The crisis's runs; [] when the crisis is gone from our view, null when they could not be read now. */
  async plans(crisisId) {
    try {
      return await this.api.plans(crisisId);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return [];
      if (!(error instanceof ApiError && error.status === 401)) {
        this.state.notice(() => t('notice.plans-read-failed', {reason: reason(error)}));
      }
      return null;
    }
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
        this.state.notice(() => t('notice.crises-failed', {reason: reason(error)}));
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
      const seq = ++this.fetches;
      const [detail, history, runs] = await Promise.all([this.api.crisis(id), this.api.history(id), this.plans(id)]);
      return [id, detail, history, {runs, seq}];
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null; // no longer visible to us
      throw error;
    }
  }
}
