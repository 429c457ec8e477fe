//! Response validation against the hostile corpus (`tests/saml/corpus.rs`): good responses
//! pass, signature wrapping, foreign keys, SHA-1, disallowed transforms, comment injection,
//! timing and every structural check fail with their reason.

use super::corpus::{self, Signer, Spec};
use super::*;
use crate::upstream::saml::dsig::SamaelDsig;

const SP: &str = "https://lobby.test/sso/saml/c1/metadata";
const ACS: &str = "https://lobby.test/sso/saml/c1/acs";
const IDP: &str = "https://idp.test/metadata";

fn run(
    xml: &str,
    signer: &Signer,
    want_signed: bool,
    now: OffsetDateTime,
) -> Result<ValidatedAssertion, Reject> {
    let pinned = vec![signer.cert_der.clone()];
    let e = Expect {
        sp_entity_id: SP,
        acs_url: ACS,
        idp_entity_id: IDP,
        pinned_certs: &pinned,
        want_assertions_signed: want_signed,
        now,
    };
    validate(&SamaelDsig::default(), xml, &e)
}

#[test]
fn good_responses_pass_and_hostile_ones_fail() {
    let idp = Signer::new("idp");
    let now = OffsetDateTime::now_utc();
    let mut s = Spec::new(SP, ACS, IDP, now);
    s.in_response_to = Some("_req".into());
    let a = run(&corpus::good(&s, &idp), &idp, true, now).unwrap();
    assert_eq!(a.name_id, "alice@acme.test");
    assert_eq!(a.in_response_to.as_deref(), Some("_req"));
    assert!(a.response_signed && a.assertion_signed);
    assert_eq!(a.attributes["groups"], vec!["admins", "staff"]);
    let a = run(&corpus::assertion_signed_only(&s, &idp), &idp, true, now).unwrap();
    assert!(!a.response_signed && a.assertion_signed);
    assert!(run(&corpus::response_signed_only(&s, &idp), &idp, false, now).is_ok());
    assert_eq!(
        run(&corpus::response_signed_only(&s, &idp), &idp, true, now),
        Err(Reject::AssertionUnsigned)
    );
    assert_eq!(
        run(&corpus::unsigned(&s), &idp, false, now),
        Err(Reject::Unsigned)
    );
    for n in 1..=8 {
        let r = run(&corpus::xsw(n, &s, &idp), &idp, false, now);
        assert!(r.is_err(), "XSW{n} accepted: {r:?}");
    }
    let attacker = Signer::new("attacker");
    assert_eq!(
        run(&corpus::keyinfo_attacker(&s, &attacker), &idp, true, now),
        Err(Reject::BadSignature)
    );
    assert_eq!(
        run(&corpus::good(&s, &attacker), &idp, true, now),
        Err(Reject::BadSignature)
    );
    assert_eq!(
        run(&corpus::sha1_signed(&s, &idp), &idp, true, now),
        Err(Reject::BadSignature)
    );
    // Only exclusive c14n and enveloped-signature may run: an XPath or XSLT transform, c14n
    // with comments or inclusive c14n is refused before xmlsec sees it (not as a bad
    // signature after running it).
    let good = corpus::good(&s, &idp);
    let env = "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>";
    let exc = "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>";
    assert!(good.contains(env) && good.contains(exc));
    let hostile_steps = [
        good.replacen(exc, "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>", 1),
        good.replacen(exc, "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>", 1),
        good.replacen(exc, "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#WithComments\"/>", 1),
        good.replacen(exc, "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>", 1),
        good.replacen(env, "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#base64\"/>", 1),
        good.replacen(
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#WithComments\"/>",
            1,
        ),
        good.replacen(
            exc,
            "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ds:XPath>1</ds:XPath></ds:Transform>",
            1,
        ),
    ];
    for (i, xml) in hostile_steps.iter().enumerate() {
        assert_ne!(xml, &good, "case {i} changed nothing");
        assert_eq!(
            run(xml, &idp, true, now),
            Err(Reject::Transform),
            "case {i}"
        );
    }
    // An InclusiveNamespaces prefix list is exclusive c14n's own parameter: allowed (and the
    // signature, which did not cover it, then fails as a bad signature, not a transform).
    let with_prefixes = good.replacen(
        exc,
        "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"xs\"/></ds:Transform>",
        1,
    );
    assert_eq!(
        run(&with_prefixes, &idp, true, now),
        Err(Reject::BadSignature)
    );
    // Comment injection after signing (exc-c14n ignores comments, so the signature still
    // verifies and a naive reader would see "victim@corp.com"): a comment inside a signed
    // element is refused, whether the response or only the assertion is signed.
    let mut c = s.clone();
    c.name_id_raw = "victim@corp.com.evil.com".into();
    for doc in [
        corpus::good(&c, &idp),
        corpus::assertion_signed_only(&c, &idp),
    ] {
        let injected = doc.replace(
            "victim@corp.com.evil.com<",
            "victim@corp.com<!---->.evil.com<",
        );
        assert!(injected.contains("<!---->"));
        assert_eq!(run(&injected, &idp, true, now), Err(Reject::BadSignature));
    }
    // A comment in the unsigned envelope of a response whose assertion alone is signed is
    // outside any signature and changes nothing that is read: accepted.
    let envelope = corpus::assertion_signed_only(&s, &idp).replacen(
        "<samlp:Status>",
        "<!-- envelope --><samlp:Status>",
        1,
    );
    assert!(envelope.contains("<!-- envelope -->"));
    assert!(run(&envelope, &idp, true, now).is_ok());
    // What is read is the bytes the response's signature covers: the response without its own
    // enveloped signature, the assertion (still carrying its signature) inside it.
    let reduced = SamaelDsig::default()
        .verify_and_reduce(&corpus::good(&s, &idp), std::slice::from_ref(&idp.cert_der))
        .unwrap();
    let root = xml::parse(&reduced).unwrap();
    assert!(root.is(xml::NS_PROTOCOL, "Response"));
    assert!(
        root.children_named(xml::NS_DSIG, "Signature")
            .next()
            .is_none()
    );
    let a = root
        .only_child(xml::NS_ASSERTION, "Assertion")
        .unwrap()
        .unwrap();
    assert!(a.only_child(xml::NS_DSIG, "Signature").unwrap().is_some());
    // Time.
    let later = now + time::Duration::minutes(10);
    assert!(run(&corpus::good(&s, &idp), &idp, true, later).is_err());
    let mut f = Spec::new(SP, ACS, IDP, now + time::Duration::minutes(10));
    f.in_response_to = None;
    assert!(run(&corpus::good(&f, &idp), &idp, true, now).is_err());
    // No pinned cert: refused before samael (which would skip verification).
    let e = Expect {
        sp_entity_id: SP,
        acs_url: ACS,
        idp_entity_id: IDP,
        pinned_certs: &[],
        want_assertions_signed: true,
        now,
    };
    assert_eq!(
        validate(&SamaelDsig::default(), &corpus::good(&s, &idp), &e),
        Err(Reject::NoPinnedCert)
    );
}

#[test]
fn inflate_is_capped() {
    let bomb = corpus::deflate_b64(&vec![b'a'; 50 * 1024 * 1024]);
    assert_eq!(inflate_redirect(&bomb), Err(Reject::TooLarge));
    assert_eq!(
        inflate_redirect(&corpus::deflate_b64(b"<a/>")).unwrap(),
        "<a/>"
    );
    assert_eq!(decode_post("!!"), Err(Reject::Base64));
}

/// The verification-key cache (`SamaelDsig`) is addressed by certificate: a certificate that is
/// no longer pinned verifies nothing even though its key is still cached, and a certificate
/// pinned again verifies with the cached key.
#[test]
fn a_cached_key_verifies_only_while_its_certificate_is_pinned() {
    let (a, b) = (Signer::new("idp A"), Signer::new("idp B"));
    let now = OffsetDateTime::now_utc();
    let s = Spec::new(SP, ACS, IDP, now);
    let dsig = SamaelDsig::default();
    let check = |xml: &str, pinned: &[&Signer]| {
        let pinned: Vec<Vec<u8>> = pinned.iter().map(|p| p.cert_der.clone()).collect();
        let e = Expect {
            sp_entity_id: SP,
            acs_url: ACS,
            idp_entity_id: IDP,
            pinned_certs: &pinned,
            want_assertions_signed: true,
            now,
        };
        validate(&dsig, xml, &e)
    };
    let by_a = corpus::good(&s, &a);
    let by_b = corpus::good(&s, &b);
    // Both pinned (a rollover's overlap): both verify, both keys cached.
    assert!(check(&by_a, &[&a, &b]).is_ok());
    assert!(check(&by_b, &[&a, &b]).is_ok());
    assert_eq!(dsig.cached_keys(), 2);
    // A dropped from the metadata: refused, though A's key is cached; B still verifies.
    assert!(matches!(check(&by_a, &[&b]), Err(Reject::BadSignature)));
    assert!(check(&by_b, &[&b]).is_ok());
    assert_eq!(dsig.cached_keys(), 2);
    // Nothing pinned: refused before any key is looked at.
    assert!(check(&by_a, &[]).is_err());
    // A pinned again: verifies (with the cached key), and then B is the one refused.
    assert!(check(&by_a, &[&a]).is_ok());
    assert!(matches!(check(&by_b, &[&a]), Err(Reject::BadSignature)));
    // A certificate xmlsec cannot load verifies nothing and is not cached.
    let junk = vec![b"not a certificate".to_vec(), a.cert_der.clone()];
    let e = Expect {
        sp_entity_id: SP,
        acs_url: ACS,
        idp_entity_id: IDP,
        pinned_certs: &junk,
        want_assertions_signed: true,
        now,
    };
    assert!(validate(&dsig, &by_a, &e).is_ok());
    assert!(matches!(
        validate(&dsig, &by_b, &e),
        Err(Reject::BadSignature)
    ));
    assert_eq!(dsig.cached_keys(), 2);
}

/// The POST and Redirect bindings' base64 with line breaks and spaces (as some IdPs wrap it),
/// without any, and with a non-ASCII character (refused as base64, not a panic).
#[test]
fn base64_tolerates_ascii_whitespace_only() {
    let plain = base64::engine::general_purpose::STANDARD.encode("<samlp:Response/>");
    let wrapped: String = plain
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n \t");
    assert_eq!(decode_post(&plain).unwrap(), "<samlp:Response/>");
    assert_eq!(decode_post(&wrapped).unwrap(), "<samlp:Response/>");
    assert_eq!(decode_post(&format!("{plain}\u{a0}")), Err(Reject::Base64));
    assert_eq!(decode_post(&format!("é{plain}")), Err(Reject::Base64));
    let deflated = corpus::deflate_b64(b"<a/>");
    let spaced = format!(" {}\n{} ", &deflated[..4], &deflated[4..]);
    assert_eq!(inflate_redirect(&spaced).unwrap(), "<a/>");
}
