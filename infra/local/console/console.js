// The local console's page script: polls /console/state and redraws. Plain browser JS, no build step.
const REFRESH_MS = 2000;

const OUTCOMES = [
  { metric: 'TaskSubmitted', label: 'Submitted', color: '#1c7ed6' },
  { metric: 'TaskStarted', label: 'Started', color: '#7048e8' },
  { metric: 'TaskSucceeded', label: 'Succeeded', color: '#2f9e44', tone: 'ok' },
  { metric: 'TaskFailed', label: 'Failed', color: '#e03131', tone: 'bad' },
  { metric: 'TaskRetried', label: 'Retried', color: '#f08c00' },
  { metric: 'TaskCancelled', label: 'Cancelled', color: '#868e96' },
  { metric: 'TaskDeadLettered', label: 'Dead-lettered', color: '#862e9c', tone: 'bad' },
];
const QUEUE_SERIES = [
  { key: 'visible', label: 'Visible', color: '#1c7ed6' },
  { key: 'inFlight', label: 'In flight', color: '#2f9e44' },
  { key: 'delayed', label: 'Delayed', color: '#f08c00' },
  { key: 'deadLetter', label: 'DLQ', color: '#e03131' },
];

const charts = {};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function card(label, value, tone, testId) {
  return element(
    'div',
    { class: `card ${value > 0 && tone ? tone : ''}`, 'data-testid': testId },
    element('div', { class: 'value' }, value ?? '–'),
    element('div', { class: 'label' }, label),
  );
}

function timingCard(label, timing) {
  return element(
    'div',
    { class: 'card timing' },
    element('div', { class: 'value' }, `p50 ${ms(timing.p50)} · p99 ${ms(timing.p99)}`),
    element('div', { class: 'label' }, `${label} (last 10 min)`),
  );
}

const ms = (value) => (value === null || value === undefined ? '–' : `${Math.round(value)} ms`);

function drawChart(id, title, series, data) {
  const container = document.getElementById(id);
  const width = Math.max(300, container.clientWidth);
  if (!charts[id]) {
    charts[id] = new uPlot(
      {
        title,
        width,
        height: 220,
        // Counts start at zero and an idle queue still gets a readable axis.
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max)] } },
        axes: [{}, { size: 50 }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            spanGaps: true,
            // Each point is a count over its bucket (or a sample): steps, not slopes.
            paths: uPlot.paths.stepped({ align: 1 }),
            points: { show: false },
          })),
        ],
      },
      data,
      container,
    );
  } else {
    charts[id].setData(data);
  }
}

function table(columns, rows, empty) {
  if (rows.length === 0) return element('p', { class: 'empty' }, empty);
  return element(
    'table',
    {},
    element('thead', {}, element('tr', {}, ...columns.map((c) => element('th', {}, c.label)))),
    element(
      'tbody',
      {},
      ...rows.map((row) =>
        element(
          'tr',
          { 'data-testid': 'task-row' },
          ...columns.map((c) => element('td', { class: c.className ?? '' }, c.value(row))),
        ),
      ),
    ),
  );
}

function progress(task) {
  if (!task.progress) return '';
  const percent = Math.max(0, Math.min(100, task.progress.percent));
  const bar = element(
    'span',
    { class: 'bar', title: task.progress.message ?? '' },
    element('i', { style: `width:${percent}%` }),
  );
  return element('span', {}, bar, ` ${percent}%`);
}

function render(state) {
  const { metrics, tasks } = state;
  document.getElementById('updated').textContent = `updated ${new Date(state.generatedAt).toLocaleTimeString()}`;

  document
    .getElementById('totals')
    .replaceChildren(...OUTCOMES.map((o) => card(o.label, metrics.totals[o.metric], o.tone, `total-${o.metric}`)));
  document
    .getElementById('timings')
    .replaceChildren(
      timingCard('Attempt duration', metrics.timings.TaskDurationMs),
      timingCard('Queue wait, runnable to first claim', metrics.timings.QueueWaitMs),
    );
  const queue = metrics.queue ?? {};
  document
    .getElementById('now')
    .replaceChildren(
      ...Object.entries(tasks.byStatus).map(([status, count]) =>
        card(status.toLowerCase(), count, status === 'FAILED' ? 'bad' : undefined, `status-${status}`),
      ),
      ...QUEUE_SERIES.map((s) =>
        card(
          `queue: ${s.label.toLowerCase()}`,
          queue[s.key],
          s.key === 'deadLetter' ? 'bad' : undefined,
          `queue-${s.key}`,
        ),
      ),
    );

  const { series } = metrics;
  document.getElementById('throughput-title').textContent = `Throughput (tasks per ${metrics.bucketSeconds} s)`;
  drawChart('throughput-chart', '', OUTCOMES, [series.time, ...OUTCOMES.map((o) => series.counts[o.metric])]);
  drawChart('queue-chart', '', QUEUE_SERIES, [series.time, ...QUEUE_SERIES.map((s) => series.queue[s.key])]);

  document.getElementById('unfinished').replaceChildren(
    table(
      [
        { label: 'Task', value: (t) => t.taskId, className: 'id' },
        { label: 'Type', value: (t) => t.type },
        { label: 'Status', value: (t) => t.status },
        { label: 'Attempt', value: (t) => t.attempt },
        { label: 'Progress', value: progress },
      ],
      tasks.unfinished,
      'Nothing queued or running.',
    ),
  );
  document.getElementById('failures').replaceChildren(
    table(
      [
        { label: 'Task', value: (t) => t.taskId, className: 'id' },
        { label: 'Type', value: (t) => t.type },
        { label: 'Code', value: (t) => t.error?.code ?? '' },
        { label: 'Message', value: (t) => t.error?.message ?? '', className: 'message' },
      ],
      tasks.recentFailures,
      'No failures.',
    ),
  );
}

async function refresh() {
  try {
    const response = await fetch('/console/state', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    document.getElementById('updated').textContent = `cannot reach the local stack (${error.message}); retrying…`;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
