//! The module cache's tests: entries reused, rejected when moved, changed
//! or of another key or engine, and the trust checks of directories and keys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hash::Hasher;

use sha2::{Digest, Sha256};

use super::entry::{HEADER_LEN, Sha256Hasher, TAG_LEN, engine_fingerprint};
#[cfg(unix)]
use super::trust::current_user;
use super::*;

const ALPHA: &str = r#"(module (func (export "alpha") (result i32) i32.const 1))"#;
const BETA: &str = r#"(module (func (export "beta") (result i32) i32.const 2))"#;

fn exports(module: &Module) -> Vec<String> {
    module.exports().map(|e| e.name().to_owned()).collect()
}

fn entry_path(cache: &ModuleCache, engine: &Engine, bytes: &[u8]) -> PathBuf {
    cache
        .open
        .as_deref()
        .unwrap()
        .entry_path(&EntryKey::new(engine, bytes))
}

/// Compiles `wat` through `cache`, checks the module is that text's
/// (its one export is `export`), and says where it came from.
fn fetch(cache: &ModuleCache, engine: &Engine, wat: &str, export: &str) -> Origin {
    let (module, origin) = cache.fetch(engine, wat.as_bytes()).unwrap();
    assert_eq!(exports(&module), [export], "the module of `{wat}`");
    origin
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn an_entry_is_compiled_once_then_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::default();
    let cache = ModuleCache::open(dir.path().join("cache")).unwrap();
    assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Compiled);
    assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Cache);
    // The key persists: another open of the same directory trusts it.
    let reopened = ModuleCache::open(dir.path().join("cache")).unwrap();
    assert_eq!(fetch(&reopened, &engine, ALPHA, "alpha"), Origin::Cache);
    let names: Vec<_> = fs::read_dir(dir.path().join("cache/modules"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "one entry, no temporary left: {names:?}");
}

#[test]
fn entry_renamed_or_copied_over_another_modules_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::default();
    let cache = ModuleCache::open(dir.path().to_path_buf()).unwrap();
    fetch(&cache, &engine, ALPHA, "alpha");
    fetch(&cache, &engine, BETA, "beta");
    let alpha = entry_path(&cache, &engine, ALPHA.as_bytes());
    let beta = entry_path(&cache, &engine, BETA.as_bytes());
    let alpha_entry = fs::read(&alpha).unwrap();

    // Copied: beta's file now holds alpha's code, validly tagged.
    fs::copy(&alpha, &beta).unwrap();
    assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Compiled);
    assert_ne!(
        fs::read(&beta).unwrap(),
        alpha_entry,
        "the entry is replaced"
    );
    assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Cache);

    // Renamed: the same, and alpha is simply compiled again.
    fs::rename(&alpha, &beta).unwrap();
    assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Compiled);
    assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Compiled);
    assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Cache);
    assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Cache);
}

#[test]
fn a_changed_byte_anywhere_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::default();
    let cache = ModuleCache::open(dir.path().to_path_buf()).unwrap();
    fetch(&cache, &engine, ALPHA, "alpha");
    let path = entry_path(&cache, &engine, ALPHA.as_bytes());
    let good = fs::read(&path).unwrap();
    let len = good.len();
    // Magic, format, module digest, fingerprint, code length, code (the
    // first, a middle and the last byte), tag.
    for at in [
        0,
        9,
        20,
        50,
        80,
        HEADER_LEN,
        len / 2,
        len - TAG_LEN - 1,
        len - 1,
    ] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        fs::write(&path, &bad).unwrap();
        assert_eq!(
            fetch(&cache, &engine, ALPHA, "alpha"),
            Origin::Compiled,
            "byte {at} of {len} changed"
        );
        assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Cache);
    }
    // Cut short, lengthened, emptied.
    for bad in [&good[..len - 1], &[good.as_slice(), b"x"].concat(), &[][..]] {
        fs::write(&path, bad).unwrap();
        assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Compiled);
    }
}

#[test]
fn an_entry_tagged_under_another_caches_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::default();
    let ours = ModuleCache::open(dir.path().join("ours")).unwrap();
    let theirs = ModuleCache::open(dir.path().join("theirs")).unwrap();
    fetch(&ours, &engine, ALPHA, "alpha");
    fetch(&theirs, &engine, ALPHA, "alpha");
    let path = entry_path(&ours, &engine, ALPHA.as_bytes());
    fs::copy(entry_path(&theirs, &engine, ALPHA.as_bytes()), &path).unwrap();
    assert_eq!(fetch(&ours, &engine, ALPHA, "alpha"), Origin::Compiled);
    assert_eq!(fetch(&ours, &engine, ALPHA, "alpha"), Origin::Cache);
}

#[test]
fn key_derivation_is_stable() {
    let key = EntryKey {
        module: [0x11; 32],
        fingerprint: [0x22; 32],
    };
    assert_eq!(
        key.file_name(),
        format!("{}-{}.entry", "11".repeat(32), "22".repeat(16))
    );
    // The hasher's byte stream is fixed: little-endian, `usize` as 64
    // bits, whatever the platform.
    let mut hasher = Sha256Hasher::default();
    hasher.write_u32(1);
    hasher.write_usize(2);
    hasher.write_field(b"ab");
    let stream: Vec<u8> = [
        &[1, 0, 0, 0][..],
        &[2, 0, 0, 0, 0, 0, 0, 0],
        &[2, 0, 0, 0, 0, 0, 0, 0],
        b"ab",
    ]
    .concat();
    assert_eq!(hasher.digest(), <[u8; 32]>::from(Sha256::digest(&stream)));

    // Same module, same engine configuration: same name, whichever
    // engine instance and cache (and so key) computes it.
    let dir = tempfile::tempdir().unwrap();
    let one = ModuleCache::open(dir.path().join("one")).unwrap();
    let two = ModuleCache::open(dir.path().join("two")).unwrap();
    let name = |cache: &ModuleCache, engine: &Engine, wat: &str| {
        entry_path(cache, engine, wat.as_bytes())
            .file_name()
            .unwrap()
            .to_owned()
    };
    let fuel = || Engine::new(wasmtime::Config::new().consume_fuel(true)).unwrap();
    assert_eq!(
        name(&one, &Engine::default(), ALPHA),
        name(&two, &Engine::default(), ALPHA)
    );
    assert_eq!(name(&one, &fuel(), ALPHA), name(&two, &fuel(), ALPHA));
    assert_eq!(
        engine_fingerprint(&Engine::default()),
        engine_fingerprint(&Engine::default())
    );
    // Another module or a configuration that changes the code: another
    // name.
    assert_ne!(
        name(&one, &Engine::default(), ALPHA),
        name(&one, &Engine::default(), BETA)
    );
    assert_ne!(
        name(&one, &Engine::default(), ALPHA),
        name(&one, &fuel(), ALPHA)
    );
    let entry = EntryKey::new(&Engine::default(), ALPHA.as_bytes());
    assert_eq!(
        entry.module,
        <[u8; 32]>::from(Sha256::digest(ALPHA.as_bytes()))
    );
}

#[test]
fn an_entry_of_another_engine_configuration_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Engine::default();
    let fuel = Engine::new(wasmtime::Config::new().consume_fuel(true)).unwrap();
    let cache = ModuleCache::open(dir.path().to_path_buf()).unwrap();
    fetch(&cache, &plain, ALPHA, "alpha");
    fetch(&cache, &fuel, ALPHA, "alpha");
    fs::copy(
        entry_path(&cache, &plain, ALPHA.as_bytes()),
        entry_path(&cache, &fuel, ALPHA.as_bytes()),
    )
    .unwrap();
    assert_eq!(fetch(&cache, &fuel, ALPHA, "alpha"), Origin::Compiled);
}

#[test]
fn a_disabled_cache_compiles_and_writes_nothing() {
    let cache = ModuleCache::disabled();
    assert_eq!(cache.dir(), None);
    assert_eq!(
        fetch(&cache, &Engine::default(), ALPHA, "alpha"),
        Origin::Uncached
    );
    assert_eq!(format!("{cache:?}"), "ModuleCache { dir: None, .. }");
}

#[cfg(unix)]
#[test]
fn a_fresh_directory_is_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/b/cache");
    let cache = ModuleCache::open(root.clone()).unwrap();
    assert_eq!(cache.dir(), Some(root.as_path()));
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("modules")), 0o700);
    assert_eq!(mode(&root.join("key")), 0o600);
    assert_eq!(fs::read(root.join("key")).unwrap().len(), 32);
    fetch(&cache, &Engine::default(), ALPHA, "alpha");
    assert_eq!(
        mode(&entry_path(&cache, &Engine::default(), ALPHA.as_bytes())),
        0o600
    );
    // The key is in the directory, not in the Debug output.
    assert!(!format!("{cache:?}").contains("mac"));
}

#[cfg(unix)]
#[test]
fn a_directory_writable_by_group_or_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    fs::create_dir(&root).unwrap();
    for (mode, who) in [
        (0o777, "others"),
        (0o770, "its group"),
        (0o702, "others"),
        (0o720, "its group"),
    ] {
        set_mode(&root, mode);
        let error = ModuleCache::open(root.clone()).unwrap_err();
        assert!(matches!(error, CacheError::Writable { .. }), "{error:?}");
        assert_eq!(error.path(), root);
        assert_eq!(
            error.to_string(),
            format!(
                "module cache `{}` is writable by {who} (mode {mode:04o}); refusing to run \
                 native code from it",
                root.display()
            )
        );
    }
    // `modules/` is checked too.
    set_mode(&root, 0o700);
    ModuleCache::open(root.clone()).unwrap();
    let modules = root.join("modules");
    set_mode(&modules, 0o777);
    let error = ModuleCache::open(root.clone()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "module cache `{}` is writable by others (mode 0777); refusing to run native code \
             from it",
            modules.display()
        )
    );
    // Readable by others is fine: entries are not secret.
    set_mode(&modules, 0o755);
    set_mode(&root, 0o755);
    ModuleCache::open(root).unwrap();
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_or_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    ModuleCache::open(root.clone()).unwrap();
    let key = root.join("key");
    for mode in [0o644, 0o640, 0o604, 0o660, 0o666] {
        set_mode(&key, mode);
        let error = ModuleCache::open(root.clone()).unwrap_err();
        assert!(matches!(error, CacheError::KeyExposed { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!(
                "module cache key `{}` is accessible to group or others (mode {mode:04o}); \
                 refusing to trust entries tagged with it",
                key.display()
            )
        );
    }
    set_mode(&key, 0o400);
    ModuleCache::open(root.clone()).unwrap();
    // A key of the wrong length, or a directory where the key should be.
    set_mode(&key, 0o600);
    fs::write(&key, [7; 31]).unwrap();
    let error = ModuleCache::open(root.clone()).unwrap_err();
    assert!(
        matches!(error, CacheError::KeyMalformed { len: 31, .. }),
        "{error:?}"
    );
    fs::remove_file(&key).unwrap();
    fs::create_dir(&key).unwrap();
    set_mode(&key, 0o700);
    let error = ModuleCache::open(root).unwrap_err();
    assert!(matches!(error, CacheError::KeyNotOwned { .. }), "{error:?}");
}

/// Ownership can only be handed to another user by root; elsewhere the
/// owner check is covered by every other test passing as the owner.
#[cfg(unix)]
#[test]
fn a_directory_or_key_of_another_user_is_refused() {
    if current_user() != 0 {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    ModuleCache::open(root.clone()).unwrap();
    let key = root.join("key");
    std::os::unix::fs::chown(&key, Some(4242), None).unwrap();
    let error = ModuleCache::open(root.clone()).unwrap_err();
    assert!(
        matches!(error, CacheError::KeyNotOwned { user: 0, .. }),
        "{error:?}"
    );
    std::os::unix::fs::chown(&root, Some(4242), None).unwrap();
    let error = ModuleCache::open(root.clone()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "module cache `{}` is owned by uid 4242, not by the current user (uid 0); \
             refusing to run native code from it",
            root.display()
        )
    );
}

#[test]
fn a_file_where_the_directory_should_be_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    fs::write(&root, "").unwrap();
    let error = ModuleCache::open(root.clone()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("module cache `{}` is not a directory", root.display())
    );
}

#[test]
fn concurrent_opens_of_a_fresh_directory_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let caches: Vec<ModuleCache> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| ModuleCache::open(root.clone()).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let engine = Engine::default();
    fetch(&caches[0], &engine, ALPHA, "alpha");
    for cache in &caches {
        assert_eq!(fetch(cache, &engine, ALPHA, "alpha"), Origin::Cache);
    }
    let names: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "`key` and `modules`, no temporary left: {names:?}"
    );
}
