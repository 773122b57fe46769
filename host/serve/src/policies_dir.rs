//! The policies directory as given on the command line, resolved again at
//! every load.
//!
//! Deployment tools publish a release by switching a symbolic link
//! (`current -> releases/42`), Kubernetes volumes by renaming a link inside
//! the directory, and some tools replace the directory itself. The path is
//! therefore kept as given (made absolute, links untouched) and only
//! resolved when the policies are read, so each load reads the release the
//! path leads to at that moment, and only that one.

use std::path::{Path, PathBuf};

use verdict_config::ConfigError;

/// Most symbolic links followed from the given path, as the kernel's own
/// limit for one path.
const MAX_LINKS: usize = 40;

/// The policies directory: the path as given, resolved at every use.
#[derive(Debug, Clone)]
pub struct PoliciesDir {
    given: PathBuf,
}

impl PoliciesDir {
    /// `path` made absolute against the working directory; symbolic links
    /// in it are kept, not resolved.
    pub fn new(path: &Path) -> Result<PoliciesDir, ConfigError> {
        let given = std::path::absolute(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(PoliciesDir { given })
    }

    /// The path as given (absolute).
    #[must_use]
    pub fn given(&self) -> &Path {
        &self.given
    }

    /// The directory the path leads to now, every link resolved.
    pub fn resolve(&self) -> Result<PathBuf, ConfigError> {
        std::fs::canonicalize(&self.given).map_err(|source| ConfigError::Io {
            path: self.given.clone(),
            source,
        })
    }

    /// The given path, then each path its chain of symbolic links names in
    /// turn, ending with one that is not a link (the directory, or a
    /// missing name). Replacing any of them can make the path lead to
    /// another directory.
    #[must_use]
    pub fn chain(&self) -> Vec<PathBuf> {
        let mut chain = vec![self.given.clone()];
        let mut current = self.given.clone();
        while chain.len() <= MAX_LINKS {
            let Ok(target) = std::fs::read_link(&current) else {
                break;
            };
            // A relative target is relative to the link's directory.
            let next = match current.parent() {
                Some(parent) => parent.join(target),
                None => target,
            };
            chain.push(next.clone());
            current = next;
        }
        chain
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::PoliciesDir;

    #[cfg(unix)]
    #[test]
    fn resolves_at_each_call_and_lists_the_links() {
        use std::os::unix::fs::symlink;
        let base = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(base.path()).unwrap();
        for release in ["rel1", "rel2"] {
            std::fs::create_dir(base.join(release)).unwrap();
        }
        symlink("rel1", base.join("current")).unwrap();
        symlink(base.join("current"), base.join("deployed")).unwrap();
        let dir = PoliciesDir::new(&base.join("deployed")).unwrap();
        assert_eq!(dir.resolve().unwrap(), base.join("rel1"));
        assert_eq!(
            dir.chain(),
            [
                base.join("deployed"),
                base.join("current"),
                base.join("rel1")
            ]
        );

        symlink("rel2", base.join("next")).unwrap();
        std::fs::rename(base.join("next"), base.join("current")).unwrap();
        assert_eq!(dir.resolve().unwrap(), base.join("rel2"));
        assert_eq!(dir.given(), base.join("deployed"));
    }
}
