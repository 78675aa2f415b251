//! The kinds of value a setting takes, each parsed from text (a file's, a variable's or a
//! flag's alike) and saying what a good value looks like when it is not one.

use std::net::SocketAddr;

use super::{Database, IpRange, LogFormat, PublicUrl, SmtpSecurity, SqliteSync};

/// Settings parsed from a string, each saying what a good value looks like.
pub(super) trait Setting: Sized {
    fn parse_setting(s: &str) -> Result<Self, String>;
}

macro_rules! setting_from_str {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            fn parse_setting(s: &str) -> Result<Self, String> {
                s.trim().parse().map_err(|e| format!("{e}"))
            }
        }
    )*};
}
setting_from_str!(u32, LogFormat, SmtpSecurity, SqliteSync);

pub(super) struct Port(pub(super) u16);
impl Setting for Port {
    fn parse_setting(s: &str) -> Result<Self, String> {
        match s.trim().parse::<u16>() {
            Ok(n) if n > 0 => Ok(Port(n)),
            _ => Err("expected a port from 1 to 65535".into()),
        }
    }
}

/// Any text but blank.
pub(super) struct NonEmptyText(pub(super) String);
impl Setting for NonEmptyText {
    fn parse_setting(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("must not be empty".into());
        }
        Ok(NonEmptyText(s.to_owned()))
    }
}

/// A `From:` address, `Name <a@b>` or `a@b`.
pub(super) struct Sender(pub(super) String);
impl Setting for Sender {
    fn parse_setting(s: &str) -> Result<Self, String> {
        let s = s.trim();
        s.parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("not a mail address: {e}"))?;
        Ok(Sender(s.to_owned()))
    }
}

impl Setting for SocketAddr {
    fn parse_setting(s: &str) -> Result<Self, String> {
        s.trim()
            .parse()
            .map_err(|_| "expected an address like 127.0.0.1:8080".into())
    }
}

pub(super) struct DbUrl(pub(super) Database);
impl Setting for DbUrl {
    fn parse_setting(s: &str) -> Result<Self, String> {
        Database::parse(s.trim()).map(DbUrl)
    }
}

pub(super) struct NonEmpty(pub(super) String);
impl From<NonEmpty> for String {
    fn from(v: NonEmpty) -> String {
        v.0
    }
}
impl Setting for NonEmpty {
    fn parse_setting(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s.contains(':') {
            return Err("must be non-empty and contain no ':'".into());
        }
        Ok(NonEmpty(s.to_owned()))
    }
}

pub(super) struct Secs(pub(super) u64);
impl Setting for Secs {
    fn parse_setting(s: &str) -> Result<Self, String> {
        match s.trim().parse::<u64>() {
            Ok(n) if (1..=365 * 86_400).contains(&n) => Ok(Secs(n)),
            _ => Err("expected a whole number of seconds, 1 or more".into()),
        }
    }
}

/// A whole number from 1 to a million.
pub(super) struct Count(pub(super) usize);
impl Setting for Count {
    fn parse_setting(s: &str) -> Result<Self, String> {
        match s.trim().parse::<usize>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(Count(n)),
            _ => Err("expected a number from 1 to 1000000".into()),
        }
    }
}

/// Comma-separated address ranges.
pub(super) struct Ranges(pub(super) Vec<IpRange>);
impl Setting for Ranges {
    fn parse_setting(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(Ranges)
    }
}

pub(super) struct NonZero(pub(super) usize);
impl Setting for NonZero {
    fn parse_setting(s: &str) -> Result<Self, String> {
        match s.trim().parse::<usize>() {
            Ok(n) if (1..=1024).contains(&n) => Ok(NonZero(n)),
            _ => Err("expected a number from 1 to 1024".into()),
        }
    }
}

impl Setting for PublicUrl {
    fn parse_setting(s: &str) -> Result<Self, String> {
        PublicUrl::parse(s.trim())
    }
}
