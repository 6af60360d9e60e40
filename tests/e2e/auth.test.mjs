// Email/password sign-in in the browser. The /auth endpoints are answered
// here with the contract's shapes (TokenResponse {access_token, token_type,
// expires_in, user}); the server under test runs with AUTH_MODE=apikey, so
// this checks the page's side of the contract: the access token stays in
// memory, requests carry it as a Bearer token, a reload signs in again
// silently through /auth/refresh, and sign-out calls /auth/logout.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, watchPage, waitForStatus } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

test('email/password sign-in keeps the access token in memory and refreshes silently', { timeout: 120000 }, async () => {
  const page = await browser.context.newPage();
  const seen = watchPage(page);
  const calls = { login: [], refresh: 0, logout: 0, bearer: [] };
  let session = false;
  const user = { id: '7d6c1e4e-1111-4222-8333-944445555666', email: 'ada@example.com' };
  const token = (n) => ({ access_token: `token-${n}`, token_type: 'bearer', expires_in: 900, user });
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

  await page.route('**/api/config', async (route) => {
    const resp = await route.fetch();
    json(route, 200, { ...(await resp.json()), auth_mode: 'hybrid', registration_enabled: true });
  });
  await page.route('**/auth/login', (route) => {
    calls.login.push(route.request().postDataJSON());
    session = true;
    json(route, 200, token(1));
  });
  await page.route('**/auth/refresh', (route) => {
    calls.refresh += 1;
    if (!session) json(route, 401, { detail: 'Missing refresh token' });
    else json(route, 200, token(calls.refresh + 1));
  });
  await page.route('**/auth/logout', (route) => {
    calls.logout += 1;
    session = false;
    json(route, 200, { detail: 'Logged out' });
  });
  await page.route('**/api/tasks?*', (route) => {
    const auth = route.request().headers().authorization || '';
    calls.bearer.push(auth);
    if (!auth.startsWith('Bearer token-')) json(route, 401, { detail: 'Authentication required' });
    else json(route, 200, { tasks: [], total: 0, limit: 20, next_cursor: null });
  });

  await page.goto(`${BASE}/`);
  await page.getByRole('heading', { name: 'With email and password' }).waitFor();
  assert.equal(calls.refresh, 1, 'the page tries a silent refresh first');
  assert.equal(await page.getByRole('heading', { name: 'With an API key' }).count(), 1, 'hybrid mode offers keys too');
  await page.getByRole('textbox', { name: 'Email' }).fill('ada@example.com');
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await page.getByText('No tasks yet.').waitFor();
  assert.deepEqual(calls.login, [{ email: 'ada@example.com', password: 'correct horse battery' }]);
  assert.equal(calls.bearer[calls.bearer.length - 1], 'Bearer token-1');
  assert.match(await page.locator('#identity').textContent(), /ada@example\.com/);
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie);
  assert.ok(!stored.includes('token-'), `the access token must stay in memory, found it in: ${stored}`);

  // A reload forgets the in-memory token; the refresh cookie brings it back.
  await page.reload();
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await page.getByText('No tasks yet.').waitFor();
  assert.equal(calls.refresh, 2);
  assert.equal(calls.bearer[calls.bearer.length - 1], 'Bearer token-3');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(calls.logout, 1);
  assert.deepEqual(seen.dialogs, []);
  await page.close();
});

// The same journey against the server's real /auth endpoints (the server
// under test runs with AUTH_MODE=hybrid): register, create a task as the
// user, keep the session across a reload through the HttpOnly refresh
// cookie, and end it with sign-out.
test('real accounts: register, create a task, reload, sign out', { timeout: 300000 }, async () => {
  const own = await launch();
  try {
    const page = await own.context.newPage();
    const seen = watchPage(page);
    const email = `e2e-${Date.now()}@example.com`;
    await page.goto(`${BASE}/`);
    await page.getByRole('heading', { name: 'With email and password' }).waitFor();
    await page.getByRole('textbox', { name: 'Email' }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('a long enough password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
    assert.match(await page.locator('#identity').textContent(), new RegExp(email.replace('.', '\\.')));
    const cookies = await own.context.cookies();
    const refresh = cookies.find((c) => c.name === 'refresh_token');
    assert.ok(refresh && refresh.httpOnly && refresh.path === '/auth', 'an HttpOnly refresh cookie scoped to /auth');
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie);
    assert.ok(!/eyJ/.test(stored), `no token may be stored by the page: ${stored}`);

    // Two tabs loading at the same moment both send /auth/refresh with the
    // same cookie. Each request is held until both are, so they really
    // race: one rotates the cookie, the other is told refresh_token_rotated
    // (nothing is revoked), retries with the new cookie, and both tabs end
    // signed in. Chromium attaches the cookie when a held request is let
    // go, not when it is held, so on a loaded machine the second one could
    // leave after the first one's answer set the new cookie: both requests
    // are therefore sent with the cookie the tabs held while both were
    // waiting. Should a round still not race (both 200), it must sign both
    // tabs in too, and it is tried again (a few rounds at most).
    const rounds = [];
    for (let round = 0; round < 5; round += 1) {
      const refreshes = await raceTwoTabs(own.context, email);
      rounds.push(refreshes.join(', '));
      const sorted = [...refreshes].sort();
      if (sorted.length === 2) {
        assert.deepEqual(sorted, ['200', '200'], `refresh answers: ${refreshes.join(', ')}`);
        continue;
      }
      assert.deepEqual(sorted, ['200', '200', '401 refresh_token_rotated'], `refresh answers: ${refreshes.join(', ')}`);
      break;
    }
    assert.ok(rounds.some((r) => r.includes('refresh_token_rotated')), `two tabs never raced: ${rounds.join(' | ')}`);

    await page.getByRole('link', { name: 'New task' }).first().click();
    await page.getByLabel('What should be built?').fill('A command line tool that keeps a list of films to watch');
    await page.getByRole('button', { name: 'Create task' }).click();
    await waitForStatus(page, 'Completed');

    await page.reload();
    await page.getByRole('heading', { name: /Task/ }).first().waitFor();
    await waitForStatus(page, 'Completed', 60000);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'With email and password' }).waitFor();
    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.errors, []);
  } finally {
    await own.close();
  }
});

// raceTwoTabs opens two tabs at once with their /auth/refresh requests held
// until both are in flight, waits until both show the signed-in user, and
// returns the refresh answers seen ("200" or "401 <error code>").
async function raceTwoTabs(context, email) {
  const refreshes = [];
  let release;
  const bothHeld = new Promise((resolve) => {
    release = resolve;
  });
  let held = 0;
  let sent = null;
  await context.route('**/auth/refresh', async (route) => {
    if (held < 2) {
      held += 1;
      if (held === 2) {
        // The cookies both tabs hold now: both requests leave with them,
        // whichever answer lands first.
        const jar = await context.cookies(route.request().url());
        sent = jar.map((c) => `${c.name}=${c.value}`).join('; ');
        release();
      }
      await bothHeld;
      await route.continue({ headers: { ...route.request().headers(), cookie: sent } });
      return;
    }
    await route.continue();
  });
  const onRefresh = async (r) => {
    if (!r.url().endsWith('/auth/refresh')) return;
    let code = '';
    try {
      const body = await r.json();
      code = (body.detail && body.detail.error) || '';
    } catch {
      code = '';
    }
    refreshes.push(`${r.status()}${code ? ` ${code}` : ''}`);
  };
  context.on('response', onRefresh);
  const tabs = [await context.newPage(), await context.newPage()];
  const tabSeen = tabs.map(watchPage);
  try {
    await Promise.all(tabs.map((t) => t.goto(`${BASE}/app/tasks`)));
    for (const t of tabs) {
      await t.getByRole('heading', { name: 'Your tasks' }).waitFor();
      assert.match(await t.locator('#identity').textContent(), new RegExp(email.replace('.', '\\.')));
    }
  } finally {
    await context.unroute('**/auth/refresh');
    context.off('response', onRefresh);
  }
  for (const t of tabs) await t.close();
  for (const s of tabSeen) assert.deepEqual(s.errors, []);
  return refreshes;
}
