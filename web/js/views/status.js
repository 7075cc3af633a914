// The top bar: who is signed in, and the state of the live connection — always visible, because
// a room that silently stopped updating is worse than one that says it is reconnecting.

import {h} from '../dom.js';
import {clockTime, hourMinute} from '../format.js';
import {t, tp} from '../i18n.js';
import {tlpBadge} from '../tlp.js';

const RESUMED_VISIBLE_MS = 60000;
const NOTICE_VISIBLE_MS = 30000;

export function renderWhoami(container, me) {
  // A signed-in person: their name, for their stakeholder; a token: the stakeholder alone.
  const parts = [
    me.person ? h('span', {class: 'who-person', id: 'who-person'}, me.person.name) : null,
    h('span', {class: 'who-name'}, me.person ? t('whoami.for', {name: me.name || me.stakeholder}) : (me.name || me.stakeholder)),
    h('span', {class: 'who-id'}, me.stakeholder),
    h('span', {class: 'who-roles'}, (me.roles || []).join(', ')), // the hub's config names them: shown as written
    me.tlp_ceiling ? h('span', {class: 'who-tlp', title: t('whoami.tlp.title')}, t('whoami.tlp'), ' ', tlpBadge(me.tlp_ceiling)) : null,
  ];
  container.replaceChildren(...parts.filter(Boolean));
  container.hidden = false;
}

/** [data-state, text, title] for the connection pill. */
function describeConnection(connection, lastResume) {
  const now = Date.now();
  switch (connection.state) {
    case 'connecting':
      return ['connecting', t('connection.connecting'), t('connection.connecting.title')];
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((connection.retryAt - now) / 1000));
      const text = seconds > 0 ? t('connection.reconnecting-in', {n: seconds}) : t('connection.reconnecting');
      return ['reconnecting', text, t('connection.reconnecting.title', {attempt: connection.attempt})];
    }
    case 'resuming':
      return ['reconnecting', t('connection.resuming'), t('connection.resuming.title')];
    case 'live':
      if (lastResume && now - lastResume.at < RESUMED_VISIBLE_MS) {
        const n = lastResume.count;
        return ['resumed', tp('connection.resumed', n), tp('connection.resumed.title', n, {time: clockTime(lastResume.at)})];
      }
      return ['live', t('connection.live'), lastResume
        ? tp('connection.live.last-resume', lastResume.count, {time: clockTime(lastResume.at)}) : t('connection.live.title')];
    case 'refused':
      return ['refused', t('connection.refused'), connection.message || t('connection.refused.title')];
    default:
      return ['offline', t('connection.offline'), ''];
  }
}

export function renderConnection(container, state) {
  const [name, text, title] = describeConnection(state.connection, state.lastResume);
  container.dataset.state = name;
  container.title = title;
  container.querySelector('.connection-text').textContent = text;
}

export function renderNotices(container, state) {
  const now = Date.now();
  const recent = state.notices.filter((n) => now - n.at < NOTICE_VISIBLE_MS);
  container.replaceChildren(...recent.map((n) =>
    h('p', {class: 'notice'}, `${hourMinute(n.at)} · ${typeof n.text === 'function' ? n.text() : n.text}`)));
  container.hidden = recent.length === 0;
}
