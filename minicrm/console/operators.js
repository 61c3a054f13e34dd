// Operators only: the dead letters (filter, replay one or a topic's), the suppression list (add,
// remove, import a CSV) and the vendor's health. The edge answers a marketer 403 on each.

import { api } from './api.js';
import { describe, field, h, number, percent, replace, table, toast, when } from './dom.js';

export async function deadLetters(main) {
  const topic = h('input', { name: 'topic', size: 20, placeholder: 'orders' });
  const since = h('input', { type: 'datetime-local', name: 'since' });
  const body = h('div', { id: 'dead-letters' });
  const more = h('button', { type: 'button', class: 'plain', onclick: () => load(false) }, 'More');
  const replayTopic = h('button', { type: 'button', class: 'danger', async onclick() {
    if (!confirm(`Replay every dead letter of ${topic.value} not replayed yet?`)) return;
    await replay({ topic: topic.value.trim() });
  } }, 'Replay all of this topic');
  let cursor = null;
  let rows = [];
  async function replay(what) {
    try {
      const { data } = await api('POST', '/api/dead-letters/replay', what);
      toast(data.replayed.length ? `Replayed ${data.replayed.length}: ${data.replayed.join(', ')}` : 'Nothing waiting to replay');
      await load(true);
    } catch (e) { toast(`Not replayed: ${describe(e)}`); }
  }
  async function load(first) {
    if (first) { cursor = null; rows = []; }
    replayTopic.disabled = !topic.value.trim();
    const { data, headers } = await api('GET', '/api/dead-letters', undefined, {
      topic: topic.value.trim(), since: since.value ? new Date(since.value).toISOString() : '', limit: 50, cursor,
    });
    cursor = headers.get('X-Next-Cursor');
    more.hidden = !cursor;
    rows = [...rows, ...data];
    replace(body, table([
      { title: 'Id', num: true, cell: (d) => d.id },
      { title: 'Topic', cell: (d) => d.topic },
      { title: 'Reason', cell: (d) => d.reason },
      { title: 'Record', cell: (d) => h('details', {}, h('summary', {}, d.key || 'payload'), h('pre', {}, JSON.stringify(d.payload, null, 2))) },
      { title: 'Stored', cell: (d) => when(d.created_at) },
      { title: 'Replayed', cell: (d) => (d.replayed_at ? when(d.replayed_at)
        : h('button', { type: 'button', class: 'plain', 'aria-label': `Replay dead letter ${d.id}`, onclick: () => replay({ id: d.id }) }, 'Replay')) },
    ], rows, 'Dead letters'));
  }
  replace(main, h('h1', {}, 'Dead letters'),
    h('p', { class: 'muted' }, 'Records the pipeline could not store, with the reason. A replay publishes a record again onto its topic; every write downstream is idempotent.'),
    h('form', { class: 'row', onsubmit(e) { e.preventDefault(); load(true); } },
      field('Topic', topic), field('Since', since), h('button', { type: 'submit' }, 'Filter'), replayTopic),
    body, more);
  await load(true);
}

/** The emails (and reasons) of a CSV: the first column, or the columns named email and reason. */
export function parseCsv(text) {
  const lines = text.split(/\r?\n/).map((l) => l.split(',').map((c) => c.trim().replace(/^"|"$/g, ''))).filter((c) => c[0]);
  let emailAt = 0, reasonAt = 1;
  if (lines.length && !lines[0].some((c) => c.includes('@'))) {
    const header = lines.shift().map((c) => c.toLowerCase());
    emailAt = Math.max(0, header.indexOf('email'));
    reasonAt = header.indexOf('reason');
  }
  return lines.filter((c) => c[emailAt]?.includes('@'))
    .map((c) => ({ email: c[emailAt], ...(reasonAt >= 0 && c[reasonAt] ? { reason: c[reasonAt] } : {}) }));
}

export async function suppressions(main) {
  const email = h('input', { type: 'email', name: 'email', required: true, size: 30 });
  const reason = h('input', { name: 'reason', size: 30, placeholder: 'opted out' });
  const file = h('input', { type: 'file', accept: '.csv,text/csv' });
  const body = h('div', { id: 'suppressions' });
  const more = h('button', { type: 'button', class: 'plain', onclick: () => load(false) }, 'More');
  let offset = 0;
  let rows = [];
  async function load(first) {
    if (first) { offset = 0; rows = []; }
    const { data } = await api('GET', '/api/suppressions', undefined, { limit: 100, offset });
    offset += data.length;
    more.hidden = data.length < 100;
    rows = [...rows, ...data];
    replace(body, table([
      { title: 'Email', cell: (s) => s.email },
      { title: 'Reason', cell: (s) => s.reason },
      { title: 'Source', cell: (s) => s.source },
      { title: 'Since', cell: (s) => when(s.createdAt) },
      { title: 'Remove', cell: (s) => h('button', { type: 'button', class: 'plain', 'aria-label': `Remove ${s.email}`, async onclick() {
        try { await api('DELETE', `/api/suppressions/${encodeURIComponent(s.email)}`); toast(`${s.email} may be messaged again`); await load(true); } catch (e) { toast(describe(e)); }
      } }, 'Remove') },
    ], rows, 'Suppressions'));
  }
  async function add(items) {
    for (let start = 0; start < items.length; start += 1000) await api('POST', '/api/suppressions', items.slice(start, start + 1000));
    toast(`${number(items.length)} email(s) suppressed`);
    await load(true);
  }
  replace(main, h('h1', {}, 'Suppressions'),
    h('p', { class: 'muted' }, 'Emails never messaged by any campaign or journey; the vendor adds bounces and unsubscribes.'),
    h('form', { class: 'row', async onsubmit(e) {
      e.preventDefault();
      try { await add([{ email: email.value.trim(), ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) }]); email.value = ''; } catch (err) { toast(describe(err)); }
    } }, field('Email', email), field('Reason', reason), h('button', { type: 'submit' }, 'Suppress')),
    h('form', { class: 'row', async onsubmit(e) {
      e.preventDefault();
      if (!file.files[0]) return;
      const items = parseCsv(await file.files[0].text());
      try { await add(items); } catch (err) { toast(`Import stopped: ${describe(err)}`); }
    } }, field('Import a CSV (a column of emails; optional header email,reason)', file), h('button', { type: 'submit', class: 'plain' }, 'Import')),
    body, more);
  await load(true);
}

export async function vendorHealth(main) {
  const box = h('div', { id: 'vendor-health' });
  async function load() {
    const { data } = await api('GET', '/api/vendor-health');
    replace(box,
      h('p', {}, 'Configured vendor: ', h('code', {}, data.configured)),
      table([
        { title: 'Vendor', cell: (v) => v.vendor },
        { title: 'Calls ok', num: true, cell: (v) => number(v.ok) },
        { title: 'Failed', num: true, cell: (v) => number(v.failed) },
        { title: 'Error rate', num: true, cell: (v) => percent(v.error_rate) },
        { title: 'Window', num: true, cell: (v) => (v.window_seconds ? `${number(v.window_seconds)} s` : '—') },
        { title: 'Updated', cell: (v) => [when(v.updated_at), v.fresh ? '' : ' (not live)'] },
        { title: 'Body limit learnt', num: true, cell: (v) => (v.learnt_max_bytes ? `${number(v.learnt_max_bytes)} bytes` : '—') },
      ], data.vendors, 'Vendors'),
      h('h2', {}, 'Campaigns paused by the vendor'),
      table([
        { title: 'Campaign', cell: (c) => h('a', { href: `#/campaigns/${c.id}` }, c.name) },
        { title: 'Why', cell: (c) => c.pause_reason || '' },
        { title: 'Owner', cell: (c) => c.userId },
      ], data.paused_campaigns, 'Paused campaigns'));
  }
  replace(main, h('h1', {}, 'Vendor health'), h('p', { class: 'muted' }, 'Refreshed every 5 seconds, from the live view.'), box);
  await load();
  const timer = setInterval(() => load().catch(() => {}), 5000);
  return () => clearInterval(timer);
}
