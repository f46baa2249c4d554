// The cost view (GET /api/v1/cost, what `hoist cost -o json` prints): spend
// per day and provider, estimated beside billed, the spending limits drawn
// as lines, and the jobs behind it.
import {api} from './api.js';
import {el, svg, fmtMoney, fmtTime, fmtNumber, stateBadge} from './util.js';

const DAY = 86400000;
const COLORS = ['#2563eb', '#059669', '#d97706', '#7c3aed', '#dc2626', '#0891b2'];

export function costView(main, query) {
  const days = Number(query.get('days')) || 30;
  const banner = el('div.banner', {role: 'alert', hidden: true});
  const range = el('select', {id: 'cost-range', 'aria-label': 'Period'},
    ...[7, 30, 90, 365].map((d) => el('option', {value: d, text: `last ${d} days`})));
  range.value = String(days);
  range.addEventListener('change', () => { location.hash = `#/cost?days=${range.value}`; });
  const body = el('div', {id: 'cost-body'}, el('p.muted', {text: 'Loading…'}));
  main.replaceChildren(el('div.view-head', {}, el('h1', {tabindex: -1, text: 'Cost'}), range), banner, body);

  let closed = false;
  (async () => {
    try {
      const since = Date.now() - days * DAY;
      const r = await api(`/api/v1/cost?since=${since}`);
      if (!closed) render(body, r, since);
    } catch (e) {
      banner.textContent = `Cannot read the cost report: ${e.message}`;
      banner.hidden = false;
      body.replaceChildren();
    }
  })();
  return () => { closed = true; };
}

function dayStart(ms) { const d = new Date(ms); d.setHours(0, 0, 0, 0); return d.getTime(); }
const num = (v) => (typeof v === 'number' && v >= 0 ? v : 0);

function render(body, r, since) {
  const cur = r.currency || 'USD';
  const total = r.total || {};
  const jobs = r.jobs || [];
  // Per day and provider, from the jobs (the day a job was created).
  const providers = [...new Set(jobs.map((j) => j.provider || '?'))].sort();
  const byDay = new Map();
  for (const j of jobs) {
    const d = dayStart(j.created_at_ms || Date.now());
    if (!byDay.has(d)) byDay.set(d, new Map());
    const m = byDay.get(d);
    const p = j.provider || '?';
    const e = m.get(p) || {estimated: 0, billed: 0};
    e.estimated += num(j.estimated);
    e.billed += num(j.billed);
    m.set(p, e);
  }
  const first = dayStart(Math.max(since, Math.min(...[...byDay.keys(), Date.now()])));
  const dayList = [];
  for (let d = first; d <= dayStart(Date.now()); d += DAY) dayList.push(dayStart(d + DAY / 2));

  const limits = r.limits || [];
  body.replaceChildren(
    el('div.cards', {},
      card('Billed', fmtMoney(total.billed, cur)),
      card('Estimated', fmtMoney(total.estimated, cur)),
      card('Jobs', String(jobs.length))),
    el('section.panel', {'aria-labelledby': 'h-daily'},
      el('h2', {id: 'h-daily', text: 'Per day and provider'}),
      dailyChart(dayList, byDay, providers, limits.filter((l) => l.period === 'day'), cur)),
    el('section.panel', {'aria-labelledby': 'h-limits'},
      el('h2', {id: 'h-limits', text: 'Spending limits'}), limitsTable(limits, cur)),
    el('section.panel', {'aria-labelledby': 'h-prov'},
      el('h2', {id: 'h-prov', text: 'Per provider'}),
      table(['Provider', 'Jobs', 'Estimated', 'Billed'], (r.providers || []).map((p) =>
        [p.provider, p.jobs, fmtMoney(p.estimated, cur), fmtMoney(p.billed, cur)]))),
    el('section.panel', {'aria-labelledby': 'h-cjobs'},
      el('h2', {id: 'h-cjobs', text: 'Jobs'}),
      table(['Job', 'State', 'Provider', 'Created', 'Rate', 'Estimated', 'Billed'], jobs.map((j) => {
        const a = (j.attempts || [])[0];
        return [el('a', {href: `#/jobs/${encodeURIComponent(j.id)}`, text: j.name || j.id}), stateBadge(j.state),
          j.provider, fmtTime(j.created_at_ms),
          a && a.rate !== null && a.rate !== undefined ? `${fmtMoney(a.rate, a.currency || cur)}/${a.unit || '?'}` : '–',
          fmtMoney(j.estimated, j.currency || cur), fmtMoney(j.billed, j.currency || cur)];
      }), 'cost-jobs')));
}

function card(label, value) {
  return el('div.card', {}, el('div.card-label', {text: label}), el('div.card-value', {text: value}));
}

function table(heads, rows, id) {
  if (!rows.length) return el('p.muted', {text: 'Nothing in this period.'});
  return el('div.table-wrap', {}, el('table.small', {id},
    el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {scope: 'col', text: h})))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => el('td', {dataset: {label: heads[i]}},
      c instanceof Node ? c : String(c ?? '–'))))))));
}

function limitsTable(limits, cur) {
  if (!limits.length) return el('p.muted', {text: 'No spending limits set (config.yaml: spending_limits).'});
  return el('ul.limits', {}, ...limits.map((l) => {
    const frac = typeof l.fraction === 'number' ? l.fraction : l.amount > 0 ? num(l.used) / l.amount : 0;
    const meter = el('meter', {min: 0, max: 1, low: 0.75, high: 0.9, optimum: 0, value: Math.min(frac, 1)});
    return el('li', {},
      el('div', {}, el('b', {text: `${fmtMoney(l.amount, l.currency || cur)} per ${l.period}`}),
        el('span.muted', {text: ` ${l.provider ? 'on ' + l.provider : 'all providers'}, then ${l.action}`})),
      meter, el('span', {text: ` ${fmtMoney(l.used, l.currency || cur)} used (${fmtNumber(Math.round(frac * 1000) / 10)}%)`}));
  }));
}

// Grouped bars per day (one per provider): billed solid, estimated as an
// outline behind it; a daily limit is a dashed line across.
function dailyChart(dayList, byDay, providers, dayLimits, cur) {
  const W = 720, H = 240, M = {l: 64, r: 12, t: 12, b: 34};
  let max = 0;
  for (const m of byDay.values()) for (const e of m.values()) max = Math.max(max, e.estimated, e.billed);
  for (const l of dayLimits) max = Math.max(max, num(l.amount));
  if (!(max > 0)) max = 1;
  max *= 1.1;
  const pw = W - M.l - M.r, ph = H - M.t - M.b;
  const bw = pw / Math.max(dayList.length, 1);
  const sy = (v) => M.t + ph - (v / max) * ph;
  const g = svg('svg', {viewBox: `0 0 ${W} ${H}`, class: 'cost-svg', role: 'img',
    'aria-label': 'Spend per day and provider, billed and estimated'});
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    g.append(svg('line', {x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v), class: 'grid'}),
      svg('text', {x: M.l - 6, y: sy(v) + 4, 'text-anchor': 'end', class: 'axis-label'},
        fmtMoney(v, cur, max >= 4 ? 0 : max >= 0.4 ? 2 : 3)));
  }
  const every = Math.ceil(dayList.length / 10);
  dayList.forEach((d, i) => {
    const m = byDay.get(d);
    const x = M.l + i * bw;
    if (i % every === 0) {
      g.append(svg('text', {x: x + bw / 2, y: H - M.b + 16, 'text-anchor': 'middle', class: 'axis-label'},
        new Date(d).toLocaleDateString([], {month: 'short', day: 'numeric'})));
    }
    if (!m) return;
    const inner = Math.max(1, (bw * 0.8) / Math.max(providers.length, 1));
    providers.forEach((p, k) => {
      const e = m.get(p);
      if (!e) return;
      const bx = x + bw * 0.1 + k * inner;
      const color = COLORS[k % COLORS.length];
      const label = `${new Date(d).toLocaleDateString()} ${p}: ${fmtMoney(e.billed, cur)} billed, ${fmtMoney(e.estimated, cur)} estimated`;
      g.append(svg('rect', {x: bx, y: sy(e.estimated), width: inner, height: Math.max(0, sy(0) - sy(e.estimated)),
        fill: 'none', stroke: color, 'stroke-dasharray': '3 2'}, svg('title', {}, label)),
      svg('rect', {x: bx, y: sy(e.billed), width: inner, height: Math.max(0, sy(0) - sy(e.billed)), fill: color,
        class: 'bar'}, svg('title', {}, label)));
    });
  });
  for (const l of dayLimits) {
    g.append(svg('line', {x1: M.l, x2: W - M.r, y1: sy(l.amount), y2: sy(l.amount), class: 'limit'}),
      svg('text', {x: W - M.r, y: sy(l.amount) - 4, 'text-anchor': 'end', class: 'limit-label'},
        `limit ${fmtMoney(l.amount, l.currency || cur)}/day${l.provider ? ' ' + l.provider : ''}`));
  }
  g.append(svg('line', {x1: M.l, x2: W - M.r, y1: sy(0), y2: sy(0), class: 'axis'}));
  const legend = el('ul.legend', {}, ...providers.map((p, k) => {
    const sw = svg('svg', {width: 12, height: 12, 'aria-hidden': 'true'}, svg('rect', {width: 12, height: 12, fill: COLORS[k % COLORS.length]}));
    return el('li', {}, sw, ` ${p}`);
  }), el('li.muted', {text: 'solid: billed · dashed outline: estimated · dashed line: daily limit'}));
  return el('div', {}, el('div.cost-chart', {}, g), legend);
}
