// Helpers for the browser tests: launching Debian's Chromium through
// playwright-core (never a downloaded browser), signing in, waiting for a
// task, reading zip entries and saving screenshots.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const BASE = process.env.E2E_BASE_URL || '';
export const KEY = process.env.E2E_API_KEY || '';
export const SHOTS = process.env.E2E_SCREENSHOTS || '';
export const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';

if (!BASE || !KEY) {
  throw new Error('E2E_BASE_URL and E2E_API_KEY must be set (web/e2e_test.go starts the server and sets them)');
}

/** launch starts Chromium with a fresh profile directory. */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'aiplatform-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(60000);
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * watchPage records dialogs (answering them), page errors and console
 * errors, so a test can assert that nothing fired.
 */
export function watchPage(page) {
  const seen = { dialogs: [], errors: [] };
  page.on('dialog', async (d) => {
    seen.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => seen.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) seen.errors.push(`console: ${m.text()}`);
  });
  return seen;
}

/** signIn opens the app and signs in with an API key. */
export async function signIn(page, key = KEY) {
  await page.goto(`${BASE}/`);
  await page.getByRole('textbox', { name: 'API key' }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
  // The key is checked against the server before it is kept: wait for that
  // answer (the task list, or the error), so a navigation right after does
  // not load a page that is not signed in yet.
  await page.getByRole('heading', { name: 'Your tasks' }).or(page.getByRole('alert')).first().waitFor();
}

/** statusText reads the status badge on a task page. */
export function statusText(page) {
  return page.locator('.status-card .badge').first().textContent();
}

/** waitForStatus waits until the task page's badge shows one of the labels. */
export async function waitForStatus(page, labels, timeout = 240000) {
  const want = [labels].flat();
  await page.waitForFunction(
    (w) => {
      const b = document.querySelector('.status-card .badge');
      return b && w.includes(b.textContent.trim());
    },
    want,
    { timeout, polling: 100 },
  );
  return (await statusText(page)).trim();
}

/** shot saves a PNG of the page under E2E_SCREENSHOTS (when set). */
export async function shot(page, name, opts = {}) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), ...opts });
}

/** zipEntries lists the names in a zip file (reads the central directory). */
export function zipEntries(file) {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'not a zip file: no end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const names = [];
  for (let n = 0; n < count; n++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'bad central directory entry');
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    names.push(buf.subarray(p + 46, p + 46 + nameLen).toString('utf8'));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

/** createTask fills the new-task form and returns the new task's id. */
export async function createTask(page, description, template = '') {
  await page.goto(`${BASE}/app/new`);
  await page.getByLabel('What should be built?').fill(description);
  if (template) await page.getByLabel('Project template').selectOption(template);
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.waitForURL(/\/app\/tasks\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop();
}

/** injected counts elements that markup in server data would have created. */
export function injectedElements(page) {
  return page.evaluate(() => ({
    img: document.querySelectorAll('main img, img[src="x"]').length,
    script: document.querySelectorAll('script').length,
    bold: document.querySelectorAll('main b, main i').length,
    svg: document.querySelectorAll('main svg:not(.dot)').length,
  }));
}
