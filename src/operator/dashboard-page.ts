// The dashboard's page: server-rendered HTML with a small inline script that polls /dashboard.json every second
// and redraws the tables (no build step, nothing downloaded). An admin token given as ?token= is sent on as a
// bearer header, so phones show in full; without one they stay masked.
export const DASHBOARD_POLL_MS = 1000

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.4em}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.muted{color:#888}
#summary span{margin-right:1.5em}
`

const SCRIPT = `
const token = new URLSearchParams(location.search).get('token');
const el = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
function table(id, head, rows) {
  el(id).innerHTML = rows.length === 0 ? '<p class="muted">none</p>' :
    '<table><tr>' + head.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr>' +
    rows.map((r) => '<tr>' + r.map((c) => '<td' + (typeof c === 'number' ? ' class="num"' : '') + '>' + esc(c) + '</td>').join('') + '</tr>').join('') + '</table>';
}
async function poll() {
  try {
    const res = await fetch('dashboard.json', { headers: token ? { authorization: 'Bearer ' + token } : {} });
    const d = await res.json();
    const states = [...new Set(d.runs.flatMap((r) => Object.keys(r.byState)))].sort();
    table('runs', ['run', 'label', 'done', 'total', ...states], d.runs.map((r) => [r.runId, r.label ?? '', r.finished, r.total, ...states.map((s) => r.byState[s] ?? 0)]));
    table('waiting', ['account', 'kind', 'waiting for', 'seconds'], d.waiting.map((w) => [w.account, w.kind, w.step.replace('wait_', ''), w.waitingS]));
    table('flood', ['DC', 'waiting until', 'seconds left', 'seconds summed'], Object.entries(d.floodWaits).map(([dc, f]) => [dc, f.until ?? 'none now', f.leftS, f.totalS]));
    const r = d.sendCodeRates;
    el('rateWindow').textContent = Math.round(r.windowS / 60);
    table('rates', ['scope', 'sent / min', 'paced / min'], [['all DCs', r.global.sentPerMin, r.global.pacedPerMin], ...Object.entries(r.byDc).map(([dc, x]) => ['DC ' + dc, x.sentPerMin, x.pacedPerMin])]);
    table('pacing', ['sendCode', 'count'], Object.entries(d.sendCode).map(([k, v]) => [k, v]));
    table('workerList', ['worker', 'host', 'pid', 'threads', 'jobs running', 'of', 'taking jobs', 'version', 'up (s)', 'last beat (s ago)'], d.workerList.map((w) => [w.id, w.host, w.pid, w.threads, w.activeJobs, w.concurrency, w.running ? 'yes' : 'closing', w.version, w.upS, w.beatAgoS]));
    table('failures', ['account', 'kind', 'state', 'error', 'run', 'finished'], d.recentFailures.map((f) => [f.account, f.kind, f.state, f.error ?? '', f.runId, f.finishedAt]));
    el('workers').textContent = d.workers;
    el('threads').textContent = d.threads;
    el('exceptIds').textContent = d.exceptIds;
    el('masked').textContent = d.phonesMasked ? 'phones masked' : 'phones shown (admin)';
    el('updated').textContent = d.at;
    document.body.dataset.updated = d.at;
  } catch (e) {
    el('updated').textContent = 'update failed: ' + e;
  }
  setTimeout(poll, ${DASHBOARD_POLL_MS});
}
poll();
`

export function dashboardPage(prefix: string): string {
  const p = prefix.replace(/[&<>"]/g, '')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gramfarm ${p}</title><style>${STYLE}</style></head>
<body>
<h1>gramfarm <span class="muted">${p}</span></h1>
<div id="summary"><span>workers alive: <b id="workers">…</b> (<b id="threads">…</b> threads)</span><span>except_ids: <b id="exceptIds">…</b></span>
<span id="masked"></span><span class="muted">updated <span id="updated">…</span></span> <a href="queues">queues</a></div>
<h2>Runs</h2><div id="runs"></div>
<h2>Waiting for a code, password or QR scan</h2><div id="waiting"></div>
<h2>FLOOD_WAITs per DC</h2><div id="flood"></div>
<h2>sendCode pacing</h2>
<p class="muted">rates a minute over the last <span id="rateWindow">…</span> min</p><div id="rates"></div>
<p class="muted">slots since the farm began</p><div id="pacing"></div>
<h2>Workers alive</h2><div id="workerList"></div>
<h2>Recent failures</h2><div id="failures"></div>
<script>${SCRIPT}</script>
</body></html>
`
}
