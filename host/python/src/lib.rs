//! The `verdict` Python package: Verdict's engine for Python data tools.
//!
//! `Policies` is a loaded, checked policy set: from a policies directory
//! (`Policies.load`), or from an archive by SHA-256 (`Policies.from_archive`,
//! what each executor of a cluster job does with the digests its driver
//! shipped). Its `decide` method takes an Arrow record batch of customers
//! (anything with the Arrow PyCapsule interface: pyarrow, DuckDB, Polars,
//! Spark's `mapInArrow` batches) and returns the decisions as a
//! `pyarrow.RecordBatch`, each decision made in a fresh sandboxed instance,
//! its bytes exactly those `verdict eval` prints. Failures raise
//! the `errors` module's exceptions, whose messages name the file, row and column.

mod errors;
mod manifest;
mod policies;

use pyo3::prelude::*;
use pyo3_arrow::PySchema;

/// The schema of the batches `Policies.decide` returns, as a
/// `pyarrow.Schema` (what Spark's `mapInArrow` is told to expect).
#[pyfunction]
fn decisions_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    PySchema::new(verdict_batch::decisions_schema()).into_pyarrow(py)
}

/// The Python module `verdict`.
#[pymodule]
#[pyo3(name = "verdict")]
fn verdict_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<policies::Policies>()?;
    module.add_function(wrap_pyfunction!(decisions_schema, module)?)?;
    errors::register(module)?;
    Ok(())
}
