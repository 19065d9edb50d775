import { createHash } from 'node:crypto';

// The page is one static document: the inline style and script are allowed by their
// SHA-256 in the Content-Security-Policy, so no nonce has to be minted per request and
// nothing else (no injected markup, no other origin) can run or load.
// The script is String.raw so that its escapes ('\n') reach the browser unchanged; it
// must not contain `${`. It puts server data in the page with textContent only.

const STYLE = `
  :root { font-family: system-ui, sans-serif; color-scheme: light dark; }
  body { margin: 0; }
  main { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  [hidden] { display: none !important; }
  form { display: grid; gap: 0.75rem; max-width: 20rem; }
  label { display: grid; gap: 0.25rem; }
  input, button { font: inherit; padding: 0.35rem 0.6rem; }
  .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; }
  pre { background: rgba(127, 127, 127, 0.12); padding: 0.75rem; overflow-x: auto; }
  #status { min-height: 1.5em; font-weight: 600; }
  #sessions li { margin: 0.4rem 0; }
  .hint { opacity: 0.75; }
`;

const SCRIPT = String.raw`
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const views = { login: $('login-view'), app: $('app-view') };

  function setStatus(text) {
    $('status').textContent = text;
  }

  function show(name) {
    for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
    if (name === 'login') {
      // Leave nothing of the previous user in the page.
      $('who').textContent = '';
      $('me').textContent = '';
      $('sessions').replaceChildren();
      $('admin-result').hidden = true;
      $('admin-result').textContent = '';
      $('login-form').elements.username.focus();
    }
  }

  async function call(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      return { status: 0, data: { message: 'network error: ' + error.message } };
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { message: text };
      }
    }
    return { status: response.status, data };
  }

  function describe(result) {
    const message = result.data && result.data.message;
    const detail = Array.isArray(message) ? message.join(', ') : message;
    return (result.status ? 'HTTP ' + result.status : 'Error') + (detail ? ': ' + detail : '');
  }

  async function refresh() {
    const me = await call('GET', '/me');
    if (me.status === 401) return show('login');
    if (me.status !== 200) return setStatus(describe(me));
    $('who').textContent = me.data.username + ' (' + me.data.role + ')';
    $('me').textContent = JSON.stringify(me.data, null, 2);
    show('app');
    await loadSessions();
  }

  async function loadSessions() {
    const result = await call('GET', '/auth/sessions');
    if (result.status === 401) return show('login');
    if (result.status !== 200) return setStatus(describe(result));
    const items = result.data.map((session) => {
      const item = document.createElement('li');
      const label = document.createElement('span');
      label.textContent =
        (session.current ? '(this browser) ' : '') +
        'since ' + new Date(session.createdAt).toLocaleString() +
        ' from ' + (session.ip || 'an unknown address') +
        ', ' + (session.userAgent || 'unknown client');
      const revoke = document.createElement('button');
      revoke.type = 'button';
      revoke.textContent = 'Revoke';
      revoke.addEventListener('click', async () => {
        const done = await call('DELETE', '/auth/sessions/' + encodeURIComponent(session.id));
        setStatus(done.status === 204 ? 'Session revoked.' : describe(done));
        await refresh();
      });
      item.append(label, ' ', revoke);
      return item;
    });
    $('sessions').replaceChildren(...items);
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const fields = event.currentTarget.elements;
    setStatus('');
    const result = await call('POST', '/auth/login', {
      username: fields.username.value,
      password: fields.password.value,
    });
    fields.password.value = '';
    if (result.status === 200) await refresh();
    else setStatus(result.status === 401 ? 'Wrong username or password.' : describe(result));
  });

  $('logout').addEventListener('click', async () => {
    const done = await call('POST', '/auth/logout');
    setStatus(done.status === 204 ? 'Logged out.' : describe(done));
    await refresh();
  });

  $('logout-all').addEventListener('click', async () => {
    const done = await call('POST', '/auth/logout-all');
    setStatus(done.status === 204 ? 'Logged out everywhere.' : describe(done));
    await refresh();
  });

  $('admin').addEventListener('click', async () => {
    const result = await call('GET', '/admin');
    const out = $('admin-result');
    out.textContent = 'GET /admin: HTTP ' + result.status + '\n' + JSON.stringify(result.data, null, 2);
    out.hidden = false;
  });

  refresh();
})();
`;

if (SCRIPT.includes('</script') || STYLE.includes('</style')) {
  throw new Error('login page: an inline block would end early');
}

const cspHash = (source: string) => `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/** The page's policy: its own inline blocks, fetch to its own origin, and nothing else. */
export const LOGIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(SCRIPT)}`,
  `style-src ${cspHash(STYLE)}`,
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

export const LOGIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nestjs-redis-session demo</title>
<style>${STYLE}</style>
</head>
<body>
<main>
  <h1>nestjs-redis-session demo</h1>
  <p id="status" role="status" aria-live="polite"></p>
  <noscript><p>This page needs JavaScript: it calls the JSON routes under /auth.</p></noscript>

  <section id="login-view" hidden>
    <h2>Log in</h2>
    <!-- method=post: should the script fail, the password still never lands in a URL. -->
    <form id="login-form" method="post" action="/auth/login">
      <label>Username <input name="username" autocomplete="username" required maxlength="256"></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
      <button type="submit">Log in</button>
    </form>
    <p class="hint">The demo users and their passwords are printed in the server log at startup.</p>
  </section>

  <section id="app-view" hidden>
    <h2>Logged in as <span id="who"></span></h2>
    <div class="actions">
      <button type="button" id="admin">Try GET /admin</button>
      <button type="button" id="logout">Log out</button>
      <button type="button" id="logout-all">Log out everywhere</button>
    </div>
    <pre id="admin-result" hidden></pre>
    <h3>GET /me</h3>
    <pre id="me"></pre>
    <h3>Your sessions</h3>
    <ul id="sessions"></ul>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
