//! `otpauth://` Key URIs (Google Authenticator "Key Uri Format"), the payload of enrolment QR codes.

use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Secret, TotpParams};

/// Everything except RFC 3986 §2.3 unreserved characters is escaped. That covers the label
/// separator `:`, the query delimiters `&`, `=`, `?`, `#`, `/`, `%` itself, and `+` (which
/// form-encoding decoders read as a space), so any issuer or account survives a round trip.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A TOTP Key URI (Google Authenticator "Key Uri Format", built on RFC 3986):
/// `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30`.
///
/// Rules this type enforces ([`validate`](KeyUri::validate), applied by [`parse`](KeyUri::parse)),
/// chosen so that [`to_uri`](KeyUri::to_uri) and `parse` are exact inverses:
/// * the issuer, if any, is non-empty and has no `:` (the format reserves it as the separator);
/// * the account is non-empty and does not start with a space (the format allows spaces after
///   the separator, so parsers drop them); it may contain anything else, including `:`, as
///   long as there is an issuer: without one, `a:b` would read back as issuer `a`, account `b`.
///
/// There is intentionally no `Display`: the URI contains the secret and must not end up in a
/// log line by accident. `Debug` shows only the secret's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUri {
    /// Who issued the secret (shown by authenticator apps as the entry's title).
    pub issuer: Option<String>,
    /// The user's account name at the issuer.
    pub account: String,
    /// The shared secret.
    pub secret: Secret,
    /// Algorithm, digits and period.
    pub params: TotpParams,
}

impl KeyUri {
    /// Checks the rules listed on the type and the parameter ranges.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(issuer) = &self.issuer {
            if issuer.is_empty() {
                return Err(Error::InvalidIssuer("must not be empty"));
            }
            if issuer.contains(':') {
                return Err(Error::InvalidIssuer("must not contain ':'"));
            }
        }
        if self.account.is_empty() {
            return Err(Error::InvalidAccount("must not be empty"));
        }
        if self.account.starts_with(' ') {
            return Err(Error::InvalidAccount("must not start with a space"));
        }
        if self.issuer.is_none() && self.account.contains(':') {
            return Err(Error::InvalidAccount(
                "must not contain ':' unless an issuer is set",
            ));
        }
        self.params.validate()
    }

    /// Builds the URI. The result contains the secret: treat it like the secret itself.
    ///
    /// The label is `Issuer:account` with each part percent-encoded and a literal `:`; the
    /// issuer is repeated in the `issuer` parameter as the format recommends, and algorithm,
    /// digits and period are always written so no app has to guess defaults. The fields are
    /// public and not checked here; call [`validate`](Self::validate) first if they may break
    /// its rules, otherwise the URI may not parse back to the same value.
    pub fn to_uri(&self) -> String {
        let mut uri = String::from("otpauth://totp/");
        if let Some(issuer) = &self.issuer {
            uri.extend(utf8_percent_encode(issuer, COMPONENT));
            uri.push(':');
        }
        uri.extend(utf8_percent_encode(&self.account, COMPONENT));
        uri.push_str("?secret=");
        uri.push_str(&self.secret.to_base32());
        if let Some(issuer) = &self.issuer {
            uri.push_str("&issuer=");
            uri.extend(utf8_percent_encode(issuer, COMPONENT));
        }
        uri.push_str("&algorithm=");
        uri.push_str(self.params.algorithm.as_str());
        uri.push_str("&digits=");
        uri.push_str(&self.params.digits.to_string());
        uri.push_str("&period=");
        uri.push_str(&self.params.period.to_string());
        uri
    }

    /// Parses a Key URI.
    ///
    /// Lenient where real-world generators differ: scheme, type and parameter names ignore
    /// case; the label separator may be `:` or `%3A`, followed by optional spaces; `+` in
    /// parameter values is a space (form encoding, as Python's `urlencode` and many other
    /// libraries write it) while in the label it is literal (path rules); a `#fragment` is
    /// dropped; unknown parameters (`image`, `counter`, ...) are ignored without decoding;
    /// missing `algorithm`/`digits`/`period` take the defaults; an empty `issuer` is absent.
    ///
    /// Strict where ambiguity could hurt: only `totp` is supported; `secret` is required; a
    /// known parameter given twice, malformed `%` escapes, escapes that are not UTF-8, and
    /// out-of-range values are errors. If the label has an issuer prefix and the `issuer`
    /// parameter is present, they must be equal: the format says the parameter should win,
    /// but a disagreement means the URI was tampered with or badly built, and silently
    /// picking one would show the user a different issuer than the one they think they add.
    pub fn parse(uri: &str) -> Result<KeyUri, Error> {
        let (scheme, rest) = uri.split_once("://").ok_or(Error::NotOtpauthUri)?;
        if !scheme.eq_ignore_ascii_case("otpauth") {
            return Err(Error::NotOtpauthUri);
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (otp_type, raw_label) = path.split_once('/').unwrap_or((path, ""));
        if !otp_type.eq_ignore_ascii_case("totp") {
            return Err(Error::UnsupportedOtpType(otp_type.to_owned()));
        }

        let label = percent_decode(raw_label, "label", false)?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((issuer, account)) => (Some(issuer), account),
            None => (None, label.as_str()),
        };
        let label_issuer = label_issuer.filter(|issuer| !issuer.is_empty());
        let account = account.trim_start_matches(' ');

        let mut raw = RawParams::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (slot, name) = match key.to_ascii_lowercase().as_str() {
                "secret" => (&mut raw.secret, "secret"),
                "issuer" => (&mut raw.issuer, "issuer"),
                "algorithm" => (&mut raw.algorithm, "algorithm"),
                "digits" => (&mut raw.digits, "digits"),
                "period" => (&mut raw.period, "period"),
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(Error::DuplicateParameter(name));
            }
        }

        let raw_secret = raw.secret.ok_or(Error::MissingParameter("secret"))?;
        let secret_text = Zeroizing::new(percent_decode(raw_secret, "`secret` parameter", true)?);
        let secret = Secret::from_base32(&secret_text)?;

        let defaults = TotpParams::default();
        let algorithm = match raw.algorithm {
            Some(value) => percent_decode(value, "`algorithm` parameter", true)?.parse()?,
            None => defaults.algorithm,
        };
        let digits = match raw.digits {
            Some(value) => {
                let digits = parse_number(value, "digits")?;
                u8::try_from(digits).map_err(|_| Error::InvalidDigits(digits))?
            }
            None => defaults.digits,
        };
        let period = match raw.period {
            Some(value) => parse_number(value, "period")?,
            None => defaults.period,
        };

        let param_issuer = match raw.issuer {
            Some(value) => Some(percent_decode(value, "`issuer` parameter", true)?),
            None => None,
        }
        .filter(|issuer| !issuer.is_empty());
        let issuer = match (label_issuer, param_issuer) {
            (Some(label), Some(parameter)) if label != parameter => {
                return Err(Error::IssuerMismatch {
                    label: label.to_owned(),
                    parameter,
                });
            }
            (label, parameter) => parameter.or_else(|| label.map(str::to_owned)),
        };

        let key_uri = KeyUri {
            issuer,
            account: account.to_owned(),
            secret,
            params: TotpParams {
                algorithm,
                digits,
                period,
            },
        };
        key_uri.validate()?;
        Ok(key_uri)
    }
}

impl FromStr for KeyUri {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyUri::parse(s)
    }
}

/// Raw (still encoded) values of the parameters we understand.
#[derive(Default)]
struct RawParams<'a> {
    secret: Option<&'a str>,
    issuer: Option<&'a str>,
    algorithm: Option<&'a str>,
    digits: Option<&'a str>,
    period: Option<&'a str>,
}

fn parse_number(raw: &str, param: &'static str) -> Result<u64, Error> {
    let part = if param == "digits" {
        "`digits` parameter"
    } else {
        "`period` parameter"
    };
    let value = percent_decode(raw, part, true)?;
    // u64::from_str would also accept a leading '+'; a parameter should be plain digits.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidNumber { param, value });
    }
    value
        .parse()
        .map_err(|_| Error::InvalidNumber { param, value })
}

/// Strict percent-decoding (RFC 3986 §2.1): every `%` must start a two-hex-digit escape
/// and the result must be UTF-8. The `percent-encoding` crate's decoder passes malformed
/// escapes through unchanged, which would hide broken URIs, hence this small loop.
fn percent_decode(raw: &str, part: &'static str, plus_is_space: bool) -> Result<String, Error> {
    // May hold the secret, so wiped when dropped on the error paths.
    let mut out = Zeroizing::new(Vec::with_capacity(raw.len()));
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = bytes.next().and_then(hex_value);
                let lo = bytes.next().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => {
                        return Err(Error::InvalidPercentEncoding {
                            part,
                            reason: "'%' must be followed by two hex digits",
                        });
                    }
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
    }
    String::from_utf8(std::mem::take(&mut *out)).map_err(|err| {
        err.into_bytes().zeroize();
        Error::InvalidPercentEncoding {
            part,
            reason: "the decoded text is not valid UTF-8",
        }
    })
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;
    use proptest::prelude::*;

    const B32: &str = "JBSWY3DPEHPK3PXP";

    fn secret() -> Secret {
        Secret::from_base32(B32).unwrap()
    }

    fn parse_err(uri: &str) -> Error {
        KeyUri::parse(uri).unwrap_err()
    }

    #[test]
    fn to_uri_format() {
        let key = KeyUri {
            issuer: Some("ACME Co".into()),
            account: "john.doe@email.com".into(),
            secret: Secret::from_base32("HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ").unwrap(),
            params: TotpParams::default(),
        };
        assert_eq!(
            key.to_uri(),
            "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
             &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
        let bare = KeyUri {
            issuer: None,
            account: "a&b?c=d/e%f+g".into(),
            secret: secret(),
            params: TotpParams {
                algorithm: Algorithm::Sha512,
                digits: 8,
                period: 60,
            },
        };
        assert_eq!(
            bare.to_uri(),
            "otpauth://totp/a%26b%3Fc%3Dd%2Fe%25f%2Bg?secret=JBSWY3DPEHPK3PXP\
             &algorithm=SHA512&digits=8&period=60"
        );
        assert_eq!(KeyUri::parse(&bare.to_uri()).unwrap(), bare);
    }

    #[test]
    fn google_examples() {
        let key: KeyUri =
            "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
                .parse()
                .unwrap();
        assert_eq!(key.issuer.as_deref(), Some("Example"));
        assert_eq!(key.account, "alice@google.com");
        assert_eq!(key.secret, secret());
        assert_eq!(key.params, TotpParams::default());

        let key = KeyUri::parse(
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
             &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
        )
        .unwrap();
        assert_eq!(key.issuer.as_deref(), Some("ACME Co"));
        assert_eq!(key.account, "john.doe@email.com");

        // Encoded separator followed by an encoded space.
        let key = KeyUri::parse(
            "otpauth://totp/Big%20Corporation%3A%20alice%40bigco.com?secret=JBSWY3DPEHPK3PXP",
        )
        .unwrap();
        assert_eq!(key.issuer.as_deref(), Some("Big Corporation"));
        assert_eq!(key.account, "alice@bigco.com");

        // No issuer anywhere.
        let key = KeyUri::parse("otpauth://totp/alice@google.com?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(key.issuer, None);
        assert_eq!(key.account, "alice@google.com");
    }

    #[test]
    fn lenient_parsing() {
        let key = KeyUri::parse(
            "OTPAUTH://TOTP/Provider1:%20%20Alice+Smith?SECRET=jbsw-y3dp-ehpk-3pxp====\
             &Algorithm=sha256&digits=8&period=60&image=https%3A%2F%2Fx&counter=5&flag#frag",
        )
        .unwrap();
        assert_eq!(key.issuer.as_deref(), Some("Provider1"));
        // '+' is literal in the label (a path), spaces after the separator are dropped.
        assert_eq!(key.account, "Alice+Smith");
        assert_eq!(key.secret, secret());
        assert_eq!(
            key.params,
            TotpParams {
                algorithm: Algorithm::Sha256,
                digits: 8,
                period: 60
            }
        );
        // Issuer only as a parameter; '+' in a value is a space; empty issuer is absent.
        let key =
            KeyUri::parse("otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP&issuer=Big+Co").unwrap();
        assert_eq!(key.issuer.as_deref(), Some("Big Co"));
        assert_eq!(key.account, "bob");
        let key = KeyUri::parse("otpauth://totp/:bob?secret=JBSWY3DPEHPK3PXP&issuer=").unwrap();
        assert_eq!(key.issuer, None);
        assert_eq!(key.account, "bob");
        // Account with ':' after the issuer separator.
        let key = KeyUri::parse("otpauth://totp/Co:a:b?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            (key.issuer.as_deref(), key.account.as_str()),
            (Some("Co"), "a:b")
        );
    }

    #[test]
    fn debug_hides_secret() {
        let key = KeyUri::parse("otpauth://totp/Co:bob?secret=JBSWY3DPEHPK3PXP").unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("Secret(10 bytes)"), "{debug}");
        assert!(!debug.contains(B32), "{debug}");
    }

    #[test]
    fn not_otpauth() {
        for uri in [
            "",
            "otpauth:/totp/a?secret=JBSWY3DPEHPK3PXP",
            "https://totp/a?secret=x",
            "totp/a",
        ] {
            assert_eq!(parse_err(uri), Error::NotOtpauthUri, "{uri}");
        }
        assert_eq!(Error::NotOtpauthUri.to_string(), "not an otpauth:// URI");
    }

    #[test]
    fn unsupported_type() {
        let err = parse_err("otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=1");
        assert_eq!(err, Error::UnsupportedOtpType("hotp".into()));
        assert_eq!(
            err.to_string(),
            "unsupported OTP type \"hotp\" in otpauth URI: only \"totp\" is supported"
        );
        assert_eq!(
            parse_err("otpauth://steam/a?secret=JBSWY3DPEHPK3PXP"),
            Error::UnsupportedOtpType("steam".into())
        );
    }

    #[test]
    fn bad_percent_encoding() {
        let err = parse_err("otpauth://totp/Co:b%2?secret=JBSWY3DPEHPK3PXP");
        assert_eq!(
            err,
            Error::InvalidPercentEncoding {
                part: "label",
                reason: "'%' must be followed by two hex digits"
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid percent-encoding in label of otpauth URI: '%' must be followed by two hex digits"
        );
        assert_eq!(
            parse_err("otpauth://totp/Co:b%zz?secret=JBSWY3DPEHPK3PXP"),
            err
        );
        assert_eq!(
            parse_err("otpauth://totp/Co:b?secret=JBSWY3DPEHPK3PXP&issuer=Co%ff"),
            Error::InvalidPercentEncoding {
                part: "`issuer` parameter",
                reason: "the decoded text is not valid UTF-8"
            }
        );
        assert!(matches!(
            parse_err("otpauth://totp/b?secret=JBSWY3DPEHPK3PXP%"),
            Error::InvalidPercentEncoding {
                part: "`secret` parameter",
                ..
            }
        ));
        // Unknown parameters are not decoded, so their encoding does not matter.
        assert!(KeyUri::parse("otpauth://totp/b?secret=JBSWY3DPEHPK3PXP&x=%%").is_ok());
    }

    #[test]
    fn missing_and_duplicate_parameters() {
        let err = parse_err("otpauth://totp/Co:bob?issuer=Co");
        assert_eq!(err, Error::MissingParameter("secret"));
        assert_eq!(err.to_string(), "missing `secret` parameter in otpauth URI");
        assert_eq!(parse_err("otpauth://totp/Co:bob"), err);

        let err = parse_err("otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP&digits=6&Digits=8");
        assert_eq!(err, Error::DuplicateParameter("digits"));
        assert_eq!(
            err.to_string(),
            "`digits` parameter appears more than once in otpauth URI"
        );
        assert_eq!(
            parse_err("otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP&secret=GEZDGNBVGY3TQOJQ"),
            Error::DuplicateParameter("secret")
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let base = "otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP";
        let err = parse_err(&format!("{base}&digits=six"));
        assert_eq!(
            err,
            Error::InvalidNumber {
                param: "digits",
                value: "six".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "`digits` parameter must be a whole number, got \"six\""
        );
        for (raw, decoded) in [
            ("", ""),
            ("%2B6", "+6"),
            ("+6", " 6"),
            ("-6", "-6"),
            ("6.0", "6.0"),
            ("99999999999999999999999", "99999999999999999999999"),
        ] {
            assert_eq!(
                parse_err(&format!("{base}&period={raw}")),
                Error::InvalidNumber {
                    param: "period",
                    value: decoded.into()
                }
            );
        }
        assert_eq!(
            parse_err(&format!("{base}&digits=9")),
            Error::InvalidDigits(9)
        );
        assert_eq!(
            parse_err(&format!("{base}&digits=256")),
            Error::InvalidDigits(256)
        );
        assert_eq!(
            parse_err(&format!("{base}&period=0")),
            Error::InvalidPeriod(0)
        );
        assert_eq!(
            parse_err(&format!("{base}&period=3600")),
            Error::InvalidPeriod(3600)
        );
        assert_eq!(
            parse_err(&format!("{base}&algorithm=MD5")),
            Error::UnknownAlgorithm("MD5".into())
        );
        assert_eq!(
            parse_err("otpauth://totp/bob?secret=JBSWY3DPEHPK3PX1"),
            Error::InvalidBase32Char {
                ch: '1',
                position: 16
            }
        );
        assert_eq!(
            parse_err("otpauth://totp/bob?secret=JBSWY3DP"),
            Error::InvalidSecretLength {
                len: 5,
                min: 10,
                max: 64
            }
        );
        assert_eq!(
            parse_err("otpauth://totp/bob?secret=JBSWY3DPEHPK3PXPJ"),
            Error::InvalidBase32Length { len: 17 }
        );
    }

    #[test]
    fn account_and_issuer_rules() {
        let secret_q = "?secret=JBSWY3DPEHPK3PXP";
        for label in ["", "Co:", "Co:%20%20", "%20"] {
            let err = parse_err(&format!("otpauth://totp/{label}{secret_q}"));
            assert_eq!(err, Error::InvalidAccount("must not be empty"), "{label:?}");
            assert_eq!(err.to_string(), "invalid account name: must not be empty");
        }
        assert_eq!(
            parse_err(&format!("otpauth://totp{secret_q}")),
            Error::InvalidAccount("must not be empty")
        );
        let err = parse_err(&format!("otpauth://totp/bob{secret_q}&issuer=A%3AB"));
        assert_eq!(err, Error::InvalidIssuer("must not contain ':'"));
        assert_eq!(err.to_string(), "invalid issuer: must not contain ':'");

        let key = KeyUri {
            issuer: Some(String::new()),
            account: "bob".into(),
            secret: secret(),
            params: TotpParams::default(),
        };
        assert_eq!(
            key.validate(),
            Err(Error::InvalidIssuer("must not be empty"))
        );
        let key = KeyUri {
            issuer: None,
            account: "a:b".into(),
            ..key
        };
        assert_eq!(
            key.validate(),
            Err(Error::InvalidAccount(
                "must not contain ':' unless an issuer is set"
            ))
        );
        let key = KeyUri {
            issuer: Some("Co".into()),
            account: " bob".into(),
            ..key
        };
        assert_eq!(
            key.validate(),
            Err(Error::InvalidAccount("must not start with a space"))
        );
        let key = KeyUri {
            account: "bob".into(),
            params: TotpParams {
                digits: 4,
                ..TotpParams::default()
            },
            ..key
        };
        assert_eq!(key.validate(), Err(Error::InvalidDigits(4)));
    }

    #[test]
    fn issuer_mismatch() {
        let err = parse_err("otpauth://totp/Evil:bob?secret=JBSWY3DPEHPK3PXP&issuer=Good");
        assert_eq!(
            err,
            Error::IssuerMismatch {
                label: "Evil".into(),
                parameter: "Good".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "issuer in label (\"Evil\") does not match `issuer` parameter (\"Good\")"
        );
        // Agreement, including via different encodings, is fine.
        assert!(
            KeyUri::parse("otpauth://totp/Big%20Co%3Abob?secret=JBSWY3DPEHPK3PXP&issuer=Big+Co")
                .is_ok()
        );
    }

    fn algorithm() -> impl Strategy<Value = Algorithm> {
        prop_oneof![
            Just(Algorithm::Sha1),
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512)
        ]
    }

    /// Strings rich in characters that need escaping, plus arbitrary Unicode.
    fn text(min: usize) -> impl Strategy<Value = String> {
        let tricky = prop_oneof![
            4 => any::<char>(),
            6 => prop::sample::select(vec![
                ' ', ':', '&', '?', '%', '/', '+', '=', '#', '@', '.', '~', '\'', '"', 'é', '€', '😀', 'a', 'Z', '0',
            ]),
        ];
        prop::collection::vec(tricky, min..24).prop_map(|chars| chars.into_iter().collect())
    }

    fn key_uri() -> impl Strategy<Value = KeyUri> {
        (
            prop::option::of(text(1).prop_map(|s| s.replace(':', "-"))),
            text(1),
            prop::collection::vec(any::<u8>(), Secret::MIN_IMPORTED_LEN..=Secret::MAX_LEN),
            algorithm(),
            TotpParams::MIN_DIGITS..=TotpParams::MAX_DIGITS,
            TotpParams::MIN_PERIOD..=TotpParams::MAX_PERIOD,
        )
            .prop_map(|(issuer, account, bytes, algorithm, digits, period)| {
                // Make the account representable (see KeyUri docs) rather than filtering.
                let mut account = account.trim_start_matches(' ').to_owned();
                if account.is_empty() {
                    account.push('x');
                }
                if issuer.is_none() {
                    account = account.replace(':', "-");
                }
                KeyUri {
                    issuer,
                    account,
                    secret: Secret::from_bytes(bytes).unwrap(),
                    params: TotpParams {
                        algorithm,
                        digits,
                        period,
                    },
                }
            })
    }

    proptest! {
        #[test]
        fn key_uri_round_trip(key in key_uri()) {
            prop_assert_eq!(key.validate(), Ok(()));
            let uri = key.to_uri();
            prop_assert!(uri.is_ascii(), "{}", uri);
            prop_assert!(!uri.contains(' '), "{}", uri);
            let parsed = KeyUri::parse(&uri).unwrap();
            prop_assert_eq!(&parsed, &key);
            prop_assert_eq!(parsed.to_uri(), uri);
        }

        #[test]
        fn params_round_trip(
            algorithm in algorithm(),
            digits in TotpParams::MIN_DIGITS..=TotpParams::MAX_DIGITS,
            period in TotpParams::MIN_PERIOD..=TotpParams::MAX_PERIOD,
        ) {
            let params = TotpParams { algorithm, digits, period };
            let uri = format!(
                "otpauth://totp/x?secret={B32}&algorithm={}&digits={digits}&period={period}",
                algorithm.to_string().to_lowercase()
            );
            prop_assert_eq!(KeyUri::parse(&uri).unwrap().params, params);
        }

        #[test]
        fn parse_never_panics(input in "otpauth://[a-zA-Z]{0,5}/.{0,40}") {
            let _ = KeyUri::parse(&input);
        }
    }
}
