//! `verdict eval` from Parquet to Parquet on 1,000,000 generated customers
//! (3,000,000 decisions under the reference policies): reading and checking
//! rows, isolated wasm decisions on every core, writing decision columns.
//! Reports rows and decisions per second and peak memory.
//!
//! Needs the plugins built: `cargo plugins`. Run: `cargo bench -p verdict
//! --bench batch_throughput` (`VERDICT_BENCH_CUSTOMERS=N` for another size).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a bench reports and fails loudly"
)]

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Float64Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields};

const DEFAULT_CUSTOMERS: usize = 1_000_000;
/// Rows generated and written at a time, so generating stays small too.
const PART: usize = 50_000;

/// Customers `start..start + n` as a record batch over every age band,
/// rung and outcome of the reference policies, deterministic.
fn customers(start: usize, n: usize, next: &mut impl FnMut(u64) -> u64) -> RecordBatch {
    const LANGUAGES: [&str; 7] = ["en", "pt", "fr", "sv", "hu", "id", "de"];
    const LOANS: [&str; 5] = ["student", "personal", "car", "mortgage", "boat"];
    const PRODUCTS: [&str; 4] = [
        "live-cash-account",
        "student-account",
        "credit-card",
        "mortgage",
    ];
    let mut id = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut birth = Date32Builder::new();
    let mut language = StringBuilder::new();
    let mut products = ListBuilder::new(StringBuilder::new());
    let stay_fields = Fields::from(vec![
        Field::new("recovery_spent_usd", DataType::Float64, true),
        Field::new("requested_recovery_usd", DataType::Float64, true),
        Field::new("requested_by", DataType::Utf8, true),
    ]);
    let loan_fields = Fields::from(vec![
        Field::new("type", DataType::Utf8, true),
        Field::new("amount_usd", DataType::Float64, true),
    ]);
    let mut stay = StructBuilder::from_fields(stay_fields, n);
    let mut loan = StructBuilder::from_fields(loan_fields, n);
    for i in start..start + n {
        id.append_value(format!("C-{i:07}"));
        name.append_value(format!("Customer {i}"));
        // 1926-01-01 plus up to 90 years.
        birth.append_value(-16_071 + next(90 * 365) as i32);
        language.append_value(LANGUAGES[next(7) as usize]);
        products.values().append_value(PRODUCTS[next(4) as usize]);
        products.append(true);
        let has_stay = next(2) == 0;
        let spent = next(2500) as f64 + next(100) as f64 / 100.0;
        let requested = 1.0 + next(900) as f64;
        let by = if next(4) == 0 { "manager" } else { "staff" };
        stay.field_builder::<Float64Builder>(0)
            .unwrap()
            .append_option(has_stay.then_some(spent));
        stay.field_builder::<Float64Builder>(1)
            .unwrap()
            .append_option(has_stay.then_some(requested));
        stay.field_builder::<StringBuilder>(2)
            .unwrap()
            .append_option(has_stay.then_some(by));
        stay.append(has_stay);
        let has_loan = next(3) != 0;
        let kind = LOANS[next(5) as usize];
        let amount = 1000.0 + next(500_000) as f64;
        loan.field_builder::<StringBuilder>(0)
            .unwrap()
            .append_option(has_loan.then_some(kind));
        loan.field_builder::<Float64Builder>(1)
            .unwrap()
            .append_option(has_loan.then_some(amount));
        loan.append(has_loan);
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(id.finish())),
        ("name", Arc::new(name.finish())),
        ("birth_date", Arc::new(birth.finish())),
        ("language", Arc::new(language.finish())),
        ("products", Arc::new(products.finish())),
        ("stay", Arc::new(stay.finish())),
        ("loan_request", Arc::new(loan.finish())),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn write_input(path: &Path, n: usize) {
    // A small linear congruential generator keeps the file reproducible
    // without a dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let first = customers(0, PART.min(n), &mut next);
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, first.schema(), Some(properties)).unwrap();
    writer.write(&first).unwrap();
    let mut start = first.num_rows();
    while start < n {
        let part = customers(start, PART.min(n - start), &mut next);
        writer.write(&part).unwrap();
        start += part.num_rows();
    }
    writer.close().unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("batch_throughput: bench");
        return;
    }
    let n: usize = std::env::var("VERDICT_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CUSTOMERS);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.parquet");
    let output = dir.path().join("decisions.parquet");
    write_input(&input, n);
    let mib = |path: &Path| std::fs::metadata(path).unwrap().len() as f64 / (1 << 20) as f64;
    println!(
        "{n} customers ({:.1} MiB of Parquet), 3 policies",
        mib(&input)
    );
    let run = support::run_measured(
        Command::new(env!("CARGO_BIN_EXE_verdict"))
            .current_dir(&root)
            .args(["eval", "--as-of", "2026-11-23", "--profiles"])
            .arg(&input)
            .arg("--output")
            .arg(&output),
    );
    println!(
        "{:.1} s: {:.0} customers/s, {:.0} decisions/s, output {:.1} MiB, peak memory {:.0} MiB",
        run.seconds,
        n as f64 / run.seconds,
        (3 * n) as f64 / run.seconds,
        mib(&output),
        run.peak_mib
    );
}
