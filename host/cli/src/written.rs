//! What `verdict eval` may write: `--output` never replaces a file unless
//! `--force` says so (and never a directory), and no file it writes (`--output`, `--rejects`, the
//! `--log` it appends to) is one it reads or keeps — a profiles file, the
//! decision log, the log's archive. Files are compared by where they
//! really are (symbolic links and `./` spellings resolved, and device and
//! inode where the file exists), and a clash is refused before anything
//! is decided or written.

use std::path::{Path, PathBuf};

use verdict_audit::Archive;

use crate::cli::EvalArgs;

/// A file named on the command line, and where it really is.
struct Named<'a> {
    /// What the option is called, for messages (`--log`, `a profiles file`).
    role: &'static str,
    given: &'a Path,
    place: Place,
}

/// Where a path leads: its canonical form (of its directory, for a file not
/// there yet) and, for a file that exists, its device and inode.
#[derive(PartialEq, Eq)]
struct Place {
    canonical: PathBuf,
    inode: Option<(u64, u64)>,
}

impl Place {
    fn of(path: &Path) -> Place {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let canonical = std::fs::canonicalize(&absolute).unwrap_or_else(|_| {
            match (absolute.parent(), absolute.file_name()) {
                (Some(dir), Some(name)) => std::fs::canonicalize(dir)
                    .map(|dir| dir.join(name))
                    .unwrap_or_else(|_| verdict_config::normalize(&absolute)),
                _ => verdict_config::normalize(&absolute),
            }
        });
        Place {
            canonical,
            inode: inode(path),
        }
    }

    fn same(&self, other: &Place) -> bool {
        self.canonical == other.canonical
            || matches!((self.inode, other.inode), (Some(a), Some(b)) if a == b)
    }
}

#[cfg(unix)]
fn inode(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn inode(_path: &Path) -> Option<(u64, u64)> {
    None
}

impl<'a> Named<'a> {
    fn new(role: &'static str, given: &'a Path) -> Named<'a> {
        Named {
            role,
            given,
            place: Place::of(given),
        }
    }
}

/// Refuses a run whose `--output`, `--rejects` or `--log` would replace
/// or write into a file it reads or keeps, or whose `--output` exists
/// without `--force`; `inputs` are the profiles files it reads.
pub(crate) fn check(args: &EvalArgs, inputs: &[PathBuf]) -> anyhow::Result<()> {
    let archive = args.log.as_deref().map(Archive::beside);
    let mut kept: Vec<Named<'_>> = inputs
        .iter()
        .map(|input| Named::new("the profiles file", input))
        .collect();
    if let Some(log) = &args.log {
        clash(&Named::new("--log", log), &kept)?;
        kept.push(Named::new("the decision log given to --log", log));
    }
    if let Some(archive) = &archive {
        kept.push(Named::new("the decision log's archive", archive.root()));
    }
    if let Some(rejects) = &args.rejects {
        let rejects = Named::new("--rejects", rejects);
        clash(&rejects, &kept)?;
        kept.push(Named {
            role: "the file given to --rejects",
            ..rejects
        });
    }
    if let Some(output) = &args.output {
        clash(&Named::new("--output", output), &kept)?;
        anyhow::ensure!(
            !output.is_dir(),
            "--output `{}` is a directory; name the decisions file to write",
            output.display()
        );
        anyhow::ensure!(
            args.force || std::fs::symlink_metadata(output).is_err(),
            "--output `{}` exists; give --force to replace it",
            output.display()
        );
    }
    Ok(())
}

/// Refuses `written` when it is the same file as one of `kept`.
fn clash(written: &Named<'_>, kept: &[Named<'_>]) -> anyhow::Result<()> {
    match kept.iter().find(|k| k.place.same(&written.place)) {
        Some(k) if k.given.as_os_str() == written.given.as_os_str() => anyhow::bail!(
            "{} `{}` is {}: a run never writes to a file it reads or keeps",
            written.role,
            written.given.display(),
            k.role
        ),
        Some(k) => anyhow::bail!(
            "{} `{}` is {} (`{}`): a run never writes to a file it reads or keeps",
            written.role,
            written.given.display(),
            k.role,
            k.given.display()
        ),
        None => Ok(()),
    }
}
