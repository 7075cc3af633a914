// DOM helpers. Everything the hub sends is attacker-controllable (STIX objects are written by
// institutions and foreign partners), so text from the hub only ever enters the page as text nodes
// or plain attribute values — never as markup. There is no innerHTML anywhere in this page.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Attributes that could turn data into code or navigation: never set from here.
const FORBIDDEN_ATTRIBUTES = new Set(['style', 'href', 'src', 'srcdoc', 'action', 'formaction', 'xlink:href']);

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'dataset') {
      for (const [name, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[name] = String(v);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (FORBIDDEN_ATTRIBUTES.has(key.toLowerCase()) || key.toLowerCase().startsWith('on')) {
      throw new Error(`refusing to set the ${key} attribute`);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h('li', {class: 'x', dataset: {id}}, 'text', otherNode). Strings become text nodes. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  appendChildren(el, children);
  return el;
}

/** An SVG element, same rules as h(). */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  appendChildren(el, children);
  return el;
}

/**
 * Replace a container's content, keeping keyboard focus on the "same" control when it is
 * rebuilt (controls carry data-focus-key): a live update must not throw a keyboard user out.
 */
export function replaceKeepingFocus(container, nodes) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focusKey : undefined;
  container.replaceChildren(...nodes);
  if (key) {
    const again = [...container.querySelectorAll('[data-focus-key]')].find((el) => el.dataset.focusKey === key);
    if (again) again.focus({preventScroll: true});
  }
}

/** A colour from the hub, if it is a plain #rrggbb (the only form used as a style value). */
export function safeColour(value, fallback = '#808080') {
  return typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value) ? value : fallback;
}

/** Black or white, whichever reads better on `colour` (WCAG relative luminance). */
export function inkOn(colour) {
  const c = safeColour(colour);
  const channel = (i) => {
    const v = parseInt(c.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return luminance > 0.18 ? '#000000' : '#ffffff';
}

/** Shorten text for one line; the full text goes in a title attribute by the caller. */
export function clip(text, max) {
  const flat = String(text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
