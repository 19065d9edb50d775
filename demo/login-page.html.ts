import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Each page is one static document: the inline style and script are allowed by their
// SHA-256 in the Content-Security-Policy, so no nonce has to be minted per request and
// nothing else (no injected markup, no other origin) can run or load.
// The scripts are String.raw so that their escapes ('\n') reach the browser unchanged; they
// must not contain `${`. They put server data in the page with textContent only.

const STYLE = `
  :root {
    font-family: system-ui, sans-serif; line-height: 1.45; color-scheme: light dark;
    --accent: #2458d6; --muted: rgba(127, 127, 127, 0.9); --line: rgba(127, 127, 127, 0.3);
    --panel: rgba(127, 127, 127, 0.08);
  }
  @media (prefers-color-scheme: dark) { :root { --accent: #8ab0ff; } button.primary { color: #10172a; } }
  body { margin: 0; }
  main { max-width: 60rem; margin: 0 auto; padding: 1.25rem 1.5rem; }
  [hidden] { display: none !important; }
  h1 { font-size: 1.3rem; margin: 0 0 0.75rem; padding-bottom: 0.75rem; border-bottom: 1px solid var(--line); }
  h2 { font-size: 1.2rem; margin: 0; }
  h3 { font-size: 0.95rem; margin: 0 0 0.6rem; }
  #status { margin: 0 0 0.75rem; padding: 0.4rem 0.75rem; border-left: 3px solid var(--accent); background: var(--panel); font-weight: 600; }
  #status:empty { display: none; }
  .card { border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; }
  #login-view { max-width: 22rem; }
  form { display: grid; gap: 0.75rem; margin-top: 0.75rem; }
  label { display: grid; gap: 0.25rem; font-size: 0.9rem; }
  input, button { font: inherit; }
  input { padding: 0.4rem 0.6rem; border: 1px solid var(--line); border-radius: 6px; }
  button { padding: 0.35rem 0.85rem; border-radius: 6px; border: 1px solid var(--accent); background: transparent; color: var(--accent); cursor: pointer; }
  button:hover { background: var(--panel); }
  button.primary { background: var(--accent); color: #fff; }
  button:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
  .bar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.75rem; margin-bottom: 1rem; }
  .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(24rem, 1fr)); gap: 1rem; align-items: start; }
  .stack { display: grid; gap: 1rem; }
  #admin-result { border-left: 3px solid var(--accent); }
  pre { margin: 0; background: var(--panel); border-radius: 6px; padding: 0.75rem; font-size: 0.8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
  #sessions { list-style: none; margin: 0; padding: 0; }
  #sessions li { display: flex; gap: 0.75rem; align-items: start; justify-content: space-between; padding: 0.5rem 0; border-top: 1px solid var(--line); }
  #sessions li:first-child { border-top: 0; padding-top: 0; }
  #sessions small { display: block; color: var(--muted); overflow-wrap: anywhere; }
  #sessions button { font-size: 0.85rem; flex: none; }
  .hint { color: var(--muted); font-size: 0.9rem; margin-bottom: 0; }
  a { color: var(--accent); }
  .actions a { align-self: center; }
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
      const label = document.createElement('div');
      const title = document.createElement('strong');
      title.textContent = session.current ? 'This browser' : 'Another session';
      const when = document.createElement('small');
      when.textContent =
        'since ' + new Date(session.createdAt).toLocaleString() +
        ' from ' + (session.ip || 'an unknown address');
      const agent = document.createElement('small');
      agent.textContent = session.userAgent || 'unknown client';
      label.append(title, when, agent);
      const revoke = document.createElement('button');
      revoke.type = 'button';
      revoke.textContent = 'Revoke';
      revoke.addEventListener('click', async () => {
        const done = await call('DELETE', '/auth/sessions/' + encodeURIComponent(session.id));
        setStatus(done.status === 204 ? 'Session revoked.' : describe(done));
        await refresh();
      });
      item.append(label, revoke);
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

/**
 * `/live`: one socket.io connection (WebSocket only) opened with the session cookie. The
 * server disconnects it when the session ends; the page says so, with socket.io's reason.
 */
const LIVE_SCRIPT = String.raw`
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);

  function setStatus(text) {
    $('status').textContent = text;
  }

  function connect() {
    // No long-polling fallback: the handshake is one WebSocket upgrade carrying the cookie.
    const socket = io({ transports: ['websocket'] });
    const whoami = async () => {
      try {
        const username = await socket.timeout(5000).emitWithAck('whoami');
        setStatus('Connected as ' + username);
        $('whoami').disabled = false;
      } catch {
        // A refused message answers with an 'exception' event instead; a disconnect says why itself.
        if (socket.connected) setStatus('No answer to whoami');
      }
    };
    setStatus('Connecting...');
    socket.on('connect', whoami);
    socket.on('connect_error', (error) => setStatus('Could not connect: ' + error.message));
    socket.on('exception', (error) => setStatus('Refused: ' + error.code + ' ' + error.message));
    socket.on('disconnect', (reason) => {
      $('whoami').disabled = true;
      // 'io server disconnect' is the server's doing (socket.io does not reconnect after it):
      // here, the session ended. Anything else (a restart, a network drop) reconnects by itself.
      setStatus(
        'Disconnected: ' + reason +
        (reason === 'io server disconnect' ? ' (the session ended)' : ', reconnecting...'),
      );
      $('login-hint').hidden = reason !== 'io server disconnect';
    });
    $('whoami').addEventListener('click', whoami);
  }

  async function start() {
    let me;
    try {
      me = await fetch('/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch (error) {
      return setStatus('Network error: ' + error.message);
    }
    if (me.status === 401) {
      $('login-hint').hidden = false;
      return setStatus('Not logged in.');
    }
    if (me.status !== 200) return setStatus('GET /me: HTTP ' + me.status);
    connect();
  }

  start();
})();
`;

if ([SCRIPT, LIVE_SCRIPT].some((script) => script.includes('</script')) || STYLE.includes('</style')) {
  throw new Error('demo pages: an inline block would end early');
}

const sha256 = (source: string | Buffer) => `sha256-${createHash('sha256').update(source).digest('base64')}`;
const cspHash = (source: string | Buffer) => `'${sha256(source)}'`;

// The socket.io client its server serves at /socket.io/socket.io.min.js, read from the copy of
// socket.io that Nest's adapter loads: the page names it by hash (integrity attribute and
// script-src) rather than allowing every script of the origin ('self' would admit /docs's too).
const adapterEntry = createRequire(import.meta.url).resolve('@nestjs/platform-socket.io');
const socketIoMain = createRequire(adapterEntry).resolve('socket.io');
const SOCKET_IO_CLIENT = readFileSync(join(dirname(socketIoMain), '..', 'client-dist', 'socket.io.min.js'));

/** A page's policy: its own inline blocks (and the scripts named by hash), fetch to its own origin, and nothing else. */
const pagePolicy = (scripts: readonly (string | Buffer)[]) =>
  [
    "default-src 'none'",
    `script-src ${scripts.map(cspHash).join(' ')}`,
    `style-src ${cspHash(STYLE)}`,
    // 'self' covers ws: and wss: to the page's own host and port too (CSP Level 3).
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
  ].join('; ');

/** The login page's policy. */
export const LOGIN_PAGE_CSP = pagePolicy([SCRIPT]);

/** The live page's policy: the login page's, plus the socket.io client by hash. */
export const LIVE_PAGE_CSP = pagePolicy([SOCKET_IO_CLIENT, LIVE_SCRIPT]);

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

  <section id="login-view" class="card" hidden>
    <h2>Log in</h2>
    <!-- method=post: should the script fail, the password still never lands in a URL. -->
    <form id="login-form" method="post" action="/auth/login">
      <label>Username <input name="username" autocomplete="username" required maxlength="256"></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
      <button type="submit" class="primary">Log in</button>
    </form>
    <p class="hint">The demo users and their passwords are printed in the server log at startup.</p>
  </section>

  <section id="app-view" hidden>
    <div class="bar">
      <h2>Logged in as <span id="who"></span></h2>
      <div class="actions">
        <button type="button" id="admin">Try GET /admin</button>
        <button type="button" id="logout" class="primary">Log out</button>
        <button type="button" id="logout-all">Log out everywhere</button>
        <a href="/live">Live socket</a>
      </div>
    </div>
    <div class="grid">
      <section class="card">
        <h3>GET /me</h3>
        <pre id="me"></pre>
      </section>
      <div class="stack">
        <section class="card">
          <h3>Your sessions</h3>
          <ul id="sessions"></ul>
        </section>
        <pre id="admin-result" hidden></pre>
      </div>
    </div>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

export const LIVE_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nestjs-redis-session demo: live socket</title>
<style>${STYLE}</style>
</head>
<body>
<main>
  <h1>nestjs-redis-session demo: live socket</h1>
  <p id="status" role="status" aria-live="polite"></p>
  <noscript><p>This page needs JavaScript: it opens a socket.io connection.</p></noscript>

  <section class="card">
    <h2>socket.io</h2>
    <p class="hint">This page holds a socket.io connection opened with your session cookie; each
    whoami is a message behind SessionGuard. The server disconnects the socket when the session
    ends: log out, or revoke this session from another browser, and watch this page.</p>
    <div class="actions">
      <button type="button" id="whoami" disabled>Send whoami</button>
      <a href="/">Back to the demo</a>
    </div>
    <p id="login-hint" class="hint" hidden>Log in on <a href="/">the demo page</a>, then come back.</p>
  </section>
</main>
<script src="/socket.io/socket.io.min.js" integrity="${sha256(SOCKET_IO_CLIENT)}"></script>
<script>${LIVE_SCRIPT}</script>
</body>
</html>
`;
