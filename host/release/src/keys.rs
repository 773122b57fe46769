//! Signing keys: ECDSA P-256 (cosign's default kind) in PEM, a PKCS#8 or
//! SEC1 private key to sign with, SPKI public keys to trust.

use std::path::{Path, PathBuf};

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use verdict_engine::{Links, Sha256, read_bounded};

use crate::error::ReleaseError;

/// The largest key file read.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// A private key to sign releases with.
pub struct PrivateKey {
    key: SigningKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(…)")
    }
}

/// A public key whose signatures are trusted, with the file it came from.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    key: VerifyingKey,
    file: PathBuf,
    fingerprint: Sha256,
}

fn read_pem(path: &Path) -> Result<String, ReleaseError> {
    let bytes = read_bounded(path, Links::Follow, MAX_KEY_BYTES).map_err(ReleaseError::io(path))?;
    String::from_utf8(bytes).map_err(|_| bad_key(path, "not a PEM file (not text)"))
}

fn bad_key(path: &Path, problem: &str) -> ReleaseError {
    ReleaseError::File {
        path: path.to_path_buf(),
        problem: problem.to_owned(),
    }
}

impl PrivateKey {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`), on the P-256 curve.
    pub fn load(path: &Path) -> Result<PrivateKey, ReleaseError> {
        let pem = read_pem(path)?;
        if pem.contains("ENCRYPTED") {
            return Err(bad_key(
                path,
                "an encrypted private key (such as cosign's own) is not read: give an unencrypted \
                 PKCS#8 or SEC1 P-256 key from `verdict release keygen` or `openssl ecparam -genkey -name prime256v1`, kept in a secret store",
            ));
        }
        let key = SigningKey::from_pkcs8_pem(&pem)
            .or_else(|_| p256::SecretKey::from_sec1_pem(&pem).map(SigningKey::from))
            .map_err(|_| {
                bad_key(
                    path,
                    "not an ECDSA P-256 private key in PEM (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`)",
                )
            })?;
        Ok(PrivateKey { key })
    }

    /// The DER signature of `payload` (ECDSA P-256 over its SHA-256; the
    /// same key and payload always give the same signature, RFC 6979).
    pub(crate) fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(payload);
        signature.to_der().as_bytes().to_vec()
    }
}

impl TrustedKey {
    /// Reads a PEM public key (`PUBLIC KEY`, as `cosign.pub` holds one).
    pub fn load(path: &Path) -> Result<TrustedKey, ReleaseError> {
        let pem = read_pem(path)?;
        let key = VerifyingKey::from_public_key_pem(&pem)
            .map_err(|_| bad_key(path, "not an ECDSA P-256 public key in PEM (`PUBLIC KEY`)"))?;
        let der = key
            .to_public_key_der()
            .map_err(|_| bad_key(path, "the public key cannot be encoded"))?;
        Ok(TrustedKey {
            key,
            file: path.to_path_buf(),
            fingerprint: Sha256::of(der.as_bytes()),
        })
    }

    /// The file the key was read from.
    #[must_use]
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The SHA-256 of the key's DER encoding, which names it in records.
    #[must_use]
    pub fn fingerprint(&self) -> Sha256 {
        self.fingerprint
    }

    /// Whether `signature` (DER) is this key's signature of `payload`.
    pub(crate) fn verifies(&self, payload: &[u8], signature: &[u8]) -> bool {
        Signature::from_der(signature)
            .is_ok_and(|signature| self.key.verify(payload, &signature).is_ok())
    }
}

/// A new key pair as PEM text: the PKCS#8 private key and the SPKI public
/// key, from the operating system's random source.
pub fn generate_key() -> Result<(String, String), ReleaseError> {
    let key = loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| {
            ReleaseError::Malformed(format!(
                "the operating system gave no random bytes for a key: {error}"
            ))
        })?;
        // A scalar of zero or past the curve order (odds 2^-32) is drawn again.
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            break key;
        }
    };
    let encode = |error: p256::pkcs8::Error| {
        ReleaseError::Malformed(format!("cannot encode the key: {error}"))
    };
    let private = key.to_pkcs8_pem(LineEnding::LF).map_err(encode)?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| ReleaseError::Malformed(format!("cannot encode the key: {error}")))?;
    Ok((private.to_string(), public))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_generated_pair_signs_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate_key().unwrap();
        std::fs::write(dir.path().join("k.key"), &private).unwrap();
        std::fs::write(dir.path().join("k.pub"), &public).unwrap();
        let key = PrivateKey::load(&dir.path().join("k.key")).unwrap();
        let trusted = TrustedKey::load(&dir.path().join("k.pub")).unwrap();
        let signature = key.sign(b"payload");
        assert_eq!(signature, key.sign(b"payload"), "deterministic");
        assert!(trusted.verifies(b"payload", &signature));
        assert!(!trusted.verifies(b"payload!", &signature));
        let (_, other) = generate_key().unwrap();
        std::fs::write(dir.path().join("o.pub"), &other).unwrap();
        let other = TrustedKey::load(&dir.path().join("o.pub")).unwrap();
        assert!(!other.verifies(b"payload", &signature));
        assert_ne!(other.fingerprint(), trusted.fingerprint());
    }

    #[test]
    fn a_public_key_is_no_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let (_, public) = generate_key().unwrap();
        std::fs::write(dir.path().join("k.pub"), &public).unwrap();
        let error = PrivateKey::load(&dir.path().join("k.pub")).unwrap_err();
        assert!(
            error.to_string().contains("not an ECDSA P-256 private key"),
            "{error}"
        );
    }
}
