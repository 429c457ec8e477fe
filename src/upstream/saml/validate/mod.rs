//! Validation of a SAML `<Response>` posted to the ACS (SAML core §2–3, profiles §4.1, DESIGN
//! §6.3). Pure and synchronous: bytes in, a [`ValidatedAssertion`] or a [`Reject`] with a stable
//! reason code out. The caller runs it on the blocking pool and then does what needs the state
//! store (InResponseTo against the request record, the replay cache).
//!
//! Owns: every check on the message itself. Must not touch: HTTP, flows, storage.
//!
//! Order of checks, and why:
//! 1. size caps, base64, no DOCTYPE/PI/entities (before any parser that could expand them);
//! 2. shape of the *whole* posted document: root is `samlp:Response`, exactly one
//!    `saml:Assertion` anywhere and it is a direct child of the root (no assertion hidden in
//!    `Extensions`, `Advice`, `Object` or a second copy — XSW), no `EncryptedAssertion`;
//! 3. signatures: refuse when no certificate is pinned; every `ds:Signature` must verify against
//!    the pinned certificates with an allowed algorithm (xmlsec never trusts `KeyInfo`); a
//!    signature counts only when its single `Reference` is `#<ID>` of the response root or of
//!    that one assertion; a comment inside a signed element is refused (exclusive C14N without
//!    comments leaves it outside the signature); everything below is read from the bytes the
//!    signature covers (xmlsec's pre-digest buffer of the signed element, `dsig`) only, whose
//!    root must carry the same ID;
//! 4. when the connection wants signed assertions, the assertion must carry its own signature
//!    (a signed response around an unsigned assertion is refused);
//! 5. SAML semantics with our clock and a bounded skew: Status Success, Issuer required and equal
//!    to the IdP entity id (response — when signed — and assertion), Destination equal to our ACS
//!    URL (required when the response is signed), IssueInstant not too old nor in the future,
//!    Conditions required with every `AudienceRestriction` naming our entity id, NotBefore /
//!    NotOnOrAfter, unknown conditions refused, a bearer `SubjectConfirmation` whose data has
//!    Recipient = our ACS URL and a NotOnOrAfter in the future, one `NameID` (text joined across
//!    comments), an `AuthnStatement`.
//!    InResponseTo (assertion and response must agree) is returned for the caller to check.

use super::dsig::{DsigError, ENVELOPED, EXC_C14N, XmlDsig};
use super::xml::{self, Element, NS_ASSERTION, NS_DSIG, NS_PROTOCOL, XmlError};
use base64::Engine;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest base64 `SAMLResponse` form value accepted.
pub const MAX_ENCODED: usize = 256 * 1024;
/// Largest decoded (or inflated) XML accepted.
pub const MAX_XML: usize = 192 * 1024;
/// Allowed clock difference with the IdP.
pub const SKEW_SECS: i64 = 120;
/// A response or assertion issued longer ago than this (plus skew) is stale.
pub const MAX_ISSUE_AGE_SECS: i64 = 300;

pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
pub const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// Why a response was refused. `code()` goes to the audit trail; the user sees one fixed
/// sentence whatever the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("the message is too large")]
    TooLarge,
    #[error("the message is not valid base64")]
    Base64,
    #[error("the message is not UTF-8")]
    Utf8,
    #[error("XML refused: {0}")]
    Xml(XmlError),
    #[error("the document is not a SAML Response")]
    NotAResponse,
    #[error("the response must hold exactly one assertion, as a direct child")]
    AssertionCount,
    #[error("encrypted assertions are not supported")]
    Encrypted,
    #[error("no signing certificate is pinned for this connection")]
    NoPinnedCert,
    #[error("the signature does not verify against the pinned certificates")]
    BadSignature,
    #[error(
        "the signature uses a canonicalization or transform other than exclusive c14n and enveloped-signature"
    )]
    Transform,
    #[error("neither the response nor the assertion is signed")]
    Unsigned,
    #[error("the assertion is not signed and the connection requires signed assertions")]
    AssertionUnsigned,
    #[error("the IdP reported a failure status: {0}")]
    Status(String),
    #[error("missing or malformed element: {0}")]
    Malformed(&'static str),
    #[error("Issuer is missing")]
    IssuerMissing,
    #[error("Issuer does not match the IdP entity id")]
    IssuerMismatch,
    #[error("Destination does not match the ACS URL")]
    Destination,
    #[error("no AudienceRestriction")]
    AudienceMissing,
    #[error("the audience is not this service provider")]
    AudienceMismatch,
    #[error("no bearer SubjectConfirmation with our Recipient")]
    Recipient,
    #[error("the assertion has expired")]
    Expired,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error("the message was issued too long ago or in the future")]
    IssueInstant,
    #[error("an unsupported condition")]
    UnknownCondition,
    #[error("InResponseTo differs between response and assertion")]
    InResponseToMismatch,
}

impl Reject {
    /// Stable reason code for audit events and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Base64 => "bad_base64",
            Self::Utf8 => "bad_encoding",
            Self::Xml(XmlError::Doctype) => "doctype",
            Self::Xml(_) => "bad_xml",
            Self::NotAResponse => "not_a_response",
            Self::Transform => "bad_transform",
            Self::AssertionCount => "assertion_count",
            Self::Encrypted => "encrypted_assertion",
            Self::NoPinnedCert => "no_pinned_cert",
            Self::BadSignature => "bad_signature",
            Self::Unsigned => "unsigned",
            Self::AssertionUnsigned => "assertion_unsigned",
            Self::Status(_) => "status_not_success",
            Self::Malformed(_) => "malformed",
            Self::IssuerMissing => "issuer_missing",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::Destination => "destination_mismatch",
            Self::AudienceMissing => "audience_missing",
            Self::AudienceMismatch => "audience_mismatch",
            Self::Recipient => "recipient_mismatch",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssueInstant => "issue_instant",
            Self::UnknownCondition => "unknown_condition",
            Self::InResponseToMismatch => "in_response_to_mismatch",
        }
    }
}

impl From<XmlError> for Reject {
    fn from(e: XmlError) -> Self {
        Self::Xml(e)
    }
}

/// What the message must match.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// Our entity id (= the SP metadata URL of the connection).
    pub sp_entity_id: &'a str,
    /// Our ACS URL of the connection.
    pub acs_url: &'a str,
    /// The IdP's entity id from its metadata.
    pub idp_entity_id: &'a str,
    /// Pinned IdP signing certificates (DER).
    pub pinned_certs: &'a [Vec<u8>],
    pub want_assertions_signed: bool,
    pub now: OffsetDateTime,
}

/// An assertion that passed every check on the message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedAssertion {
    pub response_id: String,
    pub assertion_id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: String,
    /// `None`: unsolicited (IdP-initiated).
    pub in_response_to: Option<String>,
    /// Until when the assertion could be replayed (latest NotOnOrAfter seen, capped).
    pub replay_until: OffsetDateTime,
    pub one_time_use: bool,
    pub response_signed: bool,
    pub assertion_signed: bool,
    /// Attribute name (and FriendlyName) → values.
    pub attributes: BTreeMap<String, Vec<String>>,
    pub session_index: Option<String>,
    /// `AuthnContextClassRef` of the first AuthnStatement.
    pub authn_context: Option<String>,
    /// `AuthnInstant` of the first AuthnStatement: when the IdP authenticated the person.
    pub authn_instant: Option<OffsetDateTime>,
}

/// Decode the `SAMLResponse` form value of the HTTP-POST binding (SAML bindings §3.5.4):
/// base64 (line breaks tolerated), no compression.
pub fn decode_post(encoded: &str) -> Result<String, Reject> {
    if encoded.len() > MAX_ENCODED {
        return Err(Reject::TooLarge);
    }
    let bytes = base64_lenient(encoded)?;
    if bytes.len() > MAX_XML {
        return Err(Reject::TooLarge);
    }
    String::from_utf8(bytes).map_err(|_| Reject::Utf8)
}

/// Inflate a DEFLATE-compressed message of the HTTP-Redirect binding (SAML bindings §3.4.4.1),
/// reading at most [`MAX_XML`] bytes: a DEFLATE bomb is cut off, never buffered.
pub fn inflate_redirect(encoded: &str) -> Result<String, Reject> {
    use std::io::Read;
    if encoded.len() > MAX_ENCODED {
        return Err(Reject::TooLarge);
    }
    let raw = base64_lenient(encoded)?;
    let mut out = Vec::new();
    let mut dec = flate2::read::DeflateDecoder::new(raw.as_slice()).take(MAX_XML as u64 + 1);
    dec.read_to_end(&mut out).map_err(|_| Reject::Base64)?;
    if out.len() > MAX_XML {
        return Err(Reject::TooLarge);
    }
    String::from_utf8(out).map_err(|_| Reject::Utf8)
}

/// Standard base64 (RFC 4648 §4) with ASCII whitespace ignored, as the bindings allow line
/// breaks in an encoded message. Filtered by byte: an ASCII whitespace byte never occurs inside
/// a multi-byte UTF-8 sequence, and any non-ASCII byte fails the decoding anyway. A value
/// without whitespace (what browsers post) is decoded in place, without a copy.
fn base64_lenient(encoded: &str) -> Result<Vec<u8>, Reject> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let decoded = if encoded.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: Vec<u8> = encoded
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        engine.decode(compact)
    } else {
        engine.decode(encoded)
    };
    decoded.map_err(|_| Reject::Base64)
}

fn parse_time(s: Option<&str>, what: &'static str) -> Result<Option<OffsetDateTime>, Reject> {
    match s {
        None => Ok(None),
        Some(v) => OffsetDateTime::parse(v.trim(), &Rfc3339)
            .map(Some)
            .map_err(|_| Reject::Malformed(what)),
    }
}

fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

/// The single `Reference` URI of a signature, when it has exactly one.
fn single_reference(sig: &Element) -> Option<&str> {
    let si = sig.only_child(NS_DSIG, "SignedInfo").ok()??;
    let mut refs = si.children_named(NS_DSIG, "Reference");
    let r = refs.next()?;
    if refs.next().is_some() {
        return None;
    }
    r.attr("URI")
}

/// Namespace of exclusive c14n's `InclusiveNamespaces` (XML Exclusive Canonicalization §3).
const NS_EXC_C14N: &str = EXC_C14N;

/// Whether a signature uses only the processing steps SAML signatures need (SAML core §5.4.3,
/// §5.4.4): exclusive canonicalization without comments (with or without an
/// `InclusiveNamespaces` prefix list) for SignedInfo and the reference, and the
/// enveloped-signature transform. XPath, XSLT, `#WithComments`, inclusive c14n, base64 and
/// anything else are refused before xmlsec ever runs them.
fn processing_steps_allowed(sig: &Element) -> bool {
    let exc_c14n = |m: &Element| {
        m.attr("Algorithm") == Some(EXC_C14N)
            && m.elements()
                .all(|c| c.is(NS_EXC_C14N, "InclusiveNamespaces"))
    };
    let Ok(Some(si)) = sig.only_child(NS_DSIG, "SignedInfo") else {
        return false;
    };
    match si.only_child(NS_DSIG, "CanonicalizationMethod") {
        Ok(Some(m)) if exc_c14n(m) => {}
        _ => return false,
    }
    si.children_named(NS_DSIG, "Reference")
        .all(|r| match r.only_child(NS_DSIG, "Transforms") {
            Ok(None) => true,
            Ok(Some(ts)) => ts.elements().all(|t| {
                t.is(NS_DSIG, "Transform")
                    && match t.attr("Algorithm") {
                        Some(ENVELOPED) => t.elements().next().is_none(),
                        Some(_) => exc_c14n(t),
                        None => false,
                    }
            }),
            Err(_) => false,
        })
}

/// Whether `el` carries a direct `ds:Signature` over itself (`URI="#<its ID>"`).
fn signs_itself(el: &Element) -> Result<bool, Reject> {
    let Some(id) = el.attr("ID") else {
        return Ok(false);
    };
    let sig = el
        .only_child(NS_DSIG, "Signature")
        .map_err(|_| Reject::Malformed("Signature"))?;
    Ok(match sig {
        Some(s) => {
            if single_reference(s) != Some(&format!("#{id}")) {
                return Err(Reject::BadSignature);
            }
            if !processing_steps_allowed(s) {
                return Err(Reject::Transform);
            }
            true
        }
        None => false,
    })
}

fn issuer_ok(el: &Element, idp: &str, required: bool) -> Result<(), Reject> {
    let issuer = el
        .only_child(NS_ASSERTION, "Issuer")
        .map_err(|_| Reject::Malformed("Issuer"))?;
    match issuer {
        None if required => Err(Reject::IssuerMissing),
        None => Ok(()),
        Some(i) => {
            // SAML core §2.2.5: an Issuer with a Format must be the entity format here.
            if let Some(f) = i.attr("Format")
                && f != NAMEID_ENTITY
            {
                return Err(Reject::IssuerMismatch);
            }
            match i.text() {
                Some(t) if t.trim() == idp => Ok(()),
                _ => Err(Reject::IssuerMismatch),
            }
        }
    }
}

fn check_issue_instant(el: &Element, now: OffsetDateTime) -> Result<(), Reject> {
    let t = parse_time(el.attr("IssueInstant"), "IssueInstant")?
        .ok_or(Reject::Malformed("IssueInstant"))?;
    if t > now + secs(SKEW_SECS) || t + secs(MAX_ISSUE_AGE_SECS + SKEW_SECS) < now {
        return Err(Reject::IssueInstant);
    }
    Ok(())
}

/// Validate a decoded `<Response>` document.
pub fn validate(
    dsig: &dyn XmlDsig,
    xml_text: &str,
    expect: &Expect<'_>,
) -> Result<ValidatedAssertion, Reject> {
    if xml_text.len() > MAX_XML {
        return Err(Reject::TooLarge);
    }
    // 1–2: parse the whole posted document (no DOCTYPE, PI, entities) and check its shape.
    let posted = xml::parse(xml_text)?;
    if !posted.is(NS_PROTOCOL, "Response") {
        return Err(Reject::NotAResponse);
    }
    let response_id = posted
        .attr("ID")
        .ok_or(Reject::Malformed("Response ID"))?
        .to_owned();
    let all = posted.descendants();
    if all.iter().any(|e| e.is(NS_ASSERTION, "EncryptedAssertion")) {
        return Err(Reject::Encrypted);
    }
    let assertion_count = all
        .iter()
        .filter(|e| e.is(NS_ASSERTION, "Assertion"))
        .count();
    let direct: Vec<&Element> = posted.children_named(NS_ASSERTION, "Assertion").collect();
    if assertion_count != 1 || direct.len() != 1 {
        return Err(Reject::AssertionCount);
    }
    let posted_assertion = direct[0];
    let assertion_id = posted_assertion
        .attr("ID")
        .ok_or(Reject::Malformed("Assertion ID"))?
        .to_owned();
    // Signatures may sit only on the response and on the assertion.
    let sig_count = all.iter().filter(|e| e.is(NS_DSIG, "Signature")).count();
    let response_signed = signs_itself(&posted)?;
    let assertion_signed = signs_itself(posted_assertion)?;
    if sig_count != usize::from(response_signed) + usize::from(assertion_signed) {
        return Err(Reject::BadSignature);
    }
    if !response_signed && !assertion_signed {
        return Err(Reject::Unsigned);
    }
    // A comment inside a signed element is outside what its signature covers (exclusive C14N
    // without comments drops it) and can split a value: `victim@corp.com<!---->.evil.com`. The
    // verified bytes read below never contain it, but a signed element that does is refused
    // rather than read one way by the signature and another by anyone looking at the message.
    if (posted.comments || all.iter().any(|e| e.comments))
        && (response_signed
            || posted_assertion.comments
            || posted_assertion.descendants().iter().any(|e| e.comments))
    {
        return Err(Reject::BadSignature);
    }
    if expect.want_assertions_signed && !assertion_signed {
        return Err(Reject::AssertionUnsigned);
    }

    // 3: verify against the pinned certificates only; read only the bytes the signature covers.
    let reduced_text = dsig
        .verify_and_reduce(xml_text, expect.pinned_certs)
        .map_err(|e| match e {
            DsigError::NoPinnedCert => Reject::NoPinnedCert,
            _ => Reject::BadSignature,
        })?;
    let reduced = xml::parse(&reduced_text)?;
    let now = expect.now;

    // The status: from the signed response, else from the (unsigned) envelope — an unsigned
    // status can only make us refuse.
    let status_holder = if response_signed { &reduced } else { &posted };
    let status = status_holder
        .only_child(NS_PROTOCOL, "Status")
        .map_err(|_| Reject::Malformed("Status"))?
        .ok_or(Reject::Malformed("Status"))?;
    let code = status
        .only_child(NS_PROTOCOL, "StatusCode")
        .map_err(|_| Reject::Malformed("StatusCode"))?
        .and_then(|c| c.attr("Value"))
        .ok_or(Reject::Malformed("StatusCode"))?;
    if code != STATUS_SUCCESS {
        return Err(Reject::Status(code.chars().take(200).collect()));
    }

    let mut response_in_response_to = None;
    let assertion: &Element = if response_signed {
        if !reduced.is(NS_PROTOCOL, "Response") || reduced.attr("ID") != Some(&response_id) {
            return Err(Reject::BadSignature);
        }
        if reduced.attr("Version") != Some("2.0") {
            return Err(Reject::Malformed("Version"));
        }
        // SAML profiles §4.1.4.2: a signed response carries an Issuer; bindings §3.5.5.2: a
        // signed response carries Destination, equal to where it was received.
        issuer_ok(&reduced, expect.idp_entity_id, true)?;
        if reduced.attr("Destination") != Some(expect.acs_url) {
            return Err(Reject::Destination);
        }
        check_issue_instant(&reduced, now)?;
        response_in_response_to = reduced.attr("InResponseTo").map(str::to_owned);
        let mut direct = reduced.children_named(NS_ASSERTION, "Assertion");
        let a = direct.next().ok_or(Reject::AssertionCount)?;
        if direct.next().is_some() || a.attr("ID") != Some(&assertion_id) {
            return Err(Reject::AssertionCount);
        }
        a
    } else {
        if !reduced.is(NS_ASSERTION, "Assertion") || reduced.attr("ID") != Some(&assertion_id) {
            return Err(Reject::BadSignature);
        }
        // An unsigned envelope's Destination proves nothing, but a wrong one is still wrong.
        if let Some(d) = posted.attr("Destination")
            && d != expect.acs_url
        {
            return Err(Reject::Destination);
        }
        &reduced
    };
    if assertion
        .descendants()
        .iter()
        .any(|e| e.is(NS_ASSERTION, "Assertion"))
    {
        return Err(Reject::AssertionCount);
    }

    // 5: the assertion (SAML core §2.3.3).
    if assertion.attr("Version") != Some("2.0") {
        return Err(Reject::Malformed("Assertion Version"));
    }
    issuer_ok(assertion, expect.idp_entity_id, true)?;
    check_issue_instant(assertion, now)?;
    let skew = secs(SKEW_SECS);
    let mut replay_until = now;

    // Conditions (core §2.5): required here, with an AudienceRestriction naming us.
    let conditions = assertion
        .only_child(NS_ASSERTION, "Conditions")
        .map_err(|_| Reject::Malformed("Conditions"))?
        .ok_or(Reject::AudienceMissing)?;
    if let Some(nb) = parse_time(conditions.attr("NotBefore"), "NotBefore")?
        && now + skew < nb
    {
        return Err(Reject::NotYetValid);
    }
    if let Some(na) = parse_time(conditions.attr("NotOnOrAfter"), "NotOnOrAfter")? {
        if na + skew <= now {
            return Err(Reject::Expired);
        }
        replay_until = replay_until.max(na + skew);
    }
    let mut audience_restrictions = 0;
    let mut one_time_use = false;
    for c in conditions.elements() {
        if c.is(NS_ASSERTION, "AudienceRestriction") {
            audience_restrictions += 1;
            // Core §2.5.1.4: each restriction must include us (restrictions are ANDed).
            let ours = c
                .children_named(NS_ASSERTION, "Audience")
                .any(|a| a.text().is_some_and(|t| t.trim() == expect.sp_entity_id));
            if !ours {
                return Err(Reject::AudienceMismatch);
            }
        } else if c.is(NS_ASSERTION, "OneTimeUse") {
            // Core §2.5.1.5: enforced by the replay cache, which every assertion goes through.
            one_time_use = true;
        } else if c.is(NS_ASSERTION, "ProxyRestriction") {
            // We never re-issue the assertion to anyone.
        } else {
            // Core §2.5.1: a condition we do not understand makes the assertion Indeterminate.
            return Err(Reject::UnknownCondition);
        }
    }
    if audience_restrictions == 0 {
        return Err(Reject::AudienceMissing);
    }

    // Subject (core §2.4, profiles §4.1.4.2).
    let subject = assertion
        .only_child(NS_ASSERTION, "Subject")
        .map_err(|_| Reject::Malformed("Subject"))?
        .ok_or(Reject::Malformed("Subject"))?;
    if subject
        .children_named(NS_ASSERTION, "EncryptedID")
        .next()
        .is_some()
        || subject
            .children_named(NS_ASSERTION, "BaseID")
            .next()
            .is_some()
    {
        return Err(Reject::Malformed("NameID"));
    }
    let name_id_el = subject
        .only_child(NS_ASSERTION, "NameID")
        .map_err(|_| Reject::Malformed("NameID"))?
        .ok_or(Reject::Malformed("NameID"))?;
    let name_id = name_id_el
        .text()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 1024)
        .ok_or(Reject::Malformed("NameID"))?;
    let name_id_format = name_id_el
        .attr("Format")
        .unwrap_or(NAMEID_UNSPECIFIED)
        .to_owned();

    let mut bearer_in_response_to: Option<Option<String>> = None;
    let mut last_error = Reject::Recipient;
    for sc in subject.children_named(NS_ASSERTION, "SubjectConfirmation") {
        if sc.attr("Method") != Some(BEARER) {
            continue;
        }
        let Ok(Some(data)) = sc.only_child(NS_ASSERTION, "SubjectConfirmationData") else {
            continue;
        };
        if data.attr("Recipient") != Some(expect.acs_url) {
            last_error = Reject::Recipient;
            continue;
        }
        let Some(na) = parse_time(data.attr("NotOnOrAfter"), "NotOnOrAfter")? else {
            last_error = Reject::Malformed("SubjectConfirmationData NotOnOrAfter");
            continue;
        };
        if na + skew <= now {
            last_error = Reject::Expired;
            continue;
        }
        if let Some(nb) = parse_time(data.attr("NotBefore"), "NotBefore")?
            && now + skew < nb
        {
            last_error = Reject::NotYetValid;
            continue;
        }
        replay_until = replay_until.max(na + skew);
        bearer_in_response_to = Some(data.attr("InResponseTo").map(str::to_owned));
        break;
    }
    let Some(in_response_to) = bearer_in_response_to else {
        return Err(last_error);
    };
    if response_signed && response_in_response_to != in_response_to {
        return Err(Reject::InResponseToMismatch);
    }

    // AuthnStatement (profiles §4.1.4.2: the SSO assertion has one).
    let mut session_index = None;
    let mut authn_context = None;
    let mut authn_instant = None;
    let mut authn = 0;
    for s in assertion.children_named(NS_ASSERTION, "AuthnStatement") {
        authn += 1;
        if let Some(t) = parse_time(s.attr("SessionNotOnOrAfter"), "SessionNotOnOrAfter")?
            && t <= now
        {
            return Err(Reject::Expired);
        }
        let instant = parse_time(s.attr("AuthnInstant"), "AuthnInstant")?;
        if let Some(t) = instant
            && t > now + skew
        {
            return Err(Reject::NotYetValid);
        }
        if authn == 1 {
            authn_instant = instant;
            session_index = s.attr("SessionIndex").map(str::to_owned);
            authn_context = s
                .only_child(NS_ASSERTION, "AuthnContext")
                .ok()
                .flatten()
                .and_then(|c| {
                    c.only_child(NS_ASSERTION, "AuthnContextClassRef")
                        .ok()
                        .flatten()
                })
                .and_then(|r| r.text())
                .map(|t| t.trim().to_owned());
        }
    }
    if authn == 0 {
        return Err(Reject::Malformed("AuthnStatement"));
    }

    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for st in assertion.children_named(NS_ASSERTION, "AttributeStatement") {
        for a in st.children_named(NS_ASSERTION, "Attribute") {
            let Some(name) = a.attr("Name") else { continue };
            let values: Vec<String> = a
                .children_named(NS_ASSERTION, "AttributeValue")
                .filter_map(|v| v.text())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            attributes
                .entry(name.to_owned())
                .or_default()
                .extend(values.iter().cloned());
            if let Some(f) = a.attr("FriendlyName")
                && f != name
            {
                attributes.entry(f.to_owned()).or_default().extend(values);
            }
        }
    }

    // A replay entry never outlives a day, and lives at least the skew.
    let replay_until = replay_until.clamp(now + skew, now + secs(24 * 3600));

    Ok(ValidatedAssertion {
        response_id,
        assertion_id,
        issuer: expect.idp_entity_id.to_owned(),
        name_id,
        name_id_format,
        in_response_to,
        replay_until,
        one_time_use,
        response_signed,
        assertion_signed,
        attributes,
        session_index,
        authn_context,
        authn_instant,
    })
}

#[cfg(test)]
#[path = "../../../../tests/saml/corpus.rs"]
pub(crate) mod corpus;

#[cfg(test)]
mod tests;
