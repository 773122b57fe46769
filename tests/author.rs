//! The policy author's kit: `verdict new`, `verdict build`, `verdict test`,
//! parameter schemas, and the authoring guide, whose shell commands run
//! here as written.
//!
//! Scaffolded crates build into one shared target directory (`scaffold/`
//! in cargo's target directory), so after the first run their dependencies
//! are compiled already; each scaffold is built as few times as possible.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{
    Filters, REFERENCE, Run, Scratch, assert_points_at, plugin_wasm, root, run, run_command,
    sha256_file, target_dir, verdict, verdict_snapshot,
};

/// The target directory every scaffolded crate builds into.
fn scaffold_target() -> PathBuf {
    target_dir().join("scaffold")
}

/// `verdict ARGS...` run in `dir`, building scaffolds into the shared
/// target directory.
fn verdict_in(dir: &Path, args: &[&str]) -> Run {
    run_command(
        verdict()
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", scaffold_target())
            .args(args),
    )
}

/// The last line of `text`.
fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

#[track_caller]
fn assert_ok(what: &str, out: &Run) {
    assert_eq!(
        out.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

/// The ```sh blocks of a Markdown file, in order. A ```sh setup block
/// (adding the wasm target) installs something: the README's test command
/// does that before the tests, which install nothing.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == "```sh" => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// `PATH` with the directory of the `verdict` under test first.
fn path_with_verdict() -> std::ffi::OsString {
    let bin = assert_cmd::cargo::cargo_bin("verdict");
    let mut dirs = vec![bin.parent().unwrap().to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// The guide's commands, run as a reader would (a fresh directory outside
/// any checkout, `verdict` on the PATH), take a new crate through its unit
/// tests, build, cases and an evaluation. The same crate then shows the
/// failure paths: a case that fails shows its diff, a crate that does not
/// compile shows the compiler's error, and `new` refuses to overwrite it.
#[test]
fn the_guide_runs_as_written_and_failures_explain_themselves() {
    crate::util::plugins_dir();
    let guide = std::fs::read_to_string(root().join("plugin-sdk/README.md")).unwrap();
    let blocks = sh_blocks(&guide);
    assert!(
        blocks.len() >= 5,
        "the guide has its commands in ```sh blocks"
    );
    let script = format!("set -euxo pipefail\n{}", blocks.join("\n"));
    assert!(script.contains("verdict new my-policy"), "{script}");

    let home = tempfile::tempdir().unwrap();
    let out = run_command(
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(home.path())
            .env("PATH", path_with_verdict())
            .env("CARGO_TARGET_DIR", scaffold_target())
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("RUST_LOG"),
    );
    assert_ok("the guide's commands", &out);
    // cargo test: the scaffold's unit tests.
    assert!(
        out.stdout.contains("test result: ok. 5 passed"),
        "{}",
        out.stdout
    );
    // verdict build: what the module declares.
    assert!(
        out.stdout.contains("name         my-policy"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("min_age (integer min 0 max 150): youngest age accepted"),
        "{}",
        out.stdout
    );
    // verdict test, before and after the guide adds a case.
    assert!(out.stdout.contains("5 passed, 0 failed"), "{}", out.stdout);
    assert!(
        out.stdout.contains("ok      21 is approved"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("6 passed, 0 failed"), "{}", out.stdout);
    // verdict eval, after the guide raised min_age to 21 in the binding.
    assert!(out.stdout.contains("too-young age=19"), "{}", out.stdout);

    let krate = home.path().join("my-policy");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[workspace]\n") && !manifest.contains("workspace = true"),
        "{manifest}"
    );

    // As the guide says, the cases now tell what raising min_age to 21 did;
    // a changed expectation shows a value diff too.
    let cases = krate.join("policies/tests/my-policy.toml");
    let text = std::fs::read_to_string(&cases).unwrap();
    std::fs::write(
        &cases,
        text.replace("value = { age = 36 }", "value = { age = 35 }"),
    )
    .unwrap();
    let out = verdict_in(&krate, &["test"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let expected = "FAILED  18 on the birthday itself\n  --> policies/tests/my-policy.toml:18:1\n  outcome: expected `approve`, got `deny`\n  \
                    reasons:\n    too-young: The customer is 18; the minimum age is 21.\n";
    assert!(out.stdout.contains(expected), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("FAILED  an adult is approved\n  --> policies/tests/my-policy.toml:8:1\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  value (- expected, + actual):\n    - age = 35\n    + age = 36\n"),
        "{}",
        out.stdout
    );
    assert_eq!(last_line(&out.stdout), "4 passed, 2 failed");

    // A crate that does not compile: the compiler's error, as cargo shows it.
    let lib = krate.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        source.replace("let age = input.age();", "let age: String = input.age();"),
    )
    .unwrap();
    let out = verdict_in(&krate, &["build"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("error[E0308]: mismatched types"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("src/lib.rs:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("the build of `.` failed"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    // `new` never writes over an existing directory.
    let out = verdict_in(home.path(), &["new", "my-policy"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        source.replace("let age = input.age();", "let age: String = input.age();")
    );
}

/// Inside a Verdict checkout the scaffold goes to `plugins/NAME`, joins the
/// workspace, and passes its unit tests and cases there too. Done in a
/// copy of the checkout, so nothing is left in this one.
#[test]
fn inside_a_checkout_the_scaffold_joins_the_workspace() {
    let copy = tempfile::tempdir().unwrap();
    copy_checkout(&root(), copy.path());

    let out = verdict_in(copy.path(), &["new", "repo-policy"]);
    assert_ok("verdict new", &out);
    assert!(
        out.stdout.contains("a member of the workspace"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("verdict build plugins/repo-policy"),
        "{}",
        out.stdout
    );
    let krate = copy.path().join("plugins/repo-policy");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("verdict-sdk.workspace = true"),
        "{manifest}"
    );
    assert!(!manifest.contains("[workspace]"), "{manifest}");

    let out = run_command(
        Command::new(env!("CARGO"))
            .args(["test", "-p", "repo-policy"])
            .current_dir(copy.path())
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TARGET_DIR", scaffold_target()),
    );
    assert_ok("cargo test -p repo-policy", &out);
    assert!(
        out.stdout.contains("test result: ok. 5 passed"),
        "{}",
        out.stdout
    );

    let out = verdict_in(copy.path(), &["build", "plugins/repo-policy"]);
    assert_ok("verdict build", &out);
    assert!(
        out.stdout.contains("name         repo-policy"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("version      0.1.0"), "{}", out.stdout);

    let out = verdict_in(copy.path(), &["test", "plugins/repo-policy"]);
    assert_ok("verdict test", &out);
    assert_eq!(last_line(&out.stdout), "5 passed, 0 failed");

    let out = verdict_in(
        copy.path(),
        &[
            "eval",
            "--policies",
            "plugins/repo-policy/policies",
            "--format",
            "jsonl",
        ],
    );
    assert_ok("verdict eval", &out);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);

    // Elsewhere in the checkout a crate would not join the workspace.
    let out = verdict_in(copy.path(), &["new", "stray", "--path", "policies"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("plugin crates live in `plugins/`"),
        "{}",
        out.stderr
    );
    assert!(!copy.path().join("policies/stray").exists());
}

/// Copies a checkout's sources (no `target/`, no `.git/`).
fn copy_checkout(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_checkout(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn new_refuses_bad_names_and_a_directory_that_is_not_the_sdk() {
    let home = tempfile::tempdir().unwrap();
    for bad in ["My_Policy", "2fast", "policy-", "test"] {
        let out = verdict_in(home.path(), &["new", bad]);
        assert_eq!(out.code, 2, "{bad}");
        assert!(out.stderr.contains(&format!("`{bad}`")), "{}", out.stderr);
    }
    let out = verdict_in(home.path(), &["new", "my-policy", "--sdk", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("is not the verdict-sdk crate"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(home.path()).unwrap().count(),
        0,
        "nothing is written"
    );
}

#[test]
fn new_uses_an_sdk_given_with_sdk_and_a_directory_given_with_path() {
    let home = tempfile::tempdir().unwrap();
    let sdk = root().join("plugin-sdk");
    let out = verdict_in(
        home.path(),
        &[
            "new",
            "elsewhere",
            "--path",
            "policies/here",
            "--sdk",
            sdk.to_str().unwrap(),
        ],
    );
    assert_ok("verdict new", &out);
    let krate = home.path().join("policies/here/elsewhere");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!(
            "verdict-sdk = {{ path = {:?} }}",
            sdk.display().to_string()
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains("[workspace]") && manifest.contains("[profile.plugin]"),
        "{manifest}"
    );
    for file in [
        "src/lib.rs",
        "policies/elsewhere.toml",
        "policies/tests/elsewhere.toml",
        "policies/profiles/sample.toml",
        "Cargo.lock",
        "README.md",
        ".cargo/config.toml",
    ] {
        assert!(krate.join(file).is_file(), "{file}");
    }
    let config = std::fs::read_to_string(krate.join(".cargo/config.toml")).unwrap();
    assert!(config.contains("link-arg=-zstack-size=65536"), "{config}");
    assert!(
        out.stdout.contains("cd policies/here/elsewhere"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_shipped_cases_pass_and_cover_every_outcome_and_code() {
    let out = run(&["test"]);
    assert_ok("verdict test", &out);
    for name in REFERENCE {
        assert!(
            out.stdout
                .contains(&format!("policies/tests/{name}.toml: ")),
            "{}",
            out.stdout
        );
    }
    let tally = last_line(&out.stdout);
    let passed: usize = tally.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 80, "{tally}");
    assert_eq!(tally, format!("{passed} passed, 0 failed"));

    let covered = |policy: &str, wanted: &[&str]| {
        let text =
            std::fs::read_to_string(root().join(format!("policies/tests/{policy}.toml"))).unwrap();
        for word in wanted {
            assert!(
                text.contains(&format!("\"{word}\"")),
                "{policy}: no case for `{word}`"
            );
        }
    };
    covered(
        "staff-allowance",
        &[
            "not-applicable",
            "approve",
            "refer",
            "deny",
            "no-recovery-request",
            "invalid-amount",
            "unknown-role",
            "within-allowance",
            "over-allowance",
        ],
    );
    covered(
        "loan-rates",
        &[
            "not-applicable",
            "deny",
            "quote",
            "no-loan-request",
            "minor",
            "unknown-loan-type",
            "not-eligible",
            "rate-quoted",
        ],
    );
    covered(
        "product-ladder",
        &[
            "none",
            "offer",
            "too-young",
            "ladder-complete",
            "next-products",
        ],
    );
    for language in ["pt", "pt-BR", "fr", "sv", "hu", "id", "de"] {
        for policy in REFERENCE {
            covered(policy, &[language]);
        }
    }
}

#[test]
fn the_shipped_cases_cover_every_age_boundary() {
    let out = run(&["test"]);
    assert_ok("verdict test", &out);
    let names = out.stdout;
    for boundary in [
        "car at 17",
        "car at 18",
        "car at 24",
        "car at 25",
        "car at 34",
        "car at 35",
        "car at 49",
        "car at 50",
        "car at 64",
        "car at 65",
        "student loan at 29",
        "student loan at 30",
        "mortgage at 69",
        "mortgage at 70",
    ] {
        assert!(
            names.contains(&format!("ok      {boundary}")),
            "loan-rates: {boundary}"
        );
    }
    for age in [10, 11, 15, 16, 24, 25, 34, 35, 54, 55] {
        assert!(
            names.contains(&format!("ok      {age}")),
            "product-ladder: {age}"
        );
    }
}

/// A case file naming a module runs it with its declared defaults.
fn case_file(scratch: &Scratch, cases: &str) -> String {
    let text = format!(
        "plugin = {:?}\nas_of = 2026-11-23\n\n{cases}",
        plugin_wasm("loan-rates").display().to_string()
    );
    scratch.write("cases.toml", &text).display().to_string()
}

#[test]
fn a_failing_case_shows_expected_against_actual() {
    let scratch = Scratch::new();
    let file = case_file(
        &scratch,
        "[[case]]\nname = \"car at 25\"\ncustomer = { id = \"X\", birth_date = 2001-11-23, loan_request = { type = \"car\" } }\n\
         expect = { outcome = \"deny\", codes = [\"minor\"], value_includes = { annual_rate_pct = 5.40 }, message_contains = \"nope\" }\n\n\
         [[case]]\nname = \"car at 24\"\ncustomer = { id = \"Y\", birth_date = 2001-11-24, loan_request = { type = \"car\" } }\n\
         expect = { outcome = \"quote\", value = { annual_rate_pct = 5.4, age_band = \"18-24\" } }\n",
    );
    let out = run(&["test", &file]);
    verdict_snapshot!("test_failing", out, in_scratch(&scratch));

    let out = run(&["test", &file, "--filter", "24"]);
    assert_ok("a filtered run", &out);
    assert_eq!(last_line(&out.stdout), "1 passed, 0 failed");
}

#[test]
fn passing_cases_are_listed_and_tallied() {
    let scratch = Scratch::new();
    let file = case_file(
        &scratch,
        "[[case]]\nname = \"car at 24\"\ncustomer = { id = \"Y\", birth_date = 2001-11-24, loan_request = { type = \"car\" } }\n\
         expect = { outcome = \"quote\", value = { annual_rate_pct = 5.4, age_band = \"18-24\" } }\n\n\
         [[case]]\nname = \"a minor\"\ncustomer = { id = \"Z\", birth_date = 2010-01-01, loan_request = { type = \"car\" } }\n\
         expect = { outcome = \"deny\", codes = [\"minor\"] }\n",
    );
    let out = run(&["test", &file]);
    verdict_snapshot!("test_passing", out, in_scratch(&scratch));
}

/// Filters for the output of a command about files in `scratch`.
fn in_scratch(scratch: &Scratch) -> Filters {
    Filters::new().dir(scratch.dir.path(), "[SCRATCH]")
}

#[test]
fn bad_case_files_are_refused_at_their_line_and_nothing_runs() {
    let scratch = Scratch::new();
    let customer =
        "customer = { id = \"X\", birth_date = 1990-01-01, loan_request = { type = \"car\" } }";
    let check = |case: &str, at: &str, wanted: &str| {
        let file = case_file(
            &scratch,
            &format!(
                "[[case]]\nname = \"fine\"\n{customer}\nexpect = {{ outcome = \"quote\" }}\n\n[[case]]\n{case}"
            ),
        );
        let out = run(&["test", &file]);
        assert_eq!(out.code, 2, "{case}\n{}", out.stdout);
        assert!(out.stdout.is_empty(), "nothing runs: {}", out.stdout);
        assert_points_at(&out.stderr, &file, at);
        assert!(
            out.stderr.contains(wanted),
            "{case}: wanted {wanted}\n{}",
            out.stderr
        );
    };
    check(
        &format!(
            "name = \"x\"\n{customer}\nparams = {{ min_agee = 16 }}\nexpect = {{ outcome = \"quote\" }}\n"
        ),
        "12:12",
        "declares no parameter `min_agee`",
    );
    check(
        &format!(
            "name = \"x\"\n{customer}\nparams = {{ min_age = \"16\" }}\nexpect = {{ outcome = \"quote\" }}\n"
        ),
        "12:22",
        "`min_age` must be an integer, not a string",
    );
    check(
        &format!(
            "name = \"x\"\n{customer}\nparams = {{ student_max_age = -1 }}\nexpect = {{ outcome = \"quote\" }}\n"
        ),
        "12:30",
        "must be at least 0, not -1",
    );
    check(
        &format!(
            "name = \"x\"\n{customer}\nparams = {{ surcharge_bands = [\n  {{ min_age = 18, max_age = 30, surcharge_pct = 0 }},\n  {{ min_age = 30, surcharge_pct = 1 }},\n] }}\nexpect = {{ outcome = \"quote\" }}\n"
        ),
        "14:15",
        "invalid parameter `surcharge_bands[1].min_age`: overlaps after the band ending at 30: must be 31, not 30",
    );
    check(
        "name = \"x\"\ncustomer = { id = \"X\", birth_date = 1990-02-30 }\nexpect = { outcome = \"quote\" }\n",
        "11:37",
        "invalid date",
    );
    check(
        "name = \"x\"\ncustomer = { id = \"X\", birth_date = \"1990-01-01\" }\nexpect = { outcome = \"quote\" }\n",
        "11:37",
        "`birth_date` in customer must be a date",
    );
    check(
        "name = \"x\"\ncustomer = { birth_date = 1990-01-01 }\nexpect = { outcome = \"quote\" }\n",
        "11:12",
        "customer is missing required key `id`",
    );
    check(
        "name = \"x\"\ncustomer = { id = \"X\", birth_date = 2030-01-01 }\nexpect = { outcome = \"quote\" }\n",
        "11:37",
        "after the evaluation date",
    );
    check(
        &format!("name = \"x\"\n{customer}\nexpect = {{ outcome = \"quote\", value = 3 }}\n"),
        "12:39",
        "`value` must be a table, or a JSON object in a string",
    );
    check(
        &format!("name = \"x\"\n{customer}\nexpect = {{ outcom = \"quote\" }}\n"),
        "12:12",
        "`case[1].expect`: unknown field `outcom`, expected one of `outcome`, `codes`, `value`, `value_includes`, `message_contains`",
    );
    check(
        &format!("name = \"fine\"\n{customer}\nexpect = {{ outcome = \"quote\" }}\n"),
        "10:8",
        "duplicate case name `fine`",
    );
    check(
        &format!("name = \"x\"\n{customer}\n"),
        "9:1",
        "case lacks `expect`",
    );
}

#[test]
fn a_missing_module_says_how_to_build_it() {
    let scratch = Scratch::new();
    let file = scratch.write("cases.toml", "plugin = \"nowhere.wasm\"\nas_of = 2026-11-23\n[[case]]\nname = \"x\"\ncustomer = { id = \"X\", birth_date = 1990-01-01 }\nexpect = { outcome = \"ok\" }\n");
    let out = run(&["test", &file.display().to_string()]);
    assert_eq!(out.code, 2);
    assert_points_at(&out.stderr, &file, "1:10");
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(out.stderr.contains("verdict build"), "{}", out.stderr);

    let out = run(&["test", &scratch.path()]);
    assert_eq!(out.code, 2, "a directory's case files: {}", out.stderr);
    let out = run(&["test", "no/such/dir"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("neither a case file nor a directory"),
        "{}",
        out.stderr
    );
}

#[test]
fn build_shows_what_the_module_declares() {
    let out = run(&["build", "plugins/staff-allowance"]);
    assert_ok("verdict build", &out);
    let module = plugin_wasm("staff-allowance");
    // Shown relative to the working directory (the repository) when below it.
    let shown = module.strip_prefix(root()).unwrap_or(&module);
    assert!(
        out.stdout
            .contains(&format!("module       {}\n", shown.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("sha256       {}", sha256_file(&module))),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "size         {} bytes",
            std::fs::metadata(&module).unwrap().len()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("name         staff-allowance\nversion      1.0.0\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("staff_limit_usd (number min 0): total an employee may spend"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("      default 2000"), "{}", out.stdout);
}

#[test]
fn build_refuses_what_is_not_a_plugin_crate() {
    let out = run(&["build"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("is a workspace, not a plugin crate"),
        "{}",
        out.stderr
    );
    let out = run(&["build", "policies"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("holds no Cargo.toml"), "{}", out.stderr);
}

/// Without the wasm target `verdict build` installs nothing: it prints the
/// command that does and stops (a stand-in `rustup` reports no target).
#[cfg(unix)]
#[test]
fn build_without_the_wasm_target_says_the_command_to_run() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let rustup = bin.path().join("rustup");
    std::fs::write(&rustup, "#!/bin/sh\necho x86_64-unknown-linux-gnu\n").unwrap();
    std::fs::set_permissions(&rustup, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut paths = vec![bin.path().to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let out = run_command(
        verdict()
            .env("PATH", std::env::join_paths(paths).unwrap())
            .args(["build", "plugins/loan-rates"]),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("\n    rustup target add wasm32-unknown-unknown\n"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("Compiling"),
        "nothing was built: {}",
        out.stderr
    );
}

/// A bad binding is refused when it loads, at the exact value, saying what
/// was expected.
#[track_caller]
fn check_refused(binding: &str, text: &str, at: &str, wanted: &[&str]) {
    let scratch = Scratch::shipped();
    let file = scratch.write(
        &format!("{binding}.toml"),
        &crate::util::retarget(text, &plugin_wasm(binding)),
    );
    let out = run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        "policies/profiles/customers.toml",
    ]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.is_empty(), "nothing is evaluated");
    assert_points_at(&out.stderr, &file, at);
    for wanted in wanted {
        assert!(
            out.stderr.contains(wanted),
            "wanted {wanted}:\n{}",
            out.stderr
        );
    }
}

#[test]
fn bindings_with_bad_parameters_are_refused_with_what_was_expected() {
    let staff =
        |params: &str| format!("plugin = \"x\"\nversion = \"^1.0\"\n\n[params]\n{params}\n");
    check_refused(
        "staff-allowance",
        &staff("staf_limit_usd = 100"),
        "5:1",
        &[
            "declares no parameter `staf_limit_usd`",
            "declared: staff_limit_usd, manager_limit_usd",
        ],
    );
    check_refused(
        "staff-allowance",
        &staff("staff_limit_usd = true"),
        "5:19",
        &[
            "`staff_limit_usd` must be a number, not a boolean",
            "total an employee may spend",
        ],
    );
    check_refused(
        "staff-allowance",
        &staff("manager_limit_usd = -5000"),
        "5:21",
        &["`manager_limit_usd` must be at least 0, not -5000"],
    );
    check_refused(
        "staff-allowance",
        &staff("staff_limit_usd = 2000.005"),
        "5:19",
        &["invalid parameter `staff_limit_usd`: must be in dollars and cents"],
    );

    let bands = |second: &str| {
        format!(
            "plugin = \"x\"\nversion = \"^1.0\"\n\n[params]\nsurcharge_bands = [\n    {{ min_age = 18, max_age = 24, surcharge_pct = 0.00 }},\n    {second},\n    {{ min_age = 35, surcharge_pct = 0.75 }},\n]\n"
        )
    };
    check_refused(
        "loan-rates",
        &bands("{ min_age = 26, max_age = 34, surcharge_pct = 0.25 }"),
        "7:17",
        &[
            "invalid parameter `surcharge_bands[1].min_age`: leaves a gap after the band ending at 24: must be 25, not 26",
        ],
    );
    check_refused(
        "loan-rates",
        &bands("{ min_age = 20, max_age = 34, surcharge_pct = 0.25 }"),
        "7:17",
        &["overlaps after the band ending at 24: must be 25, not 20"],
    );
    check_refused(
        "loan-rates",
        &bands("{ min_age = 25, max_age = 34, surcharge_pct = -0.25 }"),
        "7:51",
        &["invalid parameter `surcharge_bands[1].surcharge_pct`: must not be negative"],
    );
    check_refused(
        "loan-rates",
        &bands("{ min_age = 25, max_age = 34, surcharge_pct = 0.25, extra = 1 }"),
        "4:2",
        &[
            "plugin `loan-rates` cannot read the parameters: unknown field `extra`, expected one of `min_age`, `max_age`, `surcharge_pct`\n",
        ],
    );

    let rungs = "plugin = \"x\"\nversion = \"^1.0\"\n\n[[params.rungs]]\nstage = \"youth\"\nmin_age = 11\nmax_age = 15\nproducts = [\"a\"]\n\n[[params.rungs]]\nstage = \"adult\"\nmin_age = 17\nproducts = [\"b\"]\n";
    check_refused(
        "product-ladder",
        rungs,
        "12:11",
        &[
            "invalid parameter `rungs[1].min_age`: leaves a gap after the rung ending at 15: must be 16, not 17",
        ],
    );
}

#[test]
fn inspect_shows_types_ranges_defaults_and_descriptions() {
    let out = run(&["inspect", &plugin_wasm("loan-rates").display().to_string()]);
    assert_ok("verdict inspect", &out);
    for line in [
        "  min_age (integer min 0): youngest age that may borrow\n      default 18\n",
        "  student_max_age (integer min 0): oldest age that may take a student loan\n      default 29\n",
        "  base_rates_pct (table): base annual rate by loan type",
        "default {\"car\":5.4,\"mortgage\":4.1,\"personal\":6.9,\"student\":2.9}",
        "  surcharge_bands (list): age bands",
    ] {
        assert!(
            out.stdout.contains(line),
            "wanted {line:?}:\n{}",
            out.stdout
        );
    }
}
