//! JSON Lines rows whose objects give a key twice. Arrow's JSON reader
//! keeps the last of them without a word, so the file is read a second
//! time beside it, value by value, and a row that gives a key twice stops
//! the file at that row and key, as a key given twice stops a TOML file.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde_json::de::IoRead;
use verdict_engine::FirstDuplicate;

use crate::error::{BatchError, RowError};

/// The rows of a JSON Lines file, walked for keys given twice as the
/// Arrow reader hands on their record batches.
pub(crate) struct KeyCheck {
    path: PathBuf,
    rows: serde_json::StreamDeserializer<'static, IoRead<BufReader<File>>, FirstDuplicate>,
    next_row: usize,
}

impl KeyCheck {
    /// Walks `path` (opened again) from its first row.
    pub(crate) fn open(path: &Path) -> Result<KeyCheck, BatchError> {
        let file = File::open(path).map_err(BatchError::io("open", path))?;
        Ok(KeyCheck {
            path: path.to_path_buf(),
            rows: serde_json::Deserializer::from_reader(BufReader::new(file)).into_iter(),
            next_row: 1,
        })
    }

    /// Checks the next `count` rows (those of the record batch just read).
    pub(crate) fn check(&mut self, count: usize) -> Result<(), BatchError> {
        for _ in 0..count {
            let row = self.next_row;
            self.next_row += 1;
            let twice = match self.rows.next() {
                Some(Ok(FirstDuplicate(twice))) => twice,
                Some(Err(error)) => {
                    return Err(BatchError::format(&self.path)(format!(
                        "row {row}: {error}"
                    )));
                }
                // The Arrow reader found a row here; a file that changed
                // under the reader is read no further.
                None => {
                    return Err(BatchError::format(&self.path)(format!(
                        "row {row}: the file ended early, as if it changed while it was read"
                    )));
                }
            };
            if let Some(twice) = twice {
                return Err(BatchError::Row {
                    path: self.path.clone(),
                    row: RowError {
                        row,
                        column: Some(twice.field()),
                        message: twice.to_string(),
                        input: None,
                    },
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use crate::error::BatchError;
    use crate::read;

    #[test]
    fn rows_are_counted_on_across_record_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("customers.jsonl");
        let row = |i: usize| format!(r#"{{"id":"C-{i}","birth_date":"1990-01-01"}}"#);
        let mut text: String = (1..=4).map(|i| row(i) + "\n").collect();
        text.push_str("\n{\"id\":\"C-5\",\"birth_date\":\"1990-01-01\",\"id\":\"C-6\"}\n");
        std::fs::write(&path, text).unwrap();
        let batches: Vec<_> = read::profiles(&path, 2).unwrap().collect();
        assert_eq!(batches.len(), 3);
        assert!(batches[0].is_ok() && batches[1].is_ok());
        assert!(
            matches!(&batches[2], Err(BatchError::Row { row, .. })
                if row.to_string() == "row 5, column `id`: duplicate key `id`"),
            "{:?}",
            batches[2]
        );
    }
}
