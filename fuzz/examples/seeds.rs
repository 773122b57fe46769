//! Writes the seed corpora of the byte-level targets from the shipped
//! samples (`policies/profiles/customers.toml` and the reference
//! policies): `cargo run --manifest-path fuzz/Cargo.toml --example seeds`
//! from the repository root. The `decision_log` and `arrow_profiles` seeds
//! are made otherwise (fuzz/README.md).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use verdict_config::Profiles;
use verdict_engine::Abi;
use verdict_engine::testing::encode_for;
use verdict_sdk::glue::{PackageInfo, evaluate_v2, manifest};
use verdict_sdk::{Decision, Input, ParamError, Params, wire};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The seeds of one target.
struct Seeds {
    dir: PathBuf,
}

impl Seeds {
    fn new(target: &str) -> Result<Seeds> {
        let dir = Path::new("fuzz/seeds").join(target);
        fs::create_dir_all(&dir)?;
        Ok(Seeds { dir })
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        Ok(fs::write(self.dir.join(name), bytes)?)
    }
}

/// A reference policy, with what its manifest says of its package.
struct Reference<P> {
    package: PackageInfo,
    policy: fn(&Input, &P) -> Decision,
}

fn seed_policy<P: Params>(
    reference: &Reference<P>,
    envelopes: &[Vec<u8>],
    seeds: &[Seeds; 3],
) -> Result<()> {
    let [answers_v2, answers_v1, envelope_seeds] = seeds;
    let name = reference.package.name;
    for (i, envelope) in envelopes.iter().enumerate() {
        let answer = evaluate_v2(envelope, &P::default(), reference.policy);
        answers_v2.write(&format!("{name}-{i}"), &answer)?;
        envelope_seeds.write(&format!("customer-{i}"), envelope)?;
        if let Ok(wire::Answer::Decision(decision)) = wire::decode_answer(&answer) {
            answers_v1.write(&format!("decision-{name}-{i}"), &tagged(0, &decision)?)?;
        }
    }
    let mut manifest = manifest::<P>(&reference.package);
    answers_v1.write(&format!("manifest-v2-{name}"), &tagged(2, &manifest)?)?;
    manifest.abi = 1;
    answers_v1.write(&format!("manifest-v1-{name}"), &tagged(1, &manifest)?)?;
    Ok(())
}

/// `tag`, then `value` as JSON: an input of the `answer_v1` target.
fn tagged(tag: u8, value: &impl Serialize) -> Result<Vec<u8>> {
    let mut bytes = vec![tag];
    serde_json::to_writer(&mut bytes, value)?;
    Ok(bytes)
}

fn main() -> Result<()> {
    let samples = Path::new("policies/profiles/customers.toml");
    let profiles = Profiles::load(samples)?;
    let as_of = profiles.as_of.ok_or("the samples give no as_of")?;
    let mut envelopes = Vec::new();
    for profile in &profiles.customers {
        let mut envelope = Vec::new();
        encode_for(Abi::V2, &mut envelope, as_of, "{}", profile).map_err(|e| e.to_string())?;
        envelopes.push(envelope);
    }
    let seeds = [
        Seeds::new("answer_v2")?,
        Seeds::new("answer_v1")?,
        Seeds::new("envelope")?,
    ];
    let package = |name, version| PackageInfo {
        name,
        version,
        description: "",
    };
    seed_policy(
        &Reference {
            package: package("loan-rates", "1.0.0"),
            policy: loan_rates::evaluate,
        },
        &envelopes,
        &seeds,
    )?;
    seed_policy(
        &Reference {
            package: package("product-ladder", "1.0.0"),
            policy: product_ladder::evaluate,
        },
        &envelopes,
        &seeds,
    )?;
    seed_policy(
        &Reference {
            package: package("staff-allowance", "1.0.0"),
            policy: staff_allowance::evaluate,
        },
        &envelopes,
        &seeds,
    )?;
    let [answers_v2, answers_v1, _] = &seeds;
    let mut failure = Vec::new();
    wire::encode_failure("the loan type is missing", &mut failure);
    answers_v2.write("error", &failure)?;
    let problems = vec![ParamError::new("bands[1].min_age", "overlaps band 0")];
    answers_v1.write("check-params-problems", &tagged(3, &problems)?)?;
    answers_v1.write("check-params-none", &tagged(3, &Vec::<ParamError>::new())?)?;

    // The samples file whole, and each customer alone.
    let text = fs::read_to_string(samples)?;
    let profiles_seeds = Seeds::new("profiles_toml")?;
    profiles_seeds.write("customers.toml", text.as_bytes())?;
    for (i, customer) in text.split("\n[[customer]]").skip(1).enumerate() {
        let one = format!("as_of = 2026-11-23\n[[customer]]{customer}");
        profiles_seeds.write(&format!("customer-{i}.toml"), one.as_bytes())?;
    }
    Ok(())
}
