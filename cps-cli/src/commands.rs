//! One function per command. Each reads what it needs (secrets first, before any
//! PC/SC transaction), calls the libraries, and prints data on stdout.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use clap::CommandFactory;
use cps_apdu::{Command, Response};
use cps_card::cert::Certificate;
use cps_card::pcsc::{
    ConnectOptions, Disposition, PcscContext, PcscError, ReaderInfo, ReaderSelector,
};
use cps_card::transcript::Tracing;
use cps_card::{
    CardKind, CertKind, CpsCard, Exchange, LastTry, Pin, Puk, UnblockOutcome, VerifyOutcome,
};
use cps_diag::{Lang, Remedy};
use serde_json::{Value, json};

use crate::cli::{CertsCmd, Cli, Cmd, Format, Global, PinCmd, Which};
use crate::exit;
use crate::secrets::{Reader, Source};

/// Version of every `--json` document; fields are only added within a major version.
pub const SCHEMA_VERSION: u32 = 1;

/// Runs the command line.
pub fn run(cli: &Cli, lang: Lang) -> Result<ExitCode> {
    let g = &cli.global;
    let secrets = Reader {
        no_input: g.no_input,
    };
    match &cli.command {
        Cmd::Diag(args) => crate::diag::run(g, args, lang),
        Cmd::Readers => readers(g),
        Cmd::Watch { duration, once } => watch(g, *duration, *once),
        Cmd::Status => status(g, lang),
        Cmd::Verify {
            pin,
            allow_last_try,
        } => {
            let pin = read_pin(&secrets, &pin.source(), "pin", lang)?;
            verify(g, lang, &pin, last_try(*allow_last_try))
        }
        Cmd::Pin {
            command:
                PinCmd::Change {
                    pin,
                    new_pin,
                    allow_last_try,
                },
        } => {
            let old = read_pin(&secrets, &pin.source(), "pin", lang)?;
            let new = read_new_pin(&secrets, &new_pin.source(), lang)?;
            change(g, lang, &old, &new, last_try(*allow_last_try))
        }
        Cmd::Unblock {
            puk,
            new_pin,
            allow_last_try,
        } => {
            let what = lang.pick("Code de déblocage", "Unblock code (code de déblocage)");
            let puk = Puk::new(secrets.read(&puk.source(), what, "puk", false)?.as_str())?;
            let new = read_new_pin(&secrets, &new_pin.source(), lang)?;
            unblock(g, lang, &puk, &new, last_try(*allow_last_try))
        }
        Cmd::Certs { command } => match command {
            CertsCmd::List => certs_list(g),
            CertsCmd::Export { which, format, out } => certs_export(g, *which, *format, out),
            CertsCmd::Inspect { files } => certs_inspect(g, files, lang),
        },
        Cmd::Apdu { apdus } => apdu(g, apdus),
        Cmd::Sim(args) => crate::sim::run(g, args),
        Cmd::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "cps", &mut io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Manpage => {
            clap_mangen::Man::new(Cli::command()).render(&mut io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn last_try(allow: bool) -> LastTry {
    if allow {
        LastTry::Allow
    } else {
        LastTry::Refuse
    }
}

fn read_pin(secrets: &Reader, source: &Source, flag: &str, lang: Lang) -> Result<Pin> {
    let what = lang.pick("Code porteur", "PIN (code porteur)");
    Ok(Pin::new(secrets.read(source, what, flag, false)?.as_str())?)
}

fn read_new_pin(secrets: &Reader, source: &Source, lang: Lang) -> Result<Pin> {
    let what = lang.pick("Nouveau code porteur", "New PIN");
    let confirm = matches!(source, Source::Prompt);
    Ok(Pin::new(
        secrets.read(source, what, "new-pin", confirm)?.as_str(),
    )?)
}

fn print_json(value: Value) -> Result<()> {
    let mut doc = json!({ "schema_version": SCHEMA_VERSION });
    if let (Some(doc), Value::Object(fields)) = (doc.as_object_mut(), value) {
        doc.extend(fields);
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

fn info(g: &Global, message: impl AsRef<str>) {
    if !g.quiet {
        eprintln!("{}", message.as_ref());
    }
}

fn timeout(g: &Global) -> Result<Duration> {
    Duration::try_from_secs_f64(g.timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .context("--timeout must be a positive number of seconds")
}

fn is_cps(atr: &[u8]) -> bool {
    CardKind::from_atr(atr).generation().is_some()
}

/// The reader to use: `--reader`, else the reader holding a CPS, else the only reader
/// holding a card (so that a Carte Vitale gets its own error), else the first.
fn pick_reader(ctx: &PcscContext, g: &Global) -> Result<ReaderInfo> {
    if let Some(wanted) = &g.reader {
        return Ok(ctx.select_reader(&ReaderSelector::parse(wanted))?);
    }
    let readers = ctx.list_readers()?;
    if readers.is_empty() {
        return Err(PcscError::NoReaders.into());
    }
    for selector in [
        ReaderSelector::holding_card(is_cps),
        ReaderSelector::holding_card(|_| true),
    ] {
        if let Ok(reader) = selector.resolve(&readers) {
            return Ok(reader.clone());
        }
    }
    Ok(ReaderSelector::First.resolve(&readers)?.clone())
}

/// Where `--trace` goes: nowhere, stderr (`--trace`) or appended to a file.
pub(crate) fn trace_sink(g: &Global) -> Result<Box<dyn Write>> {
    Ok(match &g.trace {
        None => Box::new(io::sink()),
        Some(path) if path.as_os_str() == "-" => Box::new(io::stderr()),
        Some(path) => Box::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the trace file {}", path.display()))?,
        ),
    })
}

/// Connects, opens the card inside one PC/SC transaction, runs `f`, and disconnects
/// with `disposition` (leave after read-only work, reset after PIN operations so the
/// card is not left unlocked).
fn with_card<R>(
    g: &Global,
    disposition: Disposition,
    f: impl FnOnce(
        &mut CpsCard<Tracing<&mut cps_card::pcsc::PcscTransaction<'_>, Box<dyn Write>>>,
    ) -> Result<R>,
) -> Result<R> {
    let ctx = PcscContext::establish()?;
    let reader = pick_reader(&ctx, g)?;
    if !reader.card_present {
        return Err(PcscError::NoCard {
            reader: reader.name,
        }
        .into());
    }
    let mut transport = ctx.connect(
        &reader.name,
        ConnectOptions::default().with_timeout(timeout(g)?),
    )?;
    if g.verbose > 0 {
        eprintln!("reader: {}", reader.name);
    }
    let sink = trace_sink(g)?;
    let mut run = Some(
        |txn: &mut cps_card::pcsc::PcscTransaction<'_>| -> Result<R> {
            let mut card = CpsCard::open(Tracing::new(txn, sink))?;
            f(&mut card)
        },
    );
    let mut resets = 0;
    let result = loop {
        match transport.begin_transaction() {
            Ok(mut txn) => {
                let Some(run) = run.take() else {
                    break Err(anyhow::anyhow!("internal error: operation already run"));
                };
                break run(&mut txn).and_then(|value| {
                    txn.end()?;
                    Ok(value)
                });
            }
            // Another application reset the card between our connection and our
            // transaction (after its own PIN operation). Nothing was sent in this
            // session yet, so there is no state to lose: reconnect and begin again.
            Err(cps_apdu::TransportError::CardReset) if resets < 3 => resets += 1,
            Err(e) => break Err(e.into()),
        }
        if let Err(e) = transport.reconnect(Disposition::Leave) {
            break Err(e.into());
        }
    };
    let closed = transport.disconnect(disposition);
    let value = result?;
    closed.context("disconnecting from the card")?;
    Ok(value)
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

fn readers(g: &Global) -> Result<ExitCode> {
    let ctx = PcscContext::establish()?;
    let readers = ctx.list_readers()?;
    if g.json {
        let list: Vec<Value> = readers
            .iter()
            .map(|r| {
                json!({
                    "index": r.index,
                    "name": r.name,
                    "card_present": r.card_present,
                    "atr": r.atr.as_deref().map(hex_upper),
                    "card": r.atr.as_deref().map(|a| CardKind::from_atr(a).to_string()),
                })
            })
            .collect();
        print_json(json!({ "readers": list }))?;
    } else if readers.is_empty() {
        eprintln!("no reader");
    } else {
        for r in &readers {
            match &r.atr {
                Some(atr) if r.card_present => println!(
                    "{}: {}\n   card: {}\n   ATR:  {}",
                    r.index,
                    r.name,
                    CardKind::from_atr(atr),
                    cps_apdu::command::spaced_hex(atr)
                ),
                _ => println!("{}: {}\n   no card", r.index, r.name),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn watch(g: &Global, limit: Option<f64>, once: bool) -> Result<ExitCode> {
    let ctx = PcscContext::establish()?;
    // --reader: that reader's events only (resolved once, as the other commands do).
    let only = match &g.reader {
        Some(wanted) => Some(ctx.select_reader(&ReaderSelector::parse(wanted))?.name),
        None => None,
    };
    let mut watcher = ctx.watch()?;
    let deadline = limit
        .map(|s| Duration::try_from_secs_f64(s).context("--duration must be positive"))
        .transpose()?
        .map(|d| std::time::Instant::now() + d);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            break;
        }
        let Some(event) = watcher.next_event(left)? else {
            break;
        };
        if only.as_deref().is_some_and(|name| name != event.reader()) {
            continue;
        }
        use cps_card::pcsc::ReaderEvent as E;
        let (kind, atr) = match &event {
            E::ReaderAdded { .. } => ("reader_added", None),
            E::ReaderRemoved { .. } => ("reader_removed", None),
            E::CardInserted { atr, .. } => ("card_inserted", Some(atr.as_slice())),
            E::CardMute { .. } => ("card_mute", None),
            E::CardRemoved { .. } => ("card_removed", None),
            _ => ("other", None),
        };
        if g.json {
            println!(
                "{}",
                json!({
                    "schema_version": SCHEMA_VERSION,
                    "event": kind,
                    "reader": event.reader(),
                    "atr": atr.map(hex_upper),
                    "card": atr.map(|a| CardKind::from_atr(a).to_string()),
                })
            );
        } else {
            match atr {
                Some(atr) => println!(
                    "{kind}\t{}\t{}\t{}",
                    event.reader(),
                    CardKind::from_atr(atr),
                    hex_upper(atr)
                ),
                None => println!("{kind}\t{}", event.reader()),
            }
        }
        io::stdout().flush()?;
        if once
            && matches!(
                event,
                E::CardInserted { .. } | E::CardRemoved { .. } | E::CardMute { .. }
            )
        {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cert_summary(which: CertKind, c: &Certificate) -> Value {
    json!({
        "which": which,
        "subject": c.subject(),
        "issuer": c.issuer(),
        "serial": c.serial_hex(),
        "not_before": c.not_before_rfc3339(),
        "not_after": c.not_after_rfc3339(),
        "sha256": c.sha256_fingerprint(),
    })
}

fn status(g: &Global, lang: Lang) -> Result<ExitCode> {
    let doc = with_card(g, Disposition::Leave, |card| {
        let pins = card.pin_status()?;
        let certs = card.certificates()?;
        let token = card.token_info()?;
        let holder = certs
            .iter()
            .find(|c| c.which == CertKind::Auth)
            .map(|c| c.certificate.holder())
            .transpose()?;
        let kind = card.kind();
        Ok(json!({
            "card": {
                "generation": kind.generation(),
                "interface": kind.interface(),
                "kind": kind.to_string(),
                "serial": card.serial().serial,
                "label": token.label,
                "atr": hex_upper(card.atr()),
            },
            "holder": holder,
            "pin": pins.pin,
            "puk": pins.puk,
            "certificates": certs.iter().map(|c| cert_summary(c.which, &c.certificate)).collect::<Vec<_>>(),
            "apdus": card.apdus_sent(),
        }))
    })?;
    if g.json {
        print_json(doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let card = &doc["card"];
    println!(
        "{:<13} {} — {} {}",
        lang.pick("carte", "card"),
        text(&card["kind"]),
        lang.pick("n°", "serial"),
        text(&card["serial"])
    );
    if let Some(label) = card["label"].as_str() {
        println!("{:<13} {label}", lang.pick("libellé", "label"));
    }
    let h = &doc["holder"];
    if !h.is_null() {
        println!(
            "{:<13} {} {} ({} {})",
            lang.pick("titulaire", "holder"),
            text(&h["given_name"]),
            text(&h["surname"]),
            text(&h["id_kind"]),
            text(&h["national_id"])
        );
        if let Some(p) = h["profession_label"].as_str() {
            println!("{:<13} {p}", "profession");
        }
        if h["test_card"].as_bool() == Some(true) {
            println!("{:<13} {}", "", lang.pick("carte de test", "test card"));
        }
    }
    let state = |s: &str| match (s, lang) {
        ("low", Lang::Fr) => "essais consommés",
        ("low", Lang::En) => "tries spent",
        ("final_try", Lang::Fr) => "DERNIER ESSAI",
        ("final_try", Lang::En) => "FINAL TRY",
        ("blocked", Lang::Fr) => "BLOQUÉ",
        ("blocked", Lang::En) => "BLOCKED",
        ("exhausted", Lang::Fr) => "ÉPUISÉ",
        ("exhausted", Lang::En) => "USED UP",
        _ => "ok",
    };
    for (name, key) in [
        (lang.pick("code porteur", "PIN"), "pin"),
        (lang.pick("déblocage", "PUK"), "puk"),
    ] {
        let c = &doc[key];
        print!(
            "{name:<13} {}/{} {} ({})",
            c["tries_left"],
            c["tries_max"],
            lang.pick("essais restants", "tries left"),
            state(c["state"].as_str().unwrap_or(""))
        );
        if let Some(u) = c["usage_left"].as_u64() {
            print!(
                ", {u} {}",
                lang.pick("déblocages restants", "unblocks left")
            );
        }
        println!();
    }
    for c in doc["certificates"].as_array().into_iter().flatten() {
        println!(
            "{:<13} {} {} — {}",
            format!("cert {}", text(&c["which"])),
            lang.pick("valide jusqu'au", "valid until"),
            text(&c["not_after"]),
            text(&c["subject"])
        );
    }
    if doc["pin"]["state"] == "blocked" {
        eprintln!("\n{}", Remedy::PinBlocked.text(lang));
    }
    if doc["puk"]["state"] == "exhausted" || doc["puk"]["state"] == "blocked" {
        eprintln!("\n{}", Remedy::CardToReplace.text(lang));
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(g: &Global, lang: Lang, pin: &Pin, last: LastTry) -> Result<ExitCode> {
    let outcome = with_card(
        g,
        Disposition::Reset,
        |card| Ok(card.verify_pin(pin, last)?),
    )?;
    report_pin_outcome(
        g,
        lang,
        outcome,
        lang.pick("Code porteur correct.", "PIN verified."),
    )
}

fn change(g: &Global, lang: Lang, old: &Pin, new: &Pin, last: LastTry) -> Result<ExitCode> {
    let outcome = with_card(g, Disposition::Reset, |card| {
        Ok(card.change_pin(old, new, last)?)
    })?;
    report_pin_outcome(
        g,
        lang,
        outcome,
        lang.pick("Code porteur changé.", "PIN changed."),
    )
}

fn report_pin_outcome(
    g: &Global,
    lang: Lang,
    outcome: VerifyOutcome,
    ok: &str,
) -> Result<ExitCode> {
    if g.json {
        print_json(json!({ "result": outcome }))?;
    }
    let code = match outcome {
        VerifyOutcome::Verified => {
            info(g, ok);
            exit::OK
        }
        VerifyOutcome::WrongPin { tries_left } => {
            eprintln!(
                "{}",
                match lang {
                    Lang::Fr => format!("Code porteur erroné : {tries_left} essai(s) restant(s)."),
                    Lang::En => format!("Wrong PIN: {tries_left} tries left."),
                }
            );
            if tries_left == 1 {
                eprintln!("{}", Remedy::PinFinalTry.text(lang));
            }
            exit::WRONG_CODE
        }
        VerifyOutcome::Blocked => {
            eprintln!("{}", Remedy::PinBlocked.text(lang));
            exit::REFUSED
        }
    };
    Ok(ExitCode::from(code))
}

fn unblock(g: &Global, lang: Lang, puk: &Puk, new: &Pin, last: LastTry) -> Result<ExitCode> {
    let outcome = with_card(g, Disposition::Reset, |card| {
        Ok(card.unblock(puk, new, last)?)
    })?;
    if g.json {
        print_json(json!({ "result": outcome }))?;
    }
    let code = match outcome {
        UnblockOutcome::Unblocked => {
            info(
                g,
                lang.pick(
                    "Carte débloquée, nouveau code porteur enregistré.",
                    "Card unblocked; the new PIN is set.",
                ),
            );
            exit::OK
        }
        UnblockOutcome::WrongPuk { tries_left } => {
            eprintln!(
                "{}",
                match lang {
                    Lang::Fr =>
                        format!("Code de déblocage erroné : {tries_left} essai(s) restant(s)."),
                    Lang::En => format!("Wrong unblock code: {tries_left} tries left."),
                }
            );
            exit::WRONG_CODE
        }
        UnblockOutcome::PukBlocked => {
            eprintln!("{}", Remedy::CardToReplace.text(lang));
            exit::REFUSED
        }
    };
    Ok(ExitCode::from(code))
}

fn certs_list(g: &Global) -> Result<ExitCode> {
    let certs = with_card(g, Disposition::Leave, |card| Ok(card.certificates()?))?;
    if g.json {
        let list: Vec<Value> = certs
            .iter()
            .map(|c| {
                let mut v = cert_summary(c.which, &c.certificate);
                v["label"] = json!(c.label);
                v
            })
            .collect();
        print_json(json!({ "certificates": list }))?;
    } else {
        for c in &certs {
            println!(
                "{:?}\t{}\n  subject: {}\n  issuer:  {}\n  valid:   {} → {}\n  sha256:  {}",
                c.which,
                c.label,
                c.certificate.subject(),
                c.certificate.issuer(),
                c.certificate.not_before_rfc3339(),
                c.certificate.not_after_rfc3339(),
                c.certificate.sha256_fingerprint()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn certs_export(g: &Global, which: Which, format: Format, out: &str) -> Result<ExitCode> {
    let (serial, certs) = with_card(g, Disposition::Leave, |card| {
        Ok((card.serial().serial.clone(), card.certificates()?))
    })?;
    let wanted = certs.iter().filter(|c| match which {
        Which::All => true,
        Which::Auth => c.which == CertKind::Auth,
        Which::Sign => c.which == CertKind::Sign,
    });
    let wanted: Vec<_> = wanted.collect();
    if out == "-" && format == Format::Der && wanted.len() > 1 {
        bail!(
            "several DER certificates cannot go to stdout: use --which, --format pem or --out DIR"
        );
    }
    let mut written = Vec::new();
    for c in wanted {
        let bytes = match format {
            Format::Pem => c.certificate.to_pem().into_bytes(),
            Format::Der => c.certificate.der().to_vec(),
        };
        if out == "-" {
            io::stdout().write_all(&bytes)?;
            written.push("-".to_owned());
        } else {
            let name = format!(
                "cps-{serial}-{}.{}",
                match c.which {
                    CertKind::Auth => "auth",
                    CertKind::Sign => "sign",
                    CertKind::Tech => "tech",
                },
                match format {
                    Format::Pem => "pem",
                    Format::Der => "der",
                }
            );
            let path = Path::new(out).join(name);
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            info(g, format!("wrote {}", path.display()));
            written.push(path.display().to_string());
        }
    }
    if written.is_empty() {
        bail!("the card has no certificate of that kind");
    }
    Ok(ExitCode::SUCCESS)
}

fn certs_inspect(g: &Global, files: &[std::path::PathBuf], lang: Lang) -> Result<ExitCode> {
    let mut entries = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let certs = Certificate::from_file_bytes_all(&bytes)
            .with_context(|| format!("{} holds no readable certificate", file.display()))?;
        for cert in certs {
            let holder = cert.holder().ok();
            let now = SystemTime::now();
            if g.json {
                entries.push(json!({
                    "file": file.display().to_string(),
                    "holder": holder,
                    "card_number": holder.as_ref().and_then(|h| h.card_number.clone()),
                    "subject": cert.subject(),
                    "issuer": cert.issuer(),
                    "serial": cert.serial_hex(),
                    "not_before": cert.not_before_rfc3339(),
                    "not_after": cert.not_after_rfc3339(),
                    "key_usage": cert.key_usage().map(|k| k.names()).unwrap_or_default(),
                    "role": format!("{:?}", cert.role()).to_lowercase(),
                    "test_hierarchy": cert.is_test_hierarchy(),
                    "sha256": cert.sha256_fingerprint(),
                }));
            } else {
                println!("{}:", file.display());
                match &holder {
                    Some(h) => println!(
                        "  holder:  {}",
                        match lang {
                            Lang::Fr => h.summary_fr(),
                            Lang::En => h.summary_en(),
                        }
                    ),
                    None => println!("  (not a CPS card certificate)"),
                }
                println!(
                    "  subject: {}\n  issuer:  {}\n  valid:   {} → {} ({:?})\n  usage:   {}\n  sha256:  {}",
                    cert.subject(),
                    cert.issuer(),
                    cert.not_before_rfc3339(),
                    cert.not_after_rfc3339(),
                    cert.validity_at(now),
                    cert.key_usage()
                        .map(|k| k.names().join(", "))
                        .unwrap_or_default(),
                    cert.sha256_fingerprint()
                );
            }
        }
    }
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "schema_version": SCHEMA_VERSION, "certificates": entries })
            )?
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn apdu(g: &Global, apdus: &[String]) -> Result<ExitCode> {
    let commands = apdus
        .iter()
        .map(|text| {
            let bytes = hex::decode(text.replace([' ', ':'], ""))
                .with_context(|| format!("\"{text}\" is not hex"))?;
            Command::decode(&bytes).with_context(|| format!("\"{text}\" is not a command APDU"))
        })
        .collect::<Result<Vec<_>>>()?;
    let ctx = PcscContext::establish()?;
    let reader = pick_reader(&ctx, g)?;
    let mut transport = ctx.connect(
        &reader.name,
        ConnectOptions::default().with_timeout(timeout(g)?),
    )?;
    let t0 = transport.protocol() == cps_card::pcsc::Protocol::T0;
    let sink = trace_sink(g)?;
    let results = transport.transaction(|txn| -> Result<Vec<(Command, Response)>> {
        let mut ex = Exchange::new(Tracing::new(txn, sink), t0);
        commands
            .iter()
            .map(|c| Ok((c.clone(), ex.transmit(c)?)))
            .collect()
    });
    let closed = transport.disconnect(Disposition::Reset);
    let results = results?;
    closed?;
    if g.json {
        let list: Vec<Value> = results.iter().map(|(c, r)| json!({
            "command": cps_apdu::command::trace_hex(&c.to_bytes().map(|b| b.to_vec()).unwrap_or_default()),
            "data": hex_upper(&r.data),
            "sw": format!("{:04X}", r.sw.to_u16()),
            "meaning": r.sw.meaning(),
        })).collect();
        print_json(json!({ "exchanges": list }))?;
    } else {
        for (c, r) in &results {
            println!("> {c}\n< {r}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
