// Small DOM and formatting helpers shared by the views.

// el('tag.class', {attr: value, onclick: fn}, child...): an element.
export function el(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const e = document.createElement(tag);
  if (classes.length) e.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '–';
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

// Small amounts (a job of a few minutes) keep four decimals unless DIGITS.
export function fmtMoney(v, currency, digits) {
  if (v === null || v === undefined || v < 0) return '–';
  const c = currency || 'USD';
  const n = digits ?? (v !== 0 && v < 1 ? 4 : 2);
  try {
    return new Intl.NumberFormat(undefined, {style: 'currency', currency: c,
      minimumFractionDigits: n, maximumFractionDigits: n}).format(v);
  } catch (e) {
    return `${v.toFixed(4)} ${c}`;
  }
}

export function fmtNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  if (Number.isInteger(v)) return String(v);
  return v.toPrecision(4).replace(/\.?0+$/, '');
}

export function fmtTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

export const ACTIVE_STATES = ['queued', 'building', 'uploading', 'submitted', 'starting', 'running'];
export const ALL_STATES = [...ACTIVE_STATES, 'interrupted', 'succeeded', 'failed', 'canceled'];
// A job in one of these does not move again (interrupted does: a cancel in
// flight ends it canceled, retry: starts its next attempt).
export const FINAL_STATES = ['succeeded', 'failed', 'canceled'];

export function stateBadge(state) {
  return el('span.badge', {dataset: {state: state || 'unknown'}, text: state || 'unknown'});
}

// A row that acts as a link: focusable, opens on click, Enter or Space.
export function activateOn(node, fn) {
  node.tabIndex = 0;
  node.addEventListener('click', (e) => {
    if (e.target.closest('a,button,input,select')) return;
    fn();
  });
  node.addEventListener('keydown', (e) => {
    if (e.target !== node) return;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); fn(); }
  });
}

export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
