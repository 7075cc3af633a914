// Who has and has not acknowledged an item (a crisis version, an update, a sitrep), and the
// one-click "Acknowledge" for the signed-in stakeholder when the hub expects it from them.

import {h} from '../dom.js';
import {clockTime, hourMinute, parseTime, zoned} from '../format.js';
import {t} from '../i18n.js';
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
    return old && old.n < info.n ? t('ack.stale', {old: old.n, current: info.n}) : '';
  };
  let mine = null;
  if (expectedFromMe) {
    mine = h('button', {
      type: 'button', class: 'btn btn-ack', dataset: {focusKey: `ack:${item.id}:${item.version}`},
      onclick: (e) => ctx.acknowledge(crisisId, item, e.currentTarget),
    }, t('ack.button'));
  } else if (mineDone) {
    const at = parseTime(mineDone.time);
    mine = h('span', {class: 'ack-mine'}, `✓ ${t('ack.mine', {time: zoned(hourMinute(at), at)})}`);
  }
  let count = t('ack.none-expected');
  if (total) {
    count = info && info.of > 1 ? t('ack.count.version', {done: done.length, total, n: info.n})
      : t('ack.count', {done: done.length, total});
  }
  return h('div', {class: 'acks', dataset: {item: item.id, version: item.version}},
    h('span', {class: ['acks-count', pending.length ? 'acks-open' : 'acks-complete']}, count),
    h('ul', {class: 'ack-chips', 'aria-label': t('ack.list')},
      done.map((a) => {
        const at = parseTime(a.time);
        return h('li', {class: 'ack-chip ack-done', title: t('ack.done.title', {time: zoned(clockTime(at), at)})},
          h('span', {'aria-hidden': 'true'}, '✓ '), h('span', {class: 'visually-hidden'}, `${t('ack.done.hidden')} `),
          ...(a.person ? [`${a.person} (`, who(ctx.state, a.stakeholder), ')'] : [who(ctx.state, a.stakeholder)]));
      }),
      pending.map((sid) => {
        const stale = staleNote(sid);
        return h('li', {class: ['ack-chip', 'ack-pending', stale && 'ack-stale'], dataset: {stakeholder: sid},
          title: stale ? t('ack.stale.title', {stale}) : t('ack.pending.title')},
        h('span', {'aria-hidden': 'true'}, '◌ '), h('span', {class: 'visually-hidden'}, `${t('ack.pending.hidden')} `),
        who(ctx.state, sid),
        stale ? h('span', {class: 'ack-stale-note'}, ` · ${stale}`) : null);
      })),
    mine);
}
