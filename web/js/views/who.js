// Stakeholders by name. Events and crises name stakeholders by id (`banxico`); the room shows
// the display name the hub's config gives (GET /api/v1/stakeholders) and keeps the id at hand,
// as a tooltip and a data attribute, for whoever knows the ids.

import {h} from '../dom.js';

/** A stakeholder as an element: <span class="who" title="Name (id)" data-stakeholder="id">Name</span>. */
export function who(state, id, {tag = 'span', cls} = {}) {
  const name = state.stakeholderName(id);
  return h(tag, {class: ['who', cls], title: id && name !== id ? `${name} (${id})` : id || undefined,
    dataset: {stakeholder: id || undefined}}, name);
}

/** Several stakeholders, comma-separated, each as who() makes it. */
export function whoList(state, ids, options) {
  const list = [];
  for (const id of ids || []) {
    if (list.length) list.push(', ');
    list.push(who(state, id, options));
  }
  return list.length ? list : ['—'];
}

/** Who acted: "Name (Stakeholder)" when a person did (`person` {id, name}), else the stakeholder alone. */
export function actedBy(state, stakeholder, person, options) {
  if (!person) return who(state, stakeholder, options);
  return h('span', {class: 'acted-by', dataset: {person: person.id}}, `${person.name} (`, who(state, stakeholder, options), ')');
}

/** The stakeholders of a plan step that closed its items, each with the person who did, if one did. */
export function closedByList(state, step) {
  const people = new Map((step.done_by_people || []).map((p) => [p.stakeholder, p.person]));
  const list = [];
  for (const id of step.done_by || []) {
    if (list.length) list.push(', ');
    list.push(actedBy(state, id, people.get(id)));
  }
  return list.length ? list : ['—'];
}
