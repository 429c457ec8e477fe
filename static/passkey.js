// Passkeys on the second-factor pages (issue 16 item 4): enrol one (data-mode="register") or
// pass the challenge with one (data-mode="authenticate"). Served from Lobby's own origin
// (`/static/passkey.js`), so the pages' CSP needs no inline script. No framework.
//
// The page holds `<div id="passkey" data-mode data-flow data-csrf hidden>` with a button
// `#passkey-button`, an alert `#passkey-status`, and the sentences this script may show, in the
// page's language: `#passkey-unsupported` (no WebAuthn here) and `#passkey-cancelled` (the
// person cancelled, or the authenticator had no matching passkey). Errors from the server come
// with their own sentence (`message`). The other ways on the page work without this script.
(function () {
  'use strict';
  var box = document.getElementById('passkey');
  if (!box) return;
  var mode = box.getAttribute('data-mode');
  var flow = box.getAttribute('data-flow');
  var csrf = box.getAttribute('data-csrf');
  var button = document.getElementById('passkey-button');
  var status = document.getElementById('passkey-status');

  // "Remember this device" on the page (the code form's box, or the passkey part's own).
  function remembered() {
    var tick = document.getElementById('remember');
    return !!(tick && tick.checked);
  }

  function sentence(id) {
    var el = document.getElementById(id);
    return el ? el.textContent : '';
  }

  function show(text) {
    status.textContent = text;
    status.hidden = false;
  }

  box.hidden = false;
  if (!window.PublicKeyCredential || !navigator.credentials || !window.isSecureContext) {
    button.hidden = true;
    show(sentence('passkey-unsupported'));
    return;
  }

  // base64url (RFC 4648 §5, unpadded) <-> ArrayBuffer: WebAuthn's JSON form of its bytes.
  function toBuffer(s) {
    var b64 = s.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toText(buf) {
    if (!buf) return null;
    var bytes = new Uint8Array(buf);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: toBuffer(d.id) };
      if (d.transports) out.transports = d.transports;
      return out;
    });
  }

  // POST JSON with the flow and its CSRF token; resolves to the answer's JSON, rejects with the
  // server's sentence.
  function post(path, extra) {
    var body = { flow: flow, csrf: csrf };
    for (var k in extra) body[k] = extra[k];
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(
        function (j) {
          if (!r.ok) throw { shown: j && j.message };
          return j;
        },
        function () {
          throw { shown: null };
        }
      );
    });
  }

  function register() {
    return post('/login/mfa/passkey/register/options', {}).then(function (o) {
      var pk = o.publicKey;
      pk.challenge = toBuffer(pk.challenge);
      pk.user.id = toBuffer(pk.user.id);
      if (pk.excludeCredentials) pk.excludeCredentials = descriptors(pk.excludeCredentials);
      return navigator.credentials.create({ publicKey: pk }).then(function (cred) {
        var r = cred.response;
        var ext = cred.getClientExtensionResults ? cred.getClientExtensionResults() : {};
        var credential = {
          id: cred.id,
          rawId: toText(cred.rawId),
          type: cred.type,
          response: {
            attestationObject: toText(r.attestationObject),
            clientDataJSON: toText(r.clientDataJSON),
            transports: r.getTransports ? r.getTransports() : undefined,
          },
          extensions: ext.credProps ? { credProps: ext.credProps } : {},
        };
        return post('/login/mfa/passkey/register/finish', { credential: credential, remember: remembered() });
      });
    });
  }

  function authenticate() {
    return post('/login/mfa/passkey/authenticate/options', {}).then(function (o) {
      var pk = o.publicKey;
      pk.challenge = toBuffer(pk.challenge);
      if (pk.allowCredentials) pk.allowCredentials = descriptors(pk.allowCredentials);
      return navigator.credentials.get({ publicKey: pk }).then(function (cred) {
        var r = cred.response;
        var credential = {
          id: cred.id,
          rawId: toText(cred.rawId),
          type: cred.type,
          response: {
            authenticatorData: toText(r.authenticatorData),
            clientDataJSON: toText(r.clientDataJSON),
            signature: toText(r.signature),
            userHandle: toText(r.userHandle),
          },
          extensions: {},
        };
        return post('/login/mfa/passkey/authenticate/finish', { credential: credential, remember: remembered() });
      });
    });
  }

  button.hidden = false;
  button.addEventListener('click', function () {
    button.disabled = true;
    status.hidden = true;
    (mode === 'register' ? register() : authenticate()).then(
      function (done) {
        window.location.assign(done.redirect);
      },
      function (e) {
        button.disabled = false;
        // A DOMException (NotAllowedError: cancelled, timed out, no matching passkey;
        // InvalidStateError: this authenticator holds a passkey of this account already) or
        // a failed request without a sentence of its own.
        show((e && e.shown) || sentence('passkey-cancelled'));
      }
    );
  });
})();
