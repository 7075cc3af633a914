// The situation room's entry point: sign-in, then the room — crisis board, timeline, indicators —
// fed by the hub's HTTP API (crises, who am I) and its live stream (every event).

import {ApiError, createApi, currentSession, endSession, signInOptions, signInWithPassword, whoIs} from './api.js';
import {CrisisSync} from './crises.js';
import {RoomState} from './state.js';
import {StreamClient} from './stream.js';
import {renderMyActions} from './views/actions.js';
import {ApproveDialog} from './views/approve.js';
import {renderBoard} from './views/board.js';
import {sectorChart} from './views/charts.js';
import {CrisisDialog} from './views/crisis.js';
import {IndicatorsView} from './views/indicators.js';
import {ObjectDialog} from './views/object.js';
import {renderConnection, renderNotices, renderWhoami} from './views/status.js';
import {TimelineView} from './views/timeline.js';
import {clockTime} from './format.js';
import {h} from './dom.js';

// sessionStorage: the token lives as long as this tab and never reaches another tab or a disk
// profile shared by the room's next user; signing out removes it.
const TOKEN_KEY = 'crisis-hub.token';
const NOTICE_KEY = 'crisis-hub.signin-notice';
const LARGE_KEY = 'crisis-hub.large-type';
// A command line's sign-in waiting for this person's approval (?approve=<code>), kept through sign-in.
const APPROVE_KEY = 'crisis-hub.approve';
// The crisis a notification's link opens (?crisis=<id>), kept through sign-in.
const CRISIS_KEY = 'crisis-hub.open-crisis';
const HISTORY_HOURS = 24;
const TICK_MS = 5000; // "3 min ago", "NEW" highlights and "overdue by" move with the clock
const BOARD_REFRESH_MS = 30000;
const PLAN_PAGES = 50; // TAXII pages read per channel when listing the stored plans: a bound, not an expectation

const $ = (id) => document.getElementById(id);

/** What a failed sign-in means, in words a committee member can act on. */
function signInError(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      return 'This token was not accepted: it is unknown or has been revoked. Check it, or ask the hub operator for a new one.';
    }
    if (error.status === 403) {
      return `This token is valid, but its stakeholder may not use the situation room (${error.description || 'no API access'}).`;
    }
    if (error.status === 0) return 'The hub cannot be reached. Check the network connection and try again.';
    if (error.status === 429) return `Too many failed sign-ins from this address: ${error.description || 'wait a minute and try again'}.`;
    return `The hub refused the sign-in: ${error.message}`;
  }
  return `Sign-in failed: ${error.message}`;
}

/** What a refused password sign-in means: the hub's own sentence, which never says which part was wrong. */
function passwordError(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return 'The hub cannot be reached. Check the network connection and try again.';
    if ([401, 403, 429].includes(error.status) && error.description) {
      return `${error.description.charAt(0).toUpperCase()}${error.description.slice(1)}.`;
    }
    return `The hub refused the sign-in: ${error.message}`;
  }
  return `Sign-in failed: ${error.message}`;
}

/** The sign-in screen: the institutions' identity providers, the password form, the token form if offered. */
async function showSignIn(message) {
  $('room').hidden = true;
  $('whoami').hidden = true;
  $('sign-out').hidden = true;
  $('signin').hidden = false;
  const text = $('signin-message');
  text.textContent = message || '';
  text.hidden = !message;
  let options = {providers: [], token_on_page: false};
  try {
    options = await signInOptions();
  } catch (error) {
    if (!message) {
      text.textContent = passwordError(error);
      text.hidden = false;
    }
  }
  const providers = options.providers || [];
  $('signin-provider-list').replaceChildren(...providers.map((p) => {
    const link = h('a', {class: 'btn btn-primary', dataset: {provider: p.id}}, `Sign in with ${p.label}`);
    // A same-origin path built here from the provider's id, never a URL taken from an answer.
    link.setAttribute('href', `/auth/oidc/${encodeURIComponent(p.id)}`);
    return link;
  }));
  $('signin-providers').hidden = providers.length === 0;
  $('signin-form').hidden = !options.token_on_page;
  $('person').focus();
}

/** The session a person signed in with, while the page is open (null for a token). */
let personSession = null;

/** Leave: end the session or forget the token, and reload, so nothing of this view stays in memory. */
async function signOut(notice) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (personSession) await endSession(personSession.csrf);
  if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
  location.replace('/');
}

function setupPasswordSignIn() {
  const form = $('password-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('password-submit');
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      personSession = await signInWithPassword($('person').value.trim(), $('password').value, $('code').value.trim());
      $('password').value = '';
      $('code').value = '';
      $('signin').hidden = true;
      const api = createApi({csrf: personSession.csrf});
      await enterRoom({csrf: personSession.csrf}, await api.me());
    } catch (error) {
      personSession = null;
      $('password').value = '';
      await showSignIn(passwordError(error));
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });
}

function setupSignIn() {
  const form = $('signin-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    const button = $('signin-submit');
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      const answer = await whoIs(token);
      sessionStorage.setItem(TOKEN_KEY, token);
      $('token').value = '';
      $('signin').hidden = true;
      await enterRoom({token}, answer);
    } catch (error) {
      await showSignIn(signInError(error));
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in with the token';
    }
  });
}

function setupLargeType() {
  const button = $('large-type');
  const apply = (on) => {
    document.documentElement.classList.toggle('large-type', on);
    button.setAttribute('aria-pressed', String(on));
  };
  apply(localStorage.getItem(LARGE_KEY) === '1');
  button.addEventListener('click', () => {
    const on = !document.documentElement.classList.contains('large-type');
    localStorage.setItem(LARGE_KEY, on ? '1' : '0');
    apply(on);
  });
}

function setupShortcuts() {
  document.addEventListener('keydown', (event) => {
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement
      || event.target instanceof HTMLTextAreaElement;
    if (typing || event.ctrlKey || event.metaKey || event.altKey || $('room').hidden) return;
    if (event.key === '/') {
      event.preventDefault();
      $('indicator-search').focus();
    }
  });
}

/**
 * The width to draw a chart at, in units of 1/15 rem: SVG text of 11 units is then 11/15 rem on
 * screen whatever the column's width or the type size — never larger than the headings.
 */
function chartWidth(container) {
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 15;
  return container.clientWidth ? (container.clientWidth / rem) * 15 : 360;
}

/** When the active real crises were declared: the start of the sector chart's axis (an exercise's is not). */
function crisisStart(state) {
  const declared = state.crises.filter((c) => !c.exercise).map((c) => Date.parse(c.created))
    .filter((ms) => !Number.isNaN(ms));
  if (declared.length) return Math.min(...declared);
  const oldest = state.events[state.events.length - 1];
  return oldest ? oldest.ms : state.now() - 3600 * 1000;
}

/** The board's clock, and how fresh what it shows is. */
function renderClock(state) {
  $('wall-clock').textContent = clockTime(state.now());
  const asOf = $('board-as-of');
  const live = ['live', 'resumed'].includes(state.connection.state);
  asOf.textContent = state.crisesAt ? `as of ${clockTime(state.crisesAt)}${live ? '' : ' · not live'}` : '';
  asOf.classList.toggle('as-of-stale', !live);
}

/** The hub's clock minus ours, from the Date header (1 s resolution: ignore smaller differences). */
function clockSkew(dateHeader) {
  const hub = Date.parse(dateHeader || '');
  if (Number.isNaN(hub)) return 0;
  const skew = hub - Date.now();
  return Math.abs(skew) > 2000 ? skew : 0;
}

/** Why the page had to sign out on a 401: the token's words, or the session's. */
function endedMessage(credential) {
  return credential.token
    ? 'Your token is no longer accepted (it was revoked or has expired). Sign in again with a valid token.'
    : 'Your session has ended (you signed out elsewhere, it expired, or your account was disabled). Sign in again.';
}

async function enterRoom(credential, answer) {
  const api = createApi(credential, {onUnauthorized: () => signOut(endedMessage(credential))});
  const me = answer.data;
  const skewMs = clockSkew(answer.date);
  const [channels, directory] = await Promise.all([api.channels(), api.stakeholders()]);
  const state = new RoomState({me, channels, directory, skewMs, lookup: (id) => api.object(id).catch(() => null)});
  const sync = new CrisisSync(api, state);

  // The hub's own title (its config says whose room this is): text only, like everything from the hub.
  $('hub-title').textContent = state.title;
  $('hub-title').title = state.title;
  document.title = `Situation room — ${state.title}`;
  renderWhoami($('whoami'), me);
  $('sign-out').hidden = false;
  $('room').hidden = false;

  // What views may do, in one place: they never call the API themselves.
  const ctx = {
    state,
    openCrisis: (id) => dialog.open(id),
    openEvent: (received) => objectDialog.openEvent(received),
    openIndicator: (id) => objectDialog.openIndicator(id),
    async acknowledge(crisisId, item, button) {
      button.disabled = true;
      button.textContent = 'Acknowledging…';
      try {
        await api.acknowledge(crisisId, item.id, item.version);
        await sync.now();
      } catch (error) {
        state.notice(`Could not acknowledge: ${error.message}`);
        button.disabled = false;
        button.textContent = 'Acknowledge';
      }
    },
    /**
     * List the plans this stakeholder may start: the course-of-action objects carrying a CACAO
     * playbook in the channels it reads. TAXII's match[type] is the hub's one listing by type; a
     * stakeholder without TAXII gets the plans the stream brought (pushed in the last day, or live).
     */
    async loadPlaybooks() {
      if (playbooksLoading) return;
      playbooksLoading = true;
      if (!(me.access || []).includes('taxii')) {
        state.setPlaybooks([]);
        return;
      }
      try {
        const lists = await Promise.all(readable.map(async (channel) => {
          const found = [];
          let next = null;
          for (let page = 0; page < PLAN_PAGES; page++) {
            const answer = await api.taxiiObjects(channel, 'course-of-action', next);
            for (const obj of answer.objects || []) found.push({obj, channel});
            next = answer.more ? answer.next : null;
            if (!next) break;
          }
          return found;
        }));
        state.setPlaybooks(lists.flat());
      } catch (error) {
        playbooksLoading = false; // the next opening of a crisis tries again
        state.notice(`Could not list the stored plans: ${error.message}`);
        state.setPlaybooks([]);
      }
    },
    async startPlan(crisisId, playbookId, button) {
      button.disabled = true;
      button.textContent = 'Starting…';
      try {
        await api.startPlan(crisisId, playbookId);
        await sync.plansNow(crisisId);
      } catch (error) {
        state.notice(`Could not start the plan: ${error.message}`);
        button.disabled = false;
        button.textContent = 'Start plan';
      }
    },
    async updateAction(crisisId, action, change, button) {
      button.disabled = true;
      try {
        await api.updateAction(crisisId, action.id, change);
        await sync.now();
      } catch (error) {
        state.notice(`Could not update "${action.name}": ${error.message}`);
        button.disabled = false;
      }
    },
  };
  let playbooksLoading = false;
  const dialog = new CrisisDialog($('crisis-dialog'), ctx);
  const objectDialog = new ObjectDialog($('object-dialog'), ctx);
  const timeline = new TimelineView({list: $('timeline'), filters: $('timeline-filters'), count: $('timeline-count')}, ctx);
  const indicators = new IndicatorsView({list: $('indicators'), search: $('indicator-search'),
    chart: $('chart-sightings'), count: $('indicator-count')}, ctx);
  const readable = state.readableChannels();
  const sectors = [...new Set(readable.map((c) => state.sectorOf(c)))].sort();

  let boardRenderedAt = 0;
  state.onChange((dirty) => {
    if (dirty.has('connection') || dirty.has('tick')) renderConnection($('connection'), state);
    if (dirty.has('notices') || dirty.has('tick')) renderNotices($('notices'), state);
    // The board's "3 min ago" and "due in" move with the clock, but rebuilding its buttons every
    // tick could swallow a click in progress: between changes, refresh it twice a minute.
    const changed = dirty.has('crises') || dirty.has('plans');
    if (changed || (dirty.has('tick') && Date.now() - boardRenderedAt > BOARD_REFRESH_MS)) {
      boardRenderedAt = Date.now();
      renderBoard($('board'), $('crisis-count'), ctx);
      renderMyActions($('my-actions'), $('action-count'), ctx);
      dialog.render();
    }
    timeline.render(dirty);
    indicators.render(dirty);
    if (dirty.has('events') || dirty.has('crises')) objectDialog.render();
    if (['events', 'tick', 'crises', 'layout'].some((part) => dirty.has(part))) {
      const chart = $('chart-sectors');
      const since = crisisStart(state);
      $('sector-span').textContent = state.crises.some((c) => !c.exercise) ? `since the crisis was declared` : 'since the first event';
      chart.replaceChildren(...sectorChart({events: state.events, sectors, sectorOf: (c) => state.sectorOf(c),
        now: state.now(), since, width: chartWidth(chart)}));
    }
    if (dirty.has('crises') || dirty.has('connection')) renderClock(state);
  });
  // The charts are drawn to their column's width: a resize or a change of type size redraws them.
  let lastWidth = 0;
  new ResizeObserver(() => {
    const width = $('chart-sectors').clientWidth;
    if (width !== lastWidth) {
      lastWidth = width;
      state.touch('layout');
    }
  }).observe($('chart-sectors'));
  $('large-type').addEventListener('click', () => state.touch('layout'));
  state.touch('connection', 'crises', 'events', 'notices');
  setInterval(() => state.touch('tick'), TICK_MS);
  // The reconnect countdown is the one thing that must tick every second.
  setInterval(() => {
    if (state.connection.state === 'reconnecting') state.touch('connection');
    renderClock(state);
  }, 1000);
  renderClock(state);

  const stream = new StreamClient({
    token: credential.token,
    channels: readable,
    since: `${Math.max(0, state.now() - HISTORY_HOURS * 3600 * 1000)}-0`,
    onEvent: (event, info) => {
      if (state.addEvent(event, info)) sync.consider(event);
    },
    onStatus: (status) => state.setConnection(status),
    onNotice: (text) => state.notice(text),
    onAuthFailed: () => signOut(endedMessage(credential)),
    // After a reconnection the crisis views may be stale in ways events do not show (the clock).
    onSettled: ({resumed}) => {
      if (resumed) sync.request();
    },
  });
  sync.start();
  stream.start();
  $('main').focus({preventScroll: true});
  offerApproval(api, credential, state);
  openLinkedCrisis(state, dialog);
}

/**
 * Put what the page's link asks for aside — ?approve=<code> (a command line's sign-in) or
 * ?crisis=<id> (a notification's crisis) — so that it survives a sign-in, even at an identity provider.
 */
function keepLinked() {
  const params = new URLSearchParams(location.search);
  const code = params.get('approve');
  const crisis = params.get('crisis');
  if (code) sessionStorage.setItem(APPROVE_KEY, code.slice(0, 32));
  if (crisis && /^incident--[0-9a-f-]{36}$/.test(crisis)) sessionStorage.setItem(CRISIS_KEY, crisis);
  if (code || crisis) history.replaceState(null, '', '/');
}

/** Open the crisis a notification's link named, once the crises are loaded (never "not visible" meanwhile). */
function openLinkedCrisis(state, dialog) {
  let linked = sessionStorage.getItem(CRISIS_KEY);
  if (!linked) return;
  sessionStorage.removeItem(CRISIS_KEY);
  const open = () => {
    if (!state.crisesLoaded || !linked) return;
    if (state.crises.some((c) => c.id === linked)) dialog.open(linked);
    else state.notice('The crisis of that link is closed or not visible to you.');
    linked = null;
  };
  state.onChange(open);
}

/** Once in the room: the command line waiting for this person's approval, if one is. */
function offerApproval(api, credential, state) {
  const code = sessionStorage.getItem(APPROVE_KEY);
  if (!code) return;
  sessionStorage.removeItem(APPROVE_KEY);
  if (credential.token) {
    state.notice('A command line is signed in by a person: sign out, then sign in as yourself, and open its link again.');
    return;
  }
  new ApproveDialog($('approve-dialog'), {api, notice: (text) => state.notice(text)}).open(code);
}

async function boot() {
  keepLinked();
  setupLargeType();
  setupShortcuts();
  setupSignIn();
  setupPasswordSignIn();
  $('sign-out').addEventListener('click', () => signOut());
  const notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    // A person's session (an HttpOnly cookie: the page cannot see it, it asks the hub).
    try {
      personSession = notice ? null : await currentSession();
    } catch {
      personSession = null;
    }
    if (!personSession) {
      const approving = sessionStorage.getItem(APPROVE_KEY);
      const linked = sessionStorage.getItem(CRISIS_KEY);
      await showSignIn(notice || (approving
        ? `Sign in as yourself to approve the command line that shows the code ${approving}.`
        : linked ? 'Sign in to see the crisis your notification points to.' : ''));
      return;
    }
    try {
      await enterRoom({csrf: personSession.csrf}, await createApi({csrf: personSession.csrf}).me());
    } catch (error) {
      await showSignIn(passwordError(error));
    }
    return;
  }
  try {
    await enterRoom({token}, await whoIs(token));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      sessionStorage.removeItem(TOKEN_KEY);
    }
    await showSignIn(signInError(error));
  }
}

boot();
