//! Rules for a new password (NIST SP 800-63B §5.1.1.2): at least 8 characters, at most 256,
//! not a commonly used password, not the account's own email; no composition rules, no
//! periodic change.
//!
//! Owns: deciding whether a chosen password is acceptable, and the sentence that says why not.
//! Must not touch: hashing (see `user`), storage, pages.

/// Fewest characters (Unicode scalar values) in a new password.
pub const MIN_CHARS: usize = 8;
/// Most characters accepted (SP 800-63B: at least 64 must be allowed).
pub const MAX_CHARS: usize = 256;

/// Why a chosen password is refused; `sentence()` is what the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort,
    TooLong,
    Common,
    IsEmail,
}

impl PasswordRejection {
    pub fn sentence(self) -> &'static str {
        match self {
            Self::TooShort => "Choose a password of at least 8 characters.",
            Self::TooLong => "Choose a password of at most 256 characters.",
            Self::Common => {
                "This password is too common and easy to guess. Choose a different one."
            }
            Self::IsEmail => "Don't use your email address as your password.",
        }
    }
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

/// Whether the password is on the bundled list of commonly used passwords.
/// TODO(passwords helper): replace with the bundled list.
fn is_common(password: &str) -> bool {
    const FEW: &[&str] = &["password", "12345678", "123456789", "qwertyui", "11111111"];
    FEW.iter().any(|c| c.eq_ignore_ascii_case(password))
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
}
