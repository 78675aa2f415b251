//! Encryption of TOTP secrets at rest with XChaCha20-Poly1305 (an AEAD), under a key kept
//! outside the database: a file in the data directory (created at first start, mode 0600)
//! or `TWOFOLD_SECRET_KEY`, which several processes sharing PostgreSQL must all be given.
//!
//! Keys carry an id, stored beside each ciphertext, so a later key can be introduced while
//! old ciphertexts still name the key that opens them. The row's own id is the associated
//! data, so a ciphertext copied onto another row does not decrypt.
//!
//! The same key also keys an HMAC (through a key derived from it, never the key itself)
//! for values the database must hold but must not reveal to whoever copies it: mailed
//! codes, whose 10⁶ possible values a plain salted hash would give away in a second.

use std::collections::HashMap;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// The file in the data directory that holds the key when none is supplied.
pub const KEY_FILE: &str = "secret.key";
/// The file in the data directory that holds the keys `secret.key` replaces, during a
/// rotation, when no key is supplied.
pub const PREVIOUS_KEY_FILE: &str = "secret.key.previous";
const NONCE_LEN: usize = 24;

/// One 256-bit key and its id. The key bytes never appear in `Debug` output.
pub struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
    /// HMAC-SHA256 key derived from the key (so one key never serves two algorithms).
    mac_key: Zeroizing<[u8; 32]>,
}

/// The label the MAC key is derived under (HMAC-SHA256 of it under the key, as HKDF's
/// expand step for one block).
const MAC_KEY_LABEL: &[u8] = b"twofold mac key v1\x01";

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    /// A fresh random key with a random id, in the `<id>:<base64url>` text form.
    pub fn generate_text() -> Result<Zeroizing<String>, CryptoError> {
        let mut id = [0u8; 4];
        random_bytes(&mut id)?;
        let mut key = Zeroizing::new([0u8; 32]);
        random_bytes(key.as_mut())?;
        Ok(Zeroizing::new(format!(
            "k{}:{}",
            HEXLOWER.encode(&id),
            BASE64URL_NOPAD.encode(key.as_ref())
        )))
    }

    /// Parses `<id>:<base64url of 32 bytes>`.
    pub fn parse(text: &str) -> Result<SecretKey, CryptoError> {
        let (id, b64) = text.trim().split_once(':').ok_or_else(|| {
            CryptoError::Key(
                "expected <id>:<base64url key>, e.g. from `twofold secret-key generate`".into(),
            )
        })?;
        if id.is_empty()
            || id.len() > 32
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(CryptoError::Key(
                "the key id must be 1-32 letters, digits or '-'".into(),
            ));
        }
        let bytes = Zeroizing::new(
            BASE64URL_NOPAD
                .decode(b64.trim_end_matches('=').as_bytes())
                .map_err(|_| CryptoError::Key("the key is not valid base64url".into()))?,
        );
        if bytes.len() != 32 {
            return Err(CryptoError::Key(format!(
                "the key must be 32 bytes, got {}",
                bytes.len()
            )));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| CryptoError::Key("the key must be 32 bytes".into()))?;
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&bytes)
            .map_err(|_| CryptoError::Key("the key must be 32 bytes".into()))?;
        derive.update(MAC_KEY_LABEL);
        let mut mac_key = Zeroizing::new([0u8; 32]);
        mac_key.copy_from_slice(&derive.finalize().into_bytes());
        Ok(SecretKey {
            id: id.to_owned(),
            cipher,
            mac_key,
        })
    }

    /// Reads the key from `<data_dir>/secret.key`, creating it (mode 0600) if absent.
    pub fn load_or_create(data_dir: &Path) -> Result<SecretKey, CryptoError> {
        let path = data_dir.join(KEY_FILE);
        // Two processes may start together on a fresh directory: the one that loses the
        // create race reads the winner's key, waiting briefly until it is written.
        for _ in 0..50 {
            match std::fs::read_to_string(&path) {
                Ok(text) if text.trim().is_empty() => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    continue;
                }
                Ok(text) => {
                    // An older release may have left it readable by others.
                    crate::files::tighten(&path, 0o600).map_err(|e| {
                        CryptoError::Key(format!("cannot protect {}: {e}", path.display()))
                    })?;
                    return SecretKey::parse(&Zeroizing::new(text));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(CryptoError::Key(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )));
                }
            }
            let text = SecretKey::generate_text()?;
            match write_private(&path, text.as_bytes()) {
                Ok(()) => return SecretKey::parse(&text),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(CryptoError::Key(format!(
                        "cannot write {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        Err(CryptoError::Key(format!("{} stays empty", path.display())))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Parses keys separated by commas, spaces or line breaks (`TWOFOLD_SECRET_KEY_PREVIOUS`,
    /// `secret.key.previous`); no key at all is an empty list.
    pub fn parse_list(text: &str) -> Result<Vec<SecretKey>, CryptoError> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(SecretKey::parse)
            .collect()
    }

    /// The keys in `<data_dir>/secret.key.previous`, where an operator moves the old key
    /// when a new one takes `secret.key`'s place; none when the file is absent.
    pub fn load_previous(data_dir: &Path) -> Result<Vec<SecretKey>, CryptoError> {
        let path = data_dir.join(PREVIOUS_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                // Copied in by hand: it may be readable by others.
                crate::files::tighten(&path, 0o600).map_err(|e| {
                    CryptoError::Key(format!("cannot protect {}: {e}", path.display()))
                })?;
                SecretKey::parse_list(&Zeroizing::new(text))
                    .map_err(|e| CryptoError::Key(format!("{}: {e}", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(CryptoError::Key(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }
}

/// Creates `path` readable by its owner only; fails if it already exists, so two processes
/// starting at once cannot overwrite each other's key.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::files::write_new_private(path, bytes)?;
    std::fs::File::open(path)?.sync_all()
}

fn mac_under(key: &SecretKey, context: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.mac_key.as_ref())
        .map_err(|_| CryptoError::Encrypt)?;
    for part in std::iter::once(context).chain(parts.iter().copied()) {
        mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The keys this process can decrypt with; new ciphertexts use the `current` one.
#[derive(Debug)]
pub struct KeyRing {
    current: String,
    keys: HashMap<String, SecretKey>,
}

/// A sealed secret: which key sealed it and `nonce || ciphertext+tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

impl KeyRing {
    pub fn new(current: SecretKey) -> Self {
        let id = current.id.clone();
        let mut keys = HashMap::new();
        keys.insert(id.clone(), current);
        Self { current: id, keys }
    }

    /// The current key and, beside it, keys it replaces or will replace during a rotation
    /// (README, "Rotating the secret key"): values sealed under any of them open, new ones
    /// are sealed under `current`. Two keys with one id are refused: which would open a
    /// value sealed under that id?
    pub fn with_previous(
        current: SecretKey,
        previous: impl IntoIterator<Item = SecretKey>,
    ) -> Result<Self, CryptoError> {
        let mut ring = Self::new(current);
        for key in previous {
            if ring.keys.contains_key(&key.id) {
                return Err(CryptoError::Key(format!(
                    "key id {} is given twice (as the current key or among the previous ones)",
                    key.id
                )));
            }
            ring.keys.insert(key.id.clone(), key);
        }
        Ok(ring)
    }

    pub fn current_id(&self) -> &str {
        &self.current
    }

    pub fn has_key(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    /// The ids of the keys besides the current one, sorted.
    pub fn previous_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .keys
            .keys()
            .filter(|id| **id != self.current)
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// Drops previous key `id` (one that was retired: nothing it sealed remains, and
    /// nothing made under it is accepted any more). The current key stays.
    pub fn forget(&mut self, id: &str) {
        if id != self.current {
            self.keys.remove(id);
        }
    }

    /// HMAC-SHA256 under the current key's MAC key of `context` and `parts` (each
    /// length-prefixed, so no two inputs run together into the same bytes).
    pub fn mac(&self, context: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
        let key = self.keys.get(&self.current).ok_or(CryptoError::Encrypt)?;
        mac_under(key, context, parts)
    }

    /// Whether `expected` is the [`KeyRing::mac`] of `context` and `parts` under any key of
    /// the ring, each compared in constant time. During a rotation a code mailed by a
    /// server that still makes the old key current is checked by one that already makes
    /// the new one current: both keys are in both rings then, so the code still works.
    pub fn mac_matches(
        &self,
        context: &[u8],
        parts: &[&[u8]],
        expected: &[u8],
    ) -> Result<bool, CryptoError> {
        use subtle::ConstantTimeEq;
        let mut found = subtle::Choice::from(0);
        for key in self.keys.values() {
            found |= mac_under(key, context, parts)?.ct_eq(expected);
        }
        Ok(found.into())
    }

    /// Encrypts `plaintext`, binding it to `context` (the owning row's id).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, CryptoError> {
        let key = self.keys.get(&self.current).ok_or(CryptoError::Encrypt)?;
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let ct = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + ct.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ct);
        Ok(Sealed {
            key_id: self.current.clone(),
            bytes,
        })
    }

    /// Decrypts what [`KeyRing::seal`] produced for the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = self.keys.get(&sealed.key_id).ok_or_else(|| {
            CryptoError::Key(format!(
                "this value is sealed under key {}, which this server was not given: a \
                 rotation is under way; give this server that key (README, \"Rotating the \
                 secret key\")",
                sealed.key_id
            ))
        })?;
        if sealed.bytes.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.bytes.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(SecretKey::parse(&SecretKey::generate_text().unwrap()).unwrap())
    }

    #[test]
    fn seal_then_open_round_trips_and_hides_the_plaintext() {
        let r = ring();
        let s = r.seal(b"JBSWY3DPEHPK3PXP-secret", b"factor-1").unwrap();
        assert!(!s.bytes.windows(6).any(|w| w == b"JBSWY3"));
        assert_eq!(
            &*r.open(&s, b"factor-1").unwrap(),
            b"JBSWY3DPEHPK3PXP-secret"
        );
    }

    #[test]
    fn ciphertext_moved_to_another_row_does_not_open() {
        let r = ring();
        let s = r.seal(b"secret", b"factor-1").unwrap();
        assert!(matches!(r.open(&s, b"factor-2"), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn another_key_cannot_open() {
        let s = ring().seal(b"secret", b"f").unwrap();
        let other = ring();
        assert!(other.open(&s, b"f").is_err());
    }

    fn key() -> SecretKey {
        SecretKey::parse(&SecretKey::generate_text().unwrap()).unwrap()
    }

    #[test]
    fn a_ring_with_the_previous_key_opens_its_secrets_and_seals_under_the_new_one() {
        let old_text = SecretKey::generate_text().unwrap();
        let old = KeyRing::new(SecretKey::parse(&old_text).unwrap());
        let sealed_old = old.seal(b"secret", b"f").unwrap();
        let new = KeyRing::with_previous(key(), [SecretKey::parse(&old_text).unwrap()]).unwrap();
        assert_eq!(&*new.open(&sealed_old, b"f").unwrap(), b"secret");
        assert_ne!(new.seal(b"x", b"f").unwrap().key_id, sealed_old.key_id);
        assert_eq!(new.previous_ids(), [old.current_id()]);
        // What a key it was not given sealed still does not open.
        let stranger = ring().seal(b"secret", b"f").unwrap();
        assert!(new.open(&stranger, b"f").is_err());
    }

    #[test]
    fn the_same_key_id_twice_in_a_ring_is_refused() {
        let text = SecretKey::generate_text().unwrap();
        let e = KeyRing::with_previous(
            SecretKey::parse(&text).unwrap(),
            [SecretKey::parse(&text).unwrap()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
    }

    #[test]
    fn a_mac_under_a_previous_key_still_matches_until_the_key_is_forgotten() {
        let old_text = SecretKey::generate_text().unwrap();
        let old = KeyRing::new(SecretKey::parse(&old_text).unwrap());
        let mac = old.mac(b"ctx", &[b"salt", b"123456"]).unwrap();
        let mut new =
            KeyRing::with_previous(key(), [SecretKey::parse(&old_text).unwrap()]).unwrap();
        assert_ne!(new.mac(b"ctx", &[b"salt", b"123456"]).unwrap(), mac);
        assert!(
            new.mac_matches(b"ctx", &[b"salt", b"123456"], &mac)
                .unwrap()
        );
        assert!(
            !new.mac_matches(b"ctx", &[b"salt", b"654321"], &mac)
                .unwrap()
        );
        new.forget(old.current_id());
        assert!(
            !new.mac_matches(b"ctx", &[b"salt", b"123456"], &mac)
                .unwrap()
        );
    }

    #[test]
    fn a_key_list_takes_commas_spaces_and_lines() {
        let (a, b) = (
            SecretKey::generate_text().unwrap(),
            SecretKey::generate_text().unwrap(),
        );
        let keys = SecretKey::parse_list(&format!(" {}, \n{}\n", *a, *b)).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(SecretKey::parse_list("").unwrap().is_empty());
        assert!(SecretKey::parse_list("k1:nope").is_err());
    }

    #[test]
    fn malformed_key_text_is_rejected_with_a_reason() {
        assert!(SecretKey::parse("nocolon").is_err());
        assert!(
            SecretKey::parse("k1:AAAA")
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );
        assert!(SecretKey::parse("bad id!:AAAA").is_err());
    }

    #[test]
    fn key_file_is_created_once_with_owner_only_mode() {
        let d = std::env::temp_dir().join(format!("twofold-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        let a = SecretKey::load_or_create(&d).unwrap();
        let b = SecretKey::load_or_create(&d).unwrap();
        assert_eq!(a.id(), b.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
