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

/// Ids are not trusted to be printable: a control character or a
/// bidirectional override is shown escaped in the table, never sent to the
/// terminal, then cut to the column width.
#[test]
fn control_characters_and_bidi_overrides_in_ids_are_escaped_in_the_table() {
    for (id, raw, shown) in [
        ("C-\\u001b[2J", '\u{1b}', "C-\\u{1b…  loan-rates"),
        ("\\u202eC1", '\u{202e}', "\\u{202e…  loan-rates"),
    ] {
        let data = Scratch::new();
        let profiles = data.write(
            "customers.toml",
            &format!("[[customer]]\nid = \"{id}\"\nbirth_date = 1990-01-01\n"),
        );
        let out = run(&[
            "eval",
            "--profiles",
            &profiles.display().to_string(),
            "--as-of",
            "2026-11-23",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stdout.contains(raw), "{:?}", out.stdout);
        let first_row = out.stdout.lines().nth(1).unwrap();
        assert!(first_row.starts_with(shown), "{first_row:?}");
    }
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

/// Writes `bytes` to `name` in `data`.
fn write_bytes(data: &Scratch, name: &str, bytes: &[u8]) -> String {
    let path = data.dir.path().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[test]
fn a_byte_order_mark_does_not_shift_the_columns_of_line_1() {
    let data = Scratch::new();
    let good = "[[customer]]\nid = \"C-1\"\nbirth_date = 1990-01-01\n";
    for bom in [&b""[..], BOM] {
        // Profiles: `as_of` on line 1 is no date.
        let profiles = write_bytes(
            &data,
            "customers.toml",
            &[bom, format!("as_of = \"soon\"\n{good}").as_bytes()].concat(),
        );
        let out = run(&["eval", "--profiles", &profiles]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_points_at(&out.stderr, &profiles, "1:9");
        // A binding whose `plugin` on line 1 is no path.
        let binding = write_bytes(
            &data,
            "policies/hello.toml",
            &[bom, b"plugin = 5\nversion = \"^1.0\"\n"].concat(),
        );
        let out = run(&[
            "eval",
            "--policies",
            &data.dir.path().join("policies").display().to_string(),
            "--profiles",
            &write_bytes(&data, "good.toml", good.as_bytes()),
        ]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_points_at(&out.stderr, &binding, "1:10");
        // A case file whose `binding` on line 1 is no path.
        let cases = write_bytes(&data, "cases.toml", &[bom, b"binding = 5\n"].concat());
        let out = run(&["test", &cases]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_points_at(&out.stderr, &cases, "1:11");
    }
    // A byte order mark before good text changes nothing.
    let profiles = write_bytes(&data, "bom.toml", &[BOM, good.as_bytes()].concat());
    let out = run(&["eval", "--profiles", &profiles, "--as-of", "2026-11-23"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn bytes_that_are_not_utf8_are_pointed_at() {
    let data = Scratch::new();
    let profiles = write_bytes(
        &data,
        "customers.toml",
        b"[[customer]]\nid = \"C-\xFF1\"\nbirth_date = 1990-01-01\n",
    );
    let out = run(&["eval", "--profiles", &profiles]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: the file is not UTF-8 text: save it as UTF-8\n"),
        "{}",
        out.stderr
    );
    assert_points_at(&out.stderr, &profiles, "2:9");
    assert!(
        out.stderr.contains("byte 0xFF is not UTF-8 here"),
        "{}",
        out.stderr
    );
    let cases = write_bytes(&data, "cases.toml", b"# caf\xE9\nbinding = \"x.toml\"\n");
    let out = run(&["test", &cases]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_points_at(&out.stderr, &cases, "1:6");
    assert!(
        out.stderr.contains("byte 0xE9 is not UTF-8 here"),
        "{}",
        out.stderr
    );
}

/// A huge id is cut in the error that names it, never echoed whole.
#[test]
fn a_huge_duplicate_id_is_cut_in_the_error() {
    let scratch = Scratch::new();
    let id = "X".repeat(100_000);
    let row = format!("{{\"id\":\"{id}\",\"birth_date\":\"1990-01-01\"}}\n");
    let input = scratch.write("huge.jsonl", &row.repeat(2));
    let out = run(&[
        "eval",
        "--profiles",
        &input.display().to_string(),
        "--as-of",
        "2026-11-23",
    ]);
    assert_eq!(out.code, 2, "{}", &out.stderr[..out.stderr.len().min(500)]);
    let shown = format!("duplicate customer id `{}… (100000 bytes)`", "X".repeat(64));
    assert!(
        out.stderr.contains(&shown),
        "{}",
        &out.stderr[..out.stderr.len().min(500)]
    );
    assert!(
        out.stderr.len() < 1_000,
        "{} bytes of error",
        out.stderr.len()
    );
}

/// A known list may hold at most 10,000 items: at the bound every policy
/// still decides (decoding it stays within any policy's fuel), past it the
/// customer is refused naming the field.
#[test]
fn a_known_list_past_its_bound_is_refused_and_at_it_decides() {
    let scratch = Scratch::new();
    let customer = |items: usize| {
        let products: Vec<String> = (0..items).map(|i| format!("\"{}\"", i % 10)).collect();
        format!(
            "{{\"id\":\"C-{items}\",\"birth_date\":\"1990-01-01\",\"products\":[{}]}}\n",
            products.join(",")
        )
    };
    let eval = |name: &str, items: usize| {
        let input = scratch.write(name, &customer(items));
        run(&[
            "eval",
            "--profiles",
            &input.display().to_string(),
            "--as-of",
            "2026-11-23",
            "--format",
            "jsonl",
        ])
    };
    let at = eval("at.jsonl", 10_000);
    assert_eq!(at.code, 0, "{}", at.stderr);
    let outcomes: Vec<String> = crate::util::json_lines(&at.stdout)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes.len(), 3, "{}", at.stdout);
    assert!(!outcomes.contains(&"error".to_owned()), "{outcomes:?}");
    let past = eval("past.jsonl", 10_001);
    assert_eq!(past.code, 2, "{}", past.stdout);
    assert!(
        past.stderr.contains(
            "row 1, column `products`: `products` in customer has 10001 items, more than the \
             10000 a profile may hold"
        ),
        "{}",
        past.stderr
    );
}
