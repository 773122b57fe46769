//! `verdict eval` on batch files (Parquet, CSV, JSON Lines, Arrow IPC):
//! the same decisions as the same customers in TOML, bad rows and columns
//! refused by file, row and column with nothing written, rejects files,
//! and decisions files that replay and diff like a decision log.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use serde_json::{Value, json};

use crate::util::{Scratch, json_lines, listing, run};

/// The evaluation date every test uses.
const AS_OF: &str = "2026-11-23";

/// One generated customer, written the same way in every format.
struct Customer {
    id: String,
    name: String,
    birth: (i32, u32, u32),
    language: &'static str,
    products: Vec<&'static str>,
    /// Spent, requested, requested by.
    stay: Option<(f64, f64, Option<&'static str>)>,
    /// Type, amount.
    loan: Option<(&'static str, f64)>,
    /// An extra column no plugin knows.
    tier: Option<i64>,
}

impl Customer {
    fn birth_date(&self) -> String {
        format!("{}-{:02}-{:02}", self.birth.0, self.birth.1, self.birth.2)
    }

    /// Days from 1970-01-01 to the birth date (date32).
    fn birth_days(&self) -> i32 {
        let (y, m, d) = self.birth;
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i32::try_from(m).unwrap();
        let doy =
            (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i32::try_from(d).unwrap() - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

/// `n` customers over the reference policies' bands, rungs and outcomes,
/// deterministic for a given `n`.
fn customers(n: usize) -> Vec<Customer> {
    const LANGUAGES: [&str; 5] = ["en", "pt", "fr", "sv", "de"];
    const LOANS: [&str; 5] = ["student", "personal", "car", "mortgage", "boat"];
    const PRODUCTS: [&str; 4] = [
        "live-cash-account",
        "student-account",
        "credit-card",
        "mortgage",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    (0..n)
        .map(|i| Customer {
            id: format!("C-{i:05}"),
            name: format!("Customer {i}"),
            birth: (
                1930 + i32::try_from(next(90)).unwrap(),
                1 + u32::try_from(next(12)).unwrap(),
                1 + u32::try_from(next(28)).unwrap(),
            ),
            language: LANGUAGES[next(5) as usize],
            products: (0..next(3)).map(|_| PRODUCTS[next(4) as usize]).collect(),
            stay: (next(2) == 0).then(|| {
                (
                    next(2500) as f64 + next(100) as f64 / 100.0,
                    1.0 + next(900) as f64,
                    match next(3) {
                        0 => Some("manager"),
                        1 => Some("staff"),
                        _ => None,
                    },
                )
            }),
            loan: (next(3) != 0).then(|| (LOANS[next(5) as usize], 1000.0 + next(500_000) as f64)),
            tier: (next(2) == 0).then(|| i64::try_from(next(4)).unwrap()),
        })
        .collect()
}

fn toml(customers: &[Customer]) -> String {
    let mut out = format!("as_of = {AS_OF}\n");
    for c in customers {
        let products: Vec<String> = c.products.iter().map(|p| format!("{p:?}")).collect();
        let _ = write!(
            out,
            "\n[[customer]]\nid = {:?}\nname = {:?}\nbirth_date = {}\nlanguage = {:?}\nproducts = [{}]\n",
            c.id,
            c.name,
            c.birth_date(),
            c.language,
            products.join(", ")
        );
        if let Some(tier) = c.tier {
            let _ = writeln!(out, "loyalty_tier = {tier}");
        }
        if let Some((spent, requested, by)) = c.stay {
            let _ = write!(
                out,
                "[customer.stay]\nrecovery_spent_usd = {spent:?}\nrequested_recovery_usd = {requested:?}\n"
            );
            if let Some(by) = by {
                let _ = writeln!(out, "requested_by = {by:?}");
            }
        }
        if let Some((kind, amount)) = c.loan {
            let _ = write!(
                out,
                "[customer.loan_request]\ntype = {kind:?}\namount_usd = {amount:?}\n"
            );
        }
    }
    out
}

/// The customers as a record batch: `birth_date` a date32, `products` a
/// list of strings, `stay` and `loan_request` structs.
fn record_batch(customers: &[Customer]) -> RecordBatch {
    let text = |f: &dyn Fn(&Customer) -> String| -> ArrayRef {
        let mut b = StringBuilder::new();
        for c in customers {
            b.append_value(f(c));
        }
        Arc::new(b.finish())
    };
    let mut birth = Date32Builder::new();
    let mut products = ListBuilder::new(StringBuilder::new());
    let mut tier = Int64Builder::new();
    let stay_fields = Fields::from(vec![
        Field::new("recovery_spent_usd", DataType::Float64, true),
        Field::new("requested_recovery_usd", DataType::Float64, true),
        Field::new("requested_by", DataType::Utf8, true),
    ]);
    let loan_fields = Fields::from(vec![
        Field::new("type", DataType::Utf8, true),
        Field::new("amount_usd", DataType::Float64, true),
    ]);
    let mut stay = StructBuilder::from_fields(stay_fields.clone(), customers.len());
    let mut loan = StructBuilder::from_fields(loan_fields.clone(), customers.len());
    for c in customers {
        birth.append_value(c.birth_days());
        for p in &c.products {
            products.values().append_value(p);
        }
        products.append(true);
        tier.append_option(c.tier);
        let (spent, requested, by) = c.stay.unwrap_or((0.0, 0.0, None));
        stay.field_builder::<Float64Builder>(0)
            .unwrap()
            .append_option(c.stay.map(|_| spent));
        stay.field_builder::<Float64Builder>(1)
            .unwrap()
            .append_option(c.stay.map(|_| requested));
        stay.field_builder::<StringBuilder>(2)
            .unwrap()
            .append_option(by);
        stay.append(c.stay.is_some());
        let (kind, amount) = c.loan.unwrap_or(("", 0.0));
        loan.field_builder::<StringBuilder>(0)
            .unwrap()
            .append_option(c.loan.map(|_| kind));
        loan.field_builder::<Float64Builder>(1)
            .unwrap()
            .append_option(c.loan.map(|_| amount));
        loan.append(c.loan.is_some());
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", text(&|c| c.id.clone())),
        ("name", text(&|c| c.name.clone())),
        ("birth_date", Arc::new(birth.finish())),
        ("language", text(&|c| c.language.to_owned())),
        ("products", Arc::new(products.finish())),
        ("loyalty_tier", Arc::new(tier.finish())),
        ("stay", Arc::new(stay.finish())),
        ("loan_request", Arc::new(loan.finish())),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        // Several row groups and record batches, so rows are numbered on
        // across batches.
        .set_max_row_group_row_count(Some(70))
        .build();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

fn write_ipc(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(batch).unwrap();
    writer.finish().unwrap();
}

/// CSV with dotted columns for the tables and `;`-separated products.
fn csv(customers: &[Customer]) -> String {
    let mut out = String::from(
        "id,name,birth_date,language,products,loyalty_tier,stay.recovery_spent_usd,\
         stay.requested_recovery_usd,stay.requested_by,loan_request.type,loan_request.amount_usd\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for c in customers {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            c.id,
            c.name,
            c.birth_date(),
            c.language,
            c.products.join(";"),
            opt(c.tier.map(|t| t.to_string())),
            opt(c.stay.map(|s| format!("{:?}", s.0))),
            opt(c.stay.map(|s| format!("{:?}", s.1))),
            opt(c.stay.and_then(|s| s.2).map(str::to_owned)),
            opt(c.loan.map(|l| l.0.to_owned())),
            opt(c.loan.map(|l| format!("{:?}", l.1))),
        );
    }
    out
}

/// One JSON object per line, as the customers are in TOML.
fn ndjson(customers: &[Customer]) -> String {
    let mut out = String::new();
    for c in customers {
        let mut row = json!({
            "id": c.id, "name": c.name, "birth_date": c.birth_date(),
            "language": c.language, "products": c.products,
        });
        if let Some(tier) = c.tier {
            row["loyalty_tier"] = json!(tier);
        }
        if let Some((spent, requested, by)) = c.stay {
            row["stay"] = json!({"recovery_spent_usd": spent, "requested_recovery_usd": requested});
            if let Some(by) = by {
                row["stay"]["requested_by"] = json!(by);
            }
        }
        if let Some((kind, amount)) = c.loan {
            row["loan_request"] = json!({"type": kind, "amount_usd": amount});
        }
        let _ = writeln!(out, "{row}");
    }
    out
}

/// A scratch directory holding `customers` as TOML and as every batch
/// format, plus the shipped bindings.
struct Inputs {
    scratch: Scratch,
}

impl Inputs {
    fn new(customers: &[Customer]) -> Inputs {
        let scratch = Scratch::shipped();
        scratch.write("in/customers.toml", &toml(customers));
        scratch.write("in/customers.csv", &csv(customers));
        scratch.write("in/customers.ndjson", &ndjson(customers));
        let batch = record_batch(customers);
        write_parquet(&scratch.dir.path().join("in/customers.parquet"), &batch);
        write_ipc(&scratch.dir.path().join("in/customers.arrow"), &batch);
        // Where decisions files and logs go: an existing, empty directory.
        std::fs::create_dir_all(scratch.dir.path().join("out")).unwrap();
        Inputs { scratch }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.scratch.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.file(name).display().to_string()
    }

    /// `verdict eval` on the scratch bindings with more arguments.
    fn eval(&self, more: &[&str]) -> crate::util::Run {
        let policies = self.scratch.path();
        run(&[&["eval", "--policies", &policies, "--as-of", AS_OF], more].concat())
    }
}

#[test]
fn every_batch_format_decides_exactly_as_toml() {
    let inputs = Inputs::new(&customers(300));
    let toml = inputs.eval(&[
        "--profiles",
        &inputs.arg("in/customers.toml"),
        "--format",
        "jsonl",
    ]);
    assert_eq!(toml.code, 0, "{}", toml.stderr);
    assert_eq!(json_lines(&toml.stdout).len(), 900);
    for file in [
        "in/customers.parquet",
        "in/customers.csv",
        "in/customers.ndjson",
        "in/customers.arrow",
    ] {
        let batch = inputs.eval(&["--profiles", &inputs.arg(file), "--format", "jsonl"]);
        assert_eq!(batch.code, 0, "{file}: {}", batch.stderr);
        assert!(
            batch.stdout == toml.stdout,
            "{file} decides differently from TOML"
        );
    }
    // The table and JSON formats print batch input too.
    let table = inputs.eval(&["--profiles", &inputs.arg("in/customers.parquet")]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("900 decisions for 300 customers"),
        "{}",
        table.stdout
    );
}

#[test]
fn a_decisions_file_holds_every_decision_and_replays() {
    let inputs = Inputs::new(&customers(120));
    let printed = inputs.eval(&[
        "--profiles",
        &inputs.arg("in/customers.toml"),
        "--format",
        "jsonl",
    ]);
    let out = inputs.eval(&[
        "--profiles",
        &inputs.arg("in/customers.parquet"),
        "--output",
        &inputs.arg("out/decisions.jsonl"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "", "decisions go to the file, not stdout");
    let rows = json_lines(&std::fs::read_to_string(inputs.file("out/decisions.jsonl")).unwrap());
    let printed = json_lines(&printed.stdout);
    assert_eq!(rows.len(), printed.len());
    for (row, record) in rows.iter().zip(&printed) {
        for key in [
            "customer",
            "policy",
            "plugin_version",
            "module_sha256",
            "outcome",
        ] {
            assert_eq!(row[key], record[key], "{key}");
        }
        let value: Value = serde_json::from_str(row["value"].as_str().unwrap()).unwrap();
        assert_eq!(value, record["value"]);
        assert_eq!(row["reasons"], record["reasons"]);
        assert_eq!(row["as_of"], AS_OF);
        assert_eq!(row["fuel"], 20_000_000);
    }
    // The extra column reached the profile as given.
    let with_tier = rows
        .iter()
        .find(|r| r["profile"].as_str().unwrap().contains("loyalty_tier"))
        .expect("some profile has the extra column");
    let profile: Value = serde_json::from_str(with_tier["profile"].as_str().unwrap()).unwrap();
    assert!(profile["loyalty_tier"].is_i64(), "{profile}");
    assert_eq!(
        listing(&inputs.file("out/decisions.archive")),
        ["modules", "params"]
    );
    assert_eq!(
        listing(&inputs.file("out/decisions.archive/modules")).len(),
        3
    );

    let replay = run(&["replay", &inputs.arg("out/decisions.jsonl")]);
    assert_eq!(replay.code, 0, "{}{}", replay.stdout, replay.stderr);
    assert_eq!(replay.stdout, "replayed 360: 360 identical, 0 mismatched\n");
    let sample = run(&[
        "replay",
        &inputs.arg("out/decisions.jsonl"),
        "--sample",
        "25",
    ]);
    assert_eq!(sample.stdout, "replayed 25: 25 identical, 0 mismatched\n");

    // One edited outcome is found at its row.
    let text = std::fs::read_to_string(inputs.file("out/decisions.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let row = lines
        .iter()
        .position(|l| l.contains("\"outcome\":\"quote\""))
        .expect("some quote");
    lines[row] = lines[row].replace("\"outcome\":\"quote\"", "\"outcome\":\"deny\"");
    std::fs::write(inputs.file("out/edited.jsonl"), lines.join("\n") + "\n").unwrap();
    let edited = run(&[
        "replay",
        &inputs.arg("out/edited.jsonl"),
        "--archive",
        &inputs.arg("out/decisions.archive"),
    ]);
    assert_eq!(edited.code, 1, "{}{}", edited.stdout, edited.stderr);
    assert!(
        edited
            .stdout
            .contains(&format!("MISMATCH row {}: customer ", row + 1)),
        "{}",
        edited.stdout
    );
    assert!(
        edited.stdout.contains("outcome: \"deny\" -> \"quote\""),
        "{}",
        edited.stdout
    );
    assert!(
        edited
            .stdout
            .ends_with("replayed 360: 359 identical, 1 mismatched\n"),
        "{}",
        edited.stdout
    );
}

#[test]
fn a_parquet_decisions_file_replays_and_diffs_as_a_log_does() {
    let inputs = Inputs::new(&customers(150));
    let logged = inputs.eval(&[
        "--profiles",
        &inputs.arg("in/customers.toml"),
        "--format",
        "jsonl",
        "--log",
        &inputs.arg("out/log.jsonl"),
    ]);
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    let out = inputs.eval(&[
        "--profiles",
        &inputs.arg("in/customers.parquet"),
        "--output",
        &inputs.arg("out/decisions.parquet"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let replay = run(&["replay", &inputs.arg("out/decisions.parquet")]);
    assert_eq!(replay.code, 0, "{}{}", replay.stdout, replay.stderr);
    assert_eq!(replay.stdout, "replayed 450: 450 identical, 0 mismatched\n");

    // A new staff limit, tried on the log and on the decisions file.
    let next = Scratch::shipped();
    let staff = next.dir.path().join("staff-allowance.toml");
    let binding = std::fs::read_to_string(&staff).unwrap();
    assert!(binding.contains("staff_limit_usd = 2000"), "{binding}");
    std::fs::write(
        &staff,
        binding.replace("staff_limit_usd = 2000", "staff_limit_usd = 2500"),
    )
    .unwrap();
    let diff = |file: &str| {
        let out = run(&[
            "diff",
            &inputs.arg(file),
            "--policies",
            &next.path(),
            "--format",
            "json",
        ]);
        assert_eq!(out.code, 0, "{file}: {}", out.stderr);
        serde_json::from_str::<Value>(&out.stdout).unwrap()
    };
    let from_log = diff("out/log.jsonl");
    let from_file = diff("out/decisions.parquet");
    assert!(from_file["changed"].as_u64().unwrap() > 0, "{from_file}");
    let staff = from_file["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "staff-allowance")
        .unwrap();
    assert!(
        staff["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["from"] == "refer" && t["to"] == "approve"),
        "{staff}"
    );
    // Rows of the file are in the log's order, so even the row numbers of
    // the changes match the log's lines.
    assert_eq!(from_file, from_log);

    let table = run(&[
        "diff",
        &inputs.arg("out/decisions.parquet"),
        "--policies",
        &next.path(),
    ]);
    assert!(
        table
            .stdout
            .starts_with("450 recorded decisions re-decided with the policies in"),
        "{}",
        table.stdout
    );
}

/// The scratch input directory's contents after a refused run, and the
/// error, for a batch file written by `write`.
fn refused(write: impl Fn(&Inputs) -> String) -> (crate::util::Run, Inputs) {
    let inputs = Inputs::new(&customers(5));
    let file = write(&inputs);
    let out = inputs.eval(&[
        "--profiles",
        &file,
        "--output",
        &inputs.arg("out/decisions.parquet"),
        "--log",
        &inputs.arg("out/log.jsonl"),
    ]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(
        listing(&inputs.file("out")),
        Vec::<String>::new(),
        "written by a refused run"
    );
    (out, inputs)
}

#[test]
fn a_bad_row_is_named_by_file_row_and_column_and_nothing_is_written() {
    let (out, inputs) = refused(|inputs| {
        let mut rows: Vec<Value> = json_lines(&ndjson(&customers(5)));
        rows[3]["birth_date"] = json!("1990-02-30");
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        inputs
            .scratch
            .write("bad.ndjson", &text)
            .display()
            .to_string()
    });
    let file = inputs.arg("bad.ndjson");
    assert_eq!(
        out.stderr,
        format!(
            "error: {file}: row 4, column `birth_date`: `birth_date` in customer must be a date \
             string such as \"2012-05-04\" (`1990-02-30` is not a date: day 30 does not exist in 1990-02 (it has 28 days))\n"
        )
    );
}

#[test]
fn a_key_given_twice_in_a_json_lines_row_is_refused_by_row_and_key() {
    for (row, change, column, message) in [
        (3, r#"{"id":"X-1","#, "id", "duplicate key `id`"),
        (
            5,
            r#"{"stay":{"requested_by":"staff","requested_by":"x"},"#,
            "stay.requested_by",
            "duplicate key `requested_by` in `stay`",
        ),
    ] {
        let (out, inputs) = refused(|inputs| {
            let mut lines: Vec<String> = json_lines(&ndjson(&customers(5)))
                .iter()
                .map(|row| {
                    let mut row = row.clone();
                    row.as_object_mut().unwrap().remove("stay");
                    row.to_string()
                })
                .collect();
            lines[row - 1] = lines[row - 1].replacen('{', change, 1);
            let text = lines.join("\n") + "\n";
            inputs
                .scratch
                .write("twice.ndjson", &text)
                .display()
                .to_string()
        });
        assert_eq!(
            out.stderr,
            format!(
                "error: {}: row {row}, column `{column}`: {message}\n",
                inputs.arg("twice.ndjson")
            )
        );
    }
}

#[test]
fn a_nan_or_infinite_number_is_refused_by_row_and_column() {
    let mut people = customers(5);
    let with_loan = people.iter().position(|c| c.loan.is_some()).unwrap();
    people[with_loan].loan = people[with_loan].loan.map(|(kind, _)| (kind, f64::NAN));
    let (out, inputs) = refused(|inputs| {
        let path = inputs.scratch.dir.path().join("nan.parquet");
        write_parquet(&path, &record_batch(&people));
        path.display().to_string()
    });
    assert_eq!(
        out.stderr,
        format!(
            "error: {}: row {}, column `loan_request.amount_usd`: NaN is not a number a profile \
             may hold\n",
            inputs.arg("nan.parquet"),
            with_loan + 1
        )
    );
}

#[test]
fn a_column_given_twice_is_refused() {
    let (out, inputs) = refused(|inputs| {
        let batch = record_batch(&customers(5));
        let mut columns: Vec<(String, ArrayRef)> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .zip(batch.columns().iter().cloned())
            .collect();
        let other_ids: ArrayRef = Arc::new(arrow_array::StringArray::from(vec![
            "X-1", "X-2", "X-3", "X-4", "X-5",
        ]));
        columns.push(("id".to_owned(), other_ids));
        let twice = RecordBatch::try_from_iter(columns).unwrap();
        let path = inputs.scratch.dir.path().join("twice.arrow");
        write_ipc(&path, &twice);
        path.display().to_string()
    });
    assert_eq!(
        out.stderr,
        format!(
            "error: {}: column `id`: the column `id` is given twice\n",
            inputs.arg("twice.arrow")
        )
    );
}

#[test]
fn a_duplicate_id_names_both_rows() {
    let (out, inputs) = refused(|inputs| {
        let mut text = csv(&customers(5));
        text = text.replace("C-00003,", "C-00001,");
        inputs.scratch.write("dup.csv", &text).display().to_string()
    });
    assert_eq!(
        out.stderr,
        format!(
            "error: {}: row 4, column `id`: duplicate customer id `C-00001` (also row 2)\n",
            inputs.arg("dup.csv")
        )
    );
}

#[test]
fn a_column_of_the_wrong_type_is_refused() {
    let (out, inputs) = refused(|inputs| {
        let batch = record_batch(&customers(5));
        let schema = batch.schema();
        let mut columns = batch.columns().to_vec();
        let index = schema.index_of("language").unwrap();
        columns[index] = Arc::new(arrow_array::Int64Array::from(vec![1, 2, 3, 4, 5]));
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if i == index {
                    Field::new("language", DataType::Int64, false)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let path = inputs.file("typed.parquet");
        write_parquet(&path, &batch);
        path.display().to_string()
    });
    assert_eq!(
        out.stderr,
        format!(
            "error: {}: column `language`: `language` must be a string column, but the column \
             is Int64\n",
            inputs.arg("typed.parquet")
        )
    );
}

#[test]
fn a_missing_id_column_is_refused() {
    let (out, inputs) = refused(|inputs| {
        let batch = record_batch(&customers(5));
        let index = batch.schema().index_of("id").unwrap();
        let mut batch = batch;
        batch.remove_column(index);
        let path = inputs.file("no-id.arrow");
        write_ipc(&path, &batch);
        path.display().to_string()
    });
    assert_eq!(
        out.stderr,
        format!(
            "error: {}: column `id`: there is no `id` column, and every customer needs one\n",
            inputs.arg("no-id.arrow")
        )
    );
}

#[test]
fn rejected_rows_go_to_the_rejects_file_and_the_rest_are_decided() {
    let inputs = Inputs::new(&customers(6));
    let mut rows: Vec<Value> = json_lines(&ndjson(&customers(6)));
    rows[1]["birth_date"] = json!("2030-01-01");
    rows[4]["id"] = json!(" ");
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let input = inputs.scratch.write("some-bad.jsonl", &text);
    let out = inputs.eval(&[
        "--profiles",
        &input.display().to_string(),
        "--format",
        "jsonl",
        "--rejects",
        &inputs.arg("rejects.jsonl"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "2 row(s) rejected, written to `{}`\n",
            inputs.arg("rejects.jsonl")
        )
    );
    let decided: Vec<String> = json_lines(&out.stdout)
        .iter()
        .map(|r| r["customer"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(decided.len(), 12);
    assert!(
        !decided
            .iter()
            .any(|c| c == "C-00001" || c.trim().is_empty())
    );
    let rejects = json_lines(&std::fs::read_to_string(inputs.file("rejects.jsonl")).unwrap());
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0]["row"], 2);
    assert_eq!(rejects[0]["column"], "birth_date");
    assert_eq!(
        rejects[0]["error"],
        format!("customer `C-00001` has birth_date 2030-01-01 after the evaluation date {AS_OF}")
    );
    assert_eq!(rejects[0]["input"]["id"], "C-00001");
    assert_eq!(rejects[1]["row"], 5);
    assert_eq!(rejects[1]["column"], "id");
    assert_eq!(rejects[1]["error"], "`id` must not be empty");
    assert_eq!(rejects[1]["file"], input.display().to_string());
}

#[test]
fn toml_and_batch_files_are_not_mixed() {
    let inputs = Inputs::new(&customers(2));
    let out = inputs.eval(&[
        "--profiles",
        &inputs.arg("in/customers.toml"),
        "--profiles",
        &inputs.arg("in/customers.csv"),
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("in separate runs"), "{}", out.stderr);
    let rejects = inputs.eval(&[
        "--profiles",
        &inputs.arg("in/customers.toml"),
        "--rejects",
        &inputs.arg("rejects.jsonl"),
    ]);
    assert_eq!(rejects.code, 2);
    assert!(
        rejects.stderr.contains("--rejects is for batch input"),
        "{}",
        rejects.stderr
    );
}
