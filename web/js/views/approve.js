// A command line asking to act as the signed-in person (`crisis-hub login`): the link it printed
// opens the room with ?approve=<code>; the person sees what asks — the label it gave, the address
// it asked from, when — and approves or refuses. What is shown comes from the hub, as text.

import {h} from '../dom.js';
import {clockTime} from '../format.js';

function fact(label, value) {
  return h('div', {class: 'fact-row'}, h('dt', {}, label), h('dd', {}, value));
}

export class ApproveDialog {
  /** `api`: the person's API client; `notice(text)`: a line in the room's notices. */
  constructor(dialog, {api, notice}) {
    this.dialog = dialog;
    this.api = api;
    this.notice = notice;
    this.code = null;
    this.body = dialog.querySelector('#approve-detail');
    this.yes = dialog.querySelector('#approve-yes');
    this.no = dialog.querySelector('#approve-no');
    dialog.querySelector('#approve-close').addEventListener('click', () => dialog.close());
    this.yes.addEventListener('click', () => this.answer(true));
    this.no.addEventListener('click', () => this.answer(false));
  }

  /** Show the request named by `code`, or say in a notice why there is none to answer. */
  async open(code) {
    let request;
    try {
      request = await this.api.loginRequest(code);
    } catch (error) {
      this.notice(`No command line to sign in with the code ${code}: ${error.description || error.message}.`);
      return;
    }
    this.code = request.user_code;
    this.body.replaceChildren(
      h('p', {}, 'A command line asks to act as you, with your rights, until its token expires or you sign it out. ',
        'Approve only if you started it yourself and it shows this same code.'),
      h('p', {class: 'approve-code', id: 'approve-code'}, request.user_code),
      h('dl', {class: 'facts'},
        fact('Machine', request.label || '(no label given)'),
        fact('Asked from', request.address || '—'),
        fact('Asked at', clockTime(Date.parse(request.requested))),
        fact('Expires at', clockTime(Date.parse(request.expires)))),
      h('p', {class: 'muted', id: 'approve-result', role: 'status'}));
    this.yes.disabled = false;
    this.no.disabled = false;
    this.yes.hidden = false;
    this.no.hidden = false;
    if (!this.dialog.open) this.dialog.showModal();
    this.no.focus();
  }

  async answer(approve) {
    this.yes.disabled = true;
    this.no.disabled = true;
    const result = this.body.querySelector('#approve-result');
    try {
      await this.api.settleLogin(this.code, approve);
      result.textContent = approve
        ? 'Approved: the command line is signed in as you. You may close this window.'
        : 'Refused: the command line is not signed in.';
      this.yes.hidden = true;
      this.no.hidden = true;
    } catch (error) {
      result.textContent = `The hub did not take the answer: ${error.description || error.message}.`;
    }
  }
}
