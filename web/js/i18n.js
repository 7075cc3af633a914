// The page's languages: English and Spanish (Mexico), from one JSON catalog per language
// (/static/i18n/<lang>.json: key → text with {name} fields). Times are the browser's Intl, in the
// hub's time zone, shown with it.
//
//   t('board.title')                       → "Active crises" / "Crisis activas"
//   t('ack.mine', {time: '14:03 CST'})     → "You acknowledged at 14:03 CST" / "Usted acusó recibo a las 14:03 CST"
//   tp('actions.open', 3)                  → the key's .one or .other form, {n} filled
//
// The language: the signed-in person's choice (kept by the hub), else this browser's last choice,
// else the browser's own language, else English.

export const LANGUAGES = ['en', 'es'];
const CHOICE_KEY = 'crisis-hub.language';

let lang = 'en';
let strings = {};
let fallback = {};
// Until the hub says its own (GET /api/v1/me, once signed in): the browser's.
let timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The hub's language of a tag ('es-MX' → 'es'), or null. */
export function languageOf(tag) {
  const primary = String(tag || '').toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.includes(primary) ? primary : null;
}

/**
 * The language to show: the person's, else this browser's choice, else its own languages, else
 * `otherwise` (once signed in, the hub's language: config hub.language), else English.
 */
export function preferredLanguage(personLanguage = null, otherwise = 'en') {
  const choices = [personLanguage, localStorage.getItem(CHOICE_KEY), ...(navigator.languages || [navigator.language])];
  for (const choice of choices) {
    const found = languageOf(choice);
    if (found) return found;
  }
  return languageOf(otherwise) || 'en';
}

const catalogs = new Map(); // language -> its catalog, fetched once per page

async function fetchCatalog(code) {
  if (catalogs.has(code)) return catalogs.get(code);
  const response = await fetch(`/static/i18n/${code}.json`, {cache: 'no-cache', credentials: 'same-origin'});
  if (!response.ok) throw new Error(`no ${code} catalog (${response.status})`);
  const catalog = await response.json();
  catalogs.set(code, catalog);
  return catalog;
}

/** Load a language's catalog and make it the page's (English stays loaded for any key a catalog lacks). */
export async function useLanguage(code) {
  const chosen = languageOf(code) || 'en';
  if (!Object.keys(fallback).length) fallback = await fetchCatalog('en');
  strings = chosen === 'en' ? fallback : await fetchCatalog(chosen);
  lang = chosen;
  document.documentElement.lang = chosen === 'es' ? 'es-MX' : 'en';
  translateStatic(document);
  return chosen;
}

/** Remember this browser's choice (the hub keeps a signed-in person's). */
export function rememberLanguage(code) {
  localStorage.setItem(CHOICE_KEY, code);
}

export function currentLanguage() {
  return lang;
}


/** The hub's time zone, in which every time is shown (from GET /api/v1/me). */
export function setTimeZone(zone) {
  if (!zone) return;
  try {
    new Intl.DateTimeFormat('en', {timeZone: zone});
    timeZone = zone;
  } catch {
    timeZone = 'UTC';
  }
}

export function hubTimeZone() {
  return timeZone;
}

/** The text of `key` in the page's language, its {fields} filled from `params`. */
export function t(key, params = {}) {
  const text = strings[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Whether the catalogs have `key`. */
export function hasKey(key) {
  return key in strings || key in fallback;
}

/**
 * The words for a code the hub sends (a status, a type, a trigger): the catalog's `key` when it has
 * one, else `otherwise` (a code this page does not know yet is shown as the hub wrote it).
 */
export function tOr(key, otherwise, params = {}) {
  return hasKey(key) ? t(key, params) : String(otherwise ?? '');
}

/** The plural form of `key` for `n` (the catalog's `key.one` / `key.other`), {n} and {fields} filled. */
export function tp(key, n, params = {}) {
  const form = new Intl.PluralRules(lang === 'es' ? 'es-MX' : 'en').select(n);
  const chosen = `${key}.${form}` in strings || `${key}.${form}` in fallback ? `${key}.${form}` : `${key}.other`;
  return t(chosen, {n, ...params});
}

/** The locale tag for Intl formatters. */
export function locale() {
  return lang === 'es' ? 'es-MX' : 'en-GB';
}

/** Elements of the static page (index.html) carry their keys: data-i18n (text), data-i18n-<attr>. */
export function translateStatic(root) {
  // A key no catalog has (one could not be loaded) leaves the page's own English in place.
  for (const el of root.querySelectorAll('[data-i18n]')) if (hasKey(el.dataset.i18n)) el.textContent = t(el.dataset.i18n);
  for (const attr of ['placeholder', 'title', 'aria-label']) {
    const name = `i18n${attr.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase())}`;
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      if (hasKey(el.dataset[name])) el.setAttribute(attr, t(el.dataset[name]));
    }
  }
}
