// The dashboard's entry: takes a token handed over in the fragment, asks for
// one when there is none, and routes #/jobs, #/jobs/ID and #/cost.
import {takeTokenFromFragment, hasToken, askToken, forgetToken, watchStreams, showFault} from './api.js';
import {jobsView} from './jobs.js';
import {jobView} from './job.js';
import {costView} from './cost.js';

let cleanup = null;

function route() {
  const main = document.getElementById('main');
  const raw = location.hash.replace(/^#/, '') || '/jobs';
  const [path, qs] = raw.split('?');
  const query = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (cleanup) { cleanup(); cleanup = null; }
  let view = 'jobs';
  try {
    if (parts[0] === 'jobs' && parts[1]) cleanup = jobView(main, parts[1]);
    else if (parts[0] === 'cost') { view = 'cost'; cleanup = costView(main, query); }
    else cleanup = jobsView(main, query);
  } catch (e) {
    showFault(e);
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const h1 = main.querySelector('h1');
  if (h1 && document.activeElement !== document.getElementById('token-input')) h1.focus({preventScroll: true});
}

let lastPath = null;
function onHash() {
  // A filter change rewrites the query with replaceState (no hashchange);
  // a real navigation changes the path.
  const path = location.hash.split('?')[0];
  if (path === lastPath && cleanup) return;
  lastPath = path;
  route();
}

async function start() {
  takeTokenFromFragment();
  const conn = document.getElementById('conn');
  watchStreams((live, down, connecting) => {
    conn.textContent = down ? 'reconnecting…' : connecting ? 'connecting…' : live ? 'live' : '';
    conn.dataset.state = down ? 'down' : connecting ? 'connecting' : live ? 'live' : 'idle';
  });
  document.getElementById('forget').addEventListener('click', () => {
    forgetToken();
    askToken('Token forgotten. Paste a token to go on.').then(() => { lastPath = null; onHash(); });
  });
  window.addEventListener('hashchange', onHash);
  window.addEventListener('unhandledrejection', (e) => showFault(e.reason));
  if (!hasToken()) await askToken();
  onHash();
}

start();
