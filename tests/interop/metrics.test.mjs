// `/metrics` of a real `lobby serve` process, checked by Prometheus's own tool: after a password
// sign-in (headless Chromium) and the RP's code exchange (openid-client), the scrape of the
// metrics listener (LOBBY_METRICS_LISTEN, its own port) passes `promtool check metrics` (Debian
// package `prometheus`): errors fail the test, lint warnings are printed. Also: the counters of
// that sign-in moved, and the public listener does not serve /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startLobby } from './lib/lobby.mjs';
import { openBrowser, waitForCallback } from './lib/browser.mjs';
import { startCallbackServer, rpConfig, authorize, exchange } from './lib/rp.mjs';
import { demoTenant, PASSWORDS } from './lib/tenant.mjs';

let lobby, rp, t;

before(async () => {
  rp = await startCallbackServer();
  t = demoTenant(rp.base);
  lobby = await startLobby({ importYaml: t.yaml });
});

after(async () => {
  await lobby?.stop();
  await rp?.close();
});

/** The value of one sample line `name{labels} value`, 0 when absent. */
function sample(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

test('after a sign-in, /metrics on its own listener passes promtool check metrics', async () => {
  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  assert.equal(promtool.status, 0, 'promtool is installed (apt-get install prometheus)');

  const b = await openBrowser();
  try {
    const app = t.apps.crm;
    const config = await rpConfig(lobby.url, app);
    const req = await authorize(config, app);
    await b.page.goto(req.url.href);
    await b.page.fill('#email', t.users.alice.email);
    await b.page.click('#submit');
    await b.page.waitForSelector('#password');
    await b.page.fill('#password', PASSWORDS.alice);
    await b.page.click('#submit');
    const cb = await waitForCallback(b.page, app.redirect_uri);
    const tokens = await exchange(config, req, cb);
    assert.ok(tokens.access_token);
  } finally {
    await b.close();
  }

  const pub = await fetch(`${lobby.url}/metrics`);
  assert.equal(pub.status, 404, 'metrics are not on the public listener');

  const r = await fetch(lobby.metricsUrl);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  assert.equal(sample(text, 'lobby_logins_started_total{kind="password"}'), 1);
  assert.equal(sample(text, 'lobby_logins_finished_total{kind="password",outcome="success"}'), 1);
  assert.equal(
    sample(text, `lobby_token_grants_total{grant_type="authorization_code",client_id="${t.apps.crm.client_id}",outcome="success"}`),
    1,
  );
  assert.match(text, /^lobby_build_info\{version="[^"]+"\} 1$/m);
  assert.match(text, /^lobby_storage_op_duration_seconds_count\{db="sqlite"\} \d+$/m);

  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const said = `${check.stdout}${check.stderr}`.trim();
  // promtool exits 0 when clean, 3 with lint findings only (reported, not fatal), 1 on errors.
  if (said) console.log(`promtool check metrics (exit ${check.status}):\n${said}`);
  assert.ok(check.status === 0 || check.status === 3, `promtool found errors in the exposition format:\n${said}`);
});

test("README's suggested alerts are valid Prometheus rules over Lobby's metric names", async () => {
  const { readFileSync, writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = readme.match(/```yaml\n(groups:\n  - name: lobby\n[\s\S]*?)```/);
  assert.ok(m, 'README has the alert rules block');
  const file = join(mkdtempSync(join(tmpdir(), 'lobby-rules-')), 'rules.yml');
  writeFileSync(file, m[1]);
  const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  // Every metric an alert reads is one Lobby exports (names from the README's table).
  for (const name of m[1].match(/lobby_[a-z_]+/g)) {
    const base = name.replace(/_(count|sum|bucket)$/, '');
    assert.ok(readme.includes('| `' + base + '` |'), `${name} is in the metrics table`);
  }
});
