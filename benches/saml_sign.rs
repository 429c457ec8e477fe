//! The SP-signed AuthnRequest (HTTP-Redirect binding, SAML bindings §3.4.4.1): the cost of the
//! RSA-2048 PKCS#1 v1.5 SHA-256 signature over the query string with OpenSSL's EVP `Signer`
//! over a `PKey` parsed once (what `request::redirect_url` used until session 4 of issue 17),
//! with `request::rsa_sha256` (OpenSSL's `RSA_private_encrypt` on the `DigestInfo`, no EVP
//! fetch: what it uses now) and with aws-lc-rs (`RsaKeyPair` parsed once), same key, same
//! message; and the whole `redirect_url` (deflate, base64, URL encoding, signature) signed and
//! unsigned. Results in docs/perf-issue17.md, "Session 3" and "Session 4" (on the AVX-512 IFMA
//! machine OpenSSL and aws-lc took the same time, so the AuthnRequest stays with OpenSSL).
//!
//! `cargo bench --bench saml_sign`

use criterion::{Criterion, criterion_group, criterion_main};
use lobby::upstream::saml::request::{self, AuthnRequestParams};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use std::hint::black_box;
use time::OffsetDateTime;

fn openssl_sign(key: &PKey<Private>, msg: &[u8]) -> Vec<u8> {
    let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(msg).unwrap();
    signer.sign_to_vec().unwrap()
}

fn aws_lc_sign(key: &aws_lc_rs::rsa::KeyPair, msg: &[u8]) -> Vec<u8> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
        .unwrap();
    sig
}

fn bench(c: &mut Criterion) {
    let (der, _cert) = lobby::keys::saml_sp::generate("bench sp").unwrap();
    let ossl = PKey::private_key_from_der(&der).unwrap();
    let rsa = ossl.rsa().unwrap();
    let awslc = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).unwrap();
    let sso = "https://idp.acme.example/simplesaml/saml2/idp/SSOService.php";
    let id = request::new_request_id();
    let p = AuthnRequestParams {
        id: &id,
        issue_instant: OffsetDateTime::now_utc(),
        destination: sso,
        acs_url: "https://lobby.example.com/sso/saml/acme-saml/acs",
        sp_entity_id: "https://lobby.example.com/sso/saml/acme-saml/metadata",
        name_id_format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"),
        force_authn: false,
    };
    let xml = request::authn_request_xml(&p, false);
    let relay = lobby::domain::random_token();
    // The signed part of a real redirect: everything before `&Signature=`.
    let url = request::redirect_url(sso, &xml, &relay, Some(&rsa)).unwrap();
    let signed = url
        .split_once('?')
        .unwrap()
        .1
        .split_once("&Signature=")
        .unwrap()
        .0
        .to_owned();
    // PKCS#1 v1.5 is deterministic: all three must give the same bytes.
    let evp = openssl_sign(&ossl, signed.as_bytes());
    assert_eq!(evp, aws_lc_sign(&awslc, signed.as_bytes()));
    assert_eq!(evp, request::rsa_sha256(&rsa, signed.as_bytes()).unwrap());

    let mut g = c.benchmark_group("saml_authn_request_signature");
    g.bench_function("openssl_signer", |b| {
        b.iter(|| black_box(openssl_sign(&ossl, black_box(signed.as_bytes()))))
    });
    g.bench_function("openssl_rsa_private_encrypt", |b| {
        b.iter(|| black_box(request::rsa_sha256(&rsa, black_box(signed.as_bytes())).unwrap()))
    });
    g.bench_function("aws_lc_rsa_keypair", |b| {
        b.iter(|| black_box(aws_lc_sign(&awslc, black_box(signed.as_bytes()))))
    });
    g.finish();

    let mut g = c.benchmark_group("saml_redirect_url");
    g.bench_function("signed_openssl", |b| {
        b.iter(|| {
            black_box(request::redirect_url(sso, black_box(&xml), &relay, Some(&rsa)).unwrap())
        })
    });
    g.bench_function("unsigned", |b| {
        b.iter(|| black_box(request::redirect_url(sso, black_box(&xml), &relay, None).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
