// The hub's HTTP API, as the page uses it. Same origin only: paths, never absolute URLs.

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

/**
 * A client holding one token. `onUnauthorized` is called on any 401: the token was revoked
 * while the page was open, and the only sensible thing is to sign out and say so.
 */
export function createApi(token, {onUnauthorized} = {}) {
  async function call(method, path, body) {
    const headers = {Authorization: `Bearer ${token}`, Accept: 'application/json'};
    const init = {method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError(0, 'Hub unreachable', 'the hub did not answer; check the network connection');
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = new ApiError(response.status, (data && data.title) || response.statusText || 'Error',
        (data && data.description) || '');
      if (response.status === 401 && onUnauthorized) onUnauthorized(error);
      throw error;
    }
    return {data, date: response.headers.get('Date')};
  }
  const get = async (path) => (await call('GET', path)).data;

  return {
    /** The caller and its rights, plus the hub's clock (the Date header) to correct for skew. */
    me: () => call('GET', '/api/v1/me'),
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
  };
}

/** Check a token before keeping it: the stakeholder it belongs to, or an ApiError. */
export async function whoIs(token) {
  return createApi(token).me();
}
