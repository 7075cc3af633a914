// The top bar: who is signed in, and the state of the live connection — always visible, because
// a room that silently stopped updating is worse than one that says it is reconnecting.

import {h} from '../dom.js';
import {clockTime} from '../format.js';
import {tlpBadge} from '../tlp.js';

const RESUMED_VISIBLE_MS = 60000;
const NOTICE_VISIBLE_MS = 30000;

export function renderWhoami(container, me) {
  // A signed-in person: their name, for their stakeholder; a token: the stakeholder alone.
  const parts = [
    me.person ? h('span', {class: 'who-person', id: 'who-person'}, me.person.name) : null,
    h('span', {class: 'who-name'}, me.person ? `for ${me.name || me.stakeholder}` : (me.name || me.stakeholder)),
    h('span', {class: 'who-id'}, me.stakeholder),
    h('span', {class: 'who-roles'}, (me.roles || []).join(', ')),
    me.tlp_ceiling ? h('span', {class: 'who-tlp', title: 'The highest TLP you may receive'}, 'up to ', tlpBadge(me.tlp_ceiling)) : null,
  ];
  container.replaceChildren(...parts.filter(Boolean));
  container.hidden = false;
}

/** [data-state, text, title] for the connection pill. */
function describeConnection(connection, lastResume) {
  const now = Date.now();
  switch (connection.state) {
    case 'connecting':
      return ['connecting', 'Connecting…', 'Opening the live stream and loading recent history'];
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((connection.retryAt - now) / 1000));
      const text = seconds > 0 ? `Reconnecting in ${seconds} s` : 'Reconnecting…';
      return ['reconnecting', text, `Connection lost (attempt ${connection.attempt}); nothing will be missed: the page resumes from its last event`];
    }
    case 'resuming':
      return ['reconnecting', 'Reconnected, catching up…', 'Replaying what was sent while disconnected'];
    case 'live':
      if (lastResume && now - lastResume.at < RESUMED_VISIBLE_MS) {
        const n = lastResume.count;
        return ['resumed', `Live · resumed ${n} event${n === 1 ? '' : 's'}`,
          `Reconnected at ${clockTime(lastResume.at)}; ${n} event${n === 1 ? '' : 's'} sent meanwhile received`];
      }
      return ['live', 'Live', lastResume ? `Last reconnection ${clockTime(lastResume.at)} (${lastResume.count} events caught up)` : 'Receiving events as they are shared'];
    case 'refused':
      return ['refused', 'Live updates refused', connection.message || 'this stakeholder may not use the live stream'];
    default:
      return ['offline', 'Not connected', ''];
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
  container.replaceChildren(...recent.map((n) => h('p', {class: 'notice'}, `${clockTime(n.at).slice(0, 5)} · ${n.text}`)));
  container.hidden = recent.length === 0;
}
