// The live stream (GET /api/v1/stream, schemas/stream-*.schema.json) as the page uses it.
//
// How this works. Browsers cannot put a token in a WebSocket's headers, so the first message
// is {"op": "auth"}. Once welcomed, the page subscribes to every channel it may read with
// `since`: the id of the last event it has per channel (or the start of the history window on
// the first connection). The hub replays what came after that id, sends "subscribed", then goes
// live — with no gap and no duplicate at the seam. So after any drop (network, hub restart, a
// "slow-consumer" cut-off) the client reconnects with growing, jittered delays and asks again
// from its last ids: nothing sent meanwhile is lost, and the "replayed" counts tell the room
// how many events it caught up on. A watchdog reconnects when even the hub's heartbeats stop
// arriving (a half-open connection looks open to the browser).

import {compareIds} from './format.js';
import {t} from './i18n.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;
const WATCHDOG_TICK_MS = 5000;

export class StreamClient {
  /**
   * @param {object} options
   * @param {string} options.token
   * @param {string[]} options.channels  channels to follow (those the stakeholder may read)
   * @param {string} options.since       event id where history starts on the first connection
   * @param {(event: object, info: {fresh: boolean}) => void} options.onEvent
   * @param {(status: object) => void} options.onStatus  {state, attempt, retryAt, resumed, message}
   * @param {(text: () => string) => void} options.onNotice  a sentence for the room, in the language it is shown in
   * @param {(text: string) => void} options.onAuthFailed  the token was refused: stop for good
   * @param {() => void} [options.onSettled]  every channel is live again (after each (re)connection)
   */
  constructor(options) {
    this.options = options;
    this.lastIds = {}; // channel -> id of the last event received: where a reconnection resumes
    this.socket = null;
    this.session = null;
    this.stopped = false;
    this.attempt = 0;
    this.settledOnce = false;
    this.heartbeatMs = 15000;
    this.lastMessageAt = 0;
    this.retryTimer = null;
    this.watchdog = null;
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    window.addEventListener('online', this.onOnline);
    this.watchdog = setInterval(() => this.checkAlive(), WATCHDOG_TICK_MS);
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    window.removeEventListener('online', this.onOnline);
    this.drop();
  }

  status(state, extra = {}) {
    this.options.onStatus({state, attempt: this.attempt, ...extra});
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/stream`);
    const session = {ws, pending: new Set(), replayed: 0, resuming: this.settledOnce};
    this.socket = ws;
    this.session = session;
    this.lastMessageAt = Date.now();
    this.status(session.resuming ? 'resuming' : 'connecting');
    // A person's session cookie signs the socket in during its handshake; a token must be sent first.
    ws.addEventListener('open', () => {
      if (this.options.token) ws.send(JSON.stringify({op: 'auth', token: this.options.token}));
    });
    ws.addEventListener('message', (message) => {
      if (this.socket === ws) this.receive(session, message.data);
    });
    ws.addEventListener('close', () => {
      // A socket we already gave up on (watchdog, stop) must not schedule a second reconnection.
      if (this.socket !== ws) return;
      this.socket = null;
      this.retryLater();
    });
  }

  /** Forget the current socket without waiting for its close handshake. */
  drop() {
    const ws = this.socket;
    this.socket = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'client closing');
  }

  retryLater() {
    if (this.stopped) return;
    this.attempt += 1;
    // Exponential backoff with jitter, so that a room full of screens does not reconnect in lockstep.
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.status('reconnecting', {retryAt: Date.now() + delay});
  }

  /** Reconnect at once (the browser says the network is back). */
  reconnectNow() {
    if (this.stopped || (this.socket && this.socket.readyState === WebSocket.OPEN)) return;
    clearTimeout(this.retryTimer);
    this.drop();
    this.connect();
  }

  checkAlive() {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const silentFor = Date.now() - this.lastMessageAt;
    if (silentFor > Math.max(3 * this.heartbeatMs, 20000)) {
      this.options.onNotice(() => t('stream.silent'));
      this.drop();
      this.retryLater();
    }
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  receive(session, data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    this.lastMessageAt = Date.now();
    switch (msg.op) {
      case 'welcome':
        this.welcome(session, msg);
        break;
      case 'event':
        this.event(session, msg.event);
        break;
      case 'subscribed':
        if (typeof msg.position === 'string' && !this.lastIds[msg.channel]) {
          // Nothing received yet on this channel: live delivery starts after `position`.
          this.lastIds[msg.channel] = msg.position;
        }
        session.replayed += Number(msg.replayed) || 0;
        this.channelReady(session, msg.channel);
        break;
      case 'gap':
        this.options.onNotice(() => t('stream.gap', {channel: msg.channel}));
        break;
      case 'bye':
        // The hub is shutting down (or restarting): come back quickly, to it or to another process.
        this.attempt = 0;
        break;
      case 'error':
        this.error(session, msg);
        break;
      default: // heartbeat, pong: only proof of life
        break;
    }
  }

  welcome(session, msg) {
    if (Number(msg.heartbeat) > 0) this.heartbeatMs = Number(msg.heartbeat) * 1000;
    const channels = this.options.channels;
    const since = {};
    for (const channel of channels) since[channel] = this.lastIds[channel] || this.options.since;
    session.pending = new Set(channels);
    if (channels.length === 0) {
      this.settle(session);
      return;
    }
    this.send({op: 'subscribe', channels, since});
  }

  event(session, event) {
    if (!event || typeof event.channel !== 'string' || typeof event.id !== 'string') return;
    const last = this.lastIds[event.channel];
    if (last && compareIds(event.id, last) <= 0) return; // the hub guarantees this; cheap to be sure
    this.lastIds[event.channel] = event.id;
    // History on the first connection is just history; anything replayed after a drop was missed
    // while disconnected, so it is new to the room, like live events.
    const fresh = session.resuming || !session.pending.has(event.channel);
    this.options.onEvent(event, {fresh});
  }

  error(session, msg) {
    if (msg.code === 'unauthorized') {
      this.stop();
      this.options.onAuthFailed(msg.message || 'the token was refused');
      return;
    }
    if (msg.channel && session.pending.has(msg.channel)) {
      this.options.onNotice(() => `${msg.channel}: ${msg.message}`);
      this.channelReady(session, msg.channel);
      return;
    }
    if (msg.code === 'forbidden') {
      // This stakeholder may not use the stream at all: retrying would not change that.
      this.stop();
      this.status('refused', {message: msg.message});
      return;
    }
    if (msg.code === 'slow-consumer') {
      this.options.onNotice(() => t('stream.slow'));
      return; // the hub closes the socket; we resume from our last ids
    }
    this.options.onNotice(() => msg.message || t('stream.error', {code: msg.code}));
  }

  channelReady(session, channel) {
    if (!session.pending.delete(channel)) return;
    if (session.pending.size === 0) this.settle(session);
  }

  settle(session) {
    this.attempt = 0;
    this.settledOnce = true;
    const resumed = session.resuming ? {count: session.replayed, at: Date.now()} : null;
    this.status('live', {resumed});
    if (this.options.onSettled) this.options.onSettled({resumed});
  }
}
