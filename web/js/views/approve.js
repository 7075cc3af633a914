// A command line asking to act as the signed-in person (`crisis-hub login`): the link it printed
// opens the room with ?approve=<code>; the person sees what asks — the label it gave, the address
// it asked from, when — and approves or refuses. What is shown comes from the hub, as text.

import {h} from '../dom.js';
import {clockTime, fullTime, zoned} from '../format.js';
import {t} from '../i18n.js';

/** 14:03:22 CST: a time standing alone, with the hub's zone. */
const at = (ms) => h('time', {title: fullTime(ms)}, zoned(clockTime(ms), ms));

function fact(label, value) {
  return h('div', {class: 'fact-row'}, h('dt', {}, label), h('dd', {}, value));
}

export class ApproveDialog {
  /** `api`: the person's API client; `notice(text)`: a line in the room's notices (a function giving its words). */
  constructor(dialog, {api, notice}) {
    this.dialog = dialog;
    this.api = api;
    this.notice = notice;
    this.code = null;
    this.request = null; // what the hub says of the request, once read
    this.outcome = null; // () => the sentence saying how the answer went, once given
    this.body = dialog.querySelector('#approve-detail');
    this.yes = dialog.querySelector('#approve-yes');
    this.no = dialog.querySelector('#approve-no');
    dialog.querySelector('#approve-close').addEventListener('click', () => dialog.close());
    this.yes.addEventListener('click', () => this.answer(true));
    this.no.addEventListener('click', () => this.answer(false));
  }

  /** Show the request named by `code`, or say in a notice why there is none to answer. */
  async open(code) {
    try {
      this.request = await this.api.loginRequest(code);
    } catch (error) {
      this.notice(() => t('approve.none', {code, reason: error.description || error.message}));
      return;
    }
    this.code = this.request.user_code;
    this.outcome = null;
    this.render();
    this.yes.disabled = false;
    this.no.disabled = false;
    this.yes.hidden = false;
    this.no.hidden = false;
    if (!this.dialog.open) this.dialog.showModal();
    this.no.focus();
  }

  /** Write the request (and the outcome, once answered) in the page's language. */
  render() {
    const request = this.request;
    if (!request) return;
    this.body.replaceChildren(
      h('p', {}, t('approve.intro'), ' ', t('approve.only-if')),
      h('p', {class: 'approve-code', id: 'approve-code'}, request.user_code),
      h('dl', {class: 'facts'},
        fact(t('approve.machine'), request.label || t('approve.no-label')),
        fact(t('approve.from'), request.address || '—'),
        fact(t('approve.asked-at'), at(Date.parse(request.requested))),
        fact(t('approve.expires-at'), at(Date.parse(request.expires)))),
      h('p', {class: 'muted', id: 'approve-result', role: 'status'}, this.outcome ? this.outcome() : ''));
  }

  async answer(approve) {
    this.yes.disabled = true;
    this.no.disabled = true;
    try {
      await this.api.settleLogin(this.code, approve);
      this.outcome = () => (approve ? t('approve.approved') : t('approve.refused'));
      this.yes.hidden = true;
      this.no.hidden = true;
    } catch (error) {
      this.outcome = () => t('approve.failed', {reason: error.description || error.message});
    }
    this.body.querySelector('#approve-result').textContent = this.outcome();
  }
}
