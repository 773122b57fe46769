//! One module per subcommand; each returns the exit status to use.

pub(crate) mod build;
pub(crate) mod diff;
pub(crate) mod eval;
pub(crate) mod eval_batch;
pub(crate) mod inspect;
pub(crate) mod log;
pub(crate) mod new;
pub(crate) mod policies;
pub(crate) mod policy_change;
pub(crate) mod release;
pub(crate) mod replay;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod test;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use verdict_engine::{Limits, ModuleCache, Sandbox, chain_text};

/// The engine every command runs plugins with: `limits`, compiling through
/// the module cache the environment names (see [`cache_dir`]).
pub(crate) fn sandbox(limits: Limits) -> anyhow::Result<Sandbox> {
    Ok(Sandbox::new(limits, module_cache())?)
}

/// The module cache the environment names (see [`cache_dir`]). A directory
/// the engine will not trust (another user's, writable by others) is
/// refused with a warning, and plugins are compiled without a cache.
pub(crate) fn module_cache() -> ModuleCache {
    let Some(dir) = cache_dir(|name| std::env::var_os(name)) else {
        return ModuleCache::disabled();
    };
    ModuleCache::open(dir).unwrap_or_else(|error| {
        tracing::warn!("{}; running without a module cache", chain_text(&error));
        ModuleCache::disabled()
    })
}

/// Where releases pulled to be served are kept: `given`, else `releases/`
/// in the cache directory the environment names.
pub(crate) fn release_cache(given: Option<&Path>) -> anyhow::Result<verdict_release::Cache> {
    let root = match given {
        Some(dir) => dir.to_path_buf(),
        None => cache_dir(|name| std::env::var_os(name))
            .map(|dir| dir.join("releases"))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "a release is kept on disk once pulled, and caching is off (VERDICT_CACHE_DIR=off): give --release-cache DIR"
                )
            })?,
    };
    Ok(verdict_release::Cache::new(root))
}

/// The cache directory the environment names, or `None` for no cache:
/// `$VERDICT_CACHE_DIR` (`off` disables caching), else
/// `$XDG_CACHE_HOME/verdict`, else `$HOME/.cache/verdict`; empty variables
/// count as unset. `var` looks a variable up (the process environment, or a test's).
fn cache_dir(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    match var("VERDICT_CACHE_DIR") {
        Some(dir) if dir == Path::new("off") => None,
        Some(dir) => Some(dir),
        None => var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|home| home.join(".cache")))
            .map(|base| base.join("verdict")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_directory_comes_from_the_environment() {
        let resolve = |vars: &[(&str, &str)]| {
            cache_dir(|name| {
                vars.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            })
        };
        let all = [
            ("VERDICT_CACHE_DIR", "/v"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(resolve(&all), Some(PathBuf::from("/v")));
        assert_eq!(
            resolve(&[("VERDICT_CACHE_DIR", "off"), ("HOME", "/h")]),
            None
        );
        assert_eq!(resolve(&all[1..]), Some(PathBuf::from("/x/verdict")));
        assert_eq!(
            resolve(&[
                ("VERDICT_CACHE_DIR", ""),
                ("XDG_CACHE_HOME", ""),
                ("HOME", "/h")
            ]),
            Some(PathBuf::from("/h/.cache/verdict"))
        );
        assert_eq!(resolve(&[]), None);
    }
}
