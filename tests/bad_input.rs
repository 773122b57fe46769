//! Small things a demanding user notices in error messages and tables.

use crate::util::{Scratch, assert_points_at, run};

#[test]
fn a_string_that_is_no_real_date_says_why() {
    let data = Scratch::new();
    let profiles = data.write(
        "customers.toml",
        "[[customer]]\nid = \"C-1\"\nbirth_date = \"1990-02-30\"\n",
    );
    let out = run(&["eval", "--profiles", &profiles.display().to_string()]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "error: `birth_date` in customer must be a date such as 2012-05-04 (no quotes, no time)\n \
             --> {}:3:14\n  |\n3 | birth_date = \"1990-02-30\"\n  |              ^^^^^^^^^^^^ \
             `1990-02-30` is not a date: day 30 does not exist in 1990-02 (it has 28 days)\n  |\n",
            profiles.display()
        )
    );
}

#[test]
fn an_os_error_is_told_once() {
    let out = run(&["eval", "--profiles", "no-such-profiles.toml"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: cannot read `no-such-profiles.toml`: No such file or directory (os error 2)\n"
    );
}

#[test]
fn control_characters_in_ids_are_escaped_in_the_table() {
    let data = Scratch::new();
    let profiles = data.write(
        "customers.toml",
        "[[customer]]\nid = \"C-\\u001b[2J\"\nbirth_date = 1990-01-01\n",
    );
    let out = run(&[
        "eval",
        "--profiles",
        &profiles.display().to_string(),
        "--as-of",
        "2026-11-23",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    let first_row = out.stdout.lines().nth(1).unwrap();
    // Escaped, then cut to the column width.
    assert!(
        first_row.starts_with("C-\\u{1b…  loan-rates"),
        "{first_row:?}"
    );
}

#[test]
fn a_static_customer_array_far_before_a_customer_header_is_a_duplicate_key() {
    // A file large enough to be parsed in parts, cut at the header: each
    // part is valid alone, the file is not.
    let data = Scratch::new();
    let padding = "# padding to make a large file\n".repeat(10_000);
    let profiles = data.write(
        "customers.toml",
        &format!(
            "customer = [ {{ id = \"S-1\", birth_date = 1990-01-01 }} ]\n{padding}\
             [[customer]]\nid = \"C-1\"\nbirth_date = 1980-01-01\n"
        ),
    );
    assert!(std::fs::metadata(&profiles).unwrap().len() > 300 << 10);
    let out = run(&["eval", "--profiles", &profiles.display().to_string()]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.starts_with("error: duplicate key\n"),
        "{}",
        out.stderr
    );
    assert_points_at(&out.stderr, &profiles, "10002:3");
    assert_eq!(out.stdout, "");
}
