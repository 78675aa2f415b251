//! Bearer tokens (sessions, sign-in flows, elevated tokens, API keys): 256 random bits, shown to the client once and
//! stored only as a SHA-256 hash, so a copy of the database holds no usable token.
//!
//! A plain hash (not a slow one) is right here: the input has 256 bits of entropy, so
//! there is nothing to brute-force, and lookups by hash keep comparisons out of our code.

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};

use super::{CryptoError, random_bytes};

/// What a token is for; the prefix makes leaked tokens recognisable (secret scanners)
/// and stops one kind being presented as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Flow,
    /// A step-up's elevated token.
    Elevated,
    /// An organisation's API key, for applications (introspection).
    ApiKey,
    /// A remembered device's token.
    Device,
    /// The `state` of a federated sign-in, sent to the identity provider and back.
    OidcState,
    /// The cookie that binds a federated sign-in to the browser that started it.
    OidcBinding,
    /// The one-time code an application exchanges for a federated sign-in's session.
    OidcHandoff,
    /// Random text with no other use (a nonce, a PKCE verifier).
    Nonce,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Session => "tfs_",
            Self::Flow => "tff_",
            Self::Elevated => "tfe_",
            Self::ApiKey => "tfk_",
            Self::Device => "tfd_",
            Self::OidcState => "tfo_",
            Self::OidcBinding => "tfb_",
            Self::OidcHandoff => "tfh_",
            Self::Nonce => "tfn_",
        }
    }
}

/// A freshly minted token: the text for the client and the hash for the database.
pub struct NewToken {
    pub text: String,
    pub hash: Vec<u8>,
}

pub fn mint(kind: TokenKind) -> Result<NewToken, CryptoError> {
    let mut raw = [0u8; 32];
    random_bytes(&mut raw)?;
    let text = format!("{}{}", kind.prefix(), BASE64URL_NOPAD.encode(&raw));
    let hash = hash_token(&text);
    Ok(NewToken { text, hash })
}

/// The hash to look a presented token up by, or `None` if it cannot be one of `kind`.
pub fn lookup_hash(kind: TokenKind, presented: &str) -> Option<Vec<u8>> {
    let body = presented.strip_prefix(kind.prefix())?;
    // 32 bytes in unpadded base64url are 43 characters.
    if body.len() != 43
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some(hash_token(presented))
}

fn hash_token(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_unique_prefixed_and_found_by_their_hash() {
        let a = mint(TokenKind::Session).unwrap();
        let b = mint(TokenKind::Session).unwrap();
        assert_ne!(a.text, b.text);
        assert!(a.text.starts_with("tfs_"));
        assert_eq!(lookup_hash(TokenKind::Session, &a.text), Some(a.hash));
    }

    #[test]
    fn a_token_of_another_kind_or_shape_is_not_looked_up() {
        let flow = mint(TokenKind::Flow).unwrap();
        assert_eq!(lookup_hash(TokenKind::Session, &flow.text), None);
        assert_eq!(lookup_hash(TokenKind::Session, "tfs_short"), None);
        assert_eq!(lookup_hash(TokenKind::Session, ""), None);
    }
}
