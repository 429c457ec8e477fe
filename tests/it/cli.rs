//! The `lobby` command as a user runs it: its output commands end quietly when their reader
//! goes away (`lobby openapi | head`), instead of panicking with a backtrace.
//!
//! Owns: running the built binary. Must not touch: anything global (temp dirs only).

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn output_to_a_reader_that_hangs_up_ends_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lobby"))
        .arg("openapi")
        .env("LOBBY_DATA_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lobby");
    // Read the first bytes, then hang up like `head -c 16`. The document is far larger than a
    // pipe's buffer, so the writer is still writing when the reader goes away.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("the first bytes");
    assert!(
        first.starts_with(b"{"),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
    drop(stdout);
    let out = child.wait_with_output().expect("wait for lobby");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}
