// The REST API client: every request carries "Authorization: Bearer" with
// the token kept in sessionStorage; a 401 asks for the token again.  Streams
// are read with fetch() and a ReadableStream SSE parser (EventSource cannot
// send the header) and reconnect with Last-Event-ID.
import {sleep} from './util.js';

const KEY = 'hoist.api.token';
let asking = null;

// `hoist serve --open` hands the token over once, in the fragment, which no
// request line carries: keep it in this tab's storage and drop it from the
// address bar and the history.
export function takeTokenFromFragment() {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (!m) return;
  const t = decodeURIComponent(m[1]);
  if (t) sessionStorage.setItem(KEY, t);
  history.replaceState(null, '', location.pathname + location.search + '#/jobs');
}

export function hasToken() { return !!sessionStorage.getItem(KEY); }
export function forgetToken() { sessionStorage.removeItem(KEY); }

// Shows the token form (once, however many callers wait) and resolves when
// a token was entered.
export function askToken(why) {
  if (asking) return asking;
  const dlg = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  error.textContent = why || '';
  input.value = '';
  asking = new Promise((resolve) => {
    const onSubmit = (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) { error.textContent = 'Enter the token (hoist serve --print-token prints it).'; return; }
      sessionStorage.setItem(KEY, t);
      input.value = '';
      form.removeEventListener('submit', onSubmit);
      dlg.removeEventListener('cancel', onCancel);
      dlg.close();
      asking = null;
      resolve();
    };
    const onCancel = (e) => e.preventDefault();
    form.addEventListener('submit', onSubmit);
    dlg.addEventListener('cancel', onCancel);
  });
  if (!dlg.open) dlg.showModal();
  input.focus();
  return asking;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function authHeaders(extra) {
  while (!hasToken()) await askToken();
  return {Authorization: 'Bearer ' + sessionStorage.getItem(KEY), ...extra};
}

async function refused() {
  forgetToken();
  await askToken('The server refused that token. Paste the current one (hoist serve --print-token).');
}

// api(path, {method, body, signal, raw}): the parsed JSON answer, or the
// Response itself with raw; throws ApiError with the server's message.
export async function api(path, opts = {}) {
  for (let tries = 0; ; tries++) {
    const headers = await authHeaders(opts.body ? {'Content-Type': 'application/json'} : {});
    const r = await fetch(path, {method: opts.method || 'GET', headers, body: opts.body,
      signal: opts.signal, cache: 'no-store', credentials: 'omit'});
    if (r.status === 401) { await refused(); continue; }
    // hoist serve starting (its API answers once serve.json is written).
    if (r.status === 503 && tries < 10 && (opts.method || 'GET') === 'GET') {
      await sleep(1000 * (Number(r.headers.get('Retry-After')) || 1));
      continue;
    }
    if (!r.ok) {
      let body = null;
      try { body = await r.json(); } catch (e) { /* not JSON */ }
      const err = body && body.error ? body.error : {};
      throw new ApiError(r.status, err.code || 'http_' + r.status, err.message || `${r.status} ${r.statusText}`);
    }
    return opts.raw ? r : r.json();
  }
}

// Listeners of the stream state, for the header's "live" indicator.
const streams = new Set();
let onStreamsChange = () => {};
export function watchStreams(fn) { onStreamsChange = fn; }
function streamsChanged() {
  let live = 0, down = 0, connecting = 0;
  for (const s of streams) {
    if (s.live) live++;
    else if (s.wasLive) down++;
    else connecting++;
  }
  onStreamsChange(live, down, connecting);
}

// stream(path, {onEvent(type, data, id), lastEventId, onOpen}): follows an
// SSE resource until close(); each (re)connection sends the id of the last
// event seen as Last-Event-ID.  PATH may be a function, asked again at each
// (re)connection (a stream without ids resumes by a query parameter).
export function stream(path, opts) {
  const st = {live: false, stopped: false, ctrl: null, lastId: opts.lastEventId ?? null};
  streams.add(st);
  streamsChanged();
  const setLive = (v) => {
    if (v) st.wasLive = true;
    if (st.live !== v) { st.live = v; streamsChanged(); }
  };
  (async () => {
    let delay = 250;
    while (!st.stopped) {
      st.ctrl = new AbortController();
      try {
        const extra = {Accept: 'text/event-stream'};
        if (st.lastId !== null && st.lastId !== undefined) extra['Last-Event-ID'] = String(st.lastId);
        const headers = await authHeaders(extra);
        const url = typeof path === 'function' ? path() : path;
        const r = await fetch(url, {headers, signal: st.ctrl.signal, cache: 'no-store', credentials: 'omit'});
        if (r.status === 401) { await refused(); continue; }
        if (!r.ok || !r.body) throw new ApiError(r.status, 'http_' + r.status, `${url}: ${r.status}`);
        setLive(true);
        delay = 250;
        if (opts.onOpen) opts.onOpen();
        await readEvents(r.body, (type, data, id) => {
          if (id !== null) st.lastId = id;
          try { opts.onEvent(type, data, id); } catch (e) { showFault(e); }
        });
        // The server ended the stream (the job ended, or it restarts).
        delay = Math.max(delay, 2000);
      } catch (e) {
        if (st.stopped) break;
      }
      setLive(false);
      if (st.stopped) break;
      await sleep(delay);
      delay = Math.min(delay * 2, 10000);
    }
  })();
  return {
    close() {
      st.stopped = true;
      streams.delete(st);
      streamsChanged();
      if (st.ctrl) st.ctrl.abort();
    },
  };
}

// The SSE wire format (https://html.spec.whatwg.org/#event-stream-interpretation).
async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let data = [], type = '', id = null;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buf += value;
    for (;;) {
      const i = buf.search(/[\r\n]/);
      if (i < 0) break;
      if (buf[i] === '\r' && i === buf.length - 1) break; // a \n may follow
      const line = buf.slice(0, i);
      buf = buf.slice(buf[i] === '\r' && buf[i + 1] === '\n' ? i + 2 : i + 1);
      if (line === '') {
        if (data.length) {
          const text = data.join('\n');
          let parsed;
          try { parsed = JSON.parse(text); } catch (e) { parsed = text; }
          dispatch(type || 'message', parsed, id);
        }
        data = []; type = '';
        continue;
      }
      if (line[0] === ':') continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let v = c < 0 ? '' : line.slice(c + 1);
      if (v[0] === ' ') v = v.slice(1);
      if (field === 'data') data.push(v);
      else if (field === 'event') type = v;
      else if (field === 'id' && !v.includes('\0')) id = v;
    }
  }
}

// A fault in the page's own code is shown, not only logged.
export function showFault(e) {
  const bar = document.getElementById('fault') || document.body.appendChild(
    Object.assign(document.createElement('div'), {id: 'fault', className: 'fault'}));
  bar.setAttribute('role', 'alert');
  bar.textContent = 'Dashboard error: ' + (e && e.message ? e.message : String(e));
}
