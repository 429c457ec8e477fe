// `lobby serve --demo`: a newcomer's click-through in a real browser — the bundled demo client
// signs a multi-org user in through the hosted pages, the chooser, and shows the token claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './lib/lobby.mjs';
import { openBrowser } from './lib/browser.mjs';

test('demo mode: sign in as the multi-org demo user, pick Globex, see the claims, sign out', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lobby-demo-'));
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.LOBBY_BIN, ['serve', '--demo'], {
    env: { PATH: process.env.PATH, LOBBY_LISTEN: `127.0.0.1:${port}`, LOBBY_METRICS_LISTEN: '127.0.0.1:0', LOBBY_DATA_DIR: dir, LOBBY_LOG: 'warn' },
    stdio: 'ignore',
  });
  const b = await openBrowser();
  try {
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${base}/readyz`)).ok) break; } catch {}
      if (i > 300) throw new Error('lobby --demo did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    await b.page.goto(`${base}/demo`);
    await b.page.click('#start');
    await b.page.fill('#email', 'alice@acme.example');
    await b.page.click('#submit');
    await b.page.fill('#password', 'alice-demo-password');
    await b.page.click('#submit');
    await b.page.click('[data-org-slug="globex"]');
    const claims = JSON.parse(await b.page.textContent('#claims'));
    assert.equal(claims.org_slug, 'globex');
    assert.equal(claims.email, 'alice@acme.example');
    assert.deepEqual(claims.roles, ['sales']);
    await b.page.click('#logout');
    await b.page.waitForSelector('#start');
  } finally {
    await b.close();
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
