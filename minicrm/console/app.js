// The console: sign-in, the sections and the router (#/campaigns, #/campaigns/ID, #/new, #/journeys,
// #/journeys/ID, and for operators #/dead-letters, #/suppressions, #/vendor).

import { api, onSignedOut, session } from './api.js';
import { campaignList, campaignPage } from './campaigns.js';
import { describe, field, h, replace } from './dom.js';
import { journeyList, journeyPage } from './journeys.js';
import { newCampaign } from './new_campaign.js';
import { deadLetters, suppressions, vendorHealth } from './operators.js';

const main = document.getElementById('main');
const ROUTES = [
  [/^#\/campaigns\/([0-9a-f-]{36})$/, campaignPage],
  [/^#\/new$/, newCampaign],
  [/^#\/journeys\/([0-9a-f-]{36})$/, journeyPage],
  [/^#\/journeys$/, journeyList],
  [/^#\/dead-letters$/, deadLetters],
  [/^#\/suppressions$/, suppressions],
  [/^#\/vendor$/, vendorHealth],
  [/^#\/campaigns$/, campaignList],
];
let leave = null;

function signInPage() {
  document.getElementById('nav').hidden = true;
  replace(document.getElementById('who'));
  const key = h('input', { name: 'key', autocomplete: 'off', spellcheck: false, size: 40, required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'signin', async onsubmit(event) {
    event.preventDefault();
    await signIn({ uuid: key.value.trim() }, error);
  } },
  h('h1', {}, 'Sign in to MiniCRM'),
  field('Login key', key, 'Issued with: minicrm issue-key --email you@example.com'),
  h('p', {}, h('button', { type: 'submit' }, 'Sign in')),
  error);
  const google = document.querySelector('meta[name="google-client-id"]')?.content;
  const googleBox = h('div', { id: 'google-signin' });
  replace(main, form, google ? h('div', {}, h('h2', {}, 'Or with Google'), googleBox) : null);
  if (google) loadGoogle(google, googleBox, error);
  key.focus();
}

function loadGoogle(clientId, box, error) {
  const script = h('script', { src: 'https://accounts.google.com/gsi/client', async: true });
  script.addEventListener('load', () => {
    window.google.accounts.id.initialize({
      client_id: clientId,
      callback: (answer) => signIn({ credential: answer.credential }, error),
    });
    window.google.accounts.id.renderButton(box, { theme: 'outline', size: 'large' });
  });
  document.head.append(script);
}

async function signIn(body, error) {
  try {
    const { data } = await api('POST', '/api/auth', body);
    session.set({ token: data.token, user: data.user });
    location.hash = '#/campaigns';
    render();
  } catch (e) {
    error.textContent = `Not signed in: ${describe(e)}`;
  }
}

function chrome(user) {
  const operator = user.role === 'operator';
  for (const link of document.querySelectorAll('#nav a')) {
    link.hidden = link.dataset.role === 'operator' && !operator;
    if (link.getAttribute('href') === location.hash.replace(/^(#\/\w[\w-]*).*/, '$1')) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.getElementById('nav').hidden = false;
  replace(document.getElementById('who'),
    h('span', {}, `${user.email || user.name || user.id} · `, h('strong', { id: 'role' }, user.role)),
    h('button', { type: 'button', onclick() { session.clear(); signInPage(); } }, 'Sign out'));
}

async function render() {
  leave?.();
  leave = null;
  const current = session.get();
  if (!current) return signInPage();
  if (!location.hash || location.hash === '#/') location.hash = '#/campaigns';
  const context = { user: current.user, operator: current.user.role === 'operator' };
  chrome(current.user);
  const [, view, id] = ROUTES.map(([pattern, v]) => [pattern, v, location.hash.match(pattern)])
    .map(([, v, m]) => (m ? [m, v, m[1]] : null)).find(Boolean) || [null, campaignList, null];
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    leave = (await view(main, id, context)) || null;
  } catch (e) {
    replace(main, h('h1', {}, e.status === 403 ? 'Not for your role' : 'Something went wrong'),
      h('p', { class: e.status === 403 ? 'refused' : 'error', role: 'alert' }, describe(e)));
  }
  main.querySelector('h1')?.setAttribute('tabindex', '-1');
  if (document.activeElement === document.body) main.querySelector('h1')?.focus();
}

onSignedOut(signInPage);
window.addEventListener('hashchange', render);
// The signed-in user's role is read again, so that a changed role shows without signing in again.
if (session.get()) {
  api('GET', '/api/auth').then(({ data }) => { session.set({ ...session.get(), user: data }); render(); }).catch(() => render());
} else {
  render();
}
