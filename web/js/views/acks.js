// Who has and has not acknowledged an item (a crisis version, an update, a sitrep), and the
// one-click "Acknowledge" for the signed-in stakeholder when the hub expects it from them.

import {h} from '../dom.js';
import {clockTime, parseTime} from '../format.js';
import {who} from './who.js';

/**
 * @param {object|undefined} item  one entry of GET /api/v1/crises/{id}/acks
 * @param {object} ctx             {state, acknowledge(crisisId, item)}
 */
export function ackStatus(crisisId, item, ctx) {
  if (!item) return null;
  const me = ctx.state.me.stakeholder;
  const done = item.acknowledged || [];
  const pending = item.pending || [];
  const mineDone = done.find((a) => a.stakeholder === me);
  const expectedFromMe = pending.includes(me);
  const total = done.length + pending.length;
  // A stakeholder who acknowledged an earlier version is not one who never looked: say which.
  const info = ctx.state.versionOf(crisisId, item.id, item.version);
  const earlier = info && info.of > 1 ? ctx.state.earlierAcks(crisisId, item.id) : new Map();
  const staleNote = (sid) => {
    const old = earlier.get(sid);
    return old && old.n < info.n ? `acknowledged v${old.n}, not v${info.n}` : '';
  };
  let mine = null;
  if (expectedFromMe) {
    mine = h('button', {
      type: 'button', class: 'btn btn-ack', dataset: {focusKey: `ack:${item.id}:${item.version}`},
      onclick: (e) => ctx.acknowledge(crisisId, item, e.currentTarget),
    }, 'Acknowledge');
  } else if (mineDone) {
    mine = h('span', {class: 'ack-mine'}, `✓ You acknowledged at ${clockTime(parseTime(mineDone.time)).slice(0, 5)}`);
  }
  return h('div', {class: 'acks', dataset: {item: item.id, version: item.version}},
    h('span', {class: ['acks-count', pending.length ? 'acks-open' : 'acks-complete']},
      total ? `${done.length}/${total} acknowledged${info && info.of > 1 ? ` v${info.n}` : ''}` : 'No acknowledgment expected'),
    h('ul', {class: 'ack-chips', 'aria-label': 'Acknowledgments'},
      done.map((a) => h('li', {class: 'ack-chip ack-done', title: `acknowledged at ${clockTime(parseTime(a.time))}`},
        h('span', {'aria-hidden': 'true'}, '✓ '), h('span', {class: 'visually-hidden'}, 'acknowledged: '),
        ...(a.person ? [`${a.person} (`, who(ctx.state, a.stakeholder), ')'] : [who(ctx.state, a.stakeholder)]))),
      pending.map((sid) => {
        const stale = staleNote(sid);
        return h('li', {class: ['ack-chip', 'ack-pending', stale && 'ack-stale'], dataset: {stakeholder: sid},
          title: stale ? `${stale}: the current version is not acknowledged yet` : 'has not acknowledged yet'},
        h('span', {'aria-hidden': 'true'}, '◌ '), h('span', {class: 'visually-hidden'}, 'waiting for: '), who(ctx.state, sid),
        stale ? h('span', {class: 'ack-stale-note'}, ` · ${stale}`) : null);
      })),
    mine);
}
