//! Reading a file the host does not control (a plugin module, a cache
//! entry, an archive entry) without hanging or ballooning on it: only a
//! regular file is read (a FIFO, a device or a directory is refused at
//! once, never waited on), a link is followed only where the caller allows
//! it, and no more than a bound is ever read, checked against the file's
//! size before reading.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Whether the last component of a path may be a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Followed (a binding may name a linked module).
    Follow,
    /// Refused: the file must be there itself (cache and archive entries).
    Refuse,
}

/// Opens `path` for reading without blocking on what is no regular file.
pub fn open_regular(path: &Path, links: Links) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO returns at once instead of waiting for
        // a writer; it changes nothing for a regular file.
        let mut flags = libc::O_NONBLOCK;
        if links == Links::Refuse {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    let file = options.open(path).map_err(|error| {
        // O_NOFOLLOW on a link fails with ELOOP: say what it means.
        #[cfg(unix)]
        if error.raw_os_error() == Some(libc::ELOOP) && links == Links::Refuse {
            return io::Error::new(io::ErrorKind::InvalidInput, "it is a symbolic link");
        }
        error
    })?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    Ok(file)
}

/// The whole content of the regular file at `path`, refused when it is
/// larger than `limit` bytes (before anything is read, and again should
/// it grow while being read).
pub fn read_bounded(path: &Path, links: Links, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path, links)?;
    let size = file.metadata()?.len();
    let too_large = |size: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is {size} bytes, more than the {limit} bytes allowed"),
        )
    };
    if size > limit {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(result: io::Result<Vec<u8>>) -> String {
        match result {
            Ok(bytes) => format!("read {}", bytes.len()),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn only_regular_files_within_the_bound_are_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(problem(read_bounded(&file, Links::Refuse, 5)), "read 5");
        assert_eq!(
            problem(read_bounded(&file, Links::Refuse, 4)),
            "it is 5 bytes, more than the 4 bytes allowed"
        );
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(problem(read_bounded(&link, Links::Follow, 5)), "read 5");
        assert_eq!(
            problem(read_bounded(&link, Links::Refuse, 5)),
            "it is a symbolic link"
        );
        assert_eq!(
            problem(read_bounded(dir.path(), Links::Follow, 5)),
            "it is not a regular file"
        );
        let fifo = dir.path().join("p");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())
            .unwrap_or_else(|e| unreachable!("{e}"));
        // SAFETY: `name` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert_eq!(
            problem(read_bounded(&fifo, Links::Follow, 5)),
            "it is not a regular file"
        );
        assert_eq!(
            problem(read_bounded(Path::new("/dev/zero"), Links::Follow, 5)),
            "it is not a regular file"
        );
    }
}
