//! One module per subcommand; each returns the exit status to use.

pub mod build;
pub mod diff;
pub mod eval;
pub mod inspect;
pub mod log;
pub mod new;
pub mod replay;
pub mod rollback;
pub mod serve;
pub mod test;

use std::path::{Path, PathBuf};

use verdict_engine::{Limits, ModuleCache, Sandbox};

/// The engine every command runs plugins with: `limits`, compiling through
/// the module cache the environment names (see [`cache_dir`]).
pub fn sandbox(limits: Limits) -> anyhow::Result<Sandbox> {
    Ok(Sandbox::new(limits, module_cache())?)
}

/// The module cache the environment names (see [`cache_dir`]).
pub fn module_cache() -> ModuleCache {
    cache_dir().map_or_else(ModuleCache::disabled, ModuleCache::in_dir)
}

/// Where compiled modules are kept: `$VERDICT_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/verdict`, else `$HOME/.cache/verdict`;
/// `VERDICT_CACHE_DIR=off` turns the cache off.
fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    match var("VERDICT_CACHE_DIR") {
        Some(dir) if dir == Path::new("off") => None,
        Some(dir) => Some(dir),
        None => var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|home| home.join(".cache")))
            .map(|base| base.join("verdict")),
    }
}
