//! The entry format: what a cache entry holds, how its header names the
//! module and engine it is for, and the tag that authenticates it.
//!
//! All integers little-endian; `len` bytes of code as
//! [`Module::serialize`] wrote them.
//!
//! | offset     | bytes | field                                      |
//! |------------|-------|--------------------------------------------|
//! | 0          | 8     | magic `VRDCACHE`                           |
//! | 8          | 4     | format version, `1`                        |
//! | 12         | 32    | SHA-256 of the module bytes (wasm or WAT)  |
//! | 44         | 32    | engine fingerprint (below)                 |
//! | 76         | 8     | `len`, the length of the code              |
//! | 84         | `len` | the code                                   |
//! | 84 + `len` | 32    | HMAC-SHA256(key, bytes 0 .. 84 + `len`)    |
//!
//! The engine fingerprint is a SHA-256 over this format's version, the host
//! crate's name and version, and [`Engine::precompile_compatibility_hash`]
//! (the compiler's target and flags, the tunables and wasm features the
//! host configured, the wasmtime version), fed through a [`Hasher`] that
//! writes into SHA-256 with fixed-width little-endian integers: unlike
//! `DefaultHasher`, it gives the same name on every Rust release and
//! platform. Entries are written to a temporary file (mode 0600) and
//! renamed into place, so a reader never sees half an entry. Files of
//! earlier hosts (`*.cwasm`, untagged) are never read.

use std::hash::{Hash, Hasher};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasmtime::Engine;

/// The first bytes of every entry.
const MAGIC: [u8; 8] = *b"VRDCACHE";
/// The version of the entry format and of what the fingerprint covers.
pub(super) const FORMAT: u32 = 1;
/// Magic, format, module digest, fingerprint, code length.
pub(super) const HEADER_LEN: usize = 8 + 4 + 32 + 32 + 8;
/// An HMAC-SHA256 tag.
pub(super) const TAG_LEN: usize = 32;

/// The largest entry read: far above any compiled policy, a bound on what
/// a planted entry can make the host read.
pub(super) const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// The code length a header gives (its last field).
pub(super) fn code_len(header: &[u8; HEADER_LEN]) -> u64 {
    let mut len = [0; 8];
    len.copy_from_slice(&header[HEADER_LEN - 8..]);
    u64::from_le_bytes(len)
}

/// How long an entry of `code_len` bytes of code is: header, code, tag.
pub(super) fn sealed_len(code_len: u64) -> u64 {
    (HEADER_LEN as u64)
        .saturating_add(code_len)
        .saturating_add(TAG_LEN as u64)
}

/// HMAC-SHA256, the entries' tag.
pub(super) type HmacSha256 = Hmac<Sha256>;

/// What an entry must say to be used: the module it was compiled from and
/// the engine that compiled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EntryKey {
    pub(super) module: [u8; 32],
    pub(super) fingerprint: [u8; 32],
}

impl EntryKey {
    pub(super) fn new(engine: &Engine, bytes: &[u8]) -> EntryKey {
        EntryKey {
            module: Sha256::digest(bytes).into(),
            fingerprint: engine_fingerprint(engine),
        }
    }

    /// The entry's file name: `<module>-<fingerprint's first 16 bytes>.entry`.
    /// Sixteen bytes keep names short; the header holds all 32.
    pub(super) fn file_name(&self) -> String {
        let (short, _) = self.fingerprint.split_at(16);
        format!("{}-{}.entry", hex::encode(self.module), hex::encode(short))
    }

    /// The entry header for `code_len` bytes of code.
    fn header(&self, code_len: usize) -> [u8; HEADER_LEN] {
        let mut header = [0; HEADER_LEN];
        let fields: [&[u8]; 5] = [
            &MAGIC,
            &FORMAT.to_le_bytes(),
            &self.module,
            &self.fingerprint,
            &(code_len as u64).to_le_bytes(),
        ];
        let mut at = 0;
        for field in fields {
            let end = at + field.len();
            if let Some(slot) = header.get_mut(at..end) {
                slot.copy_from_slice(field);
            }
            at = end;
        }
        header
    }

    /// The code of `entry` if its tag is the one `mac` (this cache's)
    /// gives and its header names this key; else why not.
    pub(super) fn verify<'a>(
        &self,
        mac: &HmacSha256,
        entry: &'a [u8],
    ) -> Result<&'a [u8], &'static str> {
        let body_len = entry
            .len()
            .checked_sub(TAG_LEN)
            .filter(|len| *len >= HEADER_LEN)
            .ok_or("it is too short to be an entry")?;
        let (body, tag) = entry
            .split_at_checked(body_len)
            .ok_or("it is too short to be an entry")?;
        let mut mac = mac.clone();
        mac.update(body);
        mac.verify_slice(tag).map_err(
            |_| "its tag does not match this cache's key (damaged or not written by this cache)",
        )?;
        let (header, code) = body
            .split_at_checked(HEADER_LEN)
            .ok_or("it is too short to be an entry")?;
        let expected = self.header(code.len());
        let fields = [
            (0..12, "it is not an entry of this format"),
            (12..44, "it holds the code of another module"),
            (44..76, "it was compiled by another engine configuration"),
            (76..HEADER_LEN, "its code length does not match its header"),
        ];
        if let Some((_, problem)) = fields
            .into_iter()
            .find(|(range, _)| header.get(range.clone()) != expected.get(range.clone()))
        {
            return Err(problem);
        }
        Ok(code)
    }

    /// This key's header, `code` and their tag under `mac`: a whole entry.
    pub(super) fn seal(&self, mac: &HmacSha256, code: &[u8]) -> Vec<u8> {
        let mut entry = Vec::with_capacity(HEADER_LEN + code.len() + TAG_LEN);
        entry.extend_from_slice(&self.header(code.len()));
        entry.extend_from_slice(code);
        let mut mac = mac.clone();
        mac.update(&entry);
        entry.extend_from_slice(&mac.finalize().into_bytes());
        entry
    }
}

/// The fingerprint of everything besides the module's bytes that decides
/// the code in an entry (see the module docs).
pub(super) fn engine_fingerprint(engine: &Engine) -> [u8; 32] {
    let mut hasher = Sha256Hasher::default();
    hasher.write_field(b"verdict module cache");
    hasher.write_u32(FORMAT);
    // The host's own part: a host release may set the engine up or treat
    // modules differently in ways it cannot see.
    hasher.write_field(env!("CARGO_PKG_NAME").as_bytes());
    hasher.write_field(env!("CARGO_PKG_VERSION").as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.digest()
}

/// A [`Hasher`] that feeds SHA-256, writing integers as fixed-width
/// little-endian bytes (`usize` as 64 bits): the same value hashes the same
/// on every platform and Rust release, as `DefaultHasher` does not promise.
#[derive(Default)]
pub(super) struct Sha256Hasher(Sha256);

impl Sha256Hasher {
    /// A length-prefixed byte string, so consecutive fields cannot run
    /// into each other.
    pub(super) fn write_field(&mut self, bytes: &[u8]) {
        self.write_u64(bytes.len() as u64);
        self.write(bytes);
    }

    pub(super) fn digest(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest's first 8 bytes; the cache uses the whole digest.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0; 8];
        for (to, from) in first.iter_mut().zip(digest.iter()) {
            *to = *from;
        }
        u64::from_le_bytes(first)
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i8(&mut self, i: i8) {
        self.write(&i.to_le_bytes());
    }
    fn write_i16(&mut self, i: i16) {
        self.write(&i.to_le_bytes());
    }
    fn write_i32(&mut self, i: i32) {
        self.write(&i.to_le_bytes());
    }
    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }
    fn write_i128(&mut self, i: i128) {
        self.write(&i.to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write_i64(i as i64);
    }
}
