// Headless Debian Chromium driven by playwright-core (never the `playwright` package: it
// downloads browsers). A fresh profile per browser, removed on close.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function openBrowser() {
  const dir = mkdtempSync(join(tmpdir(), 'lobby-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  const page = context.pages()[0] || (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Navigate and wait until the browser lands on a URL starting with `prefix` (the RP callback).
export async function waitForCallback(page, prefix, timeout = 30_000) {
  await page.waitForURL((u) => u.toString().startsWith(prefix), { timeout, waitUntil: 'commit' });
  return page.url();
}
