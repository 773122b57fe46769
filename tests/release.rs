//! `verdict release` against a real OCI registry (Debian's
//! `docker-registry`, the CNCF distribution registry, started here on
//! loopback with its own storage), read back by an independent client
//! (`skopeo`): push, sign, verify, pull, and the refusals.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::service::Service;
use crate::util::{REFERENCE, Run, listing, plugin_wasm, root, run, sha256_file, sha256_hex};

/// A distribution registry on 127.0.0.1, stopped when dropped.
struct LocalRegistry {
    child: Child,
    dir: TempDir,
    host: String,
}

impl LocalRegistry {
    fn start() -> LocalRegistry {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("docker-registry cannot run ({e}): run tests/setup-env (it installs the test environment)")
            });
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let host = loop {
            let line = lines
                .next()
                .expect("the registry stopped before it listened")
                .unwrap();
            if let Some(at) = line.find("listening on ") {
                let rest = &line[at + "listening on ".len()..];
                break rest.split(['"', ' ']).next().unwrap().to_owned();
            }
        };
        // Keep reading its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        LocalRegistry { child, dir, host }
    }

    /// `HOST/REPO:TAG` in this registry.
    fn reference(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host)
    }

    /// The file holding blob `hex` in the registry's storage.
    fn blob_file(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `skopeo inspect --raw` of `reference`: the manifest bytes as stored.
fn skopeo_raw(reference: &str) -> Vec<u8> {
    let output = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap_or_else(|e| panic!("skopeo cannot run ({e}): run tests/setup-env"));
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A key pair `NAME.key`, `NAME.pub` in `dir`.
fn keygen(dir: &Path, name: &str) -> (String, String) {
    let prefix = dir.join(name);
    let out = run(&["release", "keygen", "--out", &prefix.display().to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key = prefix.with_extension("key").display().to_string();
    let public = prefix.with_extension("pub").display().to_string();
    (key, public)
}

fn release(args: &[&str]) -> Run {
    let mut all = vec!["release"];
    all.extend_from_slice(args);
    run(&all)
}

/// Pushes the shipped policies to `reference`; the digest reference printed.
fn push(reference: &str, extra: &[&str]) -> String {
    let mut args = vec!["push", "policies", reference];
    args.extend_from_slice(extra);
    let out = release(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().last().unwrap().to_owned()
}

/// A copy of the shipped bindings elsewhere, each `plugin` naming the built
/// module by its absolute path, `edit` applied to each text.
fn copied_policies(edit: impl Fn(&str) -> String) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in REFERENCE {
        let text = std::fs::read_to_string(root().join(format!("policies/{name}.toml"))).unwrap();
        let shipped = format!(
            "\"../target/wasm32-unknown-unknown/plugin/{}.wasm\"",
            name.replace('-', "_")
        );
        let moved = format!("{:?}", plugin_wasm(name).display().to_string());
        assert!(text.contains(&shipped), "{name}: {shipped}");
        std::fs::write(
            dir.path().join(format!("{name}.toml")),
            edit(&text.replace(&shipped, &moved)),
        )
        .unwrap();
    }
    dir
}

#[test]
fn a_release_is_an_oci_artifact_an_independent_client_reads() {
    let registry = LocalRegistry::start();
    let reference = registry.reference("verdict/policies:v1");
    let pinned = push(&reference, &[]);
    let raw = skopeo_raw(&reference);
    let digest = sha256_hex(&raw);
    assert_eq!(
        pinned,
        registry.reference(&format!("verdict/policies@sha256:{digest}"))
    );
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.verdict.release.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.verdict.release.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.verdict.bindings.v1.tar"
    );
    assert_eq!(
        layers[0]["annotations"]["org.opencontainers.image.title"],
        "bindings.tar"
    );
    let mut modules: Vec<String> = layers[1..]
        .iter()
        .map(|layer| {
            assert_eq!(layer["mediaType"], "application/wasm");
            let hex = layer["digest"]
                .as_str()
                .unwrap()
                .strip_prefix("sha256:")
                .unwrap();
            assert_eq!(
                layer["annotations"]["org.opencontainers.image.title"],
                format!("modules/{hex}.wasm")
            );
            hex.to_owned()
        })
        .collect();
    modules.sort();
    let mut built: Vec<String> = REFERENCE
        .iter()
        .map(|name| sha256_file(&plugin_wasm(name)))
        .collect();
    built.sort();
    assert_eq!(modules, built);
    // The release manifest lists every binding with its module and parameters.
    let config = std::fs::read(
        registry.blob_file(
            manifest["config"]["digest"]
                .as_str()
                .unwrap()
                .strip_prefix("sha256:")
                .unwrap(),
        ),
    )
    .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    let policies: Vec<&str> = config["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        policies,
        ["loan-rates", "product-ladder", "staff-allowance"]
    );
    assert_eq!(config["bindings"][0]["params"]["min_age"], 18);
    assert_eq!(
        config["bindings"][0]["module_sha256"],
        sha256_file(&plugin_wasm("loan-rates"))
    );
}

#[test]
fn the_same_files_give_the_same_digest_wherever_they_are() {
    let registry = LocalRegistry::start();
    let first = push(&registry.reference("verdict/policies:a"), &[]);
    let elsewhere = copied_policies(str::to_owned);
    let out = release(&[
        "push",
        &elsewhere.path().display().to_string(),
        &registry.reference("verdict/policies:b"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let second = out.stdout.lines().last().unwrap();
    assert_eq!(
        first, second,
        "the modules' paths are not part of a release"
    );
    let changed = copied_policies(|text| text.replace("min_age = 18", "min_age = 19"));
    let out = release(&[
        "push",
        &changed.path().display().to_string(),
        &registry.reference("verdict/policies:c"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_ne!(
        first,
        out.stdout.lines().last().unwrap(),
        "a parameter is part of it"
    );
}

#[test]
fn a_pulled_release_decides_exactly_as_its_source() {
    let registry = LocalRegistry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keygen(keys.path(), "ci");
    let reference = registry.reference("verdict/policies:v1");
    let pinned = push(&reference, &["--key", &key]);
    let digest = pinned.rsplit_once("sha256:").unwrap().1.to_owned();

    let out = release(&["verify", &reference, "--trust", &public]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!(
            "verified {pinned}: signed by {public} (key sha256:"
        )),
        "{}",
        out.stdout
    );

    let work = tempfile::tempdir().unwrap();
    let to = work.path().join("releases/7");
    std::fs::create_dir(work.path().join("releases")).unwrap();
    let to_text = to.display().to_string();
    let out = release(&["pull", &reference, "--trust", &public, "--to", &to_text]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(&format!("pulled {pinned} to {to_text}: loan-rates, product-ladder, staff-allowance; signed by {public}")), "{}", out.stdout);
    assert_eq!(sha256_file(&to.join("release.oci.json")), digest);
    for name in REFERENCE {
        let module = to.join(format!("modules/{}.wasm", sha256_file(&plugin_wasm(name))));
        assert_eq!(
            std::fs::read(module).unwrap(),
            std::fs::read(plugin_wasm(name)).unwrap()
        );
    }
    // `verdict eval` of the sample customers with `policies` and `extra`.
    let eval = |policies: &str, extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--policies",
            policies,
            "--profiles",
            "policies/profiles/customers.toml",
            "--format",
            "jsonl",
            "--as-of",
            "2026-01-15",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let pulled = eval(&to_text, &[]);
    let shipped = eval("policies", &[]);
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    assert_eq!(pulled.stdout, shipped.stdout);

    // Taken straight from the registry, the release decides the same, and
    // each record names it.
    let cache = tempfile::tempdir().unwrap();
    let cache_text = cache.path().display().to_string();
    let oci = format!("oci://{reference}");
    let direct = |trust: &[&str]| {
        let mut extra = vec!["--release-cache", &cache_text];
        extra.extend_from_slice(trust);
        eval(&oci, &extra)
    };
    let from_registry = direct(&["--trust", &public]);
    assert_eq!(from_registry.code, 0, "{}", from_registry.stderr);
    let records: Vec<Value> = from_registry
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: Vec<Value> = shipped
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), expected.len());
    for (mut record, expected) in records.into_iter().zip(expected) {
        assert_eq!(record["release"], digest.as_str());
        record.as_object_mut().unwrap().remove("release");
        assert_eq!(record, expected);
    }
    let untrusted = keygen(keys.path(), "other").1;
    let refused = direct(&["--trust", &untrusted]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("is not signed by any trusted key"),
        "{}",
        refused.stderr
    );
    let refused = direct(&[]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("with --trust PUB"),
        "{}",
        refused.stderr
    );

    // inspect shows the pulled release verified: digest, signer, policies.
    let shown = run(&["inspect", &to_text, "--trust", &public]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let lines: Vec<&str> = shown.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "release      {digest_ref}",
            digest_ref = pinned.rsplit_once('@').unwrap().1
        )
    );
    assert!(
        lines[1].starts_with(&format!("signed by    {public} (key sha256:")),
        "{}",
        shown.stdout
    );
    assert_eq!(lines[2], "policies");
    assert_eq!(lines.len(), 6, "{}", shown.stdout);
    let staff = format!(
        "  staff-allowance  staff-allowance 1.0.0  module {}  params ",
        sha256_file(&plugin_wasm("staff-allowance"))
    );
    assert!(lines[5].starts_with(&staff), "{}", shown.stdout);
    let json = run(&["inspect", &to_text, "--trust", &public, "--format", "json"]);
    let info: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(info["release"], pinned.rsplit_once('@').unwrap().1);
    assert_eq!(info["policies"][1]["policy"], "product-ladder");
    let unverified = run(&["inspect", &to_text]);
    assert_eq!(unverified.code, 2);
    assert!(
        unverified.stderr.contains("give the public key(s)"),
        "{}",
        unverified.stderr
    );

    // A release is pulled to a new directory only.
    let again = release(&["pull", &pinned, "--trust", &public, "--to", &to_text]);
    assert_eq!(again.code, 2);
    assert!(
        again
            .stderr
            .contains("exists; a release is pulled to a new directory"),
        "{}",
        again.stderr
    );
}

#[test]
fn unsigned_and_untrusted_releases_are_refused_and_nothing_is_written() {
    let registry = LocalRegistry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keygen(keys.path(), "ci");
    let (_, stranger) = keygen(keys.path(), "stranger");
    let reference = registry.reference("verdict/policies:v1");
    let pinned = push(&reference, &[]);
    let work = tempfile::tempdir().unwrap();
    let to = work.path().join("release").display().to_string();

    let out = release(&["verify", &reference, "--trust", &public]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "{} is not signed by any trusted key: it has no signature",
            pinned
        )),
        "{}",
        out.stderr
    );
    let out = release(&["pull", &reference, "--trust", &public, "--to", &to]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("it has no signature"), "{}", out.stderr);
    assert!(listing(work.path()).is_empty());

    let out = release(&["sign", &reference, "--key", &key]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("signed {pinned} with {key}\n"));
    let out = release(&["sign", &pinned, "--key", &key]);
    assert_eq!(
        out.stdout,
        format!("{pinned} was signed with {key} already\n")
    );

    let out = release(&["verify", &reference, "--trust", &stranger]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("its one signature is by none of the 1 trusted key(s)"),
        "{}",
        out.stderr
    );
    let out = release(&["pull", &reference, "--trust", &stranger, "--to", &to]);
    assert_eq!(out.code, 2);
    assert!(listing(work.path()).is_empty());
    let out = release(&[
        "verify", &reference, "--trust", &stranger, "--trust", &public,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("signed by {public}")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_signature_naming_another_release_is_refused() {
    let registry = LocalRegistry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keygen(keys.path(), "ci");
    let signed = push(&registry.reference("verdict/policies:v1"), &["--key", &key]);
    let changed = copied_policies(|text| text.replace("min_age = 18", "min_age = 21"));
    let out = release(&[
        "push",
        &changed.path().display().to_string(),
        &registry.reference("verdict/policies:v2"),
    ]);
    let other = out.stdout.lines().last().unwrap().to_owned();
    let hex = |pinned: &str| pinned.rsplit_once("sha256:").unwrap().1.to_owned();
    // v1's signature manifest, copied to where v2's would be.
    let copy = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(format!(
            "docker://{}",
            registry.reference(&format!("verdict/policies:sha256-{}.sig", hex(&signed)))
        ))
        .arg(format!(
            "docker://{}",
            registry.reference(&format!("verdict/policies:sha256-{}.sig", hex(&other)))
        ))
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let out = release(&["verify", &other, "--trust", &public]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "its signatures name another release (sha256:{})",
            hex(&signed)
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_blob_changed_in_the_registry_after_signing_is_refused() {
    let registry = LocalRegistry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keygen(keys.path(), "ci");
    let reference = registry.reference("verdict/policies:v1");
    push(&reference, &["--key", &key]);
    let module = sha256_file(&plugin_wasm("loan-rates"));
    let stored = registry.blob_file(&module);
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&stored, bytes).unwrap();

    let work = tempfile::tempdir().unwrap();
    let to = work.path().join("release").display().to_string();
    let out = release(&["pull", &reference, "--trust", &public, "--to", &to]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr
            .contains(&format!("module sha256:{module} has digest sha256:")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("not the sha256:{module} it was asked for by")),
        "{}",
        out.stderr
    );
    assert!(
        listing(work.path()).is_empty(),
        "nothing written, no temporary directory left"
    );
}

#[test]
fn a_directory_whose_bindings_fail_is_not_pushed() {
    let registry = LocalRegistry::start();
    let broken = copied_policies(|text| text.replace("min_age = 18", "min_age = \"eighteen\""));
    let reference = registry.reference("verdict/policies:v1");
    let out = release(&["push", &broken.path().display().to_string(), &reference]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("loan-rates.toml:"), "{}", out.stderr);
    let inspect = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(!inspect.status.success(), "nothing was pushed");
}

/// A server on loopback that answers every connection with `answer`
/// (after reading the request), or holds it open answering nothing.
fn fake_registry(answer: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            match answer {
                Some(answer) => {
                    let _ = stream.write_all(answer.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    host
}

#[test]
fn a_registry_that_fails_stalls_or_overfeeds_is_reported() {
    let keys = tempfile::tempdir().unwrap();
    let (_, public) = keygen(keys.path(), "ci");
    let work = tempfile::tempdir().unwrap();
    let to = work.path().join("release").display().to_string();
    let cases = [
        (
            Some(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops",
            ),
            "answered 500 Internal Server Error: oops",
        ),
        (
            Some("HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n{"),
            "manifest v1 is larger than its bound of 4194304 bytes",
        ),
        (None, "did not answer in time (see --timeout)"),
    ];
    for (answer, expected) in cases {
        let host = fake_registry(answer);
        let reference = format!("{host}/verdict/policies:v1");
        let out = release(&[
            "pull",
            &reference,
            "--trust",
            &public,
            "--to",
            &to,
            "--timeout",
            "1s",
        ]);
        assert_eq!(out.code, 2, "{expected}: {}", out.stdout);
        assert!(
            out.stderr.contains(&format!("registry {host}: ")),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
        assert!(listing(work.path()).is_empty());
    }
}

#[test]
fn bad_references_and_keys_are_refused_with_what_is_wrong() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keygen(keys.path(), "ci");
    let out = release(&["push", "policies", "policies:v1"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`policies:v1` is not a release reference: it names no registry host"),
        "{}",
        out.stderr
    );
    let out = release(&["sign", "127.0.0.1:1/verdict/policies:v1", "--key", &public]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not an ECDSA P-256 private key in PEM"),
        "{}",
        out.stderr
    );
    let out = release(&["verify", "127.0.0.1:1/verdict/policies:v1", "--trust", &key]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not an ECDSA P-256 public key in PEM"),
        "{}",
        out.stderr
    );
    let again = release(&[
        "keygen",
        "--out",
        &keys.path().join("ci").display().to_string(),
    ]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("exists; keygen never replaces a key"),
        "{}",
        again.stderr
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's alone");
    }
}

/// `copied_policies` with staff-allowance's staff limit set to `limit`.
fn policies_with_staff_limit(limit: u32) -> TempDir {
    copied_policies(|text| {
        text.replace(
            "staff_limit_usd = 2000",
            &format!("staff_limit_usd = {limit}"),
        )
    })
}

/// Pushes `dir` to `reference`, signed with `key` when given; the digest.
fn push_dir(dir: &Path, reference: &str, key: Option<&str>) -> String {
    let dir = dir.display().to_string();
    let mut args = vec!["push", &dir, reference];
    args.extend(key.iter().flat_map(|key| ["--key", key]));
    let out = release(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pinned = out.stdout.lines().last().unwrap().to_owned();
    pinned.rsplit_once("@").unwrap().1.to_owned()
}

/// `verdict serve` of the release `reference`, trusting `public`, polling
/// every 100 ms, keeping releases in `cache`.
fn serve_release(reference: &str, public: &str, cache: &Path) -> Service {
    Service::start(
        Path::new(&format!("oci://{reference}")),
        true,
        &[
            "--trust",
            public,
            "--poll",
            "100ms",
            "--release-cache",
            &cache.display().to_string(),
        ],
    )
}

/// The staff limit the response's staff-allowance records decided with,
/// refusing a response that mixes two.
fn staff_limit(records: &[Value]) -> Result<u64, String> {
    let limits: BTreeSet<u64> = records
        .iter()
        .filter(|r| r["policy"] == "staff-allowance")
        .map(|r| r["value"]["limit_usd"].as_f64().unwrap_or(-1.0) as u64)
        .collect();
    match limits.len() {
        1 => Ok(limits.into_iter().next().unwrap_or_default()),
        _ => Err(format!("one response decided with limits {limits:?}")),
    }
}

fn staff_customers(n: usize) -> Value {
    json!({
        "customers": (0..n).map(|i| json!({
            "id": format!("S-{i}"),
            "birth_date": "1980-02-29",
            "stay": {"recovery_spent_usd": 100.0, "requested_recovery_usd": 50.0, "requested_by": "staff"},
        })).collect::<Vec<_>>(),
        "as_of": "2026-11-23",
    })
}

#[test]
fn a_service_follows_a_signed_tag_under_load_and_refuses_an_unsigned_one() {
    const CLIENTS: usize = 4;
    const CUSTOMERS: usize = 6;
    let registry = LocalRegistry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keygen(keys.path(), "ci");
    let reference = registry.reference("verdict/policies:prod");
    let states = [
        policies_with_staff_limit(2000),
        policies_with_staff_limit(2500),
    ];
    let limits = [2000, 2500];
    let first = push_dir(states[0].path(), &reference, Some(&key));
    let cache = tempfile::tempdir().unwrap();
    let service = Arc::new(serve_release(&reference, &public, cache.path()));

    let policies = service.get_json("/v1/policies");
    assert_eq!(policies["release"]["digest"], first.as_str(), "{policies}");
    assert_eq!(policies["release"]["reference"], reference.as_str());
    assert_eq!(policies["release"]["signer"], public.as_str());
    assert_eq!(policies["policies"].as_array().unwrap().len(), 3);

    let body = Arc::new(staff_customers(CUSTOMERS));
    assert_eq!(staff_limit(&service.evaluate(&body)), Ok(2000));
    let last_served: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (service, body, stop, last_served) = (
                Arc::clone(&service),
                Arc::clone(&body),
                Arc::clone(&stop),
                Arc::clone(&last_served),
            );
            std::thread::spawn(move || {
                let (mut requests, mut failures, mut seen) = (0, Vec::new(), BTreeSet::new());
                while !stop.load(Ordering::Relaxed) {
                    requests += 1;
                    let (status, answer) = service.post("/v1/evaluate", &body, None);
                    let Some(records) = answer.as_array().filter(|_| status == 200) else {
                        failures.push(format!("{status}: {answer}"));
                        continue;
                    };
                    if records.len() != CUSTOMERS * 3 {
                        failures.push(format!("{} records", records.len()));
                    }
                    match staff_limit(records) {
                        Ok(limit) => {
                            seen.insert(limit);
                            last_served.lock().unwrap().insert(limit);
                        }
                        Err(problem) => failures.push(problem),
                    }
                }
                (requests, seen, failures)
            })
        })
        .collect();

    // Each push moves the tag; the service polls it and swaps the release
    // in while the clients keep asking. The releases come back (2000,
    // 2500, 2000...): the second time, from the release cache.
    let mut digests = BTreeSet::from([first]);
    for round in 1..=4 {
        let digest = push_dir(states[round % 2].path(), &reference, Some(&key));
        digests.insert(digest.clone());
        service.wait_for(&format!("round {round} swapped in"), || {
            service.get_json("/v1/policies")["release"]["digest"] == digest.as_str()
        });
        // Responses begun before the swap may still arrive; from here on
        // the new release answers, and some client must be served by it.
        last_served.lock().unwrap().clear();
        service.wait_for(&format!("round {round} served"), || {
            last_served.lock().unwrap().contains(&limits[round % 2])
        });
    }
    assert_eq!(digests.len(), 2, "the same files give the same release");
    assert_eq!(service.metric("verdict_policy_set_generation"), 4.0);

    // A release nobody trusted signed is refused; the signed one keeps
    // serving, and the refusal is counted.
    let serving = service.get_json("/v1/policies")["release"]["digest"].clone();
    // A signed push signs before it moves the tag: polling never met one
    // of them unsigned.
    assert_eq!(service.metric("verdict_rejected_swaps_total"), 0.0);
    let unsigned = push_dir(policies_with_staff_limit(3000).path(), &reference, None);
    service.wait_for("the unsigned release refused", || {
        service.metric("verdict_rejected_swaps_total") >= 1.0
    });
    stop.store(true, Ordering::Relaxed);
    let mut all_seen = BTreeSet::new();
    for client in clients {
        let (requests, seen, failures) = client.join().unwrap();
        assert!(requests > 0);
        assert!(failures.is_empty(), "{failures:?}");
        all_seen.extend(seen);
    }
    assert_eq!(all_seen, BTreeSet::from([2000, 2500]));
    assert_eq!(
        service.get_json("/v1/policies")["release"]["digest"],
        serving
    );
    let log = service.log();
    assert!(
        log.contains(&format!("{unsigned} is not signed by any trusted key")),
        "{log}"
    );
    assert!(
        log.contains("the reference names another release now, verified"),
        "{log}"
    );
}

#[test]
fn a_restart_while_the_registry_is_down_serves_the_kept_release_verified_again() {
    let registry = LocalRegistry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keygen(keys.path(), "ci");
    let reference = registry.reference("verdict/policies:prod");
    let digest = push_dir(Path::new("policies"), &reference, Some(&key));
    let cache = tempfile::tempdir().unwrap();
    let body = staff_customers(3);
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("decisions.jsonl").display().to_string();
    let decided = {
        let service = Service::start(
            Path::new(&format!("oci://{reference}")),
            false,
            &[
                "--trust",
                &public,
                "--release-cache",
                &cache.path().display().to_string(),
                "--log",
                &log,
            ],
        );
        let records = service.evaluate(&body);
        assert_eq!(
            service.get_json("/v1/policies")["policies"][0]["release"],
            digest.as_str()
        );
        records
    };
    // Every record names the release; the log keeps it, verifies and
    // replays bit for bit.
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert_eq!(decided.len(), 9);
    assert!(decided.iter().all(|r| r["release"] == hex), "{decided:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches(&format!("\"release\":\"{hex}\",\"input\""))
            .count(),
        9
    );
    let verified = run(&["log", "verify", &log]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let replayed = run(&["replay", &log]);
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert!(
        replayed
            .stdout
            .contains("replayed 9: 9 identical, 0 mismatched"),
        "{}",
        replayed.stdout
    );
    // With its archive lost, the log replays from the releases it names,
    // taken by digest from the registry and verified.
    std::fs::remove_dir_all(logs.path().join("decisions.archive")).unwrap();
    assert_eq!(run(&["replay", &log]).code, 1);
    let repository = reference.rsplit_once(':').unwrap().0;
    let fresh = tempfile::tempdir().unwrap();
    let fresh = fresh.path().display().to_string();
    let from_release = |trust: &str| {
        run(&[
            "replay",
            &log,
            "--release-from",
            repository,
            "--trust",
            trust,
            "--release-cache",
            &fresh,
        ])
    };
    let (_, stranger) = keygen(keys.path(), "stranger");
    let refused = from_release(&stranger);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("is not signed by any trusted key"),
        "{}",
        refused.stderr
    );
    let restored = from_release(&public);
    assert_eq!(restored.code, 0, "{}{}", restored.stdout, restored.stderr);
    assert!(
        restored
            .stdout
            .contains("replayed 9: 9 identical, 0 mismatched"),
        "{}",
        restored.stdout
    );
    assert_eq!(run(&["log", "verify", &log]).code, 0);
    let kept = cache.path().join(digest.replace(':', "-"));
    assert!(kept.join("release.oci.json").is_file());

    // A kept copy changed on disk is refused and pulled again.
    let binding = kept.join("staff-allowance.toml");
    let text = std::fs::read_to_string(&binding).unwrap();
    std::fs::write(&binding, text.replace("2000", "9000")).unwrap();
    {
        let service = serve_release(&reference, &public, cache.path());
        assert_eq!(service.evaluate(&body), decided);
        let log = service.log();
        assert!(log.contains("is refused and pulled again"), "{log}");
        assert!(log.contains("the pulled copy was changed"), "{log}");
    }

    drop(registry);
    let service = serve_release(&reference, &public, cache.path());
    assert_eq!(service.evaluate(&body), decided);
    assert_eq!(
        service.get_json("/v1/policies")["release"]["digest"],
        digest.as_str()
    );
    let log = service.log();
    assert!(
        log.contains(
            "the registry cannot be reached: serving the release it last named, from the cache"
        ),
        "{log}"
    );
    drop(service);

    // A service that cannot start: its exit status and stderr.
    let refused = |public: &str, cache: &Path| {
        let out = run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--policies",
            &format!("oci://{reference}"),
            "--trust",
            public,
            "--release-cache",
            &cache.display().to_string(),
        ]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        out
    };
    // Without a kept copy there is nothing to serve.
    let empty = tempfile::tempdir().unwrap();
    let out = refused(&public, empty.path());
    assert!(out.stderr.contains("cannot be reached"), "{}", out.stderr);

    // Nor with a key that did not sign the kept one.
    let (_, other) = keygen(keys.path(), "other");
    let out = refused(&other, cache.path());
    assert!(
        out.stderr.contains("cannot be used either"),
        "{}",
        out.stderr
    );
}
