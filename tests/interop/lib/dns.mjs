// A tiny authoritative DNS responder over UDP for tests: TXT records only, on 127.0.0.1 and a
// free port; records can change while it runs. Lobby's real resolver (hickory, set with
// LOBBY_DNS_SERVER) asks it. Names not in the zone get NXDOMAIN; names marked `fail` get
// SERVFAIL (what "DNS unavailable" looks like to Lobby).
import dgram from 'node:dgram';

function readName(buf, off) {
  const labels = [];
  for (;;) {
    const len = buf[off];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return { name: labels.join('.'), end: off + 1 };
    if ((len & 0xc0) === 0xc0) throw new Error('compressed names are not expected in a question');
    labels.push(buf.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
}

function txtRdata(value) {
  // One TXT record: character-strings of at most 255 bytes each.
  const bytes = Buffer.from(value, 'utf8');
  const parts = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(parts);
}

export async function startDns() {
  const zone = new Map(); // lowercased name → array of TXT values
  const failing = new Set();
  const queries = [];
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    try {
      const id = msg.readUInt16BE(0);
      const flags = msg.readUInt16BE(2);
      const qd = msg.readUInt16BE(4);
      if (qd !== 1) return;
      const { name, end } = readName(msg, 12);
      const qtype = msg.readUInt16BE(end);
      const question = msg.subarray(12, end + 4);
      const key = name.toLowerCase().replace(/\.$/, '');
      queries.push(key);
      let rcode = 0;
      const answers = [];
      if (failing.has(key)) {
        rcode = 2; // SERVFAIL
      } else if (!zone.has(key)) {
        rcode = 3; // NXDOMAIN
      } else if (qtype === 16 || qtype === 255) {
        for (const v of zone.get(key)) {
          const rdata = txtRdata(v);
          const rr = Buffer.alloc(12);
          rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
          rr.writeUInt16BE(16, 2); // TXT
          rr.writeUInt16BE(1, 4); // IN
          rr.writeUInt32BE(0, 6); // TTL 0: every check asks again
          rr.writeUInt16BE(rdata.length, 10);
          answers.push(rr, rdata);
        }
      }
      const header = Buffer.alloc(12);
      header.writeUInt16BE(id, 0);
      // QR=1, opcode from the query, AA=1, RD copied, rcode.
      header.writeUInt16BE(0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | rcode, 2);
      header.writeUInt16BE(1, 4);
      header.writeUInt16BE(answers.length / 2, 6);
      sock.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
    } catch {
      // A malformed query gets no answer.
    }
  });
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const { port } = sock.address();
  const norm = (n) => n.toLowerCase().replace(/\.$/, '');
  return {
    addr: `127.0.0.1:${port}`,
    queries,
    set(name, values) {
      zone.set(norm(name), values);
      failing.delete(norm(name));
    },
    remove(name) {
      zone.delete(norm(name));
      failing.delete(norm(name));
    },
    fail(name) {
      failing.add(norm(name));
    },
    close: () => new Promise((resolve) => sock.close(resolve)),
  };
}
