#!/usr/bin/env python3
"""Where a login's CPU goes, from a `perf record --call-graph` of Lobby (broker-cpu.mjs's
BENCH_PERF=<dir> writes one). Each sample is given to the group of the innermost frame that
belongs to one (exclusive shares, adding up to 100 %), and counted under every named step its
stack passes through (inclusive shares). Not part of CI.
  perf script -i <dir>/perf-saml.data -F comm,tid,ip,sym,dso | python3 bench/perf-groups.py
The groups are name patterns: a frame inlined into another crate's function is counted there."""
import sys, re, collections
# Kernel frames first: user-space patterns below (`free`, `aes`…) also match kernel symbols.
GROUPS = [
 ('kernel networking', lambda s,d: 'kernel' in d and re.search(r'tcp|ip_|sock|skb|net_|inet|loopback|__dev|nf_|unix_', s)),
 ('kernel scheduling', lambda s,d: 'kernel' in d and re.search(r'sched|switch|futex|ep_|epoll|wake|idle|hrtimer|enqueue|dequeue|pick_next|finish_task', s)),
 ('kernel, other (syscalls, files, memory)', lambda s,d: 'kernel' in d),
 ('SQLite', lambda s,d: 'sqlite3' in s or 'libsqlite' in d),
 ('xmlsec + libxml2 (verification, parse)', lambda s,d: 'xmlsec' in d or 'libxml2' in d),
 ('crypto (RSA, ECDSA, SHA, AES)', lambda s,d: 'libcrypto' in d or re.search(r'p256|ecdsa|sha2|aes|rsa::|ring::|bigint|hmac', s)),
 ('allocation', lambda s,d: re.match(r'_?mi_|mi_|malloc|free|cfree|realloc|calloc|_int_|__libc_(malloc|free|calloc|realloc)', s) or 'mimalloc' in s),
 ('JSON (serde_json)', lambda s,d: 'serde_json' in s),
 ('XML build/parse in Rust (quick_xml, samael)', lambda s,d: 'quick_xml' in s or 'samael' in s or 'xml_rs' in s),
 ('deflate/base64', lambda s,d: 'miniz' in s or 'flate' in s or 'base64' in s),
 ('tokio', lambda s,d: 'tokio::' in s),
 ('hyper / h1', lambda s,d: 'hyper::' in s or 'httparse' in s),
 ('axum / tower', lambda s,d: 'axum::' in s or 'tower' in s),
 ('libc (memcpy, strings)', lambda s,d: 'libc.so' in d),
 ('Lobby own code', lambda s,d: 'lobby::' in s),
]
kother = collections.Counter(); excl = collections.Counter(); incl = collections.Counter(); n = 0
INCL = [('ACS', r'login::saml::acs'), ('/authorize', r'provider::authorize|login::.*authorize'), ('continue', r'saml::.*continue|acs::cont'),
        ('token endpoint', r'provider::token'), ('OIDC callback', r'login::oidc::callback|oidc::.*callback'), ('email page', r'login::discovery|pages::.*identif|login::.*email'),
        ('AuthnRequest signature', r'rsa_sha256|redirect_url|sign_authn|authn_request'), ('xmlsec verification', r'xmlSecDSigCtxVerify|verify_signed'),
        ('SQLite incl.', r'sqlite3_step'), ('audit insert', r'append_audit|insert_audits'), ('refresh family', r'create_family'),]
def flush(frames):
    global n
    if not frames: return
    n += 1
    for s, d in frames:
        g = next((name for name, f in GROUPS if f(s, d)), None)
        if g:
            excl[g] += 1
            if g.startswith('kernel, other'): kother[s] += 1
            break
    else:
        excl['Lobby and the rest'] += 1
    seen = set()
    for name, pat in INCL:
        if any(re.search(pat, s) for s, _ in frames): seen.add(name)
    for k in seen: incl[k] += 1
frames = []
for line in sys.stdin:
    if not line.strip():
        flush(frames); frames = []; continue
    if line.startswith((' ', '\t')):
        m = re.match(r'\s*[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$', line)
        if m: frames.append((m.group(1), m.group(2)))
flush(frames)
print(f'{n} samples')
for k, v in excl.most_common(): print(f'| {k} | {100*v/n:.1f} % |')
print('inclusive:')
for k, v in incl.most_common(): print(f'| {k} | {100*v/n:.1f} % |')
print('kernel, other — top symbols:', kother.most_common(12))
