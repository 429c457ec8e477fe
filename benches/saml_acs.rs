//! ACS validation cost per SAML Response (SAML federation benchmark): base64 decode, strict XML parse,
//! shape checks, XML-DSig verification of the response and assertion signatures (xmlsec via
//! samael, RSA-2048/SHA-256), reading the signed bytes and every semantic check — the
//! whole synchronous part of `POST /sso/saml/{id}/acs`. Also the cost of refusing an XSW
//! (wrapped) response and an unsigned one. Results: BENCHMARKS.md, "SAML ACS validation".

#[path = "../tests/saml/corpus.rs"]
mod corpus;

use criterion::{Criterion, criterion_group, criterion_main};
use lobby::upstream::saml::dsig::SamaelDsig;
use lobby::upstream::saml::validate::{self, Expect};
use std::hint::black_box;
use time::OffsetDateTime;

const SP: &str = "https://lobby.example.com/sso/saml/acme-saml/metadata";
const ACS: &str = "https://lobby.example.com/sso/saml/acme-saml/acs";
const IDP: &str = "https://idp.acme.example/metadata";

fn bench(c: &mut Criterion) {
    let signer = corpus::Signer::new("bench idp");
    let now = OffsetDateTime::now_utc();
    let mut spec = corpus::Spec::new(SP, ACS, IDP, now);
    spec.in_response_to = Some("_0123456789abcdef0123456789abcdef01234567".into());
    let pinned = vec![signer.cert_der.clone()];
    let expect = Expect {
        sp_entity_id: SP,
        acs_url: ACS,
        idp_entity_id: IDP,
        pinned_certs: &pinned,
        want_assertions_signed: true,
        now,
    };
    let both = corpus::b64(&corpus::good(&spec, &signer));
    let assertion_only = corpus::b64(&corpus::assertion_signed_only(&spec, &signer));
    let xsw = corpus::b64(&corpus::xsw(3, &spec, &signer));
    let unsigned = corpus::b64(&corpus::unsigned(&spec));
    // One verifier for the whole run, as the server keeps one: the pinned certificate's key is
    // loaded into xmlsec on the first use and cached. `cold_key` below loads it every time, as
    // the code before the key cache did for every signature.
    let dsig = SamaelDsig::default();
    let run = |b64: &str| {
        let xml = validate::decode_post(b64)?;
        validate::validate(&dsig, &xml, &expect)
    };
    let run_cold = |b64: &str| {
        let xml = validate::decode_post(b64)?;
        validate::validate(&SamaelDsig::default(), &xml, &expect)
    };
    assert!(run(&both).is_ok() && run(&assertion_only).is_ok());
    assert!(run(&xsw).is_err() && run(&unsigned).is_err());
    let mut g = c.benchmark_group("saml_acs_validation");
    g.bench_function("response_and_assertion_signed", |b| {
        b.iter(|| black_box(run(black_box(&both))))
    });
    g.bench_function("response_and_assertion_signed_cold_key", |b| {
        b.iter(|| black_box(run_cold(black_box(&both))))
    });
    g.bench_function("assertion_signed_only", |b| {
        b.iter(|| black_box(run(black_box(&assertion_only))))
    });
    g.bench_function("reject_xsw3", |b| {
        b.iter(|| black_box(run(black_box(&xsw))))
    });
    g.bench_function("reject_unsigned", |b| {
        b.iter(|| black_box(run(black_box(&unsigned))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
