// Budget questions and plan approval in the browser: the new-task form's
// options, the decision forms on the task page, and the task carrying on.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, watchPage, signIn, waitForStatus, shot } from './lib.mjs';

const T = { timeout: 300000 };
let browser;

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

/** createWithOptions fills the new-task form, opening its options. */
async function createWithOptions(page, description, template, { budget = '', approve = false } = {}) {
  await page.goto(`${BASE}/app/new`);
  await page.getByLabel('What should be built?').fill(description);
  await page.getByLabel('Project template').selectOption(template);
  await page.locator('details.options summary').click();
  if (budget) await page.getByLabel('Budget (US dollars)').fill(budget);
  if (approve) await page.getByLabel('Show me the plan and wait for my approval before writing code').check();
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.waitForURL(/\/app\/tasks\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop();
}

test('a budget that runs out stops the task and asks; a raise carries on to completed', T, async () => {
  const { page, seen } = await freshPage();
  await signIn(page);
  // One model call's worst case is about $0.0007 at the default model's
  // prices: $0.0002 stops the first one.
  await createWithOptions(page, 'A command line tool that converts temperatures between Celsius and Fahrenheit', 'python_cli', { budget: '0.0002' });
  await waitForStatus(page, 'Needs input');
  const q = page.locator('.clarify [data-question=budget-1]');
  await q.waitFor();
  assert.match(await q.locator('legend').textContent(), /Spent \$0 of \$0\.0002 at stage research; raise the budget to continue\?/);
  assert.match(await q.locator('.budget-figures').textContent(), /Next call needs up to/);
  // The stopped stage never called the model: no empty live panel.
  assert.equal(await page.getByTestId('live-output').isHidden(), true, 'live panel shown for a stage that wrote nothing');
  await shot(page, 'budget-question', { fullPage: true });
  // The server checks a raise is above what is spent; $1 is plenty.
  await q.getByLabel('Raise the budget and continue').check();
  await q.getByLabel('New budget (US dollars)').fill('1');
  await page.getByRole('button', { name: 'Save and resume' }).click();
  assert.equal(await waitForStatus(page, 'Completed'), 'Completed');
  await page.getByRole('tab', { name: 'Events' }).click();
  await page.locator('#panel-events .tl-type', { hasText: 'budget_raised' }).first().waitFor();
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('plan approval shows the plan; a revision asks again; approval carries on', T, async () => {
  const { page, seen } = await freshPage();
  await signIn(page);
  await createWithOptions(page, 'A command line tool that converts temperatures between Celsius and Fahrenheit', 'python_cli', { approve: true });
  await waitForStatus(page, 'Needs input');
  const first = page.locator('.clarify [data-question=plan-1]');
  await first.waitFor();
  const files = await first.locator('ol.plan code').allTextContents();
  assert.ok(files.length >= 2, `the plan lists its files: ${files}`);
  await shot(page, 'plan-approval', { fullPage: true });
  // Revise without instructions: the page cannot send it.
  await first.getByLabel('Revise the plan').check();
  await page.getByRole('button', { name: 'Save and resume' }).click();
  await page.locator('.clarify .msg', { hasText: 'answer all required questions' }).waitFor();
  await first.getByLabel('What should change (for a revision)').fill('Add a --precision option');
  await page.getByRole('button', { name: 'Save and resume' }).click();
  const second = page.locator('.clarify [data-question=plan-2]');
  await second.waitFor({ timeout: 120000 });
  await second.getByLabel('Approve and start coding').check();
  await page.getByRole('button', { name: 'Save and resume' }).click();
  assert.equal(await waitForStatus(page, 'Completed'), 'Completed');
  assert.deepEqual(seen.errors, []);
  await page.close();
});
