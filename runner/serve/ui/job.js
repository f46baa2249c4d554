// One job: its facts, cancel and resume (confirmed), charts of every metric
// key, the live log tail per node, the transitions, checkpoints and outputs.
import {api, stream, ApiError} from './api.js';
import {LineChart} from './chart.js';
import {el, fmtDuration, fmtMoney, fmtTime, fmtBytes, stateBadge, ACTIVE_STATES, FINAL_STATES} from './util.js';
import {confirmAction} from './confirm.js';

const LOG_KEEP_CHUNKS = 400;
const RESUMABLE = ['interrupted', 'failed', 'canceled'];

export function jobView(main, id) {
  const enc = encodeURIComponent(id);
  const base = `/api/v1/jobs/${enc}`;
  let job = null;
  // Answers can arrive out of order (a refresh sent before a cancel
  // answered, a stream frame after a newer GET): a job record older than
  // the one drawn, by attempt and then by its last change, is dropped.
  const older = (j) => job && j && (j.attempt < job.attempt ||
    (j.attempt === job.attempt && (j.updated_at_ms ?? 0) < (job.updated_at_ms ?? 0)));
  let closed = false;
  const cleanups = [];

  const banner = el('div.banner', {role: 'alert', hidden: true});
  const title = el('h1', {tabindex: -1, text: id});
  const badge = el('span');
  const facts = el('dl.facts');
  const cancelBtn = el('button.danger', {type: 'button', text: 'Cancel job', hidden: true});
  const resumeBtn = el('button.primary', {type: 'button', text: 'Resume', hidden: true});
  const xToggle = el('select', {id: 'x-mode', 'aria-label': 'Chart x axis'},
    el('option', {value: 'step', text: 'against step'}), el('option', {value: 'time', text: 'against time'}));
  const charts = el('div.charts', {id: 'charts'});
  const chartsEmpty = el('p.empty', {text: 'No metrics yet. A trainer reports them by printing JSON lines such as {"step": 100, "loss": 0.42}.'});
  const nodeSel = el('select', {id: 'log-node', 'aria-label': 'Node'});
  const follow = el('input', {type: 'checkbox', id: 'log-follow', checked: true});
  const logPane = el('pre.log', {id: 'log', tabindex: 0, 'aria-label': 'Log', 'aria-live': 'off'});
  const timeline = el('ol.timeline');
  const checkpoints = el('div');
  const outputs = el('div');

  main.replaceChildren(
    el('p.back', {}, el('a', {href: '#/jobs', text: '← All jobs'})),
    el('div.view-head', {}, title, badge, el('div.actions', {}, resumeBtn, cancelBtn)),
    banner,
    facts,
    el('section.panel', {'aria-labelledby': 'h-metrics'},
      el('div.panel-head', {}, el('h2', {id: 'h-metrics', text: 'Metrics'}), xToggle),
      chartsEmpty, charts),
    el('section.panel', {'aria-labelledby': 'h-log'},
      el('div.panel-head', {}, el('h2', {id: 'h-log', text: 'Log'}),
        el('div.log-controls', {},
          el('label', {}, 'Node ', nodeSel),
          el('label', {}, follow, ' Follow'))),
      logPane),
    el('div.columns', {},
      el('section.panel', {'aria-labelledby': 'h-timeline'}, el('h2', {id: 'h-timeline', text: 'Timeline'}), timeline),
      el('section.panel', {'aria-labelledby': 'h-ckpt'}, el('h2', {id: 'h-ckpt', text: 'Checkpoints'}), checkpoints),
      el('section.panel', {'aria-labelledby': 'h-out'}, el('h2', {id: 'h-out', text: 'Outputs'}), outputs)));

  function showError(what, e) {
    banner.textContent = `${what}: ${e.message}`;
    banner.hidden = false;
  }

  // ---- facts and actions ----
  function renderHead() {
    title.textContent = job.name || job.id;
    badge.replaceChildren(stateBadge(job.state));
    const c = job.cost;
    const items = [
      ['Job', job.id], ['Provider', job.provider], ['Runtime', job.runtime],
      ['Attempt', job.attempt], ['Nodes', job.nodes],
      ['Created', fmtTime(job.created_at_ms)], ['Duration', fmtDuration(job.duration_ms)],
      ['Cost', c ? `${fmtMoney(c.billed, c.currency)} billed, ${fmtMoney(c.estimated, c.currency)} estimated` : '–'],
    ];
    if (job.reason) items.push(['Reason', job.reason]);
    facts.replaceChildren(...items.flatMap(([k, v]) => [el('dt', {text: k}), el('dd', {text: v ?? '–'})]));
    cancelBtn.hidden = !ACTIVE_STATES.includes(job.state);
    resumeBtn.hidden = !RESUMABLE.includes(job.state);
  }

  async function act(verb) {
    const what = verb === 'cancel'
      ? `Cancel job “${job.name || job.id}”? Its running attempt is stopped (a checkpoint is kept where the trainer wrote one).`
      : `Resume job “${job.name || job.id}” as a new attempt from its last checkpoint?`;
    if (!(await confirmAction(what, verb === 'cancel' ? 'Cancel job' : 'Resume'))) return;
    try {
      // A cancel names the attempt it was meant for: sent again late (a
      // browser retries a POST whose connection dropped), it stops nothing new.
      const body = verb === 'cancel' ? JSON.stringify({attempt: job.attempt}) : undefined;
      const j = await api(`${base}/${verb}`, {method: 'POST', body});
      if (!older(j)) job = {...job, ...j};
      renderHead();
      banner.hidden = true;
      // A refresh that was on its way before the answer may have drawn an
      // older state: read the job once more.
      refresh();
    } catch (e) {
      showError(verb === 'cancel' ? 'Cannot cancel' : 'Cannot resume',
        e instanceof ApiError && e.status === 409 ? new Error(`${e.message} (its state no longer allows it)`) : e);
    }
  }
  cancelBtn.addEventListener('click', () => act('cancel'));
  resumeBtn.addEventListener('click', () => act('resume'));

  // ---- the record: transitions, checkpoints, outputs ----
  function renderRecord() {
    timeline.replaceChildren(...(job.transitions || []).map((t) =>
      el('li', {}, el('time', {text: fmtTime(t.at_ms)}), ' ', stateBadge(t.to),
        t.from && t.from !== t.to ? el('span.muted', {text: ` from ${t.from}`}) : null,
        t.reason ? el('div.sub', {text: t.reason}) : null)));
    if (!timeline.children.length) timeline.append(el('li.muted', {text: 'No transitions recorded.'}));
    const cps = job.checkpoints || [];
    checkpoints.replaceChildren(cps.length ? el('table.small', {},
      el('thead', {}, el('tr', {}, ...['Attempt', 'Step', 'Size', 'At'].map((h) => el('th', {scope: 'col', text: h})))),
      el('tbody', {}, ...cps.map((c) => el('tr', {title: c.key},
        el('td', {text: c.attempt}), el('td', {text: c.step ?? '–'}), el('td', {text: fmtBytes(c.size)}),
        el('td', {text: fmtTime(c.at_ms)})))))
      : el('p.muted', {text: 'No checkpoints yet.'}));
    const outs = job.outputs || [];
    outputs.replaceChildren(outs.length ? el('ul.outputs', {}, ...outs.map((o) =>
      el('li', {}, el('button.quiet', {type: 'button', text: o.path, title: `Download ${o.path}`,
        onclick: () => download(o)}), el('span.muted', {text: ` ${fmtBytes(o.size)}`}))))
      : el('p.muted', {text: 'No outputs yet.'}));
    const nodes = job.nodes_list && job.nodes_list.length ? job.nodes_list : ['node0'];
    if ([...nodeSel.options].map((o) => o.value).join() !== nodes.join()) {
      const cur = nodeSel.value || nodes[0];
      nodeSel.replaceChildren(...nodes.map((n) => el('option', {value: n, text: n})));
      nodeSel.value = nodes.includes(cur) ? cur : nodes[0];
    }
  }

  // Outputs need the token: fetched here, handed to the browser as a blob.
  async function download(o) {
    try {
      const r = await api(o.url, {raw: true});
      const url = URL.createObjectURL(await r.blob());
      const a = el('a', {href: url, download: o.path.split('/').pop()});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      showError(`Cannot download ${o.path}`, e);
    }
  }

  // One read at a time; a refresh asked for while one is on its way runs
  // once more after it, since that read may have been answered before the
  // change that asked (a cancel's last transition after a stream frame).
  let refreshing = null;
  let again = false;
  async function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      try {
        const fresh = await api(base);
        if (closed) return;
        if (older(fresh)) return;
        job = fresh;
        renderHead();
        renderRecord();
      } catch (e) {
        showError('Cannot read the job', e);
      } finally {
        refreshing = null;
        if (again && !closed) {
          again = false;
          refresh();
        }
      }
    })();
    return refreshing;
  }

  // ---- metrics ----
  const chartsByKey = new Map();
  function chartFor(key) {
    let c = chartsByKey.get(key);
    if (!c) {
      c = new LineChart(key);
      c.setXMode(xToggle.value);
      chartsByKey.set(key, c);
      const sorted = [...chartsByKey.keys()].sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));
      charts.replaceChildren(...sorted.map((k) => chartsByKey.get(k).root));
      chartsEmpty.hidden = true;
    }
    return c;
  }
  xToggle.addEventListener('change', () => { for (const c of chartsByKey.values()) c.setXMode(xToggle.value); });

  // GET metrics says the id of its last point (last_id); the stream starts
  // after it, so no point printed in between is lost or drawn twice.  A
  // reconnection resumes with Last-Event-ID; chart.add() drops repeats.
  let metricStream = null;
  cleanups.push(() => { if (metricStream) metricStream.close(); });
  (async () => {
    let after = null;
    try {
      const res = await api(`${base}/metrics?points=1000`);
      if (closed) return;
      for (const s of res.series || []) chartFor(s.key).add(s.attempt, s.node, s.points);
      if (typeof res.last_id === 'number') after = res.last_id;
    } catch (e) {
      showError('Cannot read metrics', e);
    }
    if (closed) return;
    metricStream = stream(`${base}/metrics/stream${after !== null ? `?after=${after}` : ''}`, {
      onEvent(type, m) {
        if (type !== 'metric' || !m || typeof m.value !== 'number') return;
        chartFor(m.key).add(m.attempt, m.node, [[m.step, m.t_ms, m.value]]);
      },
    });
  })();

  // ---- log ----
  let logStream = null;
  let logOffset = 0;
  let logGen = 0;
  function appendLog(text) {
    if (!text) return;
    logPane.append(document.createTextNode(text));
    while (logPane.childNodes.length > LOG_KEEP_CHUNKS) logPane.firstChild.remove();
    if (follow.checked) logPane.scrollTop = logPane.scrollHeight;
  }
  async function openLog() {
    const gen = ++logGen;
    if (logStream) logStream.close();
    logStream = null;
    logPane.replaceChildren();
    const node = nodeSel.value || 'node0';
    try {
      const res = await api(`${base}/logs?node=${encodeURIComponent(node)}&tail=200`);
      if (gen !== logGen || closed) return;
      appendLog(res.text);
      logOffset = res.next_offset;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) showError('Cannot read the log', e);
      logOffset = 0;
    }
    if (gen !== logGen || closed) return;
    logStream = stream(`${base}/logs/stream?node=${encodeURIComponent(node)}`, {
      lastEventId: logOffset,
      onEvent(type, d, eid) {
        if (type !== 'log' || !d) return;
        const next = eid !== null ? Number(eid) : d.offset + new TextEncoder().encode(d.text).length;
        if (next <= logOffset) return;
        appendLog(d.text);
        logOffset = next;
      },
    });
  }
  nodeSel.addEventListener('change', openLog);
  follow.addEventListener('change', () => { if (follow.checked) logPane.scrollTop = logPane.scrollHeight; });
  cleanups.push(() => { logGen++; if (logStream) logStream.close(); });

  // ---- the job's own changes ----
  let lastState = null;
  const jobStream = stream('/api/v1/jobs/stream', {
    onEvent(type, j) {
      if (type !== 'job' || !j || j.id !== id || !job) return;
      const attempt = job.attempt;
      if (older(j)) return;
      job = {...job, ...j};
      renderHead();
      if (j.state !== lastState || j.attempt !== attempt) refresh();
      lastState = j.state;
    },
  });
  cleanups.push(() => jobStream.close());
  // Checkpoints and outputs arrive without a state change: looked at again
  // every few seconds until the job is final (an interrupted one is not:
  // a cancel in flight or retry: still moves it).
  const poll = setInterval(() => { if (job && !FINAL_STATES.includes(job.state)) refresh(); }, 5000);
  cleanups.push(() => clearInterval(poll));

  refresh().then(() => { if (!closed && job) { lastState = job.state; openLog(); } });

  return () => { closed = true; for (const f of cleanups) f(); for (const c of chartsByKey.values()) c.destroy(); };
}
