// Journeys: the list and a form to start one, and a journey's page: its figures, pause, resume,
// delete, and its messages (the log rows of its campaign, GET /api/logs?journeyId=).

import { api } from './api.js';
import { describe, field, h, number, replace, select, status, table, toast, when } from './dom.js';
import { estimator } from './new_campaign.js';
import { blankRule, ruleBuilder } from './rules.js';

export async function journeyList(main, _id, ctx) {
  const { data } = await api('GET', '/api/journeys');
  const columns = [
    { title: 'Name', cell: (j) => h('a', { href: `#/journeys/${j.id}` }, j.name) },
    { title: 'Status', cell: (j) => status(j.status) },
    { title: 'Trigger', cell: (j) => j.trigger.type.replace('_', ' ') },
    { title: 'Delay', num: true, cell: (j) => `${number(j.delaySeconds)} s` },
    { title: 'Created', cell: (j) => when(j.createdAt) },
  ];
  if (ctx.operator) columns.splice(1, 0, { title: 'Owner', cell: (j) => (j.userId === ctx.user.id ? 'you' : j.userId) });
  replace(main, h('h1', {}, 'Journeys'), table(columns, data, 'Journeys'), journeyForm());
}

function journeyForm() {
  const tree = { combinator: 'AND', rules: [blankRule()] };
  const name = h('input', { required: true, maxlength: 200, size: 40 });
  const trigger = select([['enters_segment', 'enters the segment'], ['order_placed', 'places an order']], 'enters_segment');
  const message = h('textarea', { maxlength: 2000 }, 'Hi {{name}}, ');
  const delay = h('input', { type: 'number', min: '0', value: '0' });
  const reentry = select([['once', 'once ever'], ['every', 'again after the cooldown']], 'once');
  const cooldown = h('input', { type: 'number', min: '0', max: '365', value: '30' });
  const existing = h('input', { type: 'checkbox', id: 'include-existing' });
  const quietStart = h('input', { type: 'time' });
  const quietEnd = h('input', { type: 'time' });
  const zone = h('input', { value: Intl.DateTimeFormat().resolvedOptions().timeZone, size: 20 });
  const estimate = h('div', { class: 'estimate', 'aria-live': 'polite' });
  const rulesBox = h('div');
  ruleBuilder(rulesBox, tree, estimator(estimate));
  const error = h('p', { class: 'error', role: 'alert' });
  async function submit(event) {
    event.preventDefault();
    const body = {
      name: name.value.trim(), trigger: { type: trigger.value, ruleGroup: tree }, message: message.value,
      delaySeconds: Number(delay.value), reentry: reentry.value, cooldownDays: Number(cooldown.value), includeExisting: existing.checked,
    };
    if (quietStart.value && quietEnd.value) body.quietHours = { start: quietStart.value, end: quietEnd.value, timezone: zone.value };
    try {
      const { data } = await api('POST', '/api/journeys', body);
      toast('Journey started');
      location.hash = `#/journeys/${data.journeyId}`;
    } catch (e) { error.textContent = `Not started: ${describe(e)}`; }
  }
  return h('form', { onsubmit: submit },
    h('h2', {}, 'New journey'),
    field('Journey name', name),
    field('When a customer', trigger),
    rulesBox, estimate,
    field('Journey message', message, 'Placeholders: {{name}}, {{email}}, {{city}}, {{phone}}'),
    h('div', { class: 'row' }, field('Delay (seconds)', delay), field('Entry', reentry), field('Cooldown (days)', cooldown)),
    h('div', { class: 'row' }, field('Quiet hours from', quietStart), field('until', quietEnd), field('Time zone', zone)),
    h('p', {}, h('label', { class: 'inline', for: 'include-existing' }, existing, 'The segment\'s present members enter too')),
    error,
    h('p', {}, h('button', { type: 'submit' }, 'Start journey')));
}

export async function journeyPage(main, id) {
  const box = h('div');
  const messages = h('div');
  const cursors = [];
  let nextCursor = null;
  const next = h('button', { type: 'button', class: 'plain', onclick() { cursors.push(nextCursor); loadMessages(nextCursor); } }, 'Next page');
  const previous = h('button', { type: 'button', class: 'plain', onclick() { cursors.pop(); loadMessages(cursors.at(-1)); } }, 'Previous page');

  async function act(path, method = 'POST') {
    try { draw((await api(method, `/api/journeys/${id}${path}`)).data); toast('Done'); } catch (e) { toast(`Not done: ${describe(e)}`); }
  }
  function draw(j) {
    const card = (k, v) => h('div', { class: 'card' }, h('div', { class: 'v' }, v), h('div', { class: 'k' }, k));
    replace(box,
      h('h1', {}, j.name, ' ', h('span', { id: 'journey-status' }, status(j.status))),
      h('p', { class: 'muted' }, `When a customer ${j.trigger.type === 'order_placed' ? 'places an order' : 'enters the segment'}`,
        ` · message after ${number(j.delaySeconds)} s · entry ${j.reentry}`, j.quietHours ? ` · quiet ${j.quietHours.start}–${j.quietHours.end} ${j.quietHours.timezone}` : ''),
      h('div', { class: 'cards' }, card('Entered', number(j.entered_count)), card('Sent', number(j.sent_count)),
        card('Failed', number(j.failed_count)), card('Pending', number(j.pending_count)), card('Skipped', number(j.skipped_count)),
        card('Last entry', when(j.last_entry_at))),
      Object.keys(j.skipped || {}).length ? h('p', {}, 'Skipped: ', Object.entries(j.skipped).map(([r, n]) => `${r} ${number(n)}`).join(', ')) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', disabled: j.status !== 'ACTIVE', onclick: () => act('/pause') }, 'Pause'),
        h('button', { type: 'button', disabled: j.status !== 'PAUSED', onclick: () => act('/resume') }, 'Resume'),
        h('button', { type: 'button', class: 'danger', disabled: j.status === 'DELETED', onclick() {
          if (confirm('Delete this journey? It enters nobody from now on; its history stays.')) act('', 'DELETE');
        } }, 'Delete')),
      h('p', {}, j.message));
  }
  async function loadMessages(cursor) {
    const { data, headers } = await api('GET', '/api/logs', undefined, { journeyId: id, limit: 25, cursor });
    nextCursor = headers.get('X-Next-Cursor');
    next.disabled = !nextCursor;
    previous.disabled = cursors.length === 0;
    replace(messages, table([
      { title: 'Customer', cell: (l) => l.email || l.customer_name || l.customerId },
      { title: 'Status', cell: (l) => status(l.status) },
      { title: 'Reason', cell: (l) => l.reason || '' },
      { title: 'Message', cell: (l) => l.personalized_msg },
      { title: 'Written', cell: (l) => when(l.createdAt) },
    ], data, 'Journey messages'));
  }
  draw((await api('GET', `/api/journeys/${id}`)).data);
  replace(main, h('p', {}, h('a', { href: '#/journeys' }, '← Journeys')), box,
    h('h2', {}, 'Messages'), messages, h('div', { class: 'actions' }, previous, next));
  await loadMessages(null);
}
