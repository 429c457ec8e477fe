//! Rules for a new password (NIST SP 800-63B §5.1.1.2): at least 8 characters, at most 256,
//! not a commonly used password, not the account's own email; no composition rules, no
//! periodic change.
//!
//! Owns: deciding whether a chosen password is acceptable. Must not touch: hashing (see
//! `user`), storage, pages (the sentence for each refusal is `pages::password::rejection`).

use std::sync::LazyLock;

/// Fewest characters (Unicode scalar values) in a new password.
pub const MIN_CHARS: usize = 8;
/// Most characters accepted (SP 800-63B: at least 64 must be allowed).
pub const MAX_CHARS: usize = 256;

/// Why a chosen password is refused (`pages::password::rejection` is what the page shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort,
    TooLong,
    Common,
    IsEmail,
}

/// Check a new password for the account with this (normalized) email.
pub fn check_new_password(password: &str, email: &str) -> Result<(), PasswordRejection> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(PasswordRejection::TooShort);
    }
    if n > MAX_CHARS {
        return Err(PasswordRejection::TooLong);
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(PasswordRejection::IsEmail);
    }
    if is_common(password) {
        return Err(PasswordRejection::Common);
    }
    Ok(())
}

/// The bundled list of commonly used passwords (`common_passwords.txt`, one a line, lowercase,
/// sorted by byte order, no duplicates).
///
/// Source: the `passwords` frequency list of the npm package `@zxcvbn-ts/language-common`
/// 4.1.3 (`src/passwords.json`, 49,233 entries, sha256 f422773d…b33e3f1), itself derived from
/// the list of Dropbox's zxcvbn (leaked-password corpora ranked by frequency). MIT licence,
/// copyright Dan Wheeler and Dropbox, Inc. and zxcvbn-ts: `common_passwords.LICENSE.txt`.
/// Kept: every entry lowercased, those of at least [`MIN_CHARS`] characters (17,950; shorter
/// ones can never pass the length rule, so storing them would change nothing).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// [`COMMON_PASSWORDS`] as a sorted slice, split once.
static COMMON: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect());

/// Whether the password is on the bundled list of commonly used passwords, ignoring case.
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON.binary_search(&lower.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(
            check_new_password("short", "a@b.c"),
            Err(PasswordRejection::TooShort)
        );
        assert_eq!(
            check_new_password("password", "a@b.c"),
            Err(PasswordRejection::Common)
        );
        assert_eq!(
            check_new_password("a@b.cd.ef", "a@b.cd.ef"),
            Err(PasswordRejection::IsEmail)
        );
        assert_eq!(check_new_password("correct horse battery", "a@b.c"), Ok(()));
        assert_eq!(
            check_new_password(&"x".repeat(257), "a@b.c"),
            Err(PasswordRejection::TooLong)
        );
    }

    #[test]
    fn the_bundled_list_is_sorted_lowercase_and_complete() {
        assert_eq!(COMMON.len(), 17_950, "the list as bundled");
        assert!(
            COMMON.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(
            COMMON
                .iter()
                .all(|p| *p == p.to_lowercase() && p.chars().count() >= MIN_CHARS)
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        // Entries from the whole list, not only its head.
        for p in [
            "password",
            "PassWord",
            "iloveyou",
            "trustno1",
            "passw0rd",
            "qwertyuiop",
            "Football1",
            "superman",
        ] {
            assert_eq!(
                check_new_password(p, "a@b.c"),
                Err(PasswordRejection::Common),
                "{p}"
            );
        }
        // Long random-looking passphrases pass.
        assert_eq!(
            check_new_password("violet kettle 42 under moss", "a@b.c"),
            Ok(())
        );
        assert_eq!(check_new_password("Zq8!vR2#pL", "a@b.c"), Ok(()));
    }
}
