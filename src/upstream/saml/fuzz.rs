//! Property tests over the ACS parsing path (proptest, bounded case counts so CI stays fast):
//! arbitrary bytes and token soups never panic the decoder or the XML tree, and a validly signed
//! response mutated anywhere (bytes flipped, XML fragments spliced in) is either refused or, if
//! still accepted, yields exactly the identity the IdP signed — never another subject, audience
//! or request id.
//!
//! Owns: tests only. Must not touch: production code paths beyond calling them.

use super::dsig::SamaelDsig;
use super::validate::{self, Expect, corpus};
use super::xml;
use proptest::prelude::*;
use std::sync::OnceLock;
use time::OffsetDateTime;

const SP: &str = "https://lobby.test/sso/saml/c1/metadata";
const ACS: &str = "https://lobby.test/sso/saml/c1/acs";
const IDP: &str = "https://idp.test/metadata";

struct Fixture {
    signer: corpus::Signer,
    now: OffsetDateTime,
    good: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let signer = corpus::Signer::new("fuzz idp");
        let now = OffsetDateTime::now_utc();
        let mut s = corpus::Spec::new(SP, ACS, IDP, now);
        s.in_response_to = Some("_request".into());
        let good = corpus::good(&s, &signer);
        Fixture { signer, now, good }
    })
}

fn run(xml_text: &str) -> Result<validate::ValidatedAssertion, validate::Reject> {
    let f = fixture();
    let pinned = vec![f.signer.cert_der.clone()];
    validate::validate(
        &SamaelDsig::default(),
        xml_text,
        &Expect {
            sp_entity_id: SP,
            acs_url: ACS,
            idp_entity_id: IDP,
            pinned_certs: &pinned,
            want_assertions_signed: true,
            now: f.now,
        },
    )
}

const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&lt;",
    "&#x41;",
    "&x;",
    "\"",
    "'",
    "=",
    " ",
    "xmlns=\"urn:x\"",
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
    "<saml:Assertion ID=\"_evil\">",
    "</saml:Assertion>",
    "<saml:NameID>mallory@evil.test</saml:NameID>",
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
    "</ds:Signature>",
    "<!DOCTYPE x>",
    "<?pi?>",
    "ID=\"_x\"",
    "\u{0}",
    "\u{feff}",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = validate::decode_post(&s);
        let _ = validate::inflate_redirect(&s);
        let _ = xml::parse(&s);
        let _ = run(&s);
    }

    #[test]
    fn token_soup_never_panics(parts in proptest::collection::vec(proptest::sample::select(TOKENS), 0..64)) {
        let s: String = parts.concat();
        let _ = xml::parse(&s);
        let _ = run(&format!("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{s}</samlp:Response>"));
    }

    #[test]
    fn mutated_signed_responses_never_yield_another_identity(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, proptest::sample::select(TOKENS), any::<u8>()), 1..4)
    ) {
        let mut doc = fixture().good.clone().into_bytes();
        for (at, kind, token, byte) in edits {
            let i = at.index(doc.len().max(1));
            match kind {
                0 => doc[i] = byte,
                1 => { doc.splice(i..i, token.bytes()); }
                _ => { doc.drain(i..(i + 8).min(doc.len())); }
            }
        }
        let text = String::from_utf8_lossy(&doc).into_owned();
        if let Ok(a) = run(&text) {
            prop_assert_eq!(a.name_id, "alice@acme.test");
            prop_assert_eq!(a.issuer, IDP);
            prop_assert_eq!(a.in_response_to.as_deref(), Some("_request"));
            prop_assert!(a.assertion_signed);
        }
    }
}

#[test]
fn the_unmutated_fixture_is_accepted() {
    let a = run(&fixture().good).unwrap();
    assert_eq!(a.name_id, "alice@acme.test");
}
