// Kairos web UI: one ES module, no framework, no build step, nothing fetched
// from anywhere but this agent's /v1 API. Hash routing:
//   #/                dashboard          #/jobs?q=&status=&disabled=&page=&sort=&order=
//   #/jobs/<name>     job page           #/jobs/<name>/edit   #/new   #/busy
// Every piece of API data reaches the page through textContent / attributes
// (the `h` helper below); nothing is ever assigned to innerHTML.
// Auth: once the agent has API tokens, any 401 shows a sign-in screen; the
// token lives only in sessionStorage (this tab, until it closes or "Sign out")
// and goes out as `Authorization: Bearer` on every API call. Buttons follow the
// role from /v1/auth/whoami (read < operate < admin); the server enforces it anyway.

const API = new URL('../v1/', import.meta.url);
const PAGE_SIZE = 25;
const EXEC_PAGE_SIZE = 25;
const OUTPUT_LIMIT = 200;

/** Fields the server owns; left out of the edit form (the API ignores them anyway). */
const SERVER_FIELDS = [
  'id', 'success_count', 'error_count', 'last_success', 'last_error', 'dependent_jobs', 'status', 'next',
  'skip_count', 'last_skip', 'last_skip_reason', 'last_group', 'created_at', 'updated_at',
];

const TEMPLATE_JOB = {
  name: 'my-job',
  displayname: '',
  schedule: '@every 1m',
  timezone: '',
  disabled: false,
  concurrency: 'allow',
  retries: 0,
  executor: 'shell',
  executor_config: { shell: 'true', command: 'echo hello' },
  tags: {},
  metadata: {},
};

// ---------------------------------------------------------------- helpers

class ApiError extends Error {
  constructor(status, message, field, code) {
    super(message);
    this.status = status;
    this.field = field || '';
    this.code = code || '';
  }
}

// ---------------------------------------------------------------- session

const TOKEN_KEY = 'kairos.token';
const ROLE_RANK = { read: 1, operate: 2, admin: 3 };

/** The token of this tab's session, or '' (sessionStorage only: never localStorage, never the URL). */
function storedToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

function storeToken(token) {
  try {
    if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives for this page only
  }
  memoryToken = token;
}

let memoryToken = storedToken();
/** {name, role, scope, auth_required} from /v1/auth/whoami; null until known. */
let identity = null;

/** Whether the signed-in role allows `need` ('read' | 'operate' | 'admin'). Unknown identity: allow (the server decides). */
function can(need) {
  if (!identity) return true;
  return (ROLE_RANK[identity.role] ?? 0) >= ROLE_RANK[need];
}

/**
 * Calls the API; resolves with {data, total}, rejects with ApiError carrying the API's {message|error, field, code}.
 * A 401 to the session's own credentials shows the sign-in screen; `token` (the sign-in form's check) overrides them
 * and leaves a 401 to the caller.
 */
async function api(method, path, { query, body, token } = {}) {
  const url = new URL(path, API);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const bearer = token ?? memoryToken;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let res;
  try {
    res = await fetch(url, {
      method,
      cache: 'no-store',
      credentials: 'omit',
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach the agent (${err.message})`, '');
  }
  const whom = res.headers.get('X-Whom');
  if (whom) document.getElementById('whom').textContent = `agent: ${whom}`;
  const text = await res.text();
  let data = null;
  if (text !== '') {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const obj = data && typeof data === 'object' ? data : null;
    const message = obj && (obj.message || obj.error) ? String(obj.message || obj.error) : typeof data === 'string' && data ? data : `HTTP ${res.status}`;
    const field = obj && typeof obj.field === 'string' ? obj.field : '';
    const code = obj && typeof obj.code === 'string' ? obj.code : '';
    const err = new ApiError(res.status, message, field, code);
    // A 401 to what the session sends now (not to a token since replaced, nor the sign-in check): forget it, ask for one.
    if (res.status === 401 && token === undefined && bearer === memoryToken) {
      if (bearer) storeToken('');
      showSignIn(bearer ? `Your session ended: ${message}` : '');
    }
    throw err;
  }
  const totalHeader = res.headers.get('X-Total-Count');
  return { data, total: totalHeader === null ? null : Number(totalHeader), status: res.status };
}

const jobPath = (name, rest = '') => `jobs/${encodeURIComponent(name)}${rest}`;
const jobHref = (name, rest = '') => `#/jobs/${encodeURIComponent(name)}${rest}`;

/** Builds an element. Children that are not Nodes become text nodes, so API data is always inert. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  appendAll(el, children);
  return el;
}

/** The Output/Hide output button of an execution row (jobs page and busy page). */
function outputToggle(id, expanded, load, controls) {
  const open = expanded.has(id);
  return h(
    'button',
    {
      type: 'button',
      'aria-expanded': open ? 'true' : 'false',
      ...(controls ? { 'aria-controls': controls } : {}),
      'aria-label': `${open ? 'Hide' : 'Show'} output of execution ${id}`,
      onclick: () => {
        if (expanded.has(id)) expanded.delete(id);
        else expanded.add(id);
        void load(true);
      },
    },
    open ? 'Hide output' : 'Output',
  );
}

function appendAll(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const pad = (n) => String(n).padStart(2, '0');

function isZeroTime(iso) {
  return !iso || iso.startsWith('0001-01-01');
}

/** A <time> showing local "YYYY-MM-DD HH:MM:SS", the raw value in its title; "—" for none. */
function timeEl(iso) {
  if (isZeroTime(iso)) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return h('time', { datetime: iso, title: iso }, text);
}

const cssToken = (s) => String(s).toLowerCase().replace(/[^a-z0-9_-]/g, '');

function statusBadge(status) {
  const s = status || 'untriggered';
  return h('span', { class: `badge status-${cssToken(s)}` }, s.replace(/_/g, ' '));
}

function resultBadge(e) {
  if (isZeroTime(e.finished_at)) return h('span', { class: 'badge status-running' }, 'running');
  return e.success ? h('span', { class: 'badge status-success' }, 'success') : h('span', { class: 'badge status-failed' }, 'failed');
}

function tagChips(tags) {
  const entries = Object.entries(tags ?? {});
  if (entries.length === 0) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'chips' }, entries.map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`)));
}

let flashTimer;
function flash(message, kind = 'ok') {
  const el = document.getElementById('flash');
  el.className = `flash flash-${kind}`;
  el.textContent = message;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => {
    el.className = 'flash';
    el.textContent = '';
  }, 8000);
}

function errorText(err) {
  if (err instanceof ApiError) return err.field ? `${err.message} (field: ${err.field})` : err.message;
  return String(err && err.message ? err.message : err);
}

function errorPanel(err) {
  return h('div', { class: 'panel panel-error', role: 'alert' }, errorText(err));
}

function table(caption, headers, rows, emptyText) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((x) => (x instanceof Node ? x : h('th', { scope: 'col' }, x))))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, emptyText))),
    ),
  );
}

/** Runs `fn` after a confirm() naming the job; shows API errors in the flash area. */
async function jobAction(kind, name) {
  try {
    if (kind === 'run') {
      await api('POST', jobPath(name, '/run'));
      flash(`Run of "${name}" requested.`);
    } else if (kind === 'toggle') {
      const { data } = await api('POST', jobPath(name, '/toggle'));
      flash(`"${name}" is now ${data && data.disabled ? 'disabled' : 'enabled'}.`);
    } else if (kind === 'delete') {
      if (!window.confirm(`Delete job "${name}" and all its executions?`)) return false;
      await api('DELETE', jobPath(name));
      flash(`Deleted "${name}".`);
    }
    return true;
  } catch (err) {
    flash(`${kind[0].toUpperCase()}${kind.slice(1)} "${name}" failed: ${errorText(err)}`, 'error');
    return false;
  }
}

// ---------------------------------------------------------------- sign in

/** Non-null while the sign-in screen is up: {message} to show on it. */
let signIn = null;

/** Shows the sign-in screen (once; later calls only update its message). The hash stays, so signing in returns to it. */
function showSignIn(message = '') {
  identity = null;
  renderSession();
  if (signIn) {
    if (message) signIn.message = message;
    return;
  }
  signIn = { message };
  renderSignIn();
}

function renderSignIn() {
  ++routeToken; // stops the refresh loops of the view that was showing
  document.body.classList.add('signed-out');
  setTitle('Sign in');
  const main = document.getElementById('main');
  const input = h('input', {
    type: 'password',
    id: 'signin-token',
    name: 'token',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    'aria-describedby': 'signin-help',
  });
  const error = h('div', { class: 'panel panel-error', id: 'signin-error', role: 'alert', hidden: !signIn.message }, signIn.message);
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    input.select();
  };
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-h', novalidate: true },
    h('h1', { id: 'signin-h' }, 'Sign in'),
    h(
      'p',
      { id: 'signin-help', class: 'muted small' },
      'This agent requires an API token. Ask an admin for one, or create one with ',
      h('code', {}, 'kairos token create'),
      '. The token is kept only in this tab (session storage) until you sign out or close it.',
    ),
    h('label', { for: 'signin-token' }, 'API token'),
    input,
    error,
    h('div', { class: 'actions' }, button),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      fail('Enter an API token.');
      return;
    }
    button.disabled = true;
    let who;
    try {
      who = (await api('GET', 'auth/whoami', { token })).data;
    } catch (err) {
      fail(err instanceof ApiError ? err.message : errorText(err));
      return;
    } finally {
      button.disabled = false;
    }
    storeToken(token);
    signIn = null;
    document.body.classList.remove('signed-out');
    setIdentity(who);
    route();
  });
  main.replaceChildren(form);
  input.focus();
}

function signOut() {
  storeToken('');
  flash('Signed out.');
  showSignIn('');
}

function setIdentity(who) {
  identity = who && typeof who === 'object' && who.role ? who : null;
  renderSession();
}

/** The header's "who is signed in" and Sign out control; hides what the role cannot use. */
function renderSession() {
  const el = document.getElementById('session');
  if (!el) return;
  el.replaceChildren();
  if (identity) {
    const open = identity.auth_required === false && !memoryToken;
    appendAll(el, [
      h(
        'span',
        { class: 'identity', id: 'identity', title: open ? 'This agent has no API tokens: anyone who can reach it is admin.' : 'Signed in with an API token' },
        h('span', { class: 'identity-name' }, identity.name ?? ''),
        ' · ',
        h('span', { class: `role role-${cssToken(identity.role)}` }, identity.role),
      ),
    ]);
  }
  if (memoryToken && !signIn) el.append(h('button', { type: 'button', class: 'signout', onclick: signOut }, 'Sign out'));
  const newLink = document.querySelector('nav a[data-nav="new"]');
  if (newLink) newLink.hidden = !can('admin');
}

// ---------------------------------------------------------------- router

let routeToken = 0;
let firstRoute = true;

function route() {
  if (signIn) {
    renderSignIn();
    return;
  }
  const token = ++routeToken;
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  let parts;
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    parts = ['?'];
  }
  const main = document.getElementById('main');
  const ctx = {
    main,
    params,
    alive: () => token === routeToken,
    /** Re-runs `fn` every `ms` while this view is shown (skipped while the tab is hidden). */
    every(ms, fn) {
      const tick = async () => {
        if (!ctx.alive()) return;
        if (!document.hidden) {
          try {
            await fn();
          } catch {
            // the view shows its own errors
          }
        }
        if (ctx.alive()) setTimeout(tick, ms);
      };
      setTimeout(tick, ms);
    },
  };
  let nav = '';
  let view;
  if (parts.length === 0) [nav, view] = ['dashboard', dashboardView];
  else if (parts[0] === 'jobs' && parts.length === 1) [nav, view] = ['jobs', jobsView];
  else if (parts[0] === 'jobs' && parts.length === 2) [nav, view] = ['jobs', (c) => jobView(c, parts[1])];
  else if (parts[0] === 'jobs' && parts.length === 3 && parts[2] === 'edit') [nav, view] = ['jobs', (c) => formView(c, parts[1])];
  else if (parts[0] === 'new' && parts.length === 1) [nav, view] = ['new', (c) => formView(c, null)];
  else if (parts[0] === 'busy' && parts.length === 1) [nav, view] = ['busy', busyView];
  else view = notFoundView;
  for (const a of document.querySelectorAll('nav a[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  view(ctx).catch((err) => {
    if (ctx.alive()) main.replaceChildren(errorPanel(err));
  });
  if (!firstRoute) main.focus({ preventScroll: true });
  firstRoute = false;
  window.scrollTo(0, 0);
}

function setTitle(t) {
  document.title = t ? `${t} · Kairos` : 'Kairos';
}

async function notFoundView(ctx) {
  setTitle('Not found');
  ctx.main.append(h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Back to the dashboard')));
}

// ---------------------------------------------------------------- dashboard

async function dashboardView(ctx) {
  setTitle('Dashboard');
  const cards = h('div', { class: 'cards' });
  const members = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(h('h1', {}, 'Dashboard'), cards, h('h2', {}, 'Members'), members);

  let last = '';
  const load = async () => {
    const count = (status) => api('GET', 'jobs', { query: { _start: 0, _end: 0, status } }).then((r) => r.total);
    const [leader, total, success, failed, untriggered, mem] = await Promise.allSettled([
      api('GET', 'leader').then((r) => r.data),
      count(),
      count('success'),
      count('failed'),
      count('untriggered'),
      api('GET', 'members').then((r) => r.data),
    ]);
    if (!ctx.alive()) return;
    const val = (r) => (r.status === 'fulfilled' ? r.value : null);
    // /v1/members adds a fresh random id on every call; leave it out of the comparison.
    const memberList = (val(mem) ?? []).map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'id')));
    const snapshot = JSON.stringify([val(leader), val(total), val(success), val(failed), val(untriggered), memberList, mem.status]);
    if (snapshot === last) return;
    last = snapshot;

    const card = (label, value, href) =>
      h(
        href ? 'a' : 'div',
        { class: 'card', href },
        h('span', { class: 'card-label' }, label),
        h('span', { class: 'card-value' }, value ?? '?'),
      );
    const leaderName = val(leader)?.Name ?? val(leader)?.name;
    cards.replaceChildren(
      card('Leader', leaderName ?? 'none'),
      card('Total jobs', val(total), '#/jobs'),
      card('Successful', val(success), '#/jobs?status=success'),
      card('Failed', val(failed), '#/jobs?status=failed'),
      card('Untriggered', val(untriggered), '#/jobs?status=untriggered'),
    );
    if (mem.status === 'rejected') {
      members.replaceChildren(errorPanel(mem.reason));
      return;
    }
    const rows = memberList.map((m) =>
      h(
        'tr',
        {},
        h('td', {}, m.Name ?? ''),
        h('td', {}, m.Addr ?? ''),
        h('td', {}, m.Port ?? ''),
        h('td', {}, h('span', { class: `badge member-${cssToken(m.statusText ?? '')}` }, m.statusText ?? String(m.Status ?? ''))),
        h('td', {}, tagChips(m.Tags)),
      ),
    );
    members.replaceChildren(table('Cluster members', ['Name', 'Addr', 'Port', 'Status', 'Tags'], rows, 'No members.'));
  };
  await load();
  ctx.every(5000, load);
}

// ---------------------------------------------------------------- jobs list

const SORTABLE = {
  name: 'Name',
  schedule: 'Schedule',
  success_count: 'Success',
  error_count: 'Errors',
  last_success: 'Last success',
  last_error: 'Last error',
  next: 'Next',
};

async function jobsView(ctx) {
  setTitle('Jobs');
  const state = {
    q: ctx.params.get('q') ?? '',
    status: ctx.params.get('status') ?? '',
    disabled: ctx.params.get('disabled') ?? '',
    page: Math.max(1, Number.parseInt(ctx.params.get('page') ?? '1', 10) || 1),
    sort: ctx.params.get('sort') ?? 'name',
    order: ctx.params.get('order') === 'DESC' ? 'DESC' : 'ASC',
  };

  const search = h('input', { type: 'search', id: 'jobs-q', name: 'q', value: state.q, placeholder: 'name or display name', autocomplete: 'off' });
  const option = (value, label, current) => h('option', { value, selected: value === current }, label);
  const status = h(
    'select',
    { id: 'jobs-status', name: 'status' },
    option('', 'Any', state.status),
    option('success', 'Success', state.status),
    option('failed', 'Failed', state.status),
    option('partially_failed', 'Partially failed', state.status),
    option('untriggered', 'Untriggered', state.status),
  );
  const disabled = h(
    'select',
    { id: 'jobs-disabled', name: 'disabled' },
    option('', 'Any', state.disabled),
    option('false', 'Enabled', state.disabled),
    option('true', 'Disabled', state.disabled),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    h('div', { class: 'field' }, h('label', { for: 'jobs-q' }, 'Search'), search),
    h('div', { class: 'field' }, h('label', { for: 'jobs-status' }, 'Status'), status),
    h('div', { class: 'field' }, h('label', { for: 'jobs-disabled' }, 'Enabled'), disabled),
    h('button', { type: 'submit' }, 'Search'),
  );
  const summary = h('p', { class: 'muted', id: 'jobs-summary', 'aria-live': 'polite' });
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const pager = h('nav', { class: 'pager', 'aria-label': 'Jobs pages' });
  ctx.main.append(
    h('div', { class: 'title-row' }, h('h1', {}, 'Jobs'), h('a', { class: 'button primary', href: '#/new' }, 'New job')),
    form,
    summary,
    body,
    pager,
  );

  const syncHash = () => {
    const p = new URLSearchParams();
    if (state.q) p.set('q', state.q);
    if (state.status) p.set('status', state.status);
    if (state.disabled) p.set('disabled', state.disabled);
    if (state.page > 1) p.set('page', String(state.page));
    if (state.sort !== 'name') p.set('sort', state.sort);
    if (state.order !== 'ASC') p.set('order', state.order);
    const qs = p.toString();
    // replaceState does not fire hashchange, so the form keeps its focus.
    history.replaceState(null, '', `#/jobs${qs ? `?${qs}` : ''}`);
  };

  let last = '';
  let seq = 0;
  const load = async (force = false) => {
    const mine = ++seq;
    const start = (state.page - 1) * PAGE_SIZE;
    let res;
    try {
      res = await api('GET', 'jobs', {
        query: { _start: start, _end: start + PAGE_SIZE, _sort: state.sort, _order: state.order, q: state.q, status: state.status, disabled: state.disabled },
      });
    } catch (err) {
      if (ctx.alive() && mine === seq) {
        last = '';
        body.replaceChildren(errorPanel(err));
      }
      return;
    }
    if (!ctx.alive() || mine !== seq) return;
    const total = res.total ?? res.data.length;
    if (res.data.length === 0 && total > 0 && state.page > 1) {
      state.page = Math.max(1, Math.ceil(total / PAGE_SIZE));
      syncHash();
      return load(true);
    }
    const snapshot = JSON.stringify([state, total, res.data]);
    if (!force && snapshot === last) return;
    last = snapshot;
    render(res.data, total, start);
  };

  const sortHeader = (key) => {
    const active = state.sort === key;
    const next = active && state.order === 'ASC' ? 'DESC' : 'ASC';
    return h(
      'th',
      { scope: 'col', 'aria-sort': active ? (state.order === 'ASC' ? 'ascending' : 'descending') : null },
      h(
        'button',
        {
          type: 'button',
          class: 'sort',
          title: `Sort by ${SORTABLE[key].toLowerCase()}`,
          onclick: () => {
            state.sort = key;
            state.order = next;
            state.page = 1;
            syncHash();
            void load(true);
          },
        },
        SORTABLE[key],
        active ? (state.order === 'ASC' ? ' ▲' : ' ▼') : '',
      ),
    );
  };

  const render = (jobs, total, start) => {
    summary.textContent = total === 0 ? 'No jobs.' : `Showing ${start + 1}–${start + jobs.length} of ${total} jobs`;
    const rows = jobs.map((j) =>
      h(
        'tr',
        { 'data-job': j.name },
        h('td', {}, h('a', { href: jobHref(j.name) }, j.name), j.displayname ? h('span', { class: 'muted small sub', title: j.displayname }, j.displayname) : null),
        h('td', {}, h('code', {}, j.schedule)),
        h('td', {}, statusBadge(j.status)),
        h('td', { class: 'num' }, j.success_count),
        h('td', { class: 'num' }, j.error_count),
        h('td', {}, timeEl(j.last_success)),
        h('td', {}, timeEl(j.last_error)),
        h('td', {}, timeEl(j.next)),
        h('td', {}, j.disabled ? h('span', { class: 'badge status-disabled' }, 'disabled') : h('span', { class: 'muted' }, 'no')),
        h(
          'td',
          { class: 'actions' },
          can('operate') ? h('button', { type: 'button', 'aria-label': `Run ${j.name}`, onclick: async () => (await jobAction('run', j.name)) && load(true) }, 'Run') : null,
          can('operate') ? h('button', { type: 'button', 'aria-label': `Toggle ${j.name}`, onclick: async () => (await jobAction('toggle', j.name)) && load(true) }, 'Toggle') : null,
          can('admin') ? h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${j.name}`, onclick: async () => (await jobAction('delete', j.name)) && load(true) }, 'Delete') : null,
        ),
      ),
    );
    const headers = [
      sortHeader('name'),
      sortHeader('schedule'),
      'Status',
      sortHeader('success_count'),
      sortHeader('error_count'),
      sortHeader('last_success'),
      sortHeader('last_error'),
      sortHeader('next'),
      'Disabled',
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
    ];
    body.replaceChildren(table('Jobs', headers, rows, state.q || state.status || state.disabled ? 'No jobs match the filters.' : 'No jobs yet.'));

    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const go = (page) => {
      state.page = page;
      syncHash();
      void load(true);
    };
    pager.replaceChildren(
      h('button', { type: 'button', disabled: state.page <= 1, onclick: () => go(state.page - 1) }, '‹ Previous'),
      h('span', { class: 'muted' }, `Page ${state.page} of ${pages}`),
      h('button', { type: 'button', disabled: state.page >= pages, onclick: () => go(state.page + 1) }, 'Next ›'),
    );
  };

  const apply = () => {
    state.q = search.value.trim();
    state.status = status.value;
    state.disabled = disabled.value;
    state.page = 1;
    syncHash();
    void load(true);
  };
  let debounce;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(apply, 300);
  });
  status.addEventListener('change', apply);
  disabled.addEventListener('change', apply);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearTimeout(debounce);
    apply();
  });

  await load(true);
  ctx.every(5000, () => load());
}

// ---------------------------------------------------------------- job page

async function jobView(ctx, name) {
  setTitle(name);
  const header = h('div', { class: 'title-row' }, h('h1', {}, name));
  const content = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / ', name), header, content);

  const expanded = new Set();
  /** id → full output, once "Full output" was asked for. */
  const fullOutput = new Map();
  let execPage = 1;
  let historyPage = 1;
  let skipPage = 1;
  let last = '';
  let gone = false;

  const load = async (force = false) => {
    if (gone) return;
    let job;
    let execs;
    let audit;
    let skips;
    try {
      const start = (execPage - 1) * EXEC_PAGE_SIZE;
      const hStart = (historyPage - 1) * HISTORY_PAGE_SIZE;
      const sStart = (skipPage - 1) * SKIP_PAGE_SIZE;
      [job, execs, audit, skips] = await Promise.all([
        api('GET', jobPath(name)),
        api('GET', jobPath(name, '/executions'), { query: { output_size_limit: OUTPUT_LIMIT, _start: start, _end: start + EXEC_PAGE_SIZE } }),
        // The history is a section of the page: its failure (say, an agent without /v1/audit) is shown there alone.
        api('GET', 'audit', { query: { job: name, _start: hStart, _end: hStart + HISTORY_PAGE_SIZE } }).catch((error) => ({ error })),
        api('GET', jobPath(name, '/skips'), { query: { _start: sStart, _end: sStart + SKIP_PAGE_SIZE } }).catch((error) => ({ error })),
      ]);
    } catch (err) {
      if (!ctx.alive()) return;
      if (err instanceof ApiError && err.status === 404) {
        gone = true;
        header.replaceChildren(h('h1', {}, name));
        content.replaceChildren(h('div', { class: 'panel', role: 'alert' }, `Job "${name}" not found. `, h('a', { href: '#/jobs' }, 'Back to jobs')));
      } else {
        last = '';
        content.replaceChildren(errorPanel(err));
      }
      return;
    }
    if (!ctx.alive()) return;
    const snapshot = JSON.stringify([
      job.data, execs.data, execs.total, execPage,
      audit.error ? errorText(audit.error) : [audit.data, audit.total], historyPage,
      skips.error ? errorText(skips.error) : [skips.data, skips.total], skipPage,
    ]);
    if (!force && snapshot === last) return;
    last = snapshot;
    render(job.data, execs.data, execs.total ?? execs.data.length, audit, skips);
  };

  const act = async (kind) => {
    const ok = await jobAction(kind, name);
    if (!ok) return;
    if (kind === 'delete') location.hash = '#/jobs';
    else await load(true);
  };

  const render = (job, execs, total, audit, skips) => {
    setTitle(job.name);
    header.replaceChildren(
      h('h1', {}, job.name, ' ', statusBadge(job.status), job.disabled ? [' ', h('span', { class: 'badge status-disabled', id: 'job-disabled' }, 'disabled')] : null),
      h(
        'div',
        { class: 'actions' },
        can('operate') ? h('button', { type: 'button', onclick: () => act('run') }, 'Run') : null,
        can('operate') ? h('button', { type: 'button', onclick: () => act('toggle'), title: job.disabled ? 'Enable the job' : 'Disable the job' }, 'Toggle') : null,
        can('admin') ? h('a', { class: 'button', href: jobHref(job.name, '/edit') }, 'Edit') : null,
        can('admin') ? h('button', { type: 'button', class: 'danger', onclick: () => act('delete') }, 'Delete') : null,
      ),
    );

    const fact = (label, value) => [h('dt', {}, label), h('dd', {}, value === '' || value === null || value === undefined ? h('span', { class: 'muted' }, '—') : value)];
    const facts = h(
      'dl',
      { class: 'facts' },
      fact('Display name', job.displayname),
      fact('Schedule', h('code', {}, job.schedule)),
      fact('Time zone', job.timezone || 'agent local'),
      fact('Status', statusBadge(job.status)),
      fact('Enabled', job.disabled ? 'no (disabled)' : 'yes'),
      fact('Next run', timeEl(job.next)),
      fact('Last success', timeEl(job.last_success)),
      fact('Last error', timeEl(job.last_error)),
      fact('Runs', `${job.success_count} succeeded, ${job.error_count} failed`),
      fact('Executor', job.executor),
      fact('Concurrency', job.concurrency),
      fact('Retries', job.retries),
      fact('Notify on', `${job.notify_on || 'agent default'}${job.notify_skip ? ', and skipped ticks' : ''}`),
      fact('Tags', tagChips(job.tags)),
      job.parent_job ? fact('Parent job', h('a', { href: jobHref(job.parent_job) }, job.parent_job)) : null,
      job.dependent_jobs && job.dependent_jobs.length
        ? fact('Dependent jobs', job.dependent_jobs.map((d, i) => [i ? ', ' : '', h('a', { href: jobHref(d) }, d)]))
        : null,
    );

    const execRows = [];
    for (const e of execs) {
      const open = expanded.has(e.id);
      const outId = `out-${cssToken(e.id)}`;
      execRows.push(
        h(
          'tr',
          { 'data-execution': e.id },
          h('td', {}, timeEl(e.started_at)),
          h('td', {}, isZeroTime(e.finished_at) ? h('span', { class: 'badge status-running' }, 'running') : timeEl(e.finished_at)),
          h('td', {}, e.node_name),
          h('td', { class: 'num' }, e.attempt),
          h('td', {}, resultBadge(e)),
          h('td', { class: 'num' }, e.exit_code ?? h('span', { class: 'muted' }, '—')),
          h('td', {}, e.trigger ?? ''),
          h(
            'td',
            {},
            outputToggle(e.id, expanded, load, outId),
          ),
        ),
      );
      if (open) {
        const full = fullOutput.get(e.id);
        const text = full ?? e.output ?? '';
        execRows.push(
          h(
            'tr',
            { class: 'output-row', id: outId },
            h(
              'td',
              { colspan: 8 },
              h('pre', { class: 'output', 'aria-label': `Output of execution ${e.id}` }, text === '' ? h('span', { class: 'muted' }, '(no output)') : text),
              h(
                'div',
                { class: 'output-meta' },
                full !== undefined
                  ? h('span', { class: 'muted' }, 'Full output.')
                  : e.output_truncated
                    ? h('span', { class: 'muted' }, `Last ${OUTPUT_LIMIT} characters shown.`)
                    : null,
                full === undefined
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'link',
                        onclick: async () => {
                          try {
                            const r = await api('GET', jobPath(name, `/executions/${encodeURIComponent(e.id)}`));
                            fullOutput.set(e.id, r.data.output ?? '');
                            await load(true);
                          } catch (err) {
                            flash(`Could not load the output: ${errorText(err)}`, 'error');
                          }
                        },
                      },
                      'Full output',
                    )
                  : null,
              ),
              e.notifications && e.notifications.length
                ? h(
                    'ul',
                    { class: 'notifications', 'aria-label': `Notifications of execution ${e.id}` },
                    e.notifications.map((n) =>
                      h(
                        'li',
                        {},
                        h('code', {}, n.channel),
                        ` → ${n.target}: ${n.status} (${n.attempts} attempt${n.attempts === 1 ? '' : 's'})`,
                        n.last_error ? h('span', { class: 'muted' }, ` — ${n.last_error}`) : null,
                      ),
                    ),
                  )
                : null,
            ),
          ),
        );
      }
    }
    const pages = Math.max(1, Math.ceil(total / EXEC_PAGE_SIZE));
    const go = (p) => {
      execPage = p;
      void load(true);
    };

    content.replaceChildren(
      h(
        'div',
        { class: 'split' },
        h('section', { 'aria-labelledby': 'summary-h' }, h('h2', { id: 'summary-h' }, 'Summary'), facts),
        h(
          'section',
          { 'aria-labelledby': 'json-h' },
          h('h2', { id: 'json-h' }, 'Job JSON'),
          h('pre', { class: 'json', id: 'job-json-view', tabindex: '0' }, JSON.stringify(job, null, 2)),
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'exec-h' },
        h(
          'div',
          { class: 'title-row' },
          h('h2', { id: 'exec-h' }, 'Executions ', h('span', { class: 'muted small' }, `(${total})`)),
          h('button', { type: 'button', onclick: () => load(true) }, 'Refresh'),
        ),
        table('Executions', ['Started', 'Finished', 'Node', 'Attempt', 'Result', 'Exit code', 'Trigger', h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Output'))], execRows, 'No executions yet.'),
        pager('Execution pages', execPage, pages, go),
      ),
      skipsSection(skips, skipPage, (p) => {
        skipPage = p;
        void load(true);
      }),
      historySection(audit, historyPage, (p) => {
        historyPage = p;
        void load(true);
      }),
    );
  };

  await load(true);
  ctx.every(2000, () => load());
}

// ---------------------------------------------------------------- skipped runs

/** Newer/older buttons for a paged list (newest first); nothing when it fits one page. */
function pager(label, page, pages, go) {
  if (pages <= 1) return null;
  return h(
    'nav',
    { class: 'pager', 'aria-label': label },
    h('button', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1) }, '‹ Newer'),
    h('span', { class: 'muted' }, `Page ${page} of ${pages}`),
    h('button', { type: 'button', disabled: page >= pages, onclick: () => go(page + 1) }, 'Older ›'),
  );
}

const SKIP_LABELS = {
  forbid: 'overlap (forbid)',
  no_agent: 'no matching agent',
  no_executor: 'executor missing on matching agents',
  no_leader: 'no leader',
  catch_up_skip: 'catch_up: skip',
  starting_deadline: 'starting deadline passed',
  not_runnable: 'not runnable',
  dispatch_failed: 'dispatch failed',
};

/** Ticks that did not run, newest first, with the reason: "did last night's 02:00 run, and if not why". */
function skipsSection(skips, page, go) {
  let content;
  let nav = null;
  let count = null;
  if (skips.error) {
    content = errorPanel(skips.error);
  } else {
    const records = Array.isArray(skips.data) ? skips.data : [];
    const total = skips.total ?? records.length;
    const rows = records.map((s) =>
      h(
        'tr',
        { 'data-skip': s.id },
        h('td', {}, timeEl(s.scheduled_at), s.until ? h('span', {}, ' – ', timeEl(s.until)) : null, s.count > 1 ? h('span', { class: 'muted small' }, ` (${s.count} ticks)`) : null),
        h('td', {}, h('span', { class: `badge skip-${cssToken(s.code ?? '')}` }, SKIP_LABELS[s.code] ?? s.code ?? '')),
        h('td', {}, s.reason ?? ''),
        h('td', {}, s.trigger ?? ''),
      ),
    );
    content = table('Skipped runs', ['Tick', 'Why', 'Detail', 'Trigger'], rows, 'Every tick ran.');
    const pages = Math.max(1, Math.ceil(total / SKIP_PAGE_SIZE));
    nav = pager('Skipped run pages', page, pages, go);
    count = h('span', { class: 'muted small' }, `(${total})`);
  }
  return h('section', { 'aria-labelledby': 'skips-h', id: 'skips' }, h('h2', { id: 'skips-h' }, 'Skipped runs ', count), content, nav);
}

// ---------------------------------------------------------------- change history (audit)

const HISTORY_PAGE_SIZE = 10;
const SKIP_PAGE_SIZE = 10;
const MAX_DIFF_LINES = 12;
const SERVER_FIELD_SET = new Set(SERVER_FIELDS);

/** JSON with object keys sorted, so equal definitions compare equal whatever their key order. */
function stableJson(v) {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A job definition as dotted paths (two levels into objects such as executor_config, tags); server-owned fields and empty objects left out. */
function flattenDefinition(obj, prefix = '', out = {}, depth = 0) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (!prefix && SERVER_FIELD_SET.has(k)) continue;
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && depth < 2) {
      if (Object.keys(v).length > 0) flattenDefinition(v, key, out, depth + 1);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/** The definition fields that differ: [{field, before, after}] (undefined = absent). */
function definitionDiff(before, after) {
  const a = flattenDefinition(before);
  const b = flattenDefinition(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => stableJson(a[k]) !== stableJson(b[k])).map((field) => ({ field, before: a[field], after: b[field] }));
}

function diffValue(v, tag) {
  if (v === undefined) return h('span', { class: 'muted' }, '(none)');
  const full = typeof v === 'string' ? JSON.stringify(v) : stableJson(v);
  const text = full.length > 120 ? `${full.slice(0, 119)}…` : full;
  return h(tag, { title: full.length > 120 ? full : null }, text);
}

function historyChanges(entry) {
  const { before, after, detail } = entry;
  const parts = [];
  if (before && after) {
    const diff = definitionDiff(before, after);
    if (diff.length === 0) parts.push(h('span', { class: 'muted' }, 'no change to the definition'));
    else {
      parts.push(
        h(
          'ul',
          { class: 'diff' },
          diff.slice(0, MAX_DIFF_LINES).map((d) => h('li', {}, h('code', { class: 'diff-field' }, d.field), ': ', diffValue(d.before, 'del'), ' → ', diffValue(d.after, 'ins'))),
          diff.length > MAX_DIFF_LINES ? h('li', { class: 'muted' }, `and ${diff.length - MAX_DIFF_LINES} more`) : null,
        ),
      );
    }
  } else if (after) {
    parts.push(h('span', { class: 'muted' }, 'created: ', h('code', {}, after.schedule ?? ''), after.executor ? ` · ${after.executor}` : ''));
  } else if (before) {
    parts.push(h('span', { class: 'muted' }, 'deleted'));
  }
  if (detail && typeof detail === 'object' && Object.keys(detail).length > 0) {
    parts.push(
      h(
        'span',
        { class: 'chips' },
        Object.entries(detail).map(([k, v]) => h('span', { class: 'chip' }, `${k}=${typeof v === 'string' ? v : stableJson(v)}`)),
      ),
    );
  }
  return parts.length ? parts : h('span', { class: 'muted' }, '—');
}

function historySection(audit, page, go) {
  let content;
  let nav = null;
  let count = null;
  if (audit.error) {
    content = errorPanel(audit.error);
  } else {
    const entries = Array.isArray(audit.data) ? audit.data : [];
    const total = audit.total ?? entries.length;
    const rows = entries.map((e) =>
      h(
        'tr',
        { 'data-audit': e.id },
        h('td', {}, timeEl(e.at)),
        h('td', {}, e.actor ?? ''),
        h('td', {}, h('span', { class: `badge action-${cssToken(String(e.action ?? '').replace(/\./g, '-'))}` }, e.action ?? '')),
        h('td', { class: 'changes' }, historyChanges(e)),
      ),
    );
    content = table('Change history', ['When', 'Who', 'Action', 'Changes'], rows, 'No changes recorded.');
    const pages = Math.max(1, Math.ceil(total / HISTORY_PAGE_SIZE));
    nav = pager('Change history pages', page, pages, go);
    count = h('span', { class: 'muted small' }, `(${total})`);
  }
  return h('section', { 'aria-labelledby': 'history-h', id: 'history' }, h('h2', { id: 'history-h' }, 'Change history ', count), content, nav);
}

// ---------------------------------------------------------------- create / edit

function editable(job) {
  const out = { ...job };
  for (const k of SERVER_FIELDS) delete out[k];
  return out;
}

async function formView(ctx, name) {
  setTitle(name ? `Edit ${name}` : 'New job');
  if (!can('admin')) {
    ctx.main.append(
      h('h1', {}, name ? `Edit ${name}` : 'New job'),
      h('div', { class: 'panel', role: 'alert' }, `Creating and editing jobs needs an admin token; you are signed in as ${identity.name} (${identity.role}).`),
    );
    return;
  }
  let initial = TEMPLATE_JOB;
  if (name) {
    try {
      initial = editable((await api('GET', jobPath(name))).data);
    } catch (err) {
      if (ctx.alive()) ctx.main.replaceChildren(h('h1', {}, `Edit ${name}`), errorPanel(err));
      return;
    }
    if (!ctx.alive()) return;
  }
  const textarea = h('textarea', {
    id: 'job-json',
    name: 'job',
    rows: 24,
    spellcheck: 'false',
    autocapitalize: 'off',
    autocomplete: 'off',
    'aria-describedby': 'job-json-help',
    value: JSON.stringify(initial, null, 2),
  });
  const errors = h('div', { id: 'form-error', class: 'panel panel-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const showError = (message, field) => {
    errors.replaceChildren();
    appendAll(errors, [h('strong', {}, 'Not saved: '), message, field ? [h('br'), 'Field: ', h('code', { class: 'field-name' }, field)] : null]);
    errors.hidden = false;
    textarea.setAttribute('aria-invalid', 'true');
  };
  const form = h(
    'form',
    { class: 'job-form', 'aria-label': name ? `Edit job ${name}` : 'Create a job', novalidate: true },
    h('label', { for: 'job-json' }, 'Job JSON'),
    h(
      'p',
      { id: 'job-json-help', class: 'muted small' },
      "dkron's job format, sent as is to POST /v1/jobs. Saving replaces any job with the same name",
      name ? ' (renaming here creates a new job and keeps the old one).' : '.',
    ),
    textarea,
    errors,
    h(
      'div',
      { class: 'actions' },
      save,
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            try {
              textarea.value = JSON.stringify(JSON.parse(textarea.value), null, 2);
            } catch (err) {
              showError(`the text is not valid JSON: ${err.message}`, '');
            }
          },
        },
        'Format',
      ),
      h('a', { class: 'button', href: name ? jobHref(name) : '#/jobs' }, 'Cancel'),
    ),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.hidden = true;
    textarea.removeAttribute('aria-invalid');
    let job;
    try {
      job = JSON.parse(textarea.value);
    } catch (err) {
      showError(`the text is not valid JSON: ${err.message}`, '');
      return;
    }
    save.disabled = true;
    try {
      const { data } = await api('POST', 'jobs', { body: job });
      const saved = data && typeof data === 'object' && data.name ? data.name : job.name;
      flash(`Saved "${saved}".`);
      location.hash = jobHref(saved);
    } catch (err) {
      if (!ctx.alive()) return;
      showError(err instanceof ApiError ? err.message : String(err), err instanceof ApiError ? err.field : '');
    } finally {
      save.disabled = false;
    }
  });
  appendAll(ctx.main, [
    name ? h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / ', h('a', { href: jobHref(name) }, name), ' / edit') : null,
    h('h1', {}, name ? `Edit ${name}` : 'New job'),
    form,
  ]);
}

// ---------------------------------------------------------------- busy

async function busyView(ctx) {
  setTitle('Busy');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(h('h1', {}, 'Busy'), h('p', { class: 'muted' }, 'Executions running now on any agent. Refreshes every 2 seconds.'), body);
  const expanded = new Set();
  let last = '';
  const load = async (force = false) => {
    let res;
    try {
      res = await api('GET', 'busy');
    } catch (err) {
      if (ctx.alive()) {
        last = '';
        body.replaceChildren(errorPanel(err));
      }
      return;
    }
    if (!ctx.alive()) return;
    const snapshot = JSON.stringify(res.data);
    if (!force && snapshot === last) return;
    last = snapshot;
    const rows = [];
    for (const e of res.data) {
      const open = expanded.has(e.id);
      rows.push(
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: jobHref(e.job_name) }, e.job_name)),
          h('td', {}, h('code', { class: 'small' }, e.id)),
          h('td', {}, e.node_name),
          h('td', {}, timeEl(e.started_at)),
          h('td', { class: 'num' }, e.attempt),
          h(
            'td',
            {},
            outputToggle(e.id, expanded, load),
          ),
        ),
      );
      if (open) {
        rows.push(h('tr', { class: 'output-row' }, h('td', { colspan: 6 }, h('pre', { class: 'output' }, e.output ? e.output : h('span', { class: 'muted' }, '(no output yet)')))));
      }
    }
    body.replaceChildren(table('Running executions', ['Job', 'Execution', 'Node', 'Started', 'Attempt', h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Output'))], rows, 'Nothing is running.'));
  };
  await load(true);
  ctx.every(2000, () => load());
}

// ---------------------------------------------------------------- start

async function start() {
  window.addEventListener('hashchange', route);
  try {
    setIdentity((await api('GET', 'auth/whoami')).data);
  } catch {
    // 401: the sign-in screen is up. Anything else (an agent without /v1/auth): the views show their own errors.
    if (signIn) return;
  }
  route();
}

void start();
