// TLP 2.0 labels as FIRST defines them: the label in capitals, no spaces, in its colour on black
// (RED #FF2B2B, AMBER #FFC000, GREEN #33FF00, CLEAR white). AMBER+STRICT uses the AMBER colour.
// The colours themselves live in app.css (.tlp-*): the CSP allows no inline style.

import {h} from './dom.js';
import {t} from './i18n.js';

export const TLP_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'];

const LABELS = {
  clear: 'TLP:CLEAR',
  green: 'TLP:GREEN',
  amber: 'TLP:AMBER',
  'amber+strict': 'TLP:AMBER+STRICT',
  red: 'TLP:RED',
};

/** The badge of a TLP token as the API sends it ('amber+strict', …). */
export function tlpBadge(token) {
  const known = Object.hasOwn(LABELS, token);
  return h('span', {
    class: ['tlp', known ? `tlp-${token.replace('+', '-')}` : 'tlp-unknown'],
    title: known ? t(`tlp.meaning.${token}`) : t('tlp.unknown'),
    dataset: {tlp: known ? token : 'unknown'},
  }, known ? LABELS[token] : 'TLP:?');
}
