//! IdP metadata as an admin pastes it or a metadata URL serves it (`metadata::parse_idp`):
//! the strict XML tree, entity selection (single entity or aggregate), signing certificates
//! (X.509 parsing), SSO endpoints. First byte odd: the connection names the entity to pick.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobby::upstream::saml::metadata::parse_idp;
use lobby_fuzz::{SAML_IDP, split_mode};

fuzz_target!(|data: &[u8]| {
    let Some((mode, input)) = split_mode(data) else {
        return;
    };
    let want = (mode % 2 == 1).then_some(SAML_IDP);
    if let Ok(m) = parse_idp(input, want) {
        assert!(
            !m.signing_certs.is_empty(),
            "metadata without a signing cert is refused"
        );
        for c in &m.signing_certs {
            let _ = c.der_bytes();
        }
    }
});
