// Labels that keep their distinguishing part. A narrow column cuts text at its end, which is
// where "Ransomware C2 198.51.100.23" keeps the fact that tells it from the other C2 addresses:
// so the value (the key) never shrinks and only the rest is cut, and the whole text is in the
// title (pointer) and shown in full when the label or its control has keyboard focus (app.css).

import {h} from '../dom.js';

/** <span class="keyed"><span class="keyed-rest">Ransomware C2</span> <span class="keyed-key">198.51.100.23</span></span> */
export function keyedLabel({rest, key}, {cls, tag = 'span', props = {}} = {}) {
  const full = [rest, key].filter(Boolean).join(' ');
  return h(tag, {class: ['keyed', cls], title: full, ...props},
    rest ? h('span', {class: 'keyed-rest'}, rest) : null,
    rest && key ? ' ' : null,
    key ? h('span', {class: 'keyed-key'}, key) : null);
}
