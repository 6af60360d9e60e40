// End-to-end tests of the web UI against a real `aiplatform run` (started
// by web/e2e_test.go), in Debian's Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE, KEY, launch, watchPage, signIn, waitForStatus, shot, zipEntries, createTask, injectedElements } from './lib.mjs';

const T = { timeout: 300000 };
let browser;
let completedId = '';

before(async () => {
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
});

async function freshPage() {
  const page = await browser.context.newPage();
  const seen = watchPage(page);
  return { page, seen };
}

test('sign in with an API key; it is kept in sessionStorage only', T, async () => {
  const { page, seen } = await freshPage();
  await page.goto(`${BASE}/`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shot(page, 'signin');
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  assert.match(page.url(), /\/app\/tasks$/);
  const storage = await page.evaluate(() => ({
    session: sessionStorage.getItem('aiPlatformApiKey'),
    local: localStorage.length,
  }));
  assert.equal(storage.session, KEY);
  assert.equal(storage.local, 0, 'nothing may be kept in localStorage');
  assert.match(await page.locator('#identity').textContent(), /API key …/);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a wrong key shows the server error and is not kept', T, async () => {
  const { page } = await freshPage();
  await signIn(page, 'not-the-right-key');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /Invalid API key/);
  assert.match(page.url(), /\/app\/signin|\/$/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('aiPlatformApiKey')), null);
  assert.equal(await page.getByRole('textbox', { name: 'API key' }).getAttribute('aria-invalid'), 'true');
  await shot(page, 'signin-wrong-key');
  await page.close();
});

test('create a task and watch it reach completed without a reload', T, async () => {
  const { page, seen } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await page.goto(`${BASE}/app/new`); // a full page load keeps the key: same tab, same sessionStorage
  const box = page.getByLabel('What should be built?');
  await box.fill('A CLI that counts words and lines');
  assert.match(await page.locator('.counter').textContent(), /^33 \/ 10,000 characters$/);
  await page.getByLabel('Project template').selectOption('python_cli');
  assert.match(await page.locator('select[name=template_id] + .help').textContent(), /Command line tool/);
  await box.fill('A CLI that counts words, lines and the most frequent words in text files');
  await shot(page, 'new-task');
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.waitForURL(/\/app\/tasks\/[0-9a-f-]{36}$/);
  completedId = page.url().split('/').pop();
  const temporalHref = await page.getByRole('link', { name: 'Open in Temporal UI' }).getAttribute('href');
  assert.match(temporalHref, new RegExp(`^http://localhost:\\d+/namespaces/default/workflows/task-${completedId}$`));
  // A marker on window survives only if the page is never reloaded.
  await page.evaluate(() => {
    window.e2eMarker = 'same-page';
  });
  await page.locator('.conn[data-state=live]').waitFor();
  const seenProgress = new Set();
  let midShot = false;
  for (let i = 0; i < 2400; i++) {
    const v = await page.locator('.status-card progress').getAttribute('value');
    seenProgress.add(Number(v));
    const st = (await page.locator('.status-card .badge').textContent()).trim();
    if (!midShot && st === 'Processing' && Number(v) >= 60 && (await page.locator('.tree button.file').count()) > 0) {
      await shot(page, 'task-live');
      midShot = true;
    }
    if (st === 'Completed' || st === 'Failed') break;
    await page.waitForTimeout(100);
  }
  assert.equal(await waitForStatus(page, 'Completed', 5000), 'Completed');
  seenProgress.add(Number(await page.locator('.status-card progress').getAttribute('value')));
  assert.equal(await page.evaluate(() => window.e2eMarker), 'same-page', 'the page reloaded');
  const values = [...seenProgress].sort((a, b) => a - b);
  assert.ok(values.length >= 3, `progress should move through several values live, saw ${values.join(', ')}`);
  assert.equal(values[values.length - 1], 100);
  assert.match(await page.locator('.metric', { hasText: 'Iteration' }).textContent(), /\d+ \/ \d+/);
  assert.match(await page.locator('.metric', { hasText: 'Tokens' }).textContent(), /in, .* out/);
  assert.equal(await page.locator('[data-action=cancel]').isDisabled(), true);
  assert.equal(await page.locator('[data-action=retry]').isDisabled(), true);
  await page.locator('.tree button.file').first().waitFor();
  await shot(page, 'task-completed', { fullPage: true });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('open a file with highlighting and the diff', T, async () => {
  assert.ok(completedId, 'needs the task of the previous test');
  const { page, seen } = await freshPage();
  await signIn(page);
  await page.goto(`${BASE}/app/tasks/${completedId}`);
  const entry = page.locator('.tree button.file[data-path="cli.py"]');
  // The tree's sizes come from the files list's metadata, the category
  // chips from by_type's path lists.
  assert.match(await entry.locator('.fsize').textContent(), /^[1-9][\d.]* (B|KB)$/);
  assert.match(await page.locator('.chips .chip', { hasText: 'Code' }).textContent(), /^Code \([1-9]\d*\)$/);
  await entry.click();
  const code = page.locator('pre.code');
  await code.waitFor();
  assert.match(await page.locator('.viewer-head h3').textContent(), /^cli\.py$/);
  assert.ok((await code.locator('.line').count()) > 10, 'lines are rendered');
  assert.equal((await code.locator('.line .ln').first().textContent()).trim(), '1');
  assert.ok((await code.locator('.tok-keyword').count()) > 0, 'Python keywords are highlighted');
  assert.ok((await code.locator('.tok-string').count()) > 0, 'strings are highlighted');
  await shot(page, 'file-viewer', { fullPage: true });
  await page.getByRole('tab', { name: 'Changes' }).click();
  const file = page.locator('.diff-file', { has: page.locator('.path', { hasText: /^cli\.py$/ }) });
  await file.waitFor();
  assert.ok((await file.locator('tr.d-add').count()) > 0, 'added lines are shown');
  assert.match(await page.locator('.changes .summary').textContent(), /changed file/);
  await shot(page, 'diff');
  // Keyboard: arrow keys move between tabs.
  await page.getByRole('tab', { name: 'Changes' }).focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Review');
  await page.locator('table.checks').waitFor();
  assert.ok((await page.locator('table.checks .badge').count()) >= 3);
  await shot(page, 'review');
  await page.getByRole('tab', { name: 'Command logs' }).click();
  await page.locator('details.log').first().waitFor();
  await page.getByRole('tab', { name: 'Events' }).click();
  await page.locator('#panel-events .tl-type', { hasText: 'TaskCompleted' }).waitFor();
  await page.getByRole('tab', { name: 'Artifacts' }).click();
  await page.locator('#panel-artifacts .tl-type', { hasText: 'review_report' }).first().waitFor();
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('download the zip and the git export; rerun the review', T, async () => {
  assert.ok(completedId, 'needs the task of the previous test');
  const { page, seen } = await freshPage();
  await signIn(page);
  await page.goto(`${BASE}/app/tasks/${completedId}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiplatform-dl-'));
  try {
    const [zip] = await Promise.all([page.waitForEvent('download'), page.locator('[data-action=download-zip]').click()]);
    assert.equal(zip.suggestedFilename(), `task_${completedId}.zip`);
    const zipFile = path.join(dir, 'task.zip');
    await zip.saveAs(zipFile);
    const names = zipEntries(zipFile);
    for (const want of ['cli.py', 'tests/test_cli.py', 'README.md', 'manifest.json']) {
      assert.ok(names.includes(`task_${completedId}/${want}`), `zip lacks ${want}: ${names.join(', ')}`);
    }
    const [git] = await Promise.all([page.waitForEvent('download'), page.locator('[data-action=download-git]').click()]);
    const gitFile = path.join(dir, 'git.zip');
    await git.saveAs(gitFile);
    const gitNames = zipEntries(gitFile);
    assert.ok(gitNames.some((n) => n.endsWith('git_export/patch.diff')), `git export lacks patch.diff: ${gitNames.join(', ')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await page.locator('[data-action=rerun-review]').click();
  await page.locator('.results .alert', { hasText: 'Review finished' }).waitFor({ timeout: 180000 });
  assert.equal(await page.getByRole('tab', { name: 'Review' }).getAttribute('aria-selected'), 'true');
  await page.locator('.review-head', { hasText: 'rerun review' }).waitFor();
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a task that asks questions: answer, resume, completes', T, async () => {
  const { page, seen } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await createTask(page, 'Word counter [mock:clarify]', 'python_cli');
  await waitForStatus(page, 'Needs input');
  const form = page.locator('.clarify form');
  await form.waitFor();
  const details = form.locator('[data-question=task_details] textarea');
  const scope = form.locator('[data-question=scope] select');
  await details.waitFor();
  await scope.waitFor();
  assert.match(await form.locator('[data-question=task_details] label').textContent(), /\(required\)/);
  assert.match(await form.locator('[data-question=task_details] .help').textContent(), /too short/);
  await page.locator('.tree button.file').first().waitFor();
  await shot(page, 'clarification', { fullPage: true });
  // Resume without the required answers: the messages appear at the fields.
  await page.getByRole('button', { name: 'Save and resume' }).click();
  await form.locator('[data-question=scope] .field-error', { hasText: 'needs an answer' }).waitFor();
  assert.equal(await scope.getAttribute('aria-invalid'), 'true');
  // An answer the page accepts but the server refuses (over 4000
  // characters): the server's 400 invalid_answers names the question, and its
  // message appears at that field, not at the others.
  let inputAnswers = 0;
  const onInput = (r) => {
    if (r.url().endsWith('/input') && r.request().method() === 'POST') inputAnswers += 1;
  };
  page.on('response', onInput);
  await details.fill('x'.repeat(4001));
  await page.getByRole('button', { name: 'Save answers' }).click();
  const serverError = form.locator('[data-question=task_details] .field-error', { hasText: 'must be at most 4000 characters' });
  await serverError.waitFor();
  assert.equal(inputAnswers, 1, 'the answer went to the server');
  assert.equal(await details.getAttribute('aria-invalid'), 'true');
  assert.equal((await form.locator('[data-question=scope] .field-error').textContent()).trim(), '', 'only the refused field shows a message');
  assert.equal(await scope.getAttribute('aria-invalid'), 'false');
  assert.match(await form.locator('.msg').textContent(), /do not fit the pending questions/);
  assert.equal(await page.evaluate(() => document.activeElement.name), 'task_details', 'focus moves to the refused field');
  page.off('response', onInput);
  await details.fill('Count words per file and print a total line at the end');
  await page.getByRole('button', { name: 'Save answers' }).click();
  await form.locator('.alert', { hasText: 'Answers saved' }).waitFor();
  assert.equal((await form.locator('[data-question=task_details] .field-error').textContent()).trim(), '', 'the message goes once the answer fits');
  await scope.selectOption('standard');
  await page.getByRole('button', { name: 'Save and resume' }).click();
  assert.equal(await waitForStatus(page, 'Completed'), 'Completed');
  assert.equal(await page.locator('.clarify').count(), 0, 'the form goes away once the task resumes');
  await page.getByRole('tab', { name: 'Events' }).click();
  await page.locator('#panel-events .tl-type', { hasText: 'clarification_received' }).first().waitFor();
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('markup in a description, a question and a file name renders as text', T, async () => {
  const { page, seen } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  const desc = '<img src=x onerror=alert(1)> A tool that prints <b>hello</b> in <i>colour</i> to the screen';
  await page.goto(`${BASE}/app/new`);
  await page.getByLabel('Project template').selectOption('xss_probe');
  assert.match(await page.locator('select[name=template_id] + .help').textContent(), /<script>alert\('tpl'\)<\/script>/);
  await page.getByLabel('What should be built?').fill(desc);
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.waitForURL(/\/app\/tasks\/[0-9a-f-]{36}$/);
  assert.equal((await page.locator('.task-desc').textContent()).trim(), desc);
  await waitForStatus(page, 'Needs input');
  const q = page.locator('.clarify [data-question=xss_question]');
  await q.waitFor();
  assert.match(await q.locator('legend').textContent(), /<img src=x onerror=alert\(2\)> Which <b>flavour<\/b>\?/);
  assert.match(await q.locator('.help').textContent(), /<svg onload=alert\(4\)>/);
  await q.getByLabel('<script>alert(3)</script>').check();
  await q.getByLabel('<i>plain</i>').check();
  await page.getByRole('button', { name: 'Save and resume' }).click();
  assert.equal(await waitForStatus(page, ['Completed', 'Failed']), 'Completed');
  const xssFile = page.locator('.tree button.file', { hasText: '<img src=x onerror=alert(1)>.md' });
  await xssFile.waitFor();
  await xssFile.click();
  await page.locator('.viewer-head h3', { hasText: '<img src=x onerror=alert(1)>.md' }).waitFor();
  await page.getByRole('tab', { name: 'Events' }).click();
  await page.locator('#panel-events .tl-type', { hasText: 'clarification_received' }).first().waitFor();
  await page.goto(`${BASE}/app/tasks`);
  await page.locator('.task-row .desc', { hasText: '<img src=x onerror=alert(1)>' }).first().waitFor();
  const counts = await injectedElements(page);
  assert.deepEqual(counts, { img: 0, script: 1, bold: 0, svg: 0 }, 'no element came from server data');
  assert.deepEqual(seen.dialogs, [], 'no dialog may fire');
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('the page falls back to polling when the socket fails', T, async () => {
  assert.ok(completedId, 'needs the completed task');
  const { page } = await freshPage();
  await page.routeWebSocket(/\/ws\//, (ws) => ws.close({ code: 1011, reason: 'test: socket refused' }));
  await signIn(page);
  await page.goto(`${BASE}/app/tasks/${completedId}`);
  const states = new Set();
  for (let i = 0; i < 600 && !states.has('polling'); i++) {
    states.add(await page.locator('.conn').getAttribute('data-state'));
    await page.waitForTimeout(100);
  }
  assert.ok(states.has('polling'), `the indicator never showed polling; it showed ${[...states].join(', ')}`);
  assert.equal(await waitForStatus(page, 'Completed', 30000), 'Completed');
  await page.close();
});

test('usable at phone width', T, async () => {
  assert.ok(completedId, 'needs the completed task');
  const { page } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await page.locator('.task-row').first().waitFor();
  await shot(page, 'task-list');
  await page.setViewportSize({ width: 375, height: 812 });
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok((await overflow()) <= 0, 'the task list does not scroll sideways');
  await shot(page, 'phone-list');
  await page.goto(`${BASE}/app/tasks/${completedId}`);
  await waitForStatus(page, 'Completed', 30000);
  await page.locator('.tree button.file').first().waitFor();
  assert.ok((await overflow()) <= 0, 'the task page does not scroll sideways');
  await shot(page, 'phone-task');
  // Keyboard: Tab moves to the next control, which shows a focus ring.
  await page.locator('.tree button.file').first().focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'file');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.close();
});

test('creating a task explains over-long text, rate limits and outages', T, async () => {
  const { page } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await page.goto(`${BASE}/app/new`);
  const box = page.getByLabel('What should be built?');
  await box.fill('x'.repeat(10001));
  assert.match(await page.locator('.counter').textContent(), /10,001 \/ 10,000 characters: 1 over the limit/);
  assert.equal(await box.getAttribute('aria-invalid'), 'true');
  let posts = 0;
  const answers = [
    { status: 429, headers: { 'Retry-After': '17' }, body: { detail: { error: 'rate_limited', retry_after: 17 } }, want: /Try again in 17 s/ },
    { status: 503, body: { detail: 'The workflow service (Temporal) is not reachable right now; try again shortly' }, want: /temporarily unavailable: The workflow service/ },
    { status: 400, body: { detail: 'Template not found' }, want: /Template not found/ },
    { status: 401, body: { detail: 'Invalid API key' }, want: /Invalid API key/ },
  ];
  await page.route('**/api/tasks', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const a = answers[posts++];
    return route.fulfill({ status: a.status, headers: a.headers, contentType: 'application/json', body: JSON.stringify(a.body) });
  });
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.locator('form .alert', { hasText: 'longer than the server' }).waitFor();
  assert.equal(posts, 0, 'an over-long description is not sent');
  await box.fill('A CLI that counts words and lines in text files');
  for (const a of answers.slice(0, 3)) {
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.locator('form .alert', { hasText: a.want }).waitFor();
  }
  // 401: the key is dropped and the sign-in page says why.
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.match(await page.getByRole('alert').textContent(), /Invalid API key/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('aiPlatformApiKey')), null);
  await page.close();
});

test('task controls: pause, unpause, cancel, retry, each after a confirmation', T, async () => {
  const { page, seen } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await createTask(page, '[mock:slow=2] A CLI that counts words and lines in text files', 'python_cli');
  await waitForStatus(page, 'Processing');
  const confirm = async (action, button) => {
    await page.locator(`[data-action=${action}]`).click();
    const dlg = page.getByRole('dialog');
    await dlg.waitFor();
    await dlg.getByRole('button', { name: button }).click();
    await dlg.waitFor({ state: 'detached' });
  };
  // Escape dismisses the dialog and nothing happens.
  await page.locator('[data-action=cancel]').click();
  await page.getByRole('dialog').waitFor();
  await shot(page, 'confirm-dialog');
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  assert.equal((await page.locator('.status-card .badge').textContent()).trim(), 'Processing');
  await confirm('pause', 'Pause');
  assert.equal(await waitForStatus(page, 'Paused', 60000), 'Paused');
  assert.equal(await page.locator('[data-action=pause]').isDisabled(), true);
  await confirm('unpause', 'Unpause');
  await waitForStatus(page, ['Processing', 'Queued'], 60000);
  await confirm('cancel', 'Cancel task');
  assert.equal(await waitForStatus(page, 'Cancelled', 60000), 'Cancelled');
  assert.equal(await page.locator('[data-action=cancel]').isDisabled(), true);

  // A failed task offers Retry. (Only the request is checked: its outcome
  // belongs to the API's tests; a retry sent the instant a task fails can
  // race the closing workflow run, see the branch notes.)
  await createTask(page, '[mock:llm-error] A CLI that counts words and lines in text files', 'python_cli');
  assert.equal(await waitForStatus(page, 'Failed'), 'Failed');
  assert.match(await page.locator('.status-card .alert').textContent(), /llm provider error/);
  assert.equal(await page.locator('[data-action=cancel]').isDisabled(), true);
  await confirm('retry', 'Retry');
  await page.locator('.status-card .alert', { hasText: 'Retry started' }).waitFor();
  assert.deepEqual(seen.dialogs, []);
  await page.close();
});

test('an unknown task id says the task was not found', T, async () => {
  const { page } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await page.goto(`${BASE}/app/tasks/00000000-0000-4000-8000-000000000000`);
  await page.getByRole('alert').filter({ hasText: 'Task not found' }).first().waitFor();
  await page.locator('.conn[data-state=closed]').waitFor();
  await page.goto(`${BASE}/app/nowhere`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.close();
});

test('the task list filters by status, and the filter survives a reload', T, async () => {
  const { page, seen } = await freshPage();
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  const total = async (status) => {
    const r = await page.request.get(`${BASE}/api/tasks?limit=1${status ? `&status=${status}` : ''}`, { headers: { 'X-API-Key': KEY } });
    assert.equal(r.status(), 200);
    return (await r.json()).total;
  };
  const filter = page.getByLabel('Status', { exact: true });
  const list = page.locator('.task-list');
  // Choosing a status reloads the list from the server with that filter.
  const choose = async (value) => {
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/tasks?') && new URL(r.url()).searchParams.get('status') === (value || null)),
      filter.selectOption(value),
    ]);
    await list.and(page.locator('[aria-busy=false]')).waitFor();
  };
  const badges = async () => (await list.locator('.task-row .badge').allTextContents()).map((b) => b.trim());

  const cancelled = await total('cancelled');
  assert.ok(cancelled >= 1, 'the task-controls test left a cancelled task');
  await choose('cancelled');
  assert.match(page.url(), /\/app\/tasks\?status=cancelled$/);
  assert.deepEqual(await badges(), Array(Math.min(cancelled, 20)).fill('Cancelled'));
  assert.equal((await page.locator('.count').textContent()).trim(), `${cancelled} task${cancelled === 1 ? '' : 's'}`);

  await choose('completed');
  const done = await badges();
  assert.ok(done.length >= 1 && done.every((b) => b === 'Completed'), `only completed tasks: ${done.join(', ')}`);
  await shot(page, 'task-list-filtered');

  // A status nobody has shows the empty state, without the "create" link.
  for (const s of ['paused', 'queued', 'needs_input']) {
    if ((await total(s)) !== 0) continue;
    await choose(s);
    await list.getByText('No tasks with this status.').waitFor();
    assert.equal(await list.getByRole('link', { name: 'Create your first task' }).count(), 0);
    break;
  }

  // The filter is in the address: a reload keeps it.
  await page.goto(`${BASE}/app/tasks?status=cancelled`);
  await list.and(page.locator('[aria-busy=false]')).waitFor();
  assert.equal(await filter.inputValue(), 'cancelled');
  assert.deepEqual(await badges(), Array(Math.min(cancelled, 20)).fill('Cancelled'));

  // All statuses again.
  await choose('');
  assert.match(page.url(), /\/app\/tasks$/);
  const all = await total('');
  assert.equal((await page.locator('.count').textContent()).trim(), `${all} task${all === 1 ? '' : 's'}`);
  assert.deepEqual(seen.errors, []);
  await page.close();
});
