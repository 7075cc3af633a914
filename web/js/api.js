// The hub's HTTP API, as the page uses it. Same origin only: paths, never absolute URLs.

import {t} from './i18n.js';

/** An error answer from the hub ({title, description, http_status}), or status 0 when unreachable. */
export class ApiError extends Error {
  constructor(status, title, description) {
    super(description ? `${title}: ${description}` : title);
    this.status = status;
    this.title = title;
    this.description = description;
  }
}

const enc = encodeURIComponent;
const TAXII = 'application/taxii+json;version=2.1';

/** One request to the hub: {data, date}, or an ApiError (status 0 when the hub cannot be reached). */
async function request(method, path, body, {headers = {}, credentials = 'same-origin'} = {}) {
  const init = {method, headers: {...headers}, credentials, cache: 'no-store', redirect: 'error'};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, t('error.unreachable'), t('error.unreachable.reason'));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.title) || response.statusText || 'Error',
      (data && data.description) || '');
  }
  return {data, date: response.headers.get('Date')};
}

/**
 * A client for one signed-in caller: `{token}` (a stakeholder's API token, sent as a bearer) or
 * `{csrf}` (a person's session: its HttpOnly cookie goes by itself, the anti-CSRF token with every
 * change). `onUnauthorized` is called on any 401: the token was revoked or the session ended while
 * the page was open, and the only sensible thing is to sign out and say so.
 */
export function createApi({token = null, csrf = null} = {}, {onUnauthorized} = {}) {
  async function call(method, path, body, {accept = 'application/json'} = {}) {
    const headers = {Accept: accept};
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
    try {
      return await request(method, path, body, {headers, credentials: token ? 'omit' : 'same-origin'});
    } catch (error) {
      if (error.status === 401 && onUnauthorized) onUnauthorized(error);
      throw error;
    }
  }
  const get = async (path) => (await call('GET', path)).data;

  return {
    /** The caller and its rights, plus the hub's clock (the Date header) to correct for skew. */
    me: () => call('GET', '/api/v1/me'),
    /** Keep a signed-in person's language at the hub ('en', 'es', or null: none chosen): {language}. */
    setLanguage: async (language) => (await call('PUT', '/api/v1/me/preferences', {language})).data,
    channels: async () => (await get('/api/v1/channels')).channels,
    /** {title, stakeholders: [{id, name, sector}], severity_scale: [{level, name, colour, description}]} */
    stakeholders: () => get('/api/v1/stakeholders'),
    crises: async () => (await get('/api/v1/crises')).crises,
    /** {crisis, updates, sitreps, actions, acks} in one answer. */
    crisis: (id) => get(`/api/v1/crises/${enc(id)}`),
    history: async (id) => (await get(`/api/v1/crises/${enc(id)}/history`)).versions,
    object: (id) => get(`/api/v1/objects/${enc(id)}`),
    acknowledge: async (crisisId, item, version) =>
      (await call('POST', `/api/v1/crises/${enc(crisisId)}/acks`, version ? {item, version} : {item})).data,
    updateAction: async (crisisId, actionId, change) =>
      (await call('PATCH', `/api/v1/crises/${enc(crisisId)}/actions/${enc(actionId)}`, change)).data,
    /** The crisis's plan runs this stakeholder may read, oldest first, each step in the playbook's order. */
    plans: async (crisisId) => (await get(`/api/v1/crises/${enc(crisisId)}/plans`)).runs,
    /** Start a stored plan (`playbook--…`) for the crisis now: the run as it stands after its first move. */
    startPlan: async (crisisId, playbookId) =>
      (await call('POST', `/api/v1/crises/${enc(crisisId)}/plans`, {plan: playbookId})).data,
    /** A command line's request to act as this person (crisis-hub login): {user_code, label, address, requested, expires}. */
    loginRequest: (code) => get(`/api/v1/cli-login/${enc(code)}`),
    /** Approve (a personal token is made this person's) or refuse a command line's request. */
    settleLogin: async (code, approve) => (await call('POST', `/api/v1/cli-login/${enc(code)}`, {approve})).data,
    /**
     * One page of a collection's newest object versions of one STIX type, over TAXII 2.1 (the hub's
     * one listing by type): {objects, more, next}. `next` continues where the previous page stopped.
     */
    taxiiObjects: async (channel, type, next) => {
      const query = new URLSearchParams({'match[type]': type});
      if (next) query.set('next', next);
      const path = `/taxii2/api/collections/${enc(channel)}/objects?${query}`;
      return (await call('GET', path, undefined, {accept: TAXII})).data || {};
    },
  };
}

/** Check a token before keeping it: the stakeholder it belongs to, or an ApiError. */
export async function whoIs(token) {
  return createApi({token}).me();
}

/** A request of the signing-in itself (no token; the session cookie, if any): its data, or an ApiError. */
const plain = async (method, path, body) =>
  (await request(method, path, body, {headers: {Accept: 'application/json'}})).data;

/** How one may sign in here: {title, providers: [{id, label, url}], local, token_on_page}. */
export const signInOptions = () => plain('GET', '/api/v1/sign-in');

/** This browser's session, if it has one: {person, label, csrf, via, expires}, or null (the hub says 204). */
export const currentSession = () => plain('GET', '/api/v1/session');

/** Sign in with a password (and one-time code): the new session, or an ApiError. */
export const signInWithPassword = (person, password, code) =>
  plain('POST', '/api/v1/session', {person, password, code});

/** End this session (or, with `everywhere`, every session of the person). */
export async function endSession(csrf, everywhere = false) {
  await fetch(`/api/v1/session${everywhere ? '?everywhere=true' : ''}`, {
    method: 'DELETE', headers: {'X-CSRF-Token': csrf}, credentials: 'same-origin', cache: 'no-store',
  }).catch(() => null);
}
