// A line chart drawn as SVG: one line per series (attempt and node) of one
// metric key, against step or time, with axes and the values under the
// pointer.  Attempts differ by colour, nodes by dash.
import {el, svg, fmtNumber} from './util.js';

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const DASHES = [null, '6 3', '2 3', '8 3 2 3'];
const HEIGHT = 220;
const M = {l: 56, r: 14, t: 12, b: 30};

// About N round numbers covering [lo, hi].
function ticks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function fmtClock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit'});
}

export class LineChart {
  constructor(key) {
    this.key = key;
    this.series = new Map(); // "attempt/node" -> {attempt, node, points: [[step, t_ms, v]]}
    this.xMode = 'step';
    this.lastStep = null;
    this.pending = false;
    this.width = 0;
    this.root = el('figure.chart', {'aria-label': `${key} chart`, dataset: {key}});
    this.caption = el('figcaption', {}, el('span.chart-key', {text: key}),
      this.latest = el('span.chart-latest', {'aria-live': 'off'}));
    this.svg = svg('svg', {class: 'chart-svg', height: HEIGHT, role: 'img', 'aria-label': `${key} against step`});
    this.legend = el('ul.legend');
    this.tip = el('div.chart-tip', {hidden: true});
    this.plot = el('div.chart-plot', {}, this.svg, this.tip);
    this.root.append(this.caption, this.plot, this.legend);
    this.svg.addEventListener('pointermove', (e) => this.hover(e));
    this.svg.addEventListener('pointerleave', () => this.unhover());
    this.resize = new ResizeObserver(() => {
      const w = Math.floor(this.plot.clientWidth);
      if (w > 0 && w !== this.width) { this.width = w; this.draw(); }
    });
    this.resize.observe(this.plot);
  }

  destroy() { this.resize.disconnect(); }

  setXMode(mode) {
    this.xMode = mode;
    this.svg.setAttribute('aria-label', `${this.key} against ${mode}`);
    this.schedule();
  }

  // Adds points of one series ([[step, t_ms, value], ...], ascending); a
  // point at or before the series' last step is already there.
  add(attempt, node, points) {
    const id = `${attempt}/${node}`;
    let s = this.series.get(id);
    if (!s) {
      s = {attempt, node, points: []};
      this.series.set(id, s);
    }
    for (const p of points) {
      const last = s.points[s.points.length - 1];
      if (last && p[0] <= last[0]) continue;
      s.points.push(p);
      this.lastStep = p[0];
    }
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  style(s) {
    const attempts = [...new Set([...this.series.values()].map((x) => x.attempt))].sort((a, b) => a - b);
    const nodes = [...new Set([...this.series.values()].map((x) => x.node))].sort();
    return {color: COLORS[attempts.indexOf(s.attempt) % COLORS.length],
      dash: DASHES[nodes.indexOf(s.node) % DASHES.length]};
  }

  x(p) { return this.xMode === 'time' ? p[1] : p[0]; }

  draw() {
    const W = this.width || this.plot.clientWidth || 600;
    const all = [...this.series.values()];
    const pts = all.flatMap((s) => s.points);
    this.svg.replaceChildren();
    this.svg.setAttribute('viewBox', `0 0 ${W} ${HEIGHT}`);
    this.svg.setAttribute('width', W);
    let count = 0;
    if (!pts.length) {
      this.svg.append(svg('text', {x: W / 2, y: HEIGHT / 2, 'text-anchor': 'middle', class: 'axis-label'}, 'no points yet'));
      return;
    }
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const p of pts) {
      const x = this.x(p);
      if (x < x0) x0 = x; if (x > x1) x1 = x;
      if (p[2] < y0) y0 = p[2]; if (p[2] > y1) y1 = p[2];
    }
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
    const pad = (y1 - y0) * 0.05;
    y0 -= pad; y1 += pad;
    const pw = W - M.l - M.r, ph = HEIGHT - M.t - M.b;
    const sx = (v) => M.l + ((v - x0) / (x1 - x0)) * pw;
    const sy = (v) => M.t + (1 - (v - y0) / (y1 - y0)) * ph;
    this.scale = {sx, sy, x0, x1};
    const axes = svg('g', {class: 'axes'});
    for (const t of ticks(y0, y1, 4)) {
      axes.append(svg('line', {x1: M.l, x2: W - M.r, y1: sy(t), y2: sy(t), class: 'grid'}),
        svg('text', {x: M.l - 6, y: sy(t) + 4, 'text-anchor': 'end', class: 'axis-label'}, fmtNumber(t)));
    }
    const nx = Math.max(2, Math.floor(pw / 110));
    for (const t of ticks(x0, x1, nx)) {
      axes.append(svg('line', {x1: sx(t), x2: sx(t), y1: HEIGHT - M.b, y2: HEIGHT - M.b + 4, class: 'tick'}),
        svg('text', {x: sx(t), y: HEIGHT - M.b + 16, 'text-anchor': 'middle', class: 'axis-label'},
          this.xMode === 'time' ? fmtClock(t) : fmtNumber(t)));
    }
    axes.append(svg('line', {x1: M.l, x2: W - M.r, y1: HEIGHT - M.b, y2: HEIGHT - M.b, class: 'axis'}),
      svg('line', {x1: M.l, x2: M.l, y1: M.t, y2: HEIGHT - M.b, class: 'axis'}));
    this.svg.append(axes);
    for (const s of all) {
      const {color, dash} = this.style(s);
      const sorted = this.xMode === 'time' ? s.points : s.points;
      const d = sorted.map((p, i) => `${i ? 'L' : 'M'}${sx(this.x(p)).toFixed(1)},${sy(p[2]).toFixed(1)}`).join('');
      this.svg.append(svg('path', {d, fill: 'none', stroke: color, 'stroke-width': 1.75,
        'stroke-dasharray': dash, 'stroke-linejoin': 'round', class: 'line'}));
      if (s.points.length === 1) {
        const p = s.points[0];
        this.svg.append(svg('circle', {cx: sx(this.x(p)), cy: sy(p[2]), r: 2.5, fill: color}));
      }
      count += s.points.length;
    }
    this.cursor = svg('g', {class: 'cursor', visibility: 'hidden'});
    this.svg.append(this.cursor);
    this.svg.dataset.points = String(count);
    if (this.lastStep !== null) this.svg.dataset.lastStep = String(this.lastStep);
    this.drawLegend(all);
    const latest = all.map((s) => s.points[s.points.length - 1]).sort((a, b) => b[1] - a[1])[0];
    this.latest.textContent = latest ? `${fmtNumber(latest[2])} at step ${latest[0]}` : '';
  }

  drawLegend(all) {
    const items = all.length > 1 || (all[0] && all[0].attempt !== 1) ? all : [];
    this.legend.replaceChildren(...items.map((s) => {
      const {color, dash} = this.style(s);
      const sw = svg('svg', {width: 22, height: 8, 'aria-hidden': 'true'},
        svg('line', {x1: 0, x2: 22, y1: 4, y2: 4, stroke: color, 'stroke-width': 2, 'stroke-dasharray': dash}));
      return el('li', {}, sw, ` attempt ${s.attempt} · ${s.node}`);
    }));
  }

  // The value of each series nearest to the pointer's x.
  hover(e) {
    if (!this.scale || !this.cursor) return;
    const r = this.svg.getBoundingClientRect();
    const px = e.clientX - r.left;
    const {sx, sy, x0, x1} = this.scale;
    const W = r.width;
    const xv = x0 + ((px - M.l) / (W - M.l - M.r)) * (x1 - x0);
    this.cursor.replaceChildren();
    const rows = [];
    let cx = null;
    for (const s of this.series.values()) {
      const p = nearest(s.points, xv, (q) => this.x(q));
      if (!p) continue;
      const {color} = this.style(s);
      cx = sx(this.x(p));
      this.cursor.append(svg('circle', {cx, cy: sy(p[2]), r: 3.5, fill: color, stroke: '#fff'}));
      rows.push([color, `attempt ${s.attempt} · ${s.node}`, `step ${p[0]}`, fmtNumber(p[2])]);
    }
    if (cx === null) return this.unhover();
    this.cursor.prepend(svg('line', {x1: cx, x2: cx, y1: M.t, y2: HEIGHT - M.b, class: 'cursor-line'}));
    this.cursor.setAttribute('visibility', 'visible');
    this.tip.replaceChildren(...rows.map(([c, who, step, v]) => {
      const dot = el('span.dot');
      dot.style.background = c;
      return el('div', {}, dot, `${who}: `, el('b', {text: v}), ` (${step})`);
    }));
    this.tip.hidden = false;
    const left = Math.min(Math.max(cx + 10, 0), Math.max(0, W - this.tip.offsetWidth - 4));
    this.tip.style.left = `${cx + 10 + this.tip.offsetWidth > W ? cx - this.tip.offsetWidth - 10 : left}px`;
  }

  unhover() {
    if (this.cursor) this.cursor.setAttribute('visibility', 'hidden');
    this.tip.hidden = true;
  }
}

function nearest(points, xv, xOf) {
  if (!points.length) return null;
  let lo = 0, hi = points.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xOf(points[mid]) < xv) lo = mid; else hi = mid;
  }
  return Math.abs(xOf(points[lo]) - xv) <= Math.abs(xOf(points[hi]) - xv) ? points[lo] : points[hi];
}
