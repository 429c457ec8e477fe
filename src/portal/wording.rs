//! Small helpers shared by the Domains, Branding, Audit, Child orgs and operator pages: a
//! field's sentence from a service error's fragment, and dates as the pages show them.
//!
//! Owns: turning a service or domain message fragment ("must be …") into a sentence shown
//! next to a form field. Must not touch: rights, storage.

use time::OffsetDateTime;

/// A sentence for a field from a service/domain message fragment: "must be …" becomes
/// "The <label> must be …."; another fragment is capitalized; a full sentence is kept.
pub fn sentence(label: &str, message: &str) -> String {
    let m = message.trim();
    let m = m.strip_suffix('.').unwrap_or(m);
    if m.starts_with("must ") {
        return format!("The {label} {m}.");
    }
    let mut c = m.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// `YYYY-MM-DD` (UTC).
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn date_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date(t),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_become_sentences() {
        assert_eq!(
            sentence("slug", "must be 2-63 lowercase letters"),
            "The slug must be 2-63 lowercase letters."
        );
        assert_eq!(
            sentence("domain", "Enter a domain like example.com."),
            "Enter a domain like example.com."
        );
        assert_eq!(
            sentence("value", "a role value must be 1-128 characters"),
            "A role value must be 1-128 characters."
        );
    }

    #[test]
    fn dates_are_utc() {
        let t = time::macros::datetime!(2026-03-04 05:06:07 +02:00);
        assert_eq!(date(t), "2026-03-04");
        assert_eq!(date_time(t), "2026-03-04 03:06:07 UTC");
    }
}
