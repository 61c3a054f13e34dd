// The rule builder: edits the same JSON tree the API takes ({combinator, rules: [rule or group]}),
// the time-window rules (orders_within, spend_within, with their days) included.

import { h, replace, select } from './dom.js';

export const ATTRIBUTES = {
  total_spend: { text: 'Total spend', kind: 'number' },
  visit: { text: 'Visits', kind: 'number' },
  city: { text: 'City', kind: 'text' },
  last_order_date: { text: 'Days since last order', kind: 'number',
    hint: '< 90: last order more than 90 days ago; > 30: within the last 30 days' },
  orders_within: { text: 'Orders within N days', kind: 'number', window: true },
  spend_within: { text: 'Spend within N days', kind: 'number', window: true },
};
const NUMBER_OPERATORS = ['>', '>=', '<', '<=', '=', '!='];
const TEXT_OPERATORS = ['=', '!='];
const MAX_DEPTH = 6;

export const blankRule = () => ({ attribute: 'total_spend', operator: '>', value: 1000 });

/** Renders `tree` into `box`; `onChange(tree)` after every edit (the tree is changed in place). */
export function ruleBuilder(box, tree, onChange) {
  const rerender = () => { replace(box, group(tree, 1, null)); onChange(tree); };
  const changed = () => onChange(tree);

  function group(node, depth, remove) {
    const combinator = select([['AND', 'all of (AND)'], ['OR', 'any of (OR)']], node.combinator, {
      'aria-label': `Match (group at level ${depth})`,
      onchange(e) { node.combinator = e.target.value; changed(); },
    });
    return h('div', { class: 'group', role: 'group', 'aria-label': depth === 1 ? 'Rules' : `Group at level ${depth}` },
      h('div', { class: 'rule' }, h('span', {}, 'Customers matching'), combinator,
        remove ? h('button', { type: 'button', class: 'plain', onclick: remove }, 'Remove group') : null),
      node.rules.map((child, i) => {
        const drop = () => { node.rules.splice(i, 1); rerender(); };
        return 'rules' in child ? group(child, depth + 1, drop) : rule(child, drop);
      }),
      h('div', { class: 'rule' },
        h('button', { type: 'button', class: 'plain', onclick() { node.rules.push(blankRule()); rerender(); } }, 'Add rule'),
        depth < MAX_DEPTH ? h('button', { type: 'button', class: 'plain', onclick() {
          node.rules.push({ combinator: 'AND', rules: [blankRule()] }); rerender();
        } }, 'Add group') : null));
  }

  function rule(node, drop) {
    const spec = ATTRIBUTES[node.attribute] || ATTRIBUTES.total_spend;
    const attribute = select(Object.entries(ATTRIBUTES).map(([k, a]) => [k, a.text]), node.attribute, {
      'aria-label': 'Attribute',
      onchange(e) {
        const next = ATTRIBUTES[e.target.value];
        node.attribute = e.target.value;
        if (next.kind === 'text') { node.operator = '='; node.value = ''; } else if (typeof node.value !== 'number') node.value = 0;
        if (next.window) node.days ??= 30; else delete node.days;
        rerender();
      },
    });
    const operators = spec.kind === 'text' ? TEXT_OPERATORS : NUMBER_OPERATORS;
    const operator = select(operators.map((o) => [o, o]), node.operator, {
      'aria-label': 'Operator', onchange(e) { node.operator = e.target.value; changed(); },
    });
    const value = h('input', {
      'aria-label': 'Value', value: String(node.value ?? ''), size: 10,
      type: spec.kind === 'number' ? 'number' : 'text', step: 'any', title: spec.hint || '',
      oninput(e) {
        const raw = e.target.value;
        node.value = spec.kind === 'number' && raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
        changed();
      },
    });
    const days = spec.window ? h('input', {
      'aria-label': 'Days', type: 'number', min: '1', max: '365', value: String(node.days ?? 30), size: 4,
      oninput(e) { node.days = Number(e.target.value); changed(); },
    }) : null;
    return h('div', { class: 'rule' }, attribute, operator, value,
      days ? [h('span', {}, 'in the last'), days, h('span', {}, 'days')] : null,
      h('button', { type: 'button', class: 'plain', 'aria-label': 'Remove rule', onclick: drop }, '✕'));
  }

  rerender();
  return { set(next) { Object.assign(tree, next); rerender(); } };
}
