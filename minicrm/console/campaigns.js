// Campaigns: the list, and a campaign's page with its live progress (the SSE stream), controls,
// variants and A/B decision, summary and log.

import { api, stream } from './api.js';
import { describe, field, h, number, percent, replace, select, status, table, toast, when } from './dom.js';

const STARTED = ['SEGMENTING', 'RUNNING', 'TESTING', 'PAUSED'];
const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];
const MESSAGE_STATUSES = ['PENDING', 'SENT', 'FAILED', 'CANCELLED', 'SKIPPED', 'HOLDOUT', 'WAITING'];
const RESENDABLE = ['FAILED', 'CANCELLED', 'SKIPPED', 'SENT'];
const PAGE = 50;

const done = (c) => c.sent_count + c.failed_count + (c.cancelled_count || 0);
const progressOf = (c) => (c.audience_size ? Math.min(1, done(c) / c.audience_size) : FINAL.includes(c.status) ? 1 : 0);

export async function campaignList(main, _id, ctx) {
  const body = h('div');
  const mine = h('input', { type: 'checkbox', id: 'mine' });
  let cursor = null;
  let rows = [];
  const more = h('button', { type: 'button', class: 'plain', onclick: () => load(false) }, 'More campaigns');
  async function load(first) {
    if (first) cursor = null;
    const { data, headers } = await api('POST', '/api/campaigns/get', mine.checked ? { userId: ctx.user.id } : {},
      { limit: PAGE, cursor });
    cursor = headers.get('X-Next-Cursor');
    more.hidden = !cursor;
    const columns = [
      { title: 'Name', cell: (c) => h('a', { href: `#/campaigns/${c.id}` }, c.name) },
      { title: 'Status', cell: (c) => status(c.status) },
      { title: 'Progress', num: true, cell: (c) => percent(progressOf(c), 0) },
      { title: 'Audience', num: true, cell: (c) => number(c.audience_size) },
      { title: 'Sent', num: true, cell: (c) => number(c.sent_count) },
      { title: 'Failed', num: true, cell: (c) => number(c.failed_count) },
      { title: 'Conversions', num: true, cell: (c) => number(c.conversions) },
      { title: 'Conv. rate', num: true, cell: (c) => percent(c.conversion_rate) },
      { title: 'Created', cell: (c) => when(c.createdAt) },
    ];
    if (ctx.operator) columns.splice(1, 0, { title: 'Owner', cell: (c) => (c.userId === ctx.user.id ? 'you' : c.userId) });
    rows = first ? data : [...rows, ...data];
    replace(body, table(columns, rows, 'Campaigns'));
  }
  mine.addEventListener('change', () => load(true));
  replace(main,
    h('h1', {}, 'Campaigns'),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: '#/new' }, 'New campaign'),
      h('button', { type: 'button', class: 'plain', onclick: () => load(true) }, 'Refresh'),
      ctx.operator ? h('label', { class: 'inline', for: 'mine' }, mine, 'Only mine (operators see everyone\'s)') : null),
    body, more);
  await load(true);
}

/** The rate chart: messages sent and failed per second, from the timeline and then from the stream. */
function rateChart(box, campaign) {
  const data = [[], [], []];
  for (const t of campaign.timeline || []) {
    data[0].push(Date.parse(t.window_start) / 1000);
    data[1].push(t.sent);
    data[2].push(t.failed);
  }
  const opts = {
    width: Math.max(320, Math.min(900, box.clientWidth || 800)),
    height: 200,
    title: 'Messages per second',
    series: [{}, { label: 'sent/s', stroke: '#0b57d0', width: 2 }, { label: 'failed/s', stroke: '#b3261e', width: 2 }],
    axes: [
      { space: 90, incrs: [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 21600, 86400],
        values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false })) },
      { label: 'per second' },
    ],
  };
  const chart = window.uPlot ? new window.uPlot(opts, data, box) : null;
  let last = null;
  return (c) => {
    const now = Date.now() / 1000;
    if (last && chart) {
      const seconds = Math.max(0.5, now - last.at);
      data[0].push(now);
      data[1].push(Math.max(0, (c.sent_count - last.sent) / seconds));
      data[2].push(Math.max(0, (c.failed_count - last.failed) / seconds));
      if (data[0].length > 600) data.forEach((s) => s.shift());
      chart.setData(data);
    }
    last = { at: now, sent: c.sent_count, failed: c.failed_count };
  };
}

export async function campaignPage(main, id, ctx) {
  const { data: first } = await api('POST', '/api/campaigns/get', { campaignId: id });
  let campaign = first;
  const controller = new AbortController();

  const statusBox = h('span', { id: 'campaign-status' });
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Progress', 'aria-valuemin': '0', 'aria-valuemax': '100', id: 'progress' },
    h('div', { class: 'sent' }), h('div', { class: 'failed' }), h('div', { class: 'cancelled' }));
  const figures = h('p', { id: 'figures', 'aria-live': 'polite' });
  const cards = h('div', { class: 'cards' });
  const chartBox = h('div', { class: 'chart', id: 'rate-chart' });
  const variantsBox = h('div');
  const summaryBox = h('div', { id: 'summary' });
  const pauseButton = h('button', { type: 'button', onclick: () => control('pause') }, 'Pause');
  const resumeButton = h('button', { type: 'button', onclick: () => control('resume') }, 'Resume');
  const cancelButton = h('button', { type: 'button', class: 'danger', onclick() {
    if (confirm('Cancel this campaign? Its messages not yet sent are cancelled, and this is final.')) control('cancel');
  } }, 'Cancel');
  const testTo = h('input', { size: 40, placeholder: 'ann@example.com, 5d2c…' });
  const testButton = h('button', { type: 'button', class: 'plain', async onclick() {
    const to = testTo.value.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      const { data } = await api('POST', `/api/campaigns/${id}/test`, { to });
      toast(`Test sent: ${data.commIds.length} message(s)`);
    } catch (e) { toast(`Test not sent: ${describe(e)}`); }
  } }, 'Send test');
  const resendChecks = RESENDABLE.map((s) => h('input', { type: 'checkbox', value: s, checked: s === 'FAILED', id: `resend-${s}` }));
  const resendButton = h('button', { type: 'button', class: 'plain', async onclick() {
    const statuses = resendChecks.filter((c) => c.checked).map((c) => c.value);
    try {
      const { data } = await api('POST', `/api/campaigns/${id}/resend`, { statuses });
      toast(`Resend created for ${number(data.audience_size)} customer(s)`);
      location.hash = `#/campaigns/${data.campaignId}`;
    } catch (e) { toast(`No resend: ${describe(e)}`); }
  } }, 'Resend');

  async function control(action) {
    try {
      const { data } = await api('POST', `/api/campaigns/${id}/${action}`);
      update(data);
      toast(`${action[0].toUpperCase()}${action.slice(1)}d`.replace('Cancelld', 'Cancelled'));
      if (!FINAL.includes(data.status)) follow();
    } catch (e) { toast(`Not done: ${describe(e)}`); }
  }

  const logs = logSection(id, first);
  replace(main,
    h('p', {}, h('a', { href: '#/campaigns' }, '← Campaigns')),
    h('h1', {}, first.name, ' ', statusBox),
    h('p', { class: 'muted' }, first.intent, first.resendOf ? [' · a resend of ', h('a', { href: `#/campaigns/${first.resendOf}` }, 'this campaign')] : null,
      ctx.operator && first.userId !== ctx.user.id ? ` · owner ${first.userId}` : null),
    h('section', { 'aria-labelledby': 'progress-h' }, h('h2', { id: 'progress-h' }, 'Progress'), bar, figures, cards, chartBox),
    h('section', { 'aria-labelledby': 'controls-h' }, h('h2', { id: 'controls-h' }, 'Controls'),
      h('div', { class: 'actions' }, pauseButton, resumeButton, cancelButton),
      h('div', { class: 'row' }, field('Test recipients (emails or customer ids, up to 10)', testTo), testButton),
      h('fieldset', {}, h('legend', {}, 'Resend to the customers whose messages ended'),
        resendChecks.map((c) => h('label', { class: 'inline', for: c.id }, c, c.value)), resendButton)),
    variantsBox,
    h('section', { 'aria-labelledby': 'summary-h' }, h('h2', { id: 'summary-h' }, 'Summary'), summaryBox),
    logs.section);

  const chartPoint = rateChart(chartBox, first);

  function update(c) {
    campaign = { ...campaign, ...c };
    c = campaign;
    replace(statusBox, status(c.status));
    const share = progressOf(c);
    const whole = Math.max(1, c.audience_size || done(c));
    bar.children[0].style.width = `${(100 * c.sent_count) / whole}%`;
    bar.children[1].style.width = `${(100 * c.failed_count) / whole}%`;
    bar.children[2].style.width = `${(100 * (c.cancelled_count || 0)) / whole}%`;
    bar.setAttribute('aria-valuenow', String(Math.round(share * 100)));
    bar.dataset.progress = String(Math.round(share * 100));
    replace(figures, `${percent(share, 0)} done: ${number(c.sent_count)} sent, ${number(c.failed_count)} failed, `,
      `${number(c.pending_count)} pending, ${number(c.cancelled_count)} cancelled of ${number(c.audience_size)}`,
      c.current_rate_per_second ? ` · ${number(c.current_rate_per_second, 1)}/s` : '',
      c.eta_seconds ? ` · about ${number(c.eta_seconds)} s to go` : '',
      c.pause_reason && c.status === 'PAUSED' ? ` · paused: ${c.pause_reason}` : '');
    const card = (k, v) => h('div', { class: 'card' }, h('div', { class: 'v' }, v), h('div', { class: 'k' }, k));
    replace(cards,
      card('Delivery rate', percent(c.delivery_rate)),
      card('Conversions', number(c.conversions)),
      card('Conversion rate', percent(c.conversion_rate)),
      card('Revenue', number(c.attributed_revenue, 2)),
      card('Holdout', c.holdout_size ? `${number(c.holdout_size)} (${number(c.holdout_conversions)} conv.)` : '—'),
      card('Lift', c.lift === null || c.lift === undefined ? '—' : `${(c.lift * 100).toFixed(1)} pts`),
      c.sendAt && c.status === 'SCHEDULED' ? card('Starts', when(c.sendAt)) : null);
    pauseButton.disabled = !STARTED.includes(c.status) || (c.status === 'PAUSED' && c.paused_by === 'user');
    resumeButton.disabled = c.status !== 'PAUSED';
    cancelButton.disabled = FINAL.includes(c.status);
    resendButton.disabled = !['COMPLETED', 'CANCELLED'].includes(c.status);
    variantsSection(variantsBox, c);
    replace(summaryBox,
      c.summary ? h('p', {}, c.summary) : h('p', { class: 'muted' }, FINAL.includes(c.status) && c.status !== 'COMPLETED'
        ? (c.failure_reason || `The campaign is ${c.status}.`) : 'Written when the campaign completes.'));
    chartPoint(c);
  }

  let following = null;
  function follow() {
    if (following) return;
    following = stream(`/api/campaigns/${id}/events`, (type, data) => {
      update(data);
      if (type === 'final') logs.reload();
    }, controller.signal).catch((e) => toast(`Live progress stopped: ${describe(e)}`)).finally(() => { following = null; });
  }
  update(first);
  follow();
  await logs.reload();
  return () => controller.abort();
}

function variantsSection(box, c) {
  if (!c.variants || !c.variants.length) return replace(box);
  const decision = c.decision;
  replace(box, h('section', { 'aria-labelledby': 'variants-h' },
    h('h2', { id: 'variants-h' }, 'Variants'),
    table([
      { title: 'Variant', cell: (v) => [v.name, v.name === c.winner ? ' (winner)' : ''] },
      { title: 'Message', cell: (v) => v.message },
      { title: 'Weight', num: true, cell: (v) => number(v.weight, 2) },
      { title: 'Audience', num: true, cell: (v) => number(v.audience_size) },
      { title: 'Sent', num: true, cell: (v) => number(v.sent_count) },
      { title: 'Failed', num: true, cell: (v) => number(v.failed_count) },
      { title: 'Conversions', num: true, cell: (v) => number(v.conversions) },
      { title: 'Conv. rate', num: true, cell: (v) => percent(v.conversion_rate) },
      { title: 'Revenue', num: true, cell: (v) => number(v.attributed_revenue, 2) },
    ], c.variants, 'Variants'),
    c.abTest ? h('p', { id: 'ab-decision' }, decision
      ? `A/B decision: ${decision.winner} (${decision.significant ? 'significant' : 'not significant'}` +
        `${decision.p_value === null || decision.p_value === undefined ? '' : `, p = ${Number(decision.p_value).toFixed(3)}`}). ${decision.reason}`
      : `A/B test on ${c.abTest.testPercent}% by ${c.abTest.metric.replace('_', ' ')}; decided ${c.testingUntil ? `at ${when(c.testingUntil)}` : 'after segmentation'}.`) : null));
}

function logSection(id, campaign) {
  const statusFilter = select([['', 'any'], ...MESSAGE_STATUSES.map((s) => [s, s])], '', { id: 'log-status' });
  const variantFilter = select([['', 'any'], ...(campaign.variants || []).map((v) => [v.name, v.name])], '', { id: 'log-variant' });
  const body = h('div', { id: 'log' });
  const info = h('p', { class: 'muted' });
  const cursors = [];
  const previous = h('button', { type: 'button', class: 'plain', onclick: () => { cursors.pop(); load(cursors.at(-1)); } }, 'Previous page');
  const next = h('button', { type: 'button', class: 'plain' }, 'Next page');
  let nextCursor = null;
  next.addEventListener('click', () => { cursors.push(nextCursor); load(nextCursor); });
  async function load(cursor) {
    const { data, headers } = await api('GET', '/api/logs', undefined, {
      campaignId: id, status: statusFilter.value, variant: variantFilter.value, limit: 25, cursor,
    });
    nextCursor = headers.get('X-Next-Cursor');
    next.disabled = !nextCursor;
    previous.disabled = cursors.length === 0;
    replace(info, `${number(headers.get('X-Total-Count'))} message(s)${headers.get('X-Total-Count-Estimated') ? ' (estimated)' : ''}; page ${cursors.length + 1}`);
    replace(body, table([
      { title: 'Customer', cell: (l) => l.email || l.customer_name || l.customerId },
      { title: 'Status', cell: (l) => [status(l.status), l.test ? ' test' : ''] },
      { title: 'Reason', cell: (l) => l.reason || '' },
      { title: 'Variant', cell: (l) => l.variant || '' },
      { title: 'Message', cell: (l) => l.personalized_msg },
      { title: 'Written', cell: (l) => when(l.createdAt) },
    ], data, 'Message log'));
  }
  const reload = () => { cursors.length = 0; return load(null).catch((e) => replace(body, h('p', { class: 'error' }, describe(e)))); };
  statusFilter.addEventListener('change', reload);
  variantFilter.addEventListener('change', reload);
  const section = h('section', { 'aria-labelledby': 'log-h' },
    h('h2', { id: 'log-h' }, 'Message log'),
    h('div', { class: 'row' }, field('Status', statusFilter), field('Variant', variantFilter)),
    info, body, h('div', { class: 'actions' }, previous, next));
  return { section, reload };
}
