//! Email addresses and email domains, normalized so that equal domains compare equal:
//! lowercase, one trailing dot removed, IDNA (UTS #46) to the ASCII/punycode form.
//! Homoglyphs are *different* domains after normalization and never match.

use super::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};

/// An email domain in its normalized ASCII form (`xn--…` for internationalized labels).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(input: &str) -> DomainResult<Self> {
        let err = || {
            DomainError::new(
                "domain",
                "must be a DNS domain name with at least two labels, like example.com",
            )
        };
        let s = input.trim();
        if s.is_empty() || s.len() > 300 {
            return Err(err());
        }
        let s = s.strip_suffix('.').unwrap_or(s);
        // UTS #46 processing: maps case and compatibility forms, converts to punycode,
        // and rejects disallowed code points.
        let ascii = idna::domain_to_ascii(s).map_err(|_| err())?;
        if ascii.is_empty() || ascii.len() > 253 || ascii.ends_with('.') {
            return Err(err());
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err(err());
        }
        for l in &labels {
            let b = l.as_bytes();
            let ldh = b
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
            if b.is_empty() || b.len() > 63 || !ldh || b[0] == b'-' || b[b.len() - 1] == b'-' {
                return Err(err());
            }
        }
        // An all-numeric last label is an IP address, not a domain.
        if labels
            .last()
            .is_some_and(|l| l.bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(err());
        }
        Ok(Self(ascii))
    }

    /// The normalized ASCII form; this is what is stored and compared.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Unicode form for display.
    pub fn to_unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }
}

impl TryFrom<String> for EmailDomain {
    type Error = DomainError;
    fn try_from(s: String) -> DomainResult<Self> {
        Self::parse(&s)
    }
}
impl From<EmailDomain> for String {
    fn from(v: EmailDomain) -> String {
        v.0
    }
}
impl std::fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address: local part lowercased, domain normalized as [`EmailDomain`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email {
    normalized: String,
    at: usize,
}

impl Email {
    pub fn parse(input: &str) -> DomainResult<Self> {
        let err = || DomainError::new("email", "must be an email address like name@example.com");
        let s = input.trim();
        if s.is_empty() || s.len() > 254 {
            return Err(err());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(err)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local.chars().all(|c| {
                !c.is_whitespace()
                    && !c.is_control()
                    && c != '<'
                    && c != '>'
                    && c != '"'
                    && c != ','
            });
        if !local_ok {
            return Err(err());
        }
        let domain = EmailDomain::parse(domain).map_err(|_| err())?;
        let local = local.to_lowercase();
        Ok(Self {
            at: local.len(),
            normalized: format!("{local}@{}", domain.as_str()),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    pub fn local_part(&self) -> &str {
        &self.normalized[..self.at]
    }

    pub fn domain(&self) -> EmailDomain {
        EmailDomain(self.normalized[self.at + 1..].to_owned())
    }
}

impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(s: String) -> DomainResult<Self> {
        Self::parse(&s)
    }
}
impl From<Email> for String {
    fn from(v: Email) -> String {
        v.normalized
    }
}
impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.normalized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_trailing_dot_normalize() {
        let a = EmailDomain::parse("VICTIM.com.").unwrap();
        let b = EmailDomain::parse("victim.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "victim.com");
    }

    #[test]
    fn unicode_and_punycode_forms_compare_equal() {
        let u = EmailDomain::parse("Bücher.example").unwrap();
        let p = EmailDomain::parse("xn--bcher-kva.example").unwrap();
        assert_eq!(u, p);
        assert_eq!(u.as_str(), "xn--bcher-kva.example");
        assert_eq!(u.to_unicode(), "bücher.example");
    }

    #[test]
    fn homoglyphs_do_not_match() {
        // Cyrillic 'і' (U+0456) and Greek omicron instead of Latin letters.
        let real = EmailDomain::parse("victim.com").unwrap();
        for fake in ["vіctim.com", "victim.cοm", "víctim.com"] {
            if let Ok(d) = EmailDomain::parse(fake) {
                assert_ne!(d, real, "{fake} must not equal victim.com")
            }
        }
        // Fullwidth letters are *compatibility* forms: UTS #46 maps them to ASCII, as browsers do.
        assert_eq!(EmailDomain::parse("ｖｉｃｔｉｍ.com").unwrap(), real);
        assert_eq!(EmailDomain::parse("ⅴictim.com").unwrap(), real); // U+2174 ROMAN NUMERAL FIVE maps to "v"
    }

    #[test]
    fn invalid_domains_are_rejected() {
        for bad in [
            "",
            "com",
            "a..b",
            "-a.com",
            "a-.com",
            "a b.com",
            "exa_mple.com",
            "1.2.3.4",
            "a.com..",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_normalize() {
        let e = Email::parse(" Alice@ACME.com ").unwrap();
        assert_eq!(e.as_str(), "alice@acme.com");
        assert_eq!(e.local_part(), "alice");
        assert_eq!(e.domain(), EmailDomain::parse("acme.com").unwrap());
        for bad in [
            "alice",
            "@acme.com",
            "alice@",
            "a b@acme.com",
            "alice@acme",
            "<a>@acme.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn comment_tricks_do_not_produce_the_victim_domain() {
        let e = Email::parse("victim@corp.com.evil.com").unwrap();
        assert_ne!(e.domain(), EmailDomain::parse("corp.com").unwrap());
        assert!(Email::parse("victim@corp.com<!---->.evil.com").is_err());
    }
}
