// The jobs view: every job with its state, provider, nodes, duration, cost
// and last loss, kept current by the jobs stream; filter by state and
// provider, search by name.
import {api, stream} from './api.js';
import {el, fmtDuration, fmtMoney, fmtNumber, fmtTime, stateBadge, activateOn, ALL_STATES, ACTIVE_STATES} from './util.js';

const PAGE = 100;

export function jobsView(main, query) {
  const filters = {state: query.get('state') || '', provider: query.get('provider') || '', q: query.get('q') || ''};
  const rows = new Map(); // id -> {job, tr}
  const providers = new Set(['local', 'slurm']);
  let cursor = null;
  let fetchSeq = 0;
  const ticker = setInterval(() => { for (const r of rows.values()) renderDuration(r); }, 1000);

  const stateSel = el('select', {id: 'f-state', 'aria-label': 'State'},
    el('option', {value: '', text: 'All states'}),
    ...ALL_STATES.map((s) => el('option', {value: s, text: s})));
  const providerSel = el('select', {id: 'f-provider', 'aria-label': 'Provider'});
  const search = el('input', {id: 'f-q', type: 'search', placeholder: 'Search by name', 'aria-label': 'Search by name',
    autocomplete: 'off'});
  stateSel.value = filters.state;
  search.value = filters.q;
  const count = el('span.muted', {'aria-live': 'polite'});
  const tbody = el('tbody');
  const more = el('button', {type: 'button', hidden: true, text: 'Load more', onclick: () => load(false)});
  const banner = el('div.banner', {role: 'alert', hidden: true});
  const empty = el('p.empty', {hidden: true, text: 'No jobs match. Submit one with: hoist submit job.yaml'});

  main.replaceChildren(
    el('div.view-head', {}, el('h1', {tabindex: -1, text: 'Jobs'}), count),
    el('form.filters', {role: 'search', onsubmit: (e) => e.preventDefault()},
      el('label', {}, el('span.sr', {text: 'State'}), stateSel),
      el('label', {}, el('span.sr', {text: 'Provider'}), providerSel),
      el('label.grow', {}, el('span.sr', {text: 'Name'}), search)),
    banner,
    el('div.table-wrap', {},
      el('table.jobs', {},
        el('thead', {}, el('tr', {},
          ...['Job', 'State', 'Provider', 'Nodes', 'Duration', 'Cost', 'Last loss', 'Updated']
            .map((h) => el('th', {scope: 'col', text: h})))),
        tbody)),
    empty, more);

  function renderProviders() {
    const cur = filters.provider;
    providerSel.replaceChildren(el('option', {value: '', text: 'All providers'}),
      ...[...providers].sort().map((p) => el('option', {value: p, text: p})));
    providerSel.value = cur;
  }
  renderProviders();

  function matches(j) {
    if (filters.state && j.state !== filters.state) return false;
    if (filters.provider && j.provider !== filters.provider) return false;
    if (filters.q) {
      const q = filters.q.toLowerCase();
      if (!(j.name || '').toLowerCase().includes(q) && !j.id.toLowerCase().includes(q)) return false;
    }
    return true;
  }

  function cell(label, ...c) { return el('td', {dataset: {label}}, ...c); }

  function renderDuration(r) {
    const j = r.job;
    let ms = j.duration_ms;
    if (ACTIVE_STATES.includes(j.state) && ms !== null && ms !== undefined) ms += Date.now() - r.seenAt;
    r.dur.textContent = fmtDuration(ms);
  }

  function render(r) {
    const j = r.job;
    const loss = j.last_metrics && typeof j.last_metrics.loss === 'number' ? fmtNumber(j.last_metrics.loss) : '–';
    const c = j.cost;
    const cost = c ? (c.billed !== null && c.billed !== undefined ? fmtMoney(c.billed, c.currency)
      : c.estimated !== null && c.estimated !== undefined ? `≈ ${fmtMoney(c.estimated, c.currency)}` : '–') : '–';
    r.dur = el('span');
    r.tr.replaceChildren(
      // The row takes the focus (Enter or Space opens it): the link is
      // for the mouse and a screen reader, not a second tab stop.
      cell('Job', el('a', {href: `#/jobs/${encodeURIComponent(j.id)}`, text: j.name || j.id, tabindex: -1}),
        el('div.sub', {text: j.id})),
      cell('State', stateBadge(j.state), j.reason ? el('div.sub', {text: j.reason, title: j.reason}) : null),
      cell('Provider', j.provider || '–'),
      cell('Nodes', String(j.nodes ?? '–')),
      cell('Duration', r.dur),
      cell('Cost', cost),
      cell('Last loss', loss),
      cell('Updated', fmtTime(j.updated_at_ms)));
    r.tr.dataset.state = j.state;
    r.tr.setAttribute('aria-label', `${j.name || j.id}, ${j.state}`);
    renderDuration(r);
  }

  function upsert(j, append) {
    if (j.provider && !providers.has(j.provider)) { providers.add(j.provider); renderProviders(); }
    let r = rows.get(j.id);
    if (!matches(j)) {
      if (r) { r.tr.remove(); rows.delete(j.id); }
      return;
    }
    if (!r) {
      const tr = el('tr', {dataset: {id: j.id}});
      activateOn(tr, () => { location.hash = `#/jobs/${encodeURIComponent(j.id)}`; });
      r = {tr};
      rows.set(j.id, r);
      if (append) tbody.append(tr);
      else insertSorted(tr, j);
    }
    r.job = j;
    r.seenAt = Date.now();
    render(r);
  }

  function insertSorted(tr, j) {
    for (const other of tbody.children) {
      const o = rows.get(other.dataset.id);
      if (o && o.job && (o.job.created_at_ms || 0) < (j.created_at_ms || 0)) { tbody.insertBefore(tr, other); return; }
    }
    tbody.append(tr);
  }

  function updateCount() {
    count.textContent = `${rows.size} job${rows.size === 1 ? '' : 's'}${cursor ? ' (more below)' : ''}`;
    empty.hidden = rows.size > 0;
  }

  async function load(first) {
    const seq = ++fetchSeq;
    const p = new URLSearchParams({limit: String(PAGE)});
    if (filters.state) p.set('state', filters.state);
    if (filters.provider) p.set('provider', filters.provider);
    if (filters.q) p.set('q', filters.q);
    if (!first && cursor) p.set('cursor', cursor);
    try {
      const res = await api(`/api/v1/jobs?${p}`);
      if (seq !== fetchSeq) return;
      if (first) { tbody.replaceChildren(); rows.clear(); }
      for (const j of res.jobs) {
        upsert(j, true);
        if (j.updated_at_ms > lastChange) lastChange = j.updated_at_ms;
      }
      cursor = res.next_cursor || null;
      more.hidden = !cursor;
      banner.hidden = true;
    } catch (e) {
      banner.textContent = `Cannot list jobs: ${e.message}`;
      banner.hidden = false;
    }
    updateCount();
  }

  let debounce = null;
  function refilter() {
    filters.state = stateSel.value;
    filters.provider = providerSel.value;
    filters.q = search.value.trim();
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
    history.replaceState(null, '', `#/jobs${p.toString() ? '?' + p : ''}`);
    load(true);
  }
  stateSel.addEventListener('change', refilter);
  providerSel.addEventListener('change', refilter);
  search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(refilter, 250); });

  // A reconnection asks for what changed since the last change seen.
  let lastChange = 0;
  const live = stream(() => `/api/v1/jobs/stream${lastChange ? `?since=${lastChange}` : ''}`, {
    onEvent(type, data) {
      if (type !== 'job' || !data || !data.id) return;
      if (data.updated_at_ms > lastChange) lastChange = data.updated_at_ms;
      upsert(data, false);
      updateCount();
    },
  });
  load(true);

  return () => { live.close(); clearInterval(ticker); clearTimeout(debounce); };
}
