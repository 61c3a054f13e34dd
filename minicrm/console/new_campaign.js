// A new campaign: name and message (with the AI's suggestions), the rule builder (or plain words to
// rules, by the AI) with the live audience estimate, variants and an A/B test, schedule, holdout.

import { api } from './api.js';
import { describe, field, h, number, replace, select, toast } from './dom.js';
import { blankRule, ruleBuilder } from './rules.js';

export function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

/**
 * The audience estimate of a rule tree, kept fresh as it changes; the newest answer wins.
 * `data-state` is `pending` from an edit until the answer for it is shown, then `done`.
 */
export function estimator(box) {
  let asked = 0;
  const ask = debounce(async (tree) => {
    const mine = ++asked;
    box.setAttribute('aria-busy', 'true');
    try {
      const { data } = await api('POST', '/api/campaigns/get', { ruleGroup: tree });
      if (mine !== asked) return;
      const left = data.excluded.opted_out + data.excluded.frequency_capped;
      replace(box, h('strong', { id: 'estimate' }, `${data.audience_estimated ? 'about ' : ''}${number(data.audience_size)} customers`),
        left ? ` (${number(data.excluded.opted_out)} opted out, ${number(data.excluded.frequency_capped)} capped, left out)` : '',
        h('br'), h('span', { class: 'muted' }, data.intent));
    } catch (e) {
      if (mine === asked) replace(box, h('span', { class: 'error', id: 'estimate-error' }, describe(e)));
    } finally {
      if (mine === asked) { box.removeAttribute('aria-busy'); box.dataset.state = 'done'; }
    }
  }, 300);
  return (tree) => { box.dataset.state = 'pending'; ask(structuredClone(tree)); };
}

export async function newCampaign(main) {
  const tree = { combinator: 'AND', rules: [blankRule()] };
  const name = h('input', { name: 'name', required: true, maxlength: 200, size: 40 });
  const message = h('textarea', { name: 'message', maxlength: 2000 }, 'Hi {{name}}, ');
  const objective = h('input', { name: 'objective', size: 40, placeholder: 'win back customers with 10% off' });
  const suggestions = h('div', { 'aria-live': 'polite' });
  const words = h('input', { name: 'words', size: 50, placeholder: 'spent over 5000 and ordered in the last 30 days' });
  const estimate = h('div', { class: 'estimate', 'aria-live': 'polite', id: 'estimate-box' }, 'Estimating…');
  const json = h('pre', { id: 'rule-json' });
  const rulesBox = h('div');
  const estimateOf = estimator(estimate);
  const builder = ruleBuilder(rulesBox, tree, (t) => { json.textContent = JSON.stringify(t, null, 2); estimateOf(t); });

  const useVariants = h('input', { type: 'checkbox', id: 'use-variants' });
  const variantRows = h('div');
  const variants = [{ name: 'A', message: '', weight: 1 }, { name: 'B', message: '', weight: 1 }];
  const useAb = h('input', { type: 'checkbox', id: 'use-ab' });
  const testPercent = h('input', { type: 'number', min: '1', max: '90', value: '20' });
  const metric = select([['conversion_rate', 'conversion rate'], ['delivery_rate', 'delivery rate']], 'conversion_rate');
  const decideAfter = h('input', { type: 'number', min: '1', value: '3600' });
  const variantBox = h('div', { hidden: true }, variantRows,
    h('button', { type: 'button', class: 'plain', onclick() {
      if (variants.length < 5) { variants.push({ name: String.fromCharCode(65 + variants.length), message: '', weight: 1 }); drawVariants(); }
    } }, 'Add variant'),
    h('fieldset', {}, h('legend', {}, h('label', { class: 'inline', for: 'use-ab' }, useAb, 'A/B test first, then the winner to the rest')),
      h('div', { class: 'row' }, field('Test share (%)', testPercent), field('Decided by', metric), field('Decide after (seconds)', decideAfter))));
  useVariants.addEventListener('change', () => { variantBox.hidden = !useVariants.checked; });
  function drawVariants() {
    replace(variantRows, variants.map((v, i) => h('div', { class: 'row' },
      field(`Variant ${i + 1} name`, h('input', { value: v.name, size: 8, maxlength: 40, oninput(e) { v.name = e.target.value; } })),
      field(`Variant ${i + 1} message`, h('input', { value: v.message, size: 50, oninput(e) { v.message = e.target.value; } })),
      field(`Variant ${i + 1} weight`, h('input', { type: 'number', min: '0.01', step: 'any', value: String(v.weight), size: 5, oninput(e) { v.weight = Number(e.target.value); } })),
      variants.length > 2 ? h('button', { type: 'button', class: 'plain', onclick() { variants.splice(i, 1); drawVariants(); } }, 'Remove') : null)));
  }
  drawVariants();

  const sendAt = h('input', { type: 'datetime-local', name: 'sendAt' });
  const holdout = h('input', { type: 'number', min: '0', max: '50', value: '0', name: 'holdout' });
  const rate = h('input', { type: 'number', min: '1', step: 'any', name: 'rate', placeholder: 'no limit' });
  const attribution = h('input', { type: 'number', min: '1', max: '90', value: '7', name: 'attribution' });
  const error = h('p', { class: 'error', role: 'alert' });

  async function suggest() {
    replace(suggestions, h('span', { class: 'muted' }, 'Asking…'));
    try {
      const { data } = await api('POST', '/api/ai/campaign', { campaignName: name.value || 'Campaign', campaignObjective: objective.value || name.value || 'a sale' });
      replace(suggestions, h('ul', {}, data.suggestions.map((text, i) => h('li', {}, text, ' ',
        h('button', { type: 'button', class: 'plain', onclick() {
          message.value = text;
          if (variants[i]) variants[i].message = text;
          drawVariants();
        } }, 'Use')))));
    } catch (e) { replace(suggestions, h('span', { class: 'error' }, describe(e))); }
  }
  async function toRules() {
    try {
      const { data } = await api('POST', '/api/ai/dynamic', { query: words.value });
      builder.set(data.ruleGroup);
      toast('Rules made from your words');
    } catch (e) { toast(`Not understood: ${describe(e)}`); }
  }

  async function submit(event) {
    event.preventDefault();
    const body = { name: name.value.trim(), ruleGroup: tree, attributionDays: Number(attribution.value), holdoutPercent: Number(holdout.value) };
    if (useVariants.checked) {
      body.variants = variants.map((v) => ({ name: v.name, message: v.message || message.value }));
      body.weights = variants.map((v) => v.weight || 1);
      if (useAb.checked) body.abTest = { testPercent: Number(testPercent.value), metric: metric.value, decideAfterSeconds: Number(decideAfter.value) };
    } else {
      body.message = message.value;
    }
    if (sendAt.value) body.sendAt = new Date(sendAt.value).toISOString();
    if (rate.value) body.ratePerSecond = Number(rate.value);
    try {
      const { data } = await api('POST', '/api/campaigns', body);
      toast(`Campaign created for ${number(data.audience_size)} customers`);
      location.hash = `#/campaigns/${data.campaignId}`;
    } catch (e) { error.textContent = `Not created: ${describe(e)}`; }
  }

  replace(main, h('form', { onsubmit: submit, novalidate: false },
    h('h1', {}, 'New campaign'),
    field('Campaign name', name),
    h('fieldset', {}, h('legend', {}, 'Audience'),
      h('div', { class: 'row' }, field('Describe the audience in plain words', words), h('button', { type: 'button', class: 'plain', onclick: toRules }, 'Make rules')),
      rulesBox, estimate,
      h('details', {}, h('summary', {}, 'The rule tree as JSON'), json)),
    h('fieldset', {}, h('legend', {}, 'Message'),
      field('Message', message, 'Placeholders: {{name}}, {{email}}, {{city}}, {{phone}}'),
      h('div', { class: 'row' }, field('Objective, for suggestions', objective), h('button', { type: 'button', class: 'plain', onclick: suggest }, 'Suggest messages')),
      suggestions,
      h('label', { class: 'inline', for: 'use-variants' }, useVariants, 'Variants (2 to 5 messages, drawn per customer)'),
      variantBox),
    h('fieldset', {}, h('legend', {}, 'Delivery'),
      h('div', { class: 'row' },
        field('Send at (empty: now)', sendAt),
        field('Holdout (% of the audience, no message)', holdout),
        field('Messages per second', rate),
        field('Attribution (days)', attribution))),
    error,
    h('p', {}, h('button', { type: 'submit' }, 'Create campaign'))));
  name.focus();
}
