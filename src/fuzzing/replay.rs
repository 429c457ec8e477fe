//! The fuzz targets on stable, in every `cargo test`: each target's committed seeds
//! (`fuzz/seeds/<target>/`) and regression inputs (`fuzz/regressions/<target>/`, inputs that
//! once failed), then a fixed number of deterministic mutations of the seeds, through the same
//! functions the libFuzzer targets call. Fails on the first panic (the input is written to
//! `fuzz/artifacts/<target>/` for `cargo fuzz run` and named in the message); reports the
//! slowest inputs without asserting a time bound (`cargo test fuzzing -- --nocapture`).
//!
//! `LOBBY_FUZZ_REPLAY_MUTATIONS` (per target; default [`MUTATIONS`], [`IMPORT_MUTATIONS`]) and
//! `LOBBY_FUZZ_REPLAY_SEED` (the generator's seed) make longer or different runs locally.
//!
//! Owns: the replay harness. Must not touch: the targets' code (it lives in `super`).

use super::mutate::{Rng, mutate};
use super::{TARGETS, Target};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Mutations per target in a normal `cargo test`.
const MUTATIONS: usize = 2_000;
/// Mutations of the import file: about one in five still imports, and each import builds a
/// fresh SQLite store (migrations included, ~50-200 ms in a debug build), so fewer of them keep
/// the whole replay within ~30 s.
const IMPORT_MUTATIONS: usize = 1_000;
/// The generator's default seed (any fixed value; the target's name is mixed in).
const SEED: u64 = 0x10bb_f022_2026_1206;
/// Inputs slower than this are listed in the report (debug build; not a failure).
const SLOW: Duration = Duration::from_secs(2);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The files directly in `dir`, sorted by name, dot files left out; none when it is absent.
fn inputs_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            (!name.starts_with('.')).then(|| (name, std::fs::read(&p).expect("read an input")))
        })
        .collect();
    out.sort();
    out
}

/// The subdirectories of `dir` (none when it is absent).
fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            p.file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What one target's run saw.
struct Report {
    runs: usize,
    accepted: usize,
    total: Duration,
    slowest: Vec<(Duration, String)>,
    accepted_seeds: Vec<String>,
}

/// Runs one input; on a panic, keeps the input under `fuzz/artifacts/<target>/` and fails the
/// test with everything needed to reproduce it.
fn run_one(target: &str, f: Target, what: &str, input: &[u8], seed: u64) -> (bool, Duration) {
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| f(input)));
    let took = start.elapsed();
    match result {
        Ok(accepted) => (accepted, took),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            let dir = fuzz_dir().join("artifacts").join(target);
            let file = dir.join(format!("replay-{:016x}", fnv1a(input)));
            let kept = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&file, input))
                .map(|()| file.display().to_string())
                .unwrap_or_else(|e| format!("(not written: {e})"));
            let preview = String::from_utf8_lossy(&input[..input.len().min(300)]);
            panic!(
                "fuzz target {target} panicked on {what} (generator seed {seed:#x}): {msg}\n\
                 input ({} bytes) kept at {kept}; replay it with `cargo +nightly fuzz run {target} <file>` \
                 from fuzz/, or move it to fuzz/regressions/{target}/ once fixed.\n\
                 first bytes: {preview:?}",
                input.len()
            );
        }
    }
}

/// Seeds, regressions and mutations of one target through its function.
fn replay(target: &str, default_mutations: usize) -> Report {
    let f = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .expect("a known target");
    let seeds = inputs_in(&fuzz_dir().join("seeds").join(target));
    assert!(!seeds.is_empty(), "fuzz/seeds/{target}/ has no seed");
    let regressions = inputs_in(&fuzz_dir().join("regressions").join(target));
    let mutations =
        env_number("LOBBY_FUZZ_REPLAY_MUTATIONS").map_or(default_mutations, |n| n as usize);
    let seed = env_number("LOBBY_FUZZ_REPLAY_SEED").unwrap_or(SEED) ^ fnv1a(target.as_bytes());

    let mut report = Report {
        runs: 0,
        accepted: 0,
        total: Duration::ZERO,
        slowest: Vec::new(),
        accepted_seeds: Vec::new(),
    };
    fn record(report: &mut Report, what: String, (accepted, took): (bool, Duration)) {
        report.runs += 1;
        report.accepted += usize::from(accepted);
        report.total += took;
        report.slowest.push((took, what));
        report.slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        report.slowest.truncate(3);
    }
    for (name, input) in &seeds {
        let what = format!("seed {name}");
        let outcome = run_one(target, f, &what, input, seed);
        if outcome.0 {
            report.accepted_seeds.push(name.clone());
        }
        record(&mut report, what, outcome);
    }
    for (name, input) in &regressions {
        let what = format!("regression {name}");
        let outcome = run_one(target, f, &what, input, seed);
        record(&mut report, what, outcome);
    }
    let mut rng = Rng::new(seed);
    for i in 0..mutations {
        let (base_name, base) = &seeds[i % seeds.len()];
        let other = &seeds[rng.below(seeds.len())].1;
        let input = mutate(&mut rng, base, other);
        let what = format!("mutation {i} of seed {base_name}");
        let outcome = run_one(target, f, &what, &input, seed);
        record(&mut report, what, outcome);
    }

    let slow: Vec<String> = report
        .slowest
        .iter()
        .map(|(d, w)| {
            let flag = if *d > SLOW { " SLOW" } else { "" };
            format!("{} ms{flag} ({w})", d.as_millis())
        })
        .collect();
    println!(
        "fuzz replay {target}: {} inputs ({} seeds, {} regressions, {mutations} mutations, seed {seed:#x}), \
         {} accepted, {} ms in all; slowest: {}",
        report.runs,
        seeds.len(),
        regressions.len(),
        report.accepted,
        report.total.as_millis(),
        slow.join(", ")
    );
    report
}

/// Replays `target` and checks that the named seeds are still accepted (else the fixtures went
/// stale and the mutations no longer reach the code behind the parsers and signatures).
fn replay_expecting(target: &str, mutations: usize, accepted_seeds: &[&str]) {
    let report = replay(target, mutations);
    for want in accepted_seeds {
        assert!(
            report.accepted_seeds.iter().any(|s| s == want),
            "seed fuzz/seeds/{target}/{want} is no longer accepted (accepted: {:?})",
            report.accepted_seeds
        );
    }
}

#[test]
fn saml_acs_seeds_and_mutations_do_not_panic() {
    replay_expecting(
        "saml_acs",
        MUTATIONS,
        &["good-xml", "good-post", "good-redirect"],
    );
}

#[test]
fn oidc_id_token_seeds_and_mutations_do_not_panic() {
    replay_expecting(
        "oidc_id_token",
        MUTATIONS,
        &["rs256-good", "es256-good", "jwks"],
    );
}

#[test]
fn oauth_params_seeds_and_mutations_do_not_panic() {
    replay_expecting("oauth_params", MUTATIONS, &["token", "basic"]);
}

#[test]
fn saml_metadata_seeds_and_mutations_do_not_panic() {
    replay_expecting(
        "saml_metadata",
        MUTATIONS,
        &["entity", "entity-wanted", "aggregate-wanted"],
    );
}

#[test]
fn declarative_import_seeds_and_mutations_do_not_panic() {
    replay_expecting("declarative_import", IMPORT_MUTATIONS, &["tenant.yaml"]);
}

/// Every libFuzzer target is a call of its function here, and every function has a target, a
/// seed directory, and nothing else lives in `seeds/` or `regressions/`: the fuzzer and this
/// test run the same code on the same inputs.
#[test]
fn every_fuzz_target_calls_the_function_this_test_replays() {
    let dir = fuzz_dir();
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    let mut files: Vec<String> = std::fs::read_dir(dir.join("fuzz_targets"))
        .expect("fuzz/fuzz_targets/")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut want: Vec<String> = names.iter().map(|n| format!("{n}.rs")).collect();
    want.sort();
    assert_eq!(
        files, want,
        "fuzz/fuzz_targets/ and fuzzing::TARGETS differ"
    );
    for n in &names {
        let text = std::fs::read_to_string(dir.join("fuzz_targets").join(format!("{n}.rs")))
            .expect("read a target");
        assert!(
            text.contains(&format!("lobby::fuzzing::{n}(data)")),
            "fuzz/fuzz_targets/{n}.rs does not call lobby::fuzzing::{n}(data)"
        );
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("fuzz/Cargo.toml");
        assert!(manifest.contains(&format!("path = \"fuzz_targets/{n}.rs\"")));
    }
    for sub in ["seeds", "regressions"] {
        for d in subdirs(&dir.join(sub)) {
            assert!(
                names.contains(&d.as_str()),
                "fuzz/{sub}/{d}/ is not a fuzz target"
            );
        }
    }
}
