// The twin's dashboard. Plain DOM, no framework, no build step. Everything shown
// that comes from the pipeline (quarantined input above all) is set as text,
// never as HTML: a producer's bytes must not become markup here.

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat('en');
const SVG = 'http://www.w3.org/2000/svg';

async function get(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function text(id, value) {
  const el = $(id);
  if (el.textContent !== value) el.textContent = value;
}

function cell(row, value, className) {
  const td = document.createElement('td');
  td.textContent = value === undefined || value === null ? '' : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

/** Records per second over the last `seconds`, from cumulative samples. */
function rate(samples, field, seconds = 10) {
  if (samples.length < 2) return 0;
  const last = samples[samples.length - 1];
  const first = samples[Math.max(0, samples.length - 1 - seconds)];
  const dt = (last.t - first.t) / 1000;
  return dt > 0 ? Math.max(0, (last[field] - first[field]) / dt) : 0;
}

/** The charts' time window: the samples' span in whole minutes, from one up to the ten minutes the twin keeps. */
function windowMinutes(times) {
  const span = times.length ? times[times.length - 1] - times[0] : 0;
  return Math.min(10, Math.max(1, Math.ceil(span / 60_000)));
}

function axisLabel(svg, x, y, anchor, value) {
  const label = document.createElementNS(SVG, 'text');
  label.setAttribute('x', String(x));
  label.setAttribute('y', String(y));
  label.setAttribute('class', 'axis');
  label.setAttribute('text-anchor', anchor);
  label.textContent = value;
  svg.appendChild(label);
}

/**
 * A small line chart: one path per series, drawn in the order given (put the
 * widest first: each later, thinner line stays visible on top of it), a few grid
 * lines, the max on the left, the window's start and "now" under the time axis.
 */
function chart(svg, series, { perSecond = false } = {}) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 600,
    H = 160,
    top = 8,
    bottom = 14;
  const lines = series.map((s) => {
    const values = perSecond
      ? s.values.slice(1).map((v, i) => Math.max(0, (v - s.values[i]) / Math.max(0.001, (s.times[i + 1] - s.times[i]) / 1000)))
      : s.values;
    return { ...s, values };
  });
  // Time runs left to right over whole minutes (at least one), so that a fresh twin's few samples sit at the right, not stretched.
  const times = series[0] ? (perSecond ? series[0].times.slice(1) : series[0].times) : [];
  const end = times.length ? times[times.length - 1] : Date.now();
  const minutes = windowMinutes(series[0] ? series[0].times : []);
  const start = end - minutes * 60_000;
  const x = (i) => (((times[i] ?? end) - start) / Math.max(1, end - start)) * W;
  const max = Math.max(1, ...lines.flatMap((l) => l.values));
  for (let i = 0; i <= 4; i++) {
    const y = top + ((H - top - bottom) * i) / 4;
    const g = document.createElementNS(SVG, 'line');
    g.setAttribute('x1', '0');
    g.setAttribute('x2', String(W));
    g.setAttribute('y1', String(y));
    g.setAttribute('y2', String(y));
    g.setAttribute('class', 'grid');
    svg.appendChild(g);
  }
  axisLabel(svg, 2, 10, 'start', fmt.format(Math.round(max)));
  axisLabel(svg, 2, H - 2, 'start', `${minutes} min ago`);
  axisLabel(svg, W - 2, H - 2, 'end', 'now');
  for (const line of lines) {
    if (line.values.length === 0) continue;
    const d = line.values
      .map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${(H - bottom - (v / max) * (H - top - bottom)).toFixed(1)}`)
      .join(' ');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    path.setAttribute('class', line.className);
    svg.appendChild(path);
  }
}

async function refreshStatus() {
  const s = await get('/status');
  text('accepted-count', fmt.format(s.api.accepted));
  text('quarantined-count', fmt.format(s.api.quarantinedRecords));
  text('replayed-count', fmt.format(s.firehose.replayedEvents));
  text('stream-records-count', fmt.format(s.api.streamRecords));
  const perRecord = s.api.streamRecords > 0 ? s.api.accepted / s.api.streamRecords : 0;
  text('stream-records-detail', `Kinesis records, ${perRecord.toFixed(1)} events each`);
  text('delivered-count', fmt.format(s.firehose.deliveredEvents));
  text('delivered-files', `${fmt.format(s.firehose.deliveredFiles)} files · ${fmt.format(s.firehose.deliveredRecords)} Kinesis records`);
  const streamed = s.streaming ? s.streaming.channels.reduce((n, c) => n + c.rowsInserted, 0) : 0;
  text('loaded-count', fmt.format(s.streaming ? streamed : s.snowpipe.loadedRows));
  text('skipped-count', fmt.format(s.snowpipe.skippedFiles));
  text('lag-records', fmt.format(s.lag.bufferedEvents));
  if (s.streaming) {
    // Streaming: the lag that matters is the consumer's (records read and not yet committed); Firehose only archives.
    text('lag-records', fmt.format(s.lag.streamingRecords ?? 0));
    text('lag-detail', `Kinesis records not yet committed, oldest ${((s.lag.oldestStreamingMs ?? 0) / 1000).toFixed(1)} s`);
  } else {
    text('lag-detail', `buffered, oldest ${(s.lag.oldestBufferedMs / 1000).toFixed(1)} s · ${s.lag.filesWaiting} files waiting`);
  }
  renderChannels(s.streaming);
  const contracts = s.contracts
    ? `contracts: ${s.contracts.mode}${s.contracts.mode === 'warn' ? ` · ${fmt.format(s.api.schemaWarnings)} warnings` : ''}`
    : '';
  text('contracts', contracts);
  const failure = $('failure');
  failure.hidden = !s.deliveryFailed;
  if (s.deliveryFailed) text('failure', `Delivery failed: ${s.deliveryFailed}`);
  text('updated', `updated ${new Date().toLocaleTimeString()}`);
}

async function refreshSeries() {
  const { samples } = await get('/ui/api/series');
  const times = samples.map((x) => x.t);
  const series = (field, className) => ({ values: samples.map((x) => x[field]), times, className });
  // Accepted first and widest: the quarantined and loaded lines often run along it (or along zero with it).
  chart($('throughput-chart'), [series('accepted', 'accepted'), series('loaded', 'loaded'), series('quarantined', 'quarantined')], {
    perSecond: true,
  });
  const minutes = windowMinutes(times);
  text('chart-window', minutes === 1 ? 'last minute' : `last ${minutes} minutes`);
  chart($('lag-chart'), [series('bufferedEvents', 'buffered'), series('filesWaiting', 'waiting')]);
  text('accepted-rate', `${fmt.format(Math.round(rate(samples, 'accepted')))} /s`);
  text('quarantined-rate', `${fmt.format(Math.round(rate(samples, 'quarantined')))} /s`);
  text('loaded-rate', `${fmt.format(Math.round(rate(samples, 'loaded')))} /s`);
}

let selected;
async function showObject(key, row) {
  selected = key;
  for (const r of $('quarantine-list').tBodies[0].rows) r.classList.toggle('selected', r === row);
  text('quarantine-key', key);
  try {
    const object = await get(`/ui/api/quarantine/object?key=${encodeURIComponent(key)}`);
    $('quarantine-detail').textContent = JSON.stringify(object, null, 2);
  } catch (error) {
    $('quarantine-detail').textContent = String(error);
  }
}

async function refreshQuarantine() {
  const { objects } = await get('/ui/api/quarantine');
  const body = $('quarantine-list').tBodies[0];
  const fresh = document.createElement('tbody');
  for (const o of objects) {
    const row = document.createElement('tr');
    row.dataset.key = o.key;
    cell(row, o.received_at ? new Date(o.received_at).toLocaleTimeString() : '');
    cell(row, o.status);
    cell(row, (o.reasons || []).join(', '), 'reasons');
    cell(row, o.rejected);
    cell(row, o.producer || '');
    if (o.key === selected) row.classList.add('selected');
    row.addEventListener('click', () => showObject(o.key, row));
    fresh.appendChild(row);
  }
  body.replaceWith(fresh);
  $('quarantine-empty').hidden = objects.length > 0;
}

/** Delivery mode streaming: a row per shard, its channel's committed offset beside the consumer's checkpoint. */
function renderChannels(streaming) {
  $('streaming').hidden = !streaming;
  if (!streaming) return;
  const fresh = document.createElement('tbody');
  for (const shard of streaming.consumer.shards) {
    const channel = streaming.channels.find((c) => c.channel.endsWith(`-${shard.shardId}`));
    const row = document.createElement('tr');
    cell(row, channel ? channel.channel : `(${shard.shardId}: not opened yet)`);
    cell(row, channel?.offsetToken ?? '–');
    cell(row, fmt.format(channel?.rowsInserted ?? 0));
    cell(row, fmt.format(channel?.rowsErrorCount ?? 0));
    cell(row, shard.checkpoint ?? '–');
    cell(row, fmt.format(shard.pendingRecords));
    cell(row, `${(shard.oldestPendingMs / 1000).toFixed(1)} s`);
    fresh.appendChild(row);
  }
  $('channels').tBodies[0].replaceWith(fresh);
}

async function refreshCopyHistory() {
  const { rows } = await get('/ui/api/copy-history');
  const fresh = document.createElement('tbody');
  for (const r of rows) {
    const row = document.createElement('tr');
    cell(row, r.file_name);
    cell(row, r.status, `status-${r.status}`);
    cell(row, r.row_count);
    cell(row, r.first_error_message ? `line ${r.first_error_line_number}: ${r.first_error_message}` : '');
    cell(row, r.last_load_time);
    fresh.appendChild(row);
  }
  $('copy-history').tBodies[0].replaceWith(fresh);
}

async function runQuery(event) {
  event.preventDefault();
  const error = $('query-error');
  error.hidden = true;
  const table = $('query-result');
  try {
    // The same guard as `pnpm query`: a loopback, same-origin request with this header.
    const response = await fetch('/query', { method: 'POST', body: $('query-input').value, headers: { 'x-snowgate-query': '1' } });
    const result = await response.json();
    if (!response.ok) throw new Error(result.message || `HTTP ${response.status}`);
    const head = document.createElement('thead');
    const hr = document.createElement('tr');
    for (const c of result.columns) {
      const th = document.createElement('th');
      th.textContent = c;
      hr.appendChild(th);
    }
    head.appendChild(hr);
    const body = document.createElement('tbody');
    for (const r of result.rows) {
      const row = document.createElement('tr');
      for (const c of result.columns) cell(row, typeof r[c] === 'object' && r[c] !== null ? JSON.stringify(r[c]) : r[c]);
      body.appendChild(row);
    }
    table.tHead.replaceWith(head);
    table.tBodies[0].replaceWith(body);
    table.dataset.rows = String(result.rows.length);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
}

function every(ms, work) {
  const tick = () =>
    work()
      .catch((e) => text('updated', `not reachable: ${e.message}`))
      .finally(() => setTimeout(tick, ms));
  tick();
}

$('query-form').addEventListener('submit', runQuery);
every(1000, refreshStatus);
every(2000, refreshSeries);
every(2000, refreshQuarantine);
every(3000, refreshCopyHistory);
