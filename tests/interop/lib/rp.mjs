// A relying party's callback endpoint: a tiny HTTP server reached as `localhost` (a different
// site from Lobby on 127.0.0.1, so cookies are really exercised cross-site) that answers 200.
// It listens on 127.0.0.1 and, when available, on [::1] with the same port, since Chromium may
// resolve `localhost` to either.
import http from 'node:http';

export async function startCallbackServer() {
  const handler = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>rp</title><p>callback received</p>');
  };
  const v4 = http.createServer(handler);
  await new Promise((r) => v4.listen(0, '127.0.0.1', r));
  const { port } = v4.address();
  const v6 = http.createServer(handler);
  const v6ok = await new Promise((r) => {
    v6.once('error', () => r(false));
    v6.listen(port, '::1', () => r(true));
  });
  return {
    base: `http://localhost:${port}`,
    close: async () => {
      await new Promise((r) => v4.close(r));
      if (v6ok) await new Promise((r) => v6.close(r));
    },
  };
}
