//! Validated input values ("parse, don't validate"): once one of these exists, it is good.

use super::DomainError;

fn invalid(msg: impl Into<String>) -> DomainError {
    DomainError::InvalidInput(msg.into())
}

/// Input echoed in an error, cut to what helps the caller recognise it: an error must not
/// send megabytes back.
fn shown(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(MAX).collect();
    format!("{head:?}… ({} characters)", s.chars().count())
}

/// An organisation slug: 2-63 of `a-z 0-9 -`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug, DomainError> {
        let ok = (2..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if !ok {
            return Err(invalid(format!(
                "invalid organisation slug {}: use 2-63 lower-case letters, digits or '-', not starting with '-'",
                shown(s)
            )));
        }
        Ok(Slug(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username, case-insensitive (stored lower-case): 1-64 of `a-z 0-9 . _ - @ +`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Username, DomainError> {
        let s = s.trim().to_lowercase();
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_@+".contains(&b));
        if !ok {
            return Err(invalid(format!(
                "invalid username {}: use 1-64 letters, digits or . _ - @ +",
                shown(&s)
            )));
        }
        Ok(Username(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address: deliberately loose (one '@', something either side, no spaces);
/// the only real check of an address is a mail that arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, DomainError> {
        let s = s.trim();
        let ok = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(s.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@') && !d.starts_with('.') && !d.ends_with('.'));
        if !ok {
            return Err(invalid(format!("invalid email address {}", shown(s))));
        }
        Ok(Email(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A one-time code as typed: digits, with spaces tolerated ("123 456"), 6 to 8 of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    pub fn parse(s: &str) -> Result<OtpCode, DomainError> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if !(6..=8).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the code must be 6 to 8 digits"));
        }
        Ok(OtpCode(digits))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A factor's display name: 1-64 printable characters.
pub fn factor_name(name: Option<&str>) -> Result<String, DomainError> {
    label(name.unwrap_or("Authenticator app"), "factor name")
}

/// An email factor's display name: 1-64 printable characters.
pub fn email_factor_name(name: Option<&str>) -> Result<String, DomainError> {
    label(name.unwrap_or("Email"), "factor name")
}

/// A passkey's display name: 1-64 printable characters.
pub fn passkey_name(name: Option<&str>) -> Result<String, DomainError> {
    label(name.unwrap_or("Passkey"), "passkey name")
}

/// A label for something the user or an admin names (an API key): 1-64 printable
/// characters, surrounding spaces dropped.
pub fn label(name: &str, what: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "the {what} must be 1-64 printable characters"
        )));
    }
    Ok(name.to_owned())
}

/// Step-up scopes: 1 to 10 of 1-64 letters, digits and `:._-`; duplicates dropped.
pub fn scopes(given: &[String]) -> Result<Vec<String>, DomainError> {
    let ok = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":._-".contains(&b))
    };
    if given.is_empty() || given.len() > 10 {
        return Err(invalid("scopes must name 1 to 10 scopes"));
    }
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for s in given {
        if !ok(s) {
            return Err(invalid(
                "a scope is 1-64 letters, digits and the characters : . _ -",
            ));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_and_deduplicated() {
        let s = |v: &[&str]| scopes(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            s(&["mfa:manage", "a.b_c-d", "mfa:manage"]).unwrap(),
            ["mfa:manage", "a.b_c-d"]
        );
        assert!(s(&[]).is_err());
        assert!(s(&["with space"]).is_err());
        assert!(s(&[""]).is_err());
        assert!(s(&["x"; 11]).is_err());
        assert!(s(&[&"x".repeat(65)]).is_err());
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("acme").is_ok());
        assert!(Slug::parse("acme-2").is_ok());
        for bad in ["a", "-acme", "Acme", "ac me", "acme_", ""] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_case_insensitive() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("").is_err());
    }

    #[test]
    fn emails() {
        assert!(Email::parse("alice@example.com").is_ok());
        for bad in [
            "alice",
            "@example.com",
            "alice@example",
            "a b@example.com",
            "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_input_is_not_echoed_whole() {
        let long = format!("{}!", "a".repeat(1_799_999));
        for e in [
            Username::parse(&long).unwrap_err(),
            Email::parse(&long).unwrap_err(),
            Slug::parse(&long).unwrap_err(),
        ] {
            let msg = e.to_string();
            assert!(msg.len() < 300, "{} bytes: {}", msg.len(), &msg[..300]);
            assert!(msg.contains("1800000 characters"), "{msg}");
        }
    }

    #[test]
    fn codes_tolerate_spaces_and_nothing_else() {
        assert_eq!(OtpCode::parse("123 456").unwrap().as_str(), "123456");
        for bad in ["12345", "123456789", "12a456", ""] {
            assert!(OtpCode::parse(bad).is_err(), "{bad}");
        }
    }
}
