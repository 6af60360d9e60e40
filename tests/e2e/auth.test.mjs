// Email/password sign-in in the browser. The /auth endpoints are answered
// here with the contract's shapes (TokenResponse {access_token, token_type,
// expires_in, user}); the server under test runs with AUTH_MODE=apikey, so
// this checks the page's side of the contract: the access token stays in
// memory, requests carry it as a Bearer token, a reload signs in again
// silently through /auth/refresh, and sign-out calls /auth/logout.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, watchPage } from './lib.mjs';

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
