// The mail side of the interop tests: a real SMTP server (npm `smtp-server`) on 127.0.0.1 that
// keeps every message, and decoding a message's parts.
import assert from 'node:assert/strict';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server on 127.0.0.1:0 that keeps every message (envelope and raw text). */
export async function startSmtp() {
  const inbox = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        inbox.push({
          from: session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.server.address().port,
    inbox,
    /** The next message to `to` (waits up to 10 s). */
    async messageTo(to) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const i = inbox.findIndex((m) => m.to.includes(to));
        if (i >= 0) return inbox.splice(i, 1)[0];
        if (Date.now() > deadline) throw new Error(`no mail to ${to}; got ${inbox.map((m) => m.to).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** The decoded body of a message part with this content type (7bit, quoted-printable or base64). */
export function mailPart(raw, type) {
  const at = raw.indexOf(`Content-Type: ${type}`);
  assert.ok(at >= 0, `no ${type} part in:\n${raw}`);
  const rest = raw.slice(at);
  const headerEnd = rest.search(/\r?\n\r?\n/);
  const headers = rest.slice(0, headerEnd);
  const body = rest.slice(headerEnd).replace(/^\r?\n\r?\n/, '').split(/\r?\n--/)[0];
  if (/Content-Transfer-Encoding: base64/i.test(headers)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/Content-Transfer-Encoding: quoted-printable/i.test(headers)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}
