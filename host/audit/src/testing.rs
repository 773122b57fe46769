//! Hooks for fuzz targets and tests beneath the audit API (the `testing`
//! feature): replay's reader of a log's records, without the sandboxes
//! and archive lookups that come after it.

use std::path::Path;

use crate::error::AuditError;
use crate::lines::Lines;
use crate::recorded::Recorded;
use crate::replay::{Selection, select};

/// Reads every record of the log at `path` exactly as
/// [`replay`](crate::replay::replay) does before it runs them, handing each
/// to `each`; the first line that does not read is the error.
pub fn read_log(path: &Path, mut each: impl FnMut(&Recorded<'_>)) -> Result<(), AuditError> {
    let mut lines = Lines::open(path)?;
    let selection = Selection::default();
    while let Some(batch) = lines.next_batch()? {
        for record in select(path, &batch, &selection)? {
            each(&record);
        }
    }
    Ok(())
}
