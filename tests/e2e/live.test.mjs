// The task page's Live output panel against a real `aiplatform run` (started
// by web/e2e_test.go) with the streaming mock, in Debian's Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watchPage, signIn, waitForStatus, shot, createTask, injectedElements } from './lib.mjs';

const T = { timeout: 300000 };
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
});

test('the task page shows what the coder is writing, then hides the panel when the task ends', T, async () => {
  const page = await browser.context.newPage();
  const seen = watchPage(page);
  await signIn(page);
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  // slow=1: each model call waits a second first, so the page is open
  // well before the coder streams.
  await createTask(page, '[mock:slow=1] A CLI that counts words and lines in text files <b>bold</b>', 'python_cli');
  const panel = page.getByTestId('live-output');
  await panel.getByRole('heading', { name: 'Live output' }).waitFor({ timeout: 120000 });
  // The coder: a file path, and its content decoded from the model's JSON.
  await panel.locator('.live-file code').waitFor({ timeout: 180000 });
  const file = (await panel.locator('.live-file code').textContent()).trim();
  assert.match(file, /^[\w./-]+$/, `file path ${file}`);
  const meta = await panel.locator('.live-meta').textContent();
  assert.match(meta, /implementation/i);
  assert.match(meta, /tokens\/s/);
  await page.waitForFunction(() => (document.querySelector('[data-testid=live-output] pre')?.textContent || '').length > 20);
  const text = await panel.locator('pre.live-text').textContent();
  assert.ok(!text.includes('"content":') && !text.includes('\\n'), `raw JSON shown: ${text.slice(0, 200)}`);
  assert.ok((await panel.locator('.live-files li').count()) >= 1);
  await shot(page, 'live-output');

  assert.equal(await waitForStatus(page, 'Completed'), 'Completed');
  await panel.waitFor({ state: 'hidden' });
  assert.deepEqual(await injectedElements(page), { img: 0, script: 1, bold: 0, svg: 0 });
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.dialogs, []);
  await page.close();
});
