//! Reading a log as numbered lines, a batch at a time, so huge logs are
//! checked in parallel without being held in memory whole.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::AuditError;

/// Bytes read per batch; lines are never split across batches.
const BATCH_BYTES: u64 = 8 << 20;

/// The lines of a log file, in batches.
#[derive(Debug)]
pub(crate) struct Lines {
    path: PathBuf,
    file: File,
    next_line: usize,
    carry: Vec<u8>,
    eof: bool,
}

/// Consecutive lines of a log.
#[derive(Debug)]
pub(crate) struct Batch {
    first_line: usize,
    data: Vec<u8>,
    bounds: Vec<(usize, usize)>,
    torn: bool,
}

impl Batch {
    /// How many lines the batch holds.
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.bounds.len()
    }

    /// The line number (from 1) of the batch's first line.
    #[must_use]
    pub(crate) fn first_line(&self) -> usize {
        self.first_line
    }

    /// The `index`th line of the batch, without its newline.
    #[must_use]
    pub(crate) fn line(&self, index: usize) -> &[u8] {
        self.bounds
            .get(index)
            .map_or(&[][..], |&(start, end)| &self.data[start..end])
    }

    /// Whether the batch's last line ends without a newline: the file ends
    /// in the middle of a record.
    #[must_use]
    pub(crate) fn torn(&self) -> bool {
        self.torn
    }
}

impl Lines {
    /// Opens a log for reading.
    pub(crate) fn open(path: &Path) -> Result<Lines, AuditError> {
        let file = File::open(path).map_err(AuditError::io("read", path))?;
        Ok(Lines {
            path: path.to_path_buf(),
            file,
            next_line: 1,
            carry: Vec::new(),
            eof: false,
        })
    }

    /// The next batch of whole lines; the last one may end torn.
    pub(crate) fn next_batch(&mut self) -> Result<Option<Batch>, AuditError> {
        loop {
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let data = std::mem::take(&mut self.carry);
                return Ok(Some(self.batch(data, true)));
            }
            let mut data = std::mem::take(&mut self.carry);
            let read = (&mut self.file)
                .take(BATCH_BYTES)
                .read_to_end(&mut data)
                .map_err(AuditError::io("read", &self.path))?;
            if read == 0 {
                self.eof = true;
                self.carry = data;
                continue;
            }
            match data.iter().rposition(|&b| b == b'\n') {
                Some(last) => {
                    self.carry = data.split_off(last + 1);
                    return Ok(Some(self.batch(data, false)));
                }
                // A line longer than one read: keep reading.
                None => self.carry = data,
            }
        }
    }

    /// Splits `data` into lines. Unless `torn`, it ends with a newline.
    fn batch(&mut self, data: Vec<u8>, torn: bool) -> Batch {
        let mut bounds = Vec::with_capacity(data.len() / 512 + 1);
        let mut start = 0;
        for (at, _) in data.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            bounds.push((start, at));
            start = at + 1;
        }
        if torn {
            bounds.push((start, data.len()));
        }
        let first_line = self.next_line;
        self.next_line += bounds.len();
        Batch {
            first_line,
            data,
            bounds,
            torn,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    fn read_all(text: &[u8]) -> Vec<(usize, Vec<u8>, bool)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, text).unwrap();
        let mut lines = Lines::open(&path).unwrap();
        let mut out = Vec::new();
        while let Some(batch) = lines.next_batch().unwrap() {
            for i in 0..batch.len() {
                let torn = batch.torn() && i + 1 == batch.len();
                out.push((batch.first_line() + i, batch.line(i).to_vec(), torn));
            }
        }
        out
    }

    #[test]
    fn numbers_lines_and_spots_a_torn_end() {
        assert!(read_all(b"").is_empty());
        assert_eq!(
            read_all(b"a\nbb\n"),
            vec![(1, b"a".to_vec(), false), (2, b"bb".to_vec(), false)]
        );
        assert_eq!(
            read_all(b"a\n\nc"),
            vec![
                (1, b"a".to_vec(), false),
                (2, b"".to_vec(), false),
                (3, b"c".to_vec(), true)
            ]
        );
    }
}
