// A browser without JavaScript, for the benchmarks and the topology test: a cookie jar with the
// browser's SameSite rules, redirects followed by hand, forms parsed from the HTML and submitted
// (Lobby's email form, an IdP's login form, SAML auto-POST forms). Each login gets its own jar,
// so every login is a full login (no SSO session reused). `dispatcher` (an undici Agent) gives a
// login its own connections; without it, fetch's shared keep-alive pool is used.
import { fetch as undiciFetch } from 'undici';

const siteOf = (u) => `${u.protocol}//${u.hostname}`; // loopback hosts: the host is the site
export { siteOf };

export class Jar {
  cookies = []; // { name, value, host, path, sameSite }

  store(url, res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const c = { name: pair.slice(0, eq), value: pair.slice(eq + 1), host: url.hostname, sameSite: 'lax' };
      c.path = url.pathname.slice(0, url.pathname.lastIndexOf('/')) || '/';
      let gone = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) c.path = v;
        else if (key === 'samesite') c.sameSite = v.toLowerCase();
        else if (key === 'max-age' && Number(v) <= 0) gone = true;
        else if (key === 'expires' && Date.parse(v) < Date.now()) gone = true;
      }
      this.cookies = this.cookies.filter((o) => !(o.name === c.name && o.host === c.host && o.path === c.path));
      if (!gone) this.cookies.push(c);
    }
  }

  /** The Cookie header for a top-level navigation to `url` started from a page of `initiator`. */
  header(url, method, initiator) {
    const crossSite = initiator !== null && initiator !== siteOf(url);
    const sent = this.cookies.filter((c) => c.host === url.hostname
      && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : c.path + '/'))
      && (!crossSite || c.sameSite === 'none' || (c.sameSite === 'lax' && method === 'GET')));
    return sent.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeHtml = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e) => {
  if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  return ENTITIES[e.toLowerCase()] ?? m;
});
const attrs = (tag) => Object.fromEntries([...tag.matchAll(/([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)]
  .map(([, k, v1, v2]) => [k.toLowerCase(), unescapeHtml(v1 ?? v2)]));

/** The page's forms: { method, action, fields: {name: value} }. */
export function forms(html, base) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, open, body]) => {
    const a = attrs(open);
    const fields = {};
    for (const [tag] of body.matchAll(/<(?:input|button)\b[^>]*>/gi)) {
      const i = attrs(tag);
      if (i.name && !(tag.toLowerCase().startsWith('<button') && !i.value)) fields[i.name] = i.value ?? '';
    }
    return { method: (a.method || 'get').toUpperCase(), action: new URL(a.action ?? '', base), fields };
  });
}

/**
 * Navigates like a browser from `url` until a redirect to a URL starting with `until`, filling
 * the forms met on the way: Lobby's email page, the IdP's login page (username + password),
 * auto-POST forms. Returns the final URL and the steps taken (a failure shows them all).
 */
export async function browse(jar, url, user, { until, dispatcher, timeoutMs = 15000, maxSteps = 25 }) {
  let req = { url: new URL(url), method: 'GET', body: undefined, initiator: null };
  const trail = [];
  const fail = (why, text = '') => {
    throw new Error(`${why}\n  path: ${trail.join('\n        ')}\n  page: ${text.replace(/\s+/g, ' ').slice(0, 1500)}`);
  };
  for (let step = 0; step < maxSteps; step++) {
    if (req.url.href.startsWith(until)) return { cb: req.url, trail };
    const headers = { 'user-agent': 'lobby-bench/1' };
    const cookie = jar.header(req.url, req.method, req.initiator);
    if (cookie) headers.cookie = cookie;
    if (req.body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = req.initiator;
    }
    // A step that hangs fails the run with the path so far instead of stalling it.
    let res;
    try {
      res = await fetchVia(dispatcher)(req.url, {
        method: req.method, headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
        ...(dispatcher ? { dispatcher } : {}),
      });
    } catch (e) {
      fail(`${req.method} ${req.url.href.slice(0, 140)}: ${e.message}${e.cause ? ` (${e.cause.message || e.cause})` : ''}`);
    }
    jar.store(req.url, res);
    trail.push(`${req.method} ${req.url.href.slice(0, 140)} → ${res.status}`);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      const keep = res.status === 307 || res.status === 308;
      req = { url: new URL(res.headers.get('location'), req.url), method: keep ? req.method : 'GET', body: keep ? req.body : undefined, initiator: req.initiator };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) fail(`unexpected ${res.status}`, html);
    const f = forms(html, req.url).find((x) => x.method === 'POST');
    if (!f) fail('page without a form', html);
    const fields = { ...f.fields };
    if ('SAMLResponse' in fields || 'SAMLRequest' in fields) {
      // auto-POST page (script-submitted): sent as is
    } else if ('password' in fields) {
      fields.username = user.email;
      fields.password = user.password;
    } else if ('email' in fields) {
      fields.email = user.email;
    } else {
      fail('unknown form', html);
    }
    req = { url: f.action, method: 'POST', body: new URLSearchParams(fields).toString(), initiator: siteOf(req.url) };
  }
  fail('too many steps');
}

/** fetch through `dispatcher` (undici's own fetch, the Agent's version), or the global fetch. */
export const fetchVia = (dispatcher) => (dispatcher ? undiciFetch : fetch);
