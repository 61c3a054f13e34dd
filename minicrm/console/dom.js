// Building the page: elements made with text nodes only (no HTML from data), and small formatters.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let fieldCount = 0;
/** A labelled control: the label names the input (for screen readers and for the tests). */
export function field(labelText, control, hint) {
  control.id ||= `f${++fieldCount}`;
  const parts = [h('label', { for: control.id }, labelText), control];
  if (hint) {
    const hintEl = h('small', { class: 'muted', id: `${control.id}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
    parts.push(h('br'), hintEl);
  }
  return h('div', {}, parts);
}

export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value) }, text)));
}

export const number = (n, digits = 0) =>
  n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits });
export const percent = (r, digits = 1) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(digits)}%`);
export const when = (t) => (t ? new Date(t).toLocaleString() : '—');
export const status = (s) => h('span', { class: `status ${s}` }, s);

export function table(columns, rows, caption) {
  return h('table', {},
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : '' }, c.title)))),
    h('tbody', {}, rows.length
      ? rows.map((row) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : '' }, c.cell(row)))))
      : h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, 'Nothing yet.'))));
}

export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.textContent = ''; }, 6000);
}

/** An API error as a person reads it: the edge's detail, field by field where it names them. */
export function describe(error) {
  const detail = error.body?.detail;
  if (Array.isArray(detail)) return detail.map((d) => `${d.field ?? d.item ?? ''}: ${d.message}`).join('; ');
  return detail ? String(detail) : error.message;
}
