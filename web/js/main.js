// The situation room's entry point: sign-in, then the room — crisis board, timeline, indicators —
// fed by the hub's HTTP API (crises, who am I) and its live stream (every event).
//
// The page speaks English and Spanish (i18n.js). Before sign-in it speaks this browser's language
// (or the one last chosen in it); once in the room, the person's own choice, kept by the hub, wins.
// Switching language redraws everything in place: nothing of the room is fetched again.

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
import {clockTime, zoneName} from './format.js';
import {h} from './dom.js';
import {currentLanguage, hubTimeZone, preferredLanguage, rememberLanguage, setTimeZone, t, useLanguage} from './i18n.js';

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

/** Why a request failed, for a notice: the hub's words, or the page's when the hub could not be reached. */
function reason(error) {
  return error instanceof ApiError && error.status === 0 ? t('error.unreachable.reason') : error.message;
}

/** What a failed sign-in means, in words a committee member can act on (a function: it is said again in another language). */
function signInError(error) {
  return () => {
    if (error instanceof ApiError) {
      if (error.status === 401) return t('signin.error.token-refused');
      if (error.status === 403) return t('signin.error.token-no-room', {reason: error.description || t('signin.error.no-api')});
      if (error.status === 0) return t('signin.error.unreachable');
      if (error.status === 429) return t('signin.error.throttled', {reason: error.description || t('signin.error.wait')});
      return t('signin.error.refused', {reason: error.message});
    }
    return t('signin.error.failed', {reason: error.message});
  };
}

/**
 * What a refused password sign-in means. A wrong person, password or code gets one sentence that
 * never says which part was wrong (as the hub's does); a locked account or a missing authenticator
 * app gets the hub's own sentence, which says what to do.
 */
function passwordError(error) {
  return () => {
    if (error instanceof ApiError) {
      if (error.status === 0) return t('signin.error.unreachable');
      if (error.status === 401) return t('signin.error.wrong');
      if ([403, 429].includes(error.status) && error.description) {
        return `${error.description.charAt(0).toUpperCase()}${error.description.slice(1)}.`;
      }
      return t('signin.error.refused', {reason: error.message});
    }
    return t('signin.error.failed', {reason: error.message});
  };
}

/** What the sign-in screen says and offers, kept to say it again in another language. */
const signInScreen = {message: null, providers: []};

/** The sign-in screen's words that do not come from index.html: the message, the providers' buttons. */
function renderSignInTexts() {
  const text = $('signin-message');
  const message = signInScreen.message ? signInScreen.message() : '';
  text.textContent = message;
  text.hidden = !message;
  $('signin-provider-list').replaceChildren(...signInScreen.providers.map((p) => {
    const link = h('a', {class: 'btn btn-primary', dataset: {provider: p.id}}, t('signin.provider', {name: p.label}));
    // A same-origin path built here from the provider's id, never a URL taken from an answer.
    link.setAttribute('href', `/auth/oidc/${encodeURIComponent(p.id)}`);
    return link;
  }));
  $('signin-providers').hidden = signInScreen.providers.length === 0;
}

/**
 * The sign-in screen: the institutions' identity providers, the password form, the token form if offered.
 * `message`: what to say above them, as a function giving the sentence in the page's language (or nothing).
 */
async function showSignIn(message = null) {
  $('room').hidden = true;
  $('whoami').hidden = true;
  $('sign-out').hidden = true;
  $('topbar-language').hidden = true; // the card has its own
  $('signin').hidden = false;
  signInScreen.message = message;
  renderSignInTexts();
  let options = {providers: [], token_on_page: false};
  try {
    options = await signInOptions();
  } catch (error) {
    if (!message) signInScreen.message = passwordError(error);
  }
  signInScreen.providers = options.providers || [];
  renderSignInTexts();
  $('signin-form').hidden = !options.token_on_page;
  $('person').focus();
}

/** The session a person signed in with, while the page is open (null for a token). */
let personSession = null;

/**
 * Leave: end the session or forget the token, and reload, so nothing of this view stays in memory.
 * `notice`: the catalog key of what the sign-in screen then says (why the page signed out).
 */
/** Stops the room's refreshes and stream (set once in the room): nothing may race the session's end. */
let stopRoom = () => {};
let leaving = false;

async function signOut(notice) {
  if (leaving) return; // a 401 seen while already leaving (a refresh, the stream) changes nothing
  leaving = true;
  stopRoom();
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
    button.textContent = t('signin.busy');
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
      button.textContent = t('signin.password.submit');
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
    button.textContent = t('signin.busy');
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
      button.textContent = t('signin.token.submit');
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

/** The board's clock in the hub's time zone, named beside it, and how fresh what the board shows is. */
function renderClock(state) {
  const now = state.now();
  $('wall-clock').textContent = clockTime(now);
  $('wall-clock').setAttribute('datetime', new Date(now).toISOString());
  const zone = $('wall-zone');
  zone.textContent = zoneName(now);
  zone.title = hubTimeZone();
  const asOf = $('board-as-of');
  const live = ['live', 'resumed'].includes(state.connection.state);
  asOf.textContent = state.crisesAt ? `${t('board.as-of', {time: clockTime(state.crisesAt)})}${live ? '' : ` · ${t('board.not-live')}`}` : '';
  asOf.classList.toggle('as-of-stale', !live);
}

/** The hub's clock minus ours, from the Date header (1 s resolution: ignore smaller differences). */
function clockSkew(dateHeader) {
  const hub = Date.parse(dateHeader || '');
  if (Number.isNaN(hub)) return 0;
  const skew = hub - Date.now();
  return Math.abs(skew) > 2000 ? skew : 0;
}

/** Why the page had to sign out on a 401 (a catalog key): the token's words, or the session's. */
function endedMessage(credential) {
  return credential.token ? 'signin.ended.token' : 'signin.ended.session';
}

async function enterRoom(credential, answer) {
  const api = createApi(credential, {onUnauthorized: () => signOut(endedMessage(credential))});
  const me = answer.data;
  const skewMs = clockSkew(answer.date);
  // Every time from now on is the hub's; the person's own language (kept by the hub) wins over this browser's.
  setTimeZone(me.time_zone);
  const language = preferredLanguage(me.language, me.hub_language);
  if (me.language) rememberLanguage(language);
  if (language !== currentLanguage()) await useLanguage(language).catch(() => null);
  showLanguage();
  const [channels, directory] = await Promise.all([api.channels(), api.stakeholders()]);
  const state = new RoomState({me, channels, directory, skewMs, lookup: (id) => api.object(id).catch(() => null)});
  const sync = new CrisisSync(api, state);

  // The hub's own title (its config says whose room this is): text only, like everything from the hub.
  $('hub-title').textContent = state.title;
  $('hub-title').title = state.title;
  document.title = t('page.title.room', {title: state.title});
  renderWhoami($('whoami'), me);
  $('sign-out').hidden = false;
  $('topbar-language').hidden = false;
  $('room').hidden = false;

  // What views may do, in one place: they never call the API themselves.
  const ctx = {
    state,
    openCrisis: (id) => dialog.open(id),
    openEvent: (received) => objectDialog.openEvent(received),
    openIndicator: (id) => objectDialog.openIndicator(id),
    async acknowledge(crisisId, item, button) {
      button.disabled = true;
      button.textContent = t('ack.button.busy');
      try {
        await api.acknowledge(crisisId, item.id, item.version);
        await sync.now();
      } catch (error) {
        state.notice(() => t('notice.ack-failed', {reason: reason(error)}));
        button.disabled = false;
        button.textContent = t('ack.button');
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
        state.notice(() => t('notice.plans-list-failed', {reason: reason(error)}));
        state.setPlaybooks([]);
      }
    },
    async startPlan(crisisId, playbookId, button) {
      button.disabled = true;
      button.textContent = t('plan.start.busy');
      try {
        await api.startPlan(crisisId, playbookId);
        await sync.plansNow(crisisId);
      } catch (error) {
        state.notice(() => t('notice.plan-start-failed', {reason: reason(error)}));
        button.disabled = false;
        button.textContent = t('plan.start');
      }
    },
    async updateAction(crisisId, action, change, button) {
      button.disabled = true;
      try {
        await api.updateAction(crisisId, action.id, change);
        await sync.now();
      } catch (error) {
        state.notice(() => t('notice.action-failed', {name: action.name, reason: reason(error)}));
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
      $('sector-span').textContent = state.crises.some((c) => !c.exercise) ? t('chart.since-declared') : t('chart.since-first');
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
  stopRoom = () => {
    sync.stop();
    stream.stop();
  };
  sync.start();
  stream.start();
  $('main').focus({preventScroll: true});
  const approval = offerApproval(api, credential, state);
  openLinkedCrisis(state, dialog);

  // Another language: every view says it again, from what the page holds.
  redraw = () => {
    document.title = t('page.title.room', {title: state.title});
    renderWhoami($('whoami'), me);
    timeline.relabel();
    if (approval) approval.render();
    renderClock(state);
    renderConnection($('connection'), state); // now: the static page's words were just put back
    state.touch('connection', 'notices', 'crises', 'plans', 'events', 'filters', 'layout');
  };
  keepLanguage = async (code) => {
    if (!me.person) return; // a stakeholder's token has no person to keep a choice for: this browser keeps it
    try {
      await api.setLanguage(code);
    } catch (error) {
      state.notice(() => t('notice.language-not-kept', {reason: reason(error)}));
    }
  };
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
    else state.notice(() => t('notice.linked-crisis-gone'));
    linked = null;
  };
  state.onChange(open);
}

/** Once in the room: the command line waiting for this person's approval, if one is (its dialog, or null). */
function offerApproval(api, credential, state) {
  const code = sessionStorage.getItem(APPROVE_KEY);
  if (!code) return null;
  sessionStorage.removeItem(APPROVE_KEY);
  if (credential.token) {
    state.notice(() => t('notice.approve-needs-person'));
    return null;
  }
  const dialog = new ApproveDialog($('approve-dialog'), {api, notice: (text) => state.notice(text)});
  dialog.open(code);
  return dialog;
}

/** What to redraw when the language changes: the sign-in screen, until the room replaces it. */
let redraw = () => renderSignInTexts();
/** Keep a signed-in person's choice at the hub (set once in the room). */
let keepLanguage = async () => {};

/** The language switches (the top bar's and the sign-in card's) show the page's language. */
function showLanguage() {
  for (const id of ['language', 'signin-language']) $(id).value = currentLanguage();
}

/** Switching language: the whole page at once, remembered in this browser and, for a person, at the hub. */
function setupLanguage() {
  for (const id of ['language', 'signin-language']) {
    $(id).addEventListener('change', async (event) => {
      let chosen;
      try {
        chosen = await useLanguage(event.currentTarget.value);
      } catch {
        showLanguage(); // that language could not be loaded: the switch says the one still shown
        return;
      }
      rememberLanguage(chosen);
      showLanguage();
      redraw();
      await keepLanguage(chosen);
    });
  }
}

async function boot() {
  // The catalogs first: nothing is shown before it can be said in the reader's language.
  try {
    await useLanguage(preferredLanguage());
  } catch (error) {
    console.error(`the page's words could not be loaded: ${error.message}`); // the room still works, in keys
  }
  showLanguage();
  setupLanguage();
  keepLinked();
  setupLargeType();
  setupShortcuts();
  setupSignIn();
  setupPasswordSignIn();
  $('sign-out').addEventListener('click', () => signOut());
  const noticeKey = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  const notice = noticeKey ? () => t(noticeKey) : null;
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
      await showSignIn(notice || (approving ? () => t('signin.approve', {code: approving})
        : linked ? () => t('signin.linked') : null));
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
