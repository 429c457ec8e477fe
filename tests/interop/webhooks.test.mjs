// Event webhooks against an independent receiver: a Node HTTP server on 127.0.0.1 that checks
// every `Lobby-Signature` with node:crypto exactly as the README tells receivers to
// (HMAC-SHA256 of "<t>.<raw body>", hex, constant-time compare, 5-minute tolerance), answers
// 500 to the first delivery and sees it retried with the same event id, then goes down: events
// written meanwhile arrive after Lobby is restarted on the same database.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLobby } from './lib/lobby.mjs';

// The receiver snippet of the README, verbatim in spirit.
function verify(secret, header, rawBody, toleranceSecs = 300) {
  const parts = Object.fromEntries(
    (header || '').split(',').map((p) => p.trim().split('=', 2)),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) return false;
  if (Math.abs(Date.now() / 1000 - t) > toleranceSecs) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A receiver; `fail` first requests get 500. Records every request. */
function receiver({ port = 0, fail = 0, secret }) {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ok = verify(secret(), req.headers['lobby-signature'], body);
      seen.push({ ok, body, event: JSON.parse(body), headers: req.headers, at: Date.now() });
      if (!ok) { res.writeHead(400).end('bad signature'); return; }
      if (fail > 0) { fail -= 1; res.writeHead(500).end('try again'); return; }
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({
      seen,
      port: server.address().port,
      close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
    }));
  });
}

async function until(what, ok, ms = 40_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'lobby-webhooks-'));
let lobby;
after(async () => {
  await lobby?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('signed events, a retry after a 500, and delivery after a restart', async () => {
  let secret = '';
  const rx = await receiver({ fail: 1, secret: () => secret });
  lobby = await startLobby({ dataDir });
  const hook = await lobby.admin('POST', '/webhooks', {
    url: `http://127.0.0.1:${rx.port}/hooks/lobby`,
    events: ['org.created', 'org.suspended'],
    description: 'interop receiver',
  });
  secret = hook.secret;
  assert.match(secret, /^whsec_/);

  await lobby.admin('POST', '/orgs', { id: 'acme', slug: 'acme', name: 'Acme' });
  await until('the retry after the 500', () => rx.seen.length >= 2);
  const [first, retry] = rx.seen;
  assert.ok(first.ok && retry.ok, 'both signatures verify with node:crypto');
  assert.equal(first.event.type, 'org.created');
  assert.equal(first.event.org_id, 'acme');
  assert.equal(first.event.data.object.slug, 'acme');
  assert.equal(retry.event.id, first.event.id, 'the retry carries the same event id');
  assert.equal(retry.body, first.body, 'and the same body');
  assert.ok(retry.at - first.at >= 4000, `retried after the backoff (${retry.at - first.at} ms)`);
  assert.equal(first.headers['content-type'], 'application/json');
  assert.equal(first.headers['lobby-event-id'], first.event.id);

  await until('the health to show the success', async () => {
    const h = await lobby.admin('GET', `/webhooks/${hook.id}`);
    return h.health.last_status === 204 && h.health.consecutive_failures === 0;
  });
  const deliveries = await lobby.admin('GET', `/webhooks/${hook.id}/deliveries`);
  assert.equal(deliveries.items[0].state, 'delivered');
  assert.equal(deliveries.items[0].attempts, 2);

  // The receiver goes down; an event is written meanwhile and its attempt fails.
  await rx.close();
  await lobby.admin('PATCH', '/orgs/acme', { status: 'suspended' });
  await until('a failed attempt', async () => {
    const h = await lobby.admin('GET', `/webhooks/${hook.id}`);
    return h.health.consecutive_failures >= 1 && h.health.pending === 1;
  });
  await lobby.stop();
  lobby = undefined;

  // The receiver comes back on the same port; a new Lobby process on the same database sends it.
  const back = await receiver({ port: rx.port, secret: () => secret });
  lobby = await startLobby({ dataDir });
  await until('the event after the restart', () => back.seen.length >= 1);
  const ev = back.seen[0];
  assert.ok(ev.ok, 'signature verifies');
  assert.equal(ev.event.type, 'org.suspended');
  assert.equal(ev.event.org_id, 'acme');
  assert.equal(ev.event.data.object.status, 'suspended');
  assert.equal(ev.event.data.previous.status, 'active');
  await back.close();
});
