//! `cps-sim-pki`: (re)creates the test PKI fixtures of `cps-sim`, and issues CRLs and sample
//! card certificates from them.
//!
//! ```text
//! cargo run --release -p cps-sim --example cps-sim-pki -- generate --out cps-sim/fixtures/pki
//! cargo run -p cps-sim --example cps-sim-pki -- crl --revoke 4097 4098 --out revoked.crl
//! cargo run -p cps-sim --example cps-sim-pki -- sample --usage authentication --out auth.der
//! ```
//!
//! Everything it writes is public test material: the keys come from a fixed seed and are
//! committed. An example rather than a binary so that `cargo install cps-sim` does not ship
//! a developer tool and the crate's own binary stays the only one `cargo run` picks.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use cps_sim::pki::{self, CardIdentity, CertUsage, TestPki};

const USAGE: &str = "\
usage:
  cps-sim-pki generate --out DIR [--seed N]
      Generate the root and issuing CA keys and certificates and the pool of card keys
      into DIR (the committed fixtures are cps-sim/fixtures/pki, seed 0x4350532054455354).
  cps-sim-pki crl --revoke SERIAL... --out FILE [--this-update UNIX_SECONDS] [--days N]
      Write a DER CRL of the issuing CA revoking the given card certificate serials
      (decimal, or hex with 0x). thisUpdate and the revocation dates default to now,
      nextUpdate to thisUpdate + N days (default 7). Give --this-update to reproduce a CRL.
  cps-sim-pki sample --out FILE [--usage authentication|signature|technical] [--key N]
      Write a sample card certificate (a test doctor, card key N, default 0) to inspect with
      `openssl x509 -inform der -text -noout -in FILE`.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cps-sim-pki: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        return Err("missing subcommand".into());
    };
    let options = Options::parse(rest)?;
    match command.as_str() {
        "generate" => generate(&options),
        "crl" => crl(&options),
        "sample" => sample(&options),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown subcommand {other:?}").into()),
    }
}

/// `--name value...` pairs; a flag may take several values (`--revoke 1 2 3`).
struct Options(Vec<(String, Vec<String>)>);

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options: Vec<(String, Vec<String>)> = Vec::new();
        for arg in args {
            if let Some(name) = arg.strip_prefix("--") {
                options.push((name.to_owned(), Vec::new()));
            } else if let Some((_, values)) = options.last_mut() {
                values.push(arg.clone());
            } else {
                return Err(format!("unexpected argument {arg:?}").into());
            }
        }
        Ok(Options(options))
    }

    fn values(&self, name: &str) -> Option<&[String]> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn one(&self, name: &str) -> Result<Option<&str>> {
        match self.values(name) {
            None => Ok(None),
            Some([value]) => Ok(Some(value)),
            Some(_) => Err(format!("--{name} takes one value").into()),
        }
    }

    fn required(&self, name: &str) -> Result<&str> {
        self.one(name)?
            .ok_or_else(|| format!("--{name} is required").into())
    }
}

fn number(text: &str) -> Result<u64> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("{text:?} is not a number: {e}").into())
}

fn generate(options: &Options) -> Result<()> {
    let out = PathBuf::from(options.required("out")?);
    let seed = match options.one("seed")? {
        Some(seed) => number(seed)?,
        None => pki::FIXTURE_SEED,
    };
    std::fs::create_dir_all(&out)?;
    for file in pki::generate_fixtures(seed)? {
        let path = out.join(&file.name);
        std::fs::write(&path, &file.der)?;
        println!("{} ({} bytes)", path.display(), file.der.len());
    }
    Ok(())
}

fn crl(options: &Options) -> Result<()> {
    let out = options.required("out")?;
    let serials = options
        .values("revoke")
        .ok_or("--revoke is required")?
        .iter()
        .map(|s| number(s))
        .collect::<Result<Vec<_>>>()?;
    let this_update = match options.one("this-update")? {
        Some(secs) => SystemTime::UNIX_EPOCH + Duration::from_secs(number(secs)?),
        None => SystemTime::now(),
    };
    let days = match options.one("days")? {
        Some(days) => number(days)?,
        None => 7,
    };
    let next_update = this_update + Duration::from_secs(days * 86_400);
    let revoked: Vec<(u64, SystemTime)> = serials.iter().map(|&s| (s, this_update)).collect();
    let der = TestPki::load()?.issue_crl(&revoked, this_update, next_update)?;
    std::fs::write(out, &der)?;
    println!("{out} ({} bytes, {} revoked)", der.len(), revoked.len());
    Ok(())
}

fn sample(options: &Options) -> Result<()> {
    let out = options.required("out")?;
    let usage = match options.one("usage")?.unwrap_or("authentication") {
        "authentication" | "auth" => CertUsage::Authentication,
        "signature" | "sign" => CertUsage::Signature,
        "technical" | "tech" => CertUsage::Technical,
        other => return Err(format!("unknown usage {other:?}").into()),
    };
    let key_index = match options.one("key")? {
        Some(index) => usize::try_from(number(index)?)?,
        None => 0,
    };
    let identity = CardIdentity {
        national_id: "899700218896".into(),
        given_name: "MARIE".into(),
        surname: "DUPONT-TEST".into(),
        profession_code: Some(10),
        profession_label: "Médecin".into(),
        card_type: 0,
        test_card: true,
        card_number: "2800012345".into(),
        structure: None,
    };
    let key = pki::card_key(key_index)?;
    let not_before = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600); // 2025-01-01
    let not_after = not_before + Duration::from_secs(3 * 365 * 86_400);
    let der = TestPki::load()?.issue(
        &identity,
        usage,
        &key.to_public_key(),
        not_before,
        not_after,
        0x1000 + key_index as u64,
    )?;
    std::fs::write(out, &der)?;
    println!("{out} ({} bytes)", der.len());
    Ok(())
}
