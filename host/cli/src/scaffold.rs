//! `verdict new`: a new plugin crate with an example policy, unit tests, test
//! cases, a binding and sample customers, that builds and passes its tests
//! as made.
//!
//! Inside a Verdict checkout the crate goes to `plugins/NAME` and joins the
//! workspace; anywhere else it is a workspace of its own that depends on the
//! SDK by path.

use std::path::{Component, Path, PathBuf};

use toml::de::DeTable;

use verdict_config::normalize;
use verdict_engine::is_kebab_case;

/// What to make.
#[derive(Debug, Clone)]
pub struct Request {
    /// The crate (and policy) name, kebab-case.
    pub name: String,
    /// The directory to make the crate in (the crate is `DIR/NAME`); by
    /// default `plugins/` inside a Verdict checkout, else the current
    /// directory.
    pub parent: Option<PathBuf>,
    /// The `plugin-sdk` directory to depend on outside a Verdict checkout;
    /// by default the one this binary was built from.
    pub sdk: Option<PathBuf>,
    /// The directory relative paths are taken from.
    pub cwd: PathBuf,
    /// Where cargo puts build output when `CARGO_TARGET_DIR` says so; the
    /// binding points at the module there.
    pub target_dir: Option<PathBuf>,
}

/// How the crate finds the SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A member of the Verdict workspace at `root`.
    Workspace {
        /// The workspace root.
        root: PathBuf,
    },
    /// A workspace of its own, depending on the SDK at `sdk`.
    Standalone {
        /// The `plugin-sdk` directory.
        sdk: PathBuf,
    },
}

/// A crate that was made.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// The crate's directory.
    pub dir: PathBuf,
    /// Where the crate finds the SDK.
    pub placement: Placement,
    /// Where `verdict build` will put the module.
    pub module: PathBuf,
    /// Every file written, relative to `dir`.
    pub files: Vec<PathBuf>,
}

/// Why no crate was made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not usable.
    #[error(
        "`{0}` is not a usable plugin name: use kebab-case (lowercase letters, digits and single \
         hyphens, starting with a letter), such as `my-policy`"
    )]
    BadName(String),
    /// The name is reserved (a Rust keyword or a crate every build has).
    #[error("`{0}` is a reserved name in Rust; choose another, such as `my-{0}`")]
    Reserved(String),
    /// The directory is there already.
    #[error("`{}` already exists; choose another name or --path", .0.display())]
    Exists(PathBuf),
    /// No SDK to depend on.
    #[error(
        "cannot find verdict-sdk: pass --sdk PATH, the `plugin-sdk` directory of a Verdict \
         checkout"
    )]
    NoSdk,
    /// `--sdk` points elsewhere.
    #[error("`{}` is not the verdict-sdk crate (its Cargo.toml does not name `verdict-sdk`)", .0.display())]
    NotSdk(PathBuf),
    /// `--path` is inside the Verdict workspace but not in `plugins/`.
    #[error(
        "`{}` is inside the Verdict workspace at `{}`, where plugin crates live in `plugins/` to \
         join it; leave out --path, or give a directory outside the checkout",
        dir.display(),
        root.display()
    )]
    OutsidePlugins {
        /// The directory asked for.
        dir: PathBuf,
        /// The workspace root.
        root: PathBuf,
    },
    /// A file could not be written.
    #[error("cannot write `{}`", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The `plugin-sdk` directory of the checkout this binary was built from.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugin-sdk");

/// Names `cargo` or `rustc` would refuse or confuse for a library.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc-macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "verdict",
    "verdict-sdk",
    "virtual",
    "where",
    "while",
    "yield",
];

const LIB_RS: &str = include_str!("scaffold/lib.rs.tmpl");
const CARGO_WORKSPACE: &str = include_str!("scaffold/Cargo.workspace.toml.tmpl");
const CARGO_STANDALONE: &str = include_str!("scaffold/Cargo.standalone.toml.tmpl");
const BINDING: &str = include_str!("scaffold/binding.toml.tmpl");
const CASES: &str = include_str!("scaffold/cases.toml.tmpl");
const SAMPLE: &str = include_str!("scaffold/sample.toml.tmpl");
const README: &str = include_str!("scaffold/README.md.tmpl");
const GITIGNORE: &str = include_str!("scaffold/gitignore.tmpl");
const CARGO_CONFIG: &str = include_str!("scaffold/cargo-config.toml.tmpl");

/// Checks a plugin name: kebab-case, starting with a letter, not reserved.
pub fn check_name(name: &str) -> Result<(), ScaffoldError> {
    if !is_kebab_case(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(ScaffoldError::BadName(name.to_owned()));
    }
    if RESERVED.contains(&name) {
        return Err(ScaffoldError::Reserved(name.to_owned()));
    }
    Ok(())
}

/// The root of the Verdict workspace holding `dir` (or one of its
/// parents): a `Cargo.toml` with a `[workspace]` whose members include
/// `plugin-sdk`.
#[must_use]
pub fn find_workspace(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|candidate| is_verdict_workspace(candidate))
        .map(Path::to_path_buf)
}

fn is_verdict_workspace(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return false;
    };
    let Ok(root) = DeTable::parse(&text) else {
        return false;
    };
    root.get_ref()
        .get("workspace")
        .and_then(|workspace| workspace.get_ref().as_table())
        .and_then(|workspace| workspace.get("members"))
        .and_then(|members| members.get_ref().as_array())
        .is_some_and(|members| {
            members
                .iter()
                .any(|member| member.get_ref().as_str() == Some("plugin-sdk"))
        })
}

/// Whether `dir` holds the verdict-sdk crate.
fn is_sdk(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return false;
    };
    let Ok(root) = DeTable::parse(&text) else {
        return false;
    };
    root.get_ref()
        .get("package")
        .and_then(|package| package.get_ref().as_table())
        .and_then(|package| package.get("name"))
        .and_then(|name| name.get_ref().as_str())
        == Some("verdict-sdk")
}

/// Decides where the crate goes and how it finds the SDK, without writing
/// anything.
pub fn plan(request: &Request) -> Result<(PathBuf, Placement), ScaffoldError> {
    check_name(&request.name)?;
    let asked = request
        .parent
        .as_ref()
        .map(|parent| normalize(&request.cwd.join(parent)));
    let start = asked.clone().unwrap_or_else(|| normalize(&request.cwd));
    let (parent, placement) = match find_workspace(&start) {
        Some(root) => {
            let plugins = root.join("plugins");
            if let Some(dir) = asked.filter(|dir| *dir != plugins) {
                return Err(ScaffoldError::OutsidePlugins { dir, root });
            }
            (plugins, Placement::Workspace { root })
        }
        None => {
            let sdk = match &request.sdk {
                Some(sdk) => {
                    let sdk = normalize(&request.cwd.join(sdk));
                    if !is_sdk(&sdk) {
                        return Err(ScaffoldError::NotSdk(sdk));
                    }
                    sdk
                }
                None => {
                    let built_from = normalize(Path::new(BUILT_FROM_SDK));
                    if !is_sdk(&built_from) {
                        return Err(ScaffoldError::NoSdk);
                    }
                    built_from
                }
            };
            (start, Placement::Standalone { sdk })
        }
    };
    let dir = parent.join(&request.name);
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir));
    }
    Ok((dir, placement))
}

/// Makes the crate. Nothing is overwritten: an existing directory is
/// refused, and a crate left half-written by a failure is removed.
pub fn create(request: &Request) -> Result<Scaffold, ScaffoldError> {
    let (dir, placement) = plan(request)?;
    let name = request.name.as_str();
    let lib = name.replace('-', "_");
    let target_dir = match (&request.target_dir, &placement) {
        (Some(target), _) => normalize(&request.cwd.join(target)),
        (None, Placement::Workspace { root }) => root.join("target"),
        (None, Placement::Standalone { .. }) => dir.join("target"),
    };
    let module = target_dir
        .join("wasm32-unknown-unknown/plugin")
        .join(format!("{lib}.wasm"));
    let policies = dir.join("policies");
    let plugin_path = relative_to(&module, &policies);
    let description = "Accepts customers within an age range (an example made by `verdict new`)";
    let (cargo, sdk_dir, readme, from) = match &placement {
        Placement::Workspace { root } => (
            CARGO_WORKSPACE,
            root.join("plugin-sdk"),
            relative_to(&root.join("plugin-sdk/README.md"), &dir),
            root.clone(),
        ),
        Placement::Standalone { sdk } => (
            CARGO_STANDALONE,
            sdk.clone(),
            sdk.join("README.md"),
            dir.clone(),
        ),
    };
    // The crate's README lists the commands as run from the crate (from the
    // checkout's root for a workspace member).
    let commands = next_steps(name, &dir, &placement, &from).join("\n");
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{description}}", description)
            .replace("{{sdk_path}}", &toml_string(&sdk_dir.display().to_string()))
            .replace(
                "{{plugin_path}}",
                &toml_string(&plugin_path.display().to_string()),
            )
            .replace("{{sdk_readme}}", &readme.display().to_string())
            .replace("{{commands}}", &commands)
    };
    let mut files: Vec<(PathBuf, String)> = vec![
        ("Cargo.toml".into(), fill(cargo)),
        ("README.md".into(), fill(README)),
        ("src/lib.rs".into(), fill(LIB_RS)),
        (format!("policies/{name}.toml").into(), fill(BINDING)),
        (format!("policies/tests/{name}.toml").into(), fill(CASES)),
        ("policies/profiles/sample.toml".into(), fill(SAMPLE)),
    ];
    if let Placement::Standalone { sdk } = &placement {
        files.push((".gitignore".into(), GITIGNORE.to_owned()));
        // A workspace member gets this from the checkout's own
        // `.cargo/config.toml`.
        files.push((".cargo/config.toml".into(), CARGO_CONFIG.to_owned()));
        // The versions the SDK is built and tested with: a first build
        // resolves nothing new and works with the toolchain at hand.
        if let Some(lock) = sdk
            .parent()
            .map(|checkout| checkout.join("Cargo.lock"))
            .and_then(|lock| std::fs::read_to_string(lock).ok())
        {
            files.push(("Cargo.lock".into(), lock));
        }
    }
    write_all(&dir, &files)?;
    Ok(Scaffold {
        dir,
        placement,
        module,
        files: files.into_iter().map(|(path, _)| path).collect(),
    })
}

/// The commands that take the crate `dir` from here to a policy in use,
/// as run from the directory `cwd`, each with a comment.
#[must_use]
pub fn next_steps(name: &str, dir: &Path, placement: &Placement, cwd: &Path) -> Vec<String> {
    let shown = relative_to(dir, &normalize(cwd)).display().to_string();
    let mut steps: Vec<(String, &str)> = Vec::new();
    let (at, policies) = match placement {
        Placement::Workspace { .. } => {
            steps.push((format!("cargo test -p {name}"), "unit tests, natively"));
            (format!(" {shown}"), format!("{shown}/policies"))
        }
        Placement::Standalone { .. } => {
            if shown != "." {
                steps.push((format!("cd {shown}"), ""));
            }
            steps.push(("cargo test".to_owned(), "unit tests, natively"));
            (String::new(), "policies".to_owned())
        }
    };
    steps.push((
        format!("verdict build{at}"),
        "the .wasm module, its SHA-256 and parameters",
    ));
    steps.push((format!("verdict test{at}"), "the cases in policies/tests/"));
    steps.push((
        format!("verdict eval --policies {policies}"),
        "the sample customers",
    ));
    let width = steps
        .iter()
        .map(|(command, _)| command.len())
        .max()
        .unwrap_or(0);
    steps
        .into_iter()
        .map(|(command, comment)| {
            if comment.is_empty() {
                command
            } else {
                format!("{command:width$}   # {comment}")
            }
        })
        .collect()
}

fn write_all(dir: &Path, files: &[(PathBuf, String)]) -> Result<(), ScaffoldError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    // `create_dir` fails when the directory appeared since `plan`: nothing
    // of anyone else's is ever written over.
    std::fs::create_dir(dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => ScaffoldError::Exists(dir.to_path_buf()),
        _ => ScaffoldError::Io {
            path: dir.to_path_buf(),
            source,
        },
    })?;
    let written = files.iter().try_for_each(|(relative, text)| {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text).map_err(io(&path))
    });
    if written.is_err() {
        // Only what this call created is removed.
        let _ = std::fs::remove_dir_all(dir);
    }
    written
}

/// `text` as a TOML basic string, quotes included.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// `path` relative to the directory `base` (both absolute), or `path`
/// itself when they share nothing but the root.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let path = normalize(path);
    let base = normalize(base);
    let ours: Vec<Component<'_>> = path.components().collect();
    let theirs: Vec<Component<'_>> = base.components().collect();
    let common = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
    // Sharing only the root (or less), the absolute path says more.
    let root = ours
        .iter()
        .take_while(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
        .count();
    if common <= root && path.is_absolute() {
        return path;
    }
    let mut relative = PathBuf::new();
    for _ in common..theirs.len() {
        relative.push("..");
    }
    for component in &ours[common..] {
        relative.push(component);
    }
    if relative.as_os_str().is_empty() {
        relative.push(".");
    }
    relative
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case_and_not_reserved() {
        for good in ["my-policy", "loan-rates-2", "a"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "My-Policy",
            "my_policy",
            "-x",
            "x-",
            "2fast",
            "my--policy",
            "",
        ] {
            assert!(
                matches!(check_name(bad), Err(ScaffoldError::BadName(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            check_name("test"),
            Err(ScaffoldError::Reserved(_))
        ));
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(
                Path::new("/w/target/wasm32-unknown-unknown/plugin/x.wasm"),
                Path::new("/w/plugins/x/policies")
            ),
            PathBuf::from("../../../target/wasm32-unknown-unknown/plugin/x.wasm")
        );
        assert_eq!(
            relative_to(Path::new("/w/x"), Path::new("/w")),
            PathBuf::from("x")
        );
        assert_eq!(
            relative_to(Path::new("/w/./a/../x"), Path::new("/w/x")),
            PathBuf::from(".")
        );
        assert_eq!(
            relative_to(Path::new("/tmp/t/x.wasm"), Path::new("/w/x")),
            PathBuf::from("/tmp/t/x.wasm")
        );
    }

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }

    /// The `[profile.plugin]` of a Cargo.toml, as `key = value` lines.
    fn plugin_profile(manifest: &str) -> Vec<String> {
        let parsed = DeTable::parse(manifest).unwrap_or_else(|e| unreachable!("{e}"));
        let profile = parsed
            .get_ref()
            .get("profile")
            .and_then(|p| p.get_ref().as_table())
            .and_then(|p| p.get("plugin"))
            .and_then(|p| p.get_ref().as_table())
            .map(|table| {
                table
                    .iter()
                    .map(|(k, v)| format!("{} = {:?}", k.get_ref(), v.get_ref()))
                    .collect()
            });
        let mut lines: Vec<String> = profile.unwrap_or_default();
        lines.sort();
        lines
    }

    #[test]
    fn a_standalone_crate_builds_plugins_as_the_workspace_does() {
        let root = normalize(Path::new(BUILT_FROM_SDK).parent().unwrap_or(Path::new("")));
        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
        let standalone = plugin_profile(CARGO_STANDALONE.replace("{{sdk_path}}", "\"x\"").as_str());
        assert!(!standalone.is_empty());
        assert_eq!(standalone, plugin_profile(&workspace));
    }

    #[test]
    fn the_checkout_this_was_built_from_is_a_verdict_workspace() {
        let sdk = normalize(Path::new(BUILT_FROM_SDK));
        assert!(is_sdk(&sdk));
        let root = sdk.parent().map(Path::to_path_buf).unwrap_or_default();
        assert_eq!(find_workspace(&root.join("host/cli/src")), Some(root));
    }
}
