// The server's pages: plain JavaScript, no build step. Every text from a run (log lines, names,
// messages) goes into the page through textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child == null ? '' : String(child)));
  }
  return node;
}

function badge(status) {
  const word = status || 'queued';
  return el('span', { class: 'badge ' + word.split(' ')[0] }, word);
}

function seconds(from, to) {
  if (!from) return '';
  const s = ((to ? new Date(to) : new Date()) - new Date(from)) / 1000;
  return s < 60 ? s.toFixed(1) + ' s' : Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
}

function problem(text) {
  const p = $('problem');
  p.hidden = !text;
  p.textContent = text || '';
}

// Viewing may need a token (view: token); the server reads it from this cookie.
async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: 'same-origin' }, options || {}));
  if (response.status === 401 && !(options && options.method === 'POST')) {
    askViewToken();
    throw new Error('this server needs a token to view runs');
  }
  return response;
}

function askViewToken() {
  const box = $('token-box');
  if (box.childElementCount) return;
  const input = el('input', { type: 'password', placeholder: 'view token', id: 'view-token' });
  const button = el('button', { type: 'button' }, 'Sign in');
  button.addEventListener('click', () => {
    document.cookie = 'runner_token=' + encodeURIComponent(input.value) + '; path=/; SameSite=Strict';
    location.reload();
  });
  box.append(input, button);
}

function refOf(run) {
  if (run.pullRequest) return 'PR #' + run.pullRequest + ' → ' + run.branch;
  return run.tag ? 'tag ' + run.tag : run.branch;
}

async function showRuns() {
  try {
    const runs = await (await api('/api/runs?limit=100')).json();
    const body = document.querySelector('#runs tbody');
    body.replaceChildren(...runs.map((run) => el('tr', { 'data-run': run.id },
      el('td', {}, el('a', { href: '/runs/' + run.id }, '#' + run.id)),
      el('td', {}, badge(run.state === 'done' ? run.status : run.state)),
      el('td', {}, run.repository),
      el('td', {}, refOf(run)),
      el('td', {}, el('code', {}, run.commit.slice(0, 10)), ' ', run.title),
      el('td', {}, run.event + (run.untrusted ? ' (fork)' : '')),
      el('td', {}, new Date(run.queued).toLocaleString()),
      el('td', {}, seconds(run.queued, run.started || (run.state === 'queued' ? null : run.queued))),
      el('td', {}, seconds(run.started, run.finished)))));
    problem('');
  } catch (e) {
    problem(e.message);
  }
  setTimeout(showRuns, 3000);
}

// ---- one run ----

const runId = Number(location.pathname.split('/').pop());
const jobState = new Map(); // job id -> status word
const stepRows = new Map(); // "job:step" -> row

function drawGraph(graph) {
  const depth = new Map();
  const byId = new Map(graph.map((j) => [j.id, j]));
  const level = (job, seen = new Set()) => {
    if (depth.has(job.id)) return depth.get(job.id);
    if (seen.has(job.id)) return 0;
    seen.add(job.id);
    const d = Math.max(-1, ...job.needs.filter((n) => byId.has(n)).map((n) => level(byId.get(n), seen))) + 1;
    depth.set(job.id, d);
    return d;
  };
  graph.forEach((j) => level(j));
  const stages = [];
  for (const job of graph) (stages[depth.get(job.id)] ||= []).push(job);
  $('graph').replaceChildren(...stages.map((stage) => el('div', { class: 'stage' }, ...stage.map((job) =>
    el('div', { class: 'node ' + (jobState.get(job.id) || 'pending'), id: 'node-' + job.id },
      el('div', {}, el('strong', {}, job.name), ' ', badge(jobState.get(job.id) || (job.skipReason ? 'skipped' : 'pending'))),
      el('div', { class: 'needs' }, job.needs.length ? 'needs ' + job.needs.join(', ') : ''))))));
}

function setJob(job, status) {
  jobState.set(job, status);
  const node = $('node-' + job);
  if (node) {
    node.className = 'node ' + status.split(' ')[0];
    node.querySelector('.badge').replaceWith(badge(status));
  }
}

function jobTable(job) {
  let section = $('job-' + job);
  if (!section) {
    section = el('div', { class: 'job', id: 'job-' + job }, el('h3', {}, job),
      el('table', {}, el('thead', {}, el('tr', {}, ...['Step', 'Status', 'Time', 'Exit', 'Peak memory', 'CPU', ''].map((h) => el('th', {}, h)))), el('tbody', {})));
    $('jobs').append(section);
  }
  return section.querySelector('tbody');
}

function bytes(n) {
  if (n == null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + units[i];
}

function setStep(job, index, cells) {
  const key = job + ':' + index;
  let row = stepRows.get(key);
  if (!row) {
    row = el('tr', {});
    stepRows.set(key, row);
    jobTable(job).append(row);
  }
  row.replaceChildren(...cells.map((c) => el('td', {}, c)));
}

function stepCells(index, name, status, o) {
  const why = !o ? '' : o.oomKilled ? 'killed: out of memory' : o.timedOut ? 'killed: timed out' : o.cachedFrom ? 'cached from ' + new Date(o.cachedFrom).toLocaleString() : (o.reason || '');
  return [index + '. ' + name, badge(status), o && o.durationMs != null ? (o.durationMs / 1000).toFixed(2) + ' s' : '',
    o && o.exitCode != null ? String(o.exitCode) : '', bytes(o && o.peakMemoryBytes), o && o.cpuMs != null ? (o.cpuMs / 1000).toFixed(2) + ' s' : '', why];
}

function logLine(job, step, isError, text) {
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(el('span', { class: 'tag' }, '[' + job + (step ? ':' + step : '') + '] '), el('span', isError ? { class: 'err' } : {}, text), '\n');
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function onEvent(e) {
  switch (e.type) {
    case 'run_started': drawGraph(e.jobs); break;
    case 'job_started': setJob(e.job, 'running'); break;
    case 'step_started': setStep(e.job, e.step, [e.step + '. ' + e.name, badge('running'), '', '', '', '', '']); break;
    case 'step_finished': {
      const r = e.result; const o = r.outcome || {};
      setStep(e.job, r.index, stepCells(r.index, r.name, r.status.replace('_', ' '), {
        durationMs: o.duration != null ? o.duration * 1000 : null, exitCode: o.exitCode, peakMemoryBytes: o.peakMemoryBytes,
        cpuMs: o.cpuTime != null ? o.cpuTime * 1000 : null, oomKilled: o.oomKilled, timedOut: o.timedOut, cachedFrom: o.cachedFrom, reason: r.reason }));
      break;
    }
    case 'job_finished': setJob(e.job, e.result.status.replace('_', ' ')); break;
    case 'output': logLine(e.job, e.step, e.isError, e.line); break;
    case 'notice': logLine(e.job || 'run', 0, false, e.message); break;
    default: break;
  }
}

async function loadRun() {
  const response = await api('/api/runs/' + runId);
  if (response.status === 404) { problem('there is no run ' + runId); return null; }
  return response.json();
}

function showSummary(detail) {
  const run = detail.run;
  document.title = 'runner: run ' + run.id;
  $('title').replaceChildren('Run #' + run.id + ' ', badge(run.state === 'done' ? run.status : run.state));
  const rows = [['Repository', run.repository], ['Ref', refOf(run)], ['Commit', run.commit], ['Message', run.title], ['Author', run.author],
    ['Event', run.event + (run.untrusted ? ' (from a fork: no secrets)' : '')], ['Queued', new Date(run.queued).toLocaleString()],
    ['Waited', seconds(run.queued, run.started)], ['Took', seconds(run.started, run.finished)], ['Attempt', String(run.attempt)], ['Note', run.note || '']];
  $('summary').replaceChildren(...rows.flatMap(([k, v]) => [el('span', { class: 'muted' }, k), el('span', {}, v)]));
  $('cancel').disabled = run.state === 'done';
  const artifacts = detail.artifacts || [];
  $('artifacts').replaceChildren(...(artifacts.length ? artifacts.map((a) => el('li', {}, el('a', { href: a.url }, a.job + ': ' + a.path), ' ', el('span', { class: 'muted' }, bytes(a.size))))
    : [el('li', { class: 'muted' }, 'none')]));
}

function showRecorded(detail) {
  for (const job of detail.jobs) {
    jobState.set(job.id, job.status);
    for (const s of job.steps) setStep(job.id, s.index, stepCells(s.index, s.name, s.status, s));
  }
  drawGraph(detail.graph.length ? detail.graph : detail.jobs.map((j) => ({ id: j.id, name: j.id, needs: [], steps: [] })));
}

async function adminPost(action) {
  let token = sessionStorage.getItem('runner-admin');
  if (!token) {
    token = prompt('Admin token');
    if (!token) return;
  }
  const response = await fetch('/api/runs/' + runId + '/' + action, { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) { sessionStorage.removeItem('runner-admin'); problem(answer.error); return; }
  sessionStorage.setItem('runner-admin', token);
  if (!response.ok) { problem(answer.error || ('HTTP ' + response.status)); return; }
  if (action === 'rerun' && answer.run) location.href = '/runs/' + answer.run;
}

async function showRun() {
  $('cancel').addEventListener('click', () => adminPost('cancel'));
  $('rerun').addEventListener('click', () => adminPost('rerun'));
  let detail;
  try { detail = await loadRun(); } catch (e) { problem(e.message); return; }
  if (!detail) return;
  showSummary(detail);
  if (!detail.live) {
    showRecorded(detail);
    if (detail.run.state === 'done') {
      const lines = await (await api('/api/runs/' + runId + '/logs')).json();
      lines.forEach((l) => logLine(l.job, l.step, l.isError, l.text));
      return;
    }
  }
  // Queued or running: follow its events; when it ends, show its record.
  $('live').hidden = false;
  const events = new EventSource('/api/runs/' + runId + '/events');
  events.onmessage = (m) => onEvent(JSON.parse(m.data));
  events.addEventListener('end', async () => {
    events.close();
    $('live').hidden = true;
    const done = await loadRun();
    showSummary(done);
    showRecorded(done);
  });
}

document.addEventListener('DOMContentLoaded', () => {
  if (document.body.dataset.page === 'runs') showRuns(); else showRun();
});
