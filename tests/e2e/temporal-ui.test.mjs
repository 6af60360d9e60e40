// The Temporal Web UI as the operators' console: a task parked in
// needs_input is found there by its search attributes, and its timeline
// reads in words. Runs against the dev server's UI that `aiplatform run`
// (web/e2e_test.go) starts; E2E_TEMPORAL_UI is its address.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, KEY, launch, shot } from './lib.mjs';

const UI = process.env.E2E_TEMPORAL_UI || '';
const T = { timeout: 300000 };
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
});

async function api(page, method, path, body) {
  const r = await page.request.fetch(`${BASE}${path}`, {
    method,
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
    data: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.ok(), `${method} ${path}: ${r.status()} ${await r.text()}`);
  return r.json();
}

test('an operator finds a parked task by its search attributes in the Temporal Web UI', T, async (t) => {
  if (!UI) {
    t.skip('E2E_TEMPORAL_UI is not set');
    return;
  }
  const page = await browser.context.newPage();
  const created = await api(page, 'POST', '/api/tasks', {
    description: 'A command line tool that converts temperatures [mock:clarify]',
    template_id: 'python_cli',
  });
  const id = created.task_id;
  const deadline = Date.now() + 120000;
  for (;;) {
    const v = await api(page, 'GET', `/api/tasks/${id}`);
    if (v.status === 'needs_input') break;
    assert.ok(Date.now() < deadline, `task ${id} is ${v.status}, not needs_input`);
    await page.waitForTimeout(200);
  }

  // The list, filtered by the query an operator would type: every task
  // parked in needs_input. Visibility is eventually consistent, so the page
  // is reloaded until the row shows.
  const query = encodeURIComponent("TaskStatus = 'needs_input' AND TaskTemplate = 'python_cli'");
  const row = page.getByRole('link', { name: `task-${id}` }).first();
  const listDeadline = Date.now() + 60000;
  for (;;) {
    await page.goto(`${UI}/namespaces/default/workflows?query=${query}`);
    try {
      await row.waitFor({ timeout: 5000 });
      break;
    } catch (e) {
      if (Date.now() > listDeadline) throw e;
    }
  }
  await shot(page, 'temporal-ui-parked');

  // The workflow's own page: its summary names the task and template, and
  // the timeline names the steps rather than activity types.
  await page.goto(`${UI}/namespaces/default/workflows/task-${id}`);
  await page.getByText(`Task ${id} · template python_cli`).first().waitFor();
  await page.getByText('research').first().waitFor();
  await shot(page, 'temporal-ui-task');

  await api(page, 'POST', `/api/tasks/${id}/cancel`, {});
  await page.close();
});
