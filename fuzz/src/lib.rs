//! What the seed generator (`src/gen_seeds.rs`) needs beyond Lobby's own fuzzing fixtures
//! (`lobby::fuzzing::fixtures`, re-exported here): the fixture SAML IdP's private key as a
//! signer for the hostile-response corpus. The keys in `fixtures/` are test keys made for
//! fuzzing only (committed on purpose, never used anywhere else). The targets' bodies are
//! `lobby::fuzzing`.
//!
//! Owns: signing seeds. Must not touch: Lobby's behaviour.

pub use lobby::fuzzing::fixtures::*;
use std::sync::OnceLock;

/// The hostile-response corpus generator of the SAML tests, used here to build signed seeds.
#[path = "../../tests/saml/corpus.rs"]
pub mod corpus;

/// The SAML IdP's fixed key pair and self-signed certificate (`fixtures/saml-idp.*`).
pub fn saml_signer() -> &'static corpus::Signer {
    static S: OnceLock<corpus::Signer> = OnceLock::new();
    S.get_or_init(|| {
        let key =
            openssl::pkey::PKey::private_key_from_pem(include_bytes!("../fixtures/saml-idp.key"))
                .expect("fixture key");
        corpus::Signer {
            key_der: key.private_key_to_der().expect("key DER"),
            cert_der: pem_to_der(SAML_IDP_CERT_PEM),
        }
    })
}
