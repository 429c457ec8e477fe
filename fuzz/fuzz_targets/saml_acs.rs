//! The SAML ACS input: the `SAMLResponse` value as a browser posts it, through base64 (or
//! DEFLATE for the Redirect encoding), UTF-8, the strict XML tree and every check of
//! `validate::validate`, with the real XML-DSig (xmlsec through samael) and the fixture
//! certificate pinned. First byte: 0 = the XML itself (so the fuzzer can mutate the document
//! directly), 1 = base64 (HTTP-POST binding), 2 = DEFLATE + base64.
//!
//! Beyond "no panic, no hang": nothing the fuzzer builds can carry a valid signature of another
//! identity, so an accepted response must say exactly what the seeds say (`alice@acme.test`,
//! issued by the fixture IdP, in response to the seeds' request, assertion signed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobby::upstream::saml::dsig::SamaelDsig;
use lobby::upstream::saml::validate;
use lobby_fuzz::{SAML_IDP, SAML_IN_RESPONSE_TO, saml_expect, split_mode};

fuzz_target!(|data: &[u8]| {
    let Some((mode, input)) = split_mode(data) else {
        return;
    };
    let xml = match mode % 3 {
        0 => input.to_owned(),
        1 => match validate::decode_post(input) {
            Ok(x) => x,
            Err(_) => return,
        },
        _ => match validate::inflate_redirect(input) {
            Ok(x) => x,
            Err(_) => return,
        },
    };
    if let Ok(a) = validate::validate(&SamaelDsig, &xml, &saml_expect()) {
        assert_eq!(a.name_id, "alice@acme.test");
        assert_eq!(a.issuer, SAML_IDP);
        assert_eq!(a.in_response_to.as_deref(), Some(SAML_IN_RESPONSE_TO));
        assert!(a.assertion_signed);
    }
});
