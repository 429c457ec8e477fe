// Acme's OIDC IdP (lib/idp-oidc.mjs, oidc-provider) in its own node process, so the benchmark
// can read the IdP's CPU time apart from the load driver's. Started with child_process.fork():
// says { ready } once it listens for its orders (a message sent before that would be lost while
// the module still loads), then receives { users, clients } over IPC and answers { issuer }.
import { startOidcIdp } from '../lib/idp-oidc.mjs';

process.once('message', async (opts) => {
  try {
    const idp = await startOidcIdp(opts);
    process.send({ issuer: idp.issuer });
    // Lobby's pooled keep-alive connections would hold server.close() open: just exit.
    process.once('disconnect', () => process.exit(0));
  } catch (e) {
    process.send({ error: String(e?.stack || e) });
    process.exit(1);
  }
});
process.send({ ready: true });
