//! The PC/SC service, the readers, and whether the chosen reader holds a card.

use cps_card::CardKind;
use cps_card::pcsc::{PcscError, ReaderInfo, ReaderSelector};

use crate::engine::{Ctx, Outcome, t};
use crate::env::Environment;
use crate::remedy::Remedy;

/// USB devices known to be SESAM-Vitale terminals: vendor, product, name.
const SESAM_VITALE_USB: &[(&str, &str, &str)] =
    &[("0b00", "0090", "Ingenico SESAM-Vitale terminal")];

/// Words in reader names that say SESAM-Vitale.
const SESAM_VITALE_WORDS: &[&str] = &["sesam", "vitale", "ingenico", "olaqin", "xiring", "prium"];

fn in_process() -> Outcome {
    Outcome::not_applicable(t(
        "sans objet : la carte virtuelle est dans le processus, sans PC/SC",
        "not applicable: the virtual card is in-process, without PC/SC",
    ))
}

fn no_service_remedy(env: &Environment) -> Remedy {
    match env.os.as_str() {
        "windows" => Remedy::PcscServiceWindows,
        "macos" => Remedy::PcscServiceMacos,
        _ => Remedy::PcscServiceLinux,
    }
}

pub(super) fn service(ctx: &mut Ctx<'_, '_>) -> Outcome {
    if ctx.facts.in_process {
        return in_process();
    }
    let Some(pcsc) = ctx.pcsc.as_deref_mut() else {
        return Outcome::blocked(t("pas d'accès PC/SC", "no PC/SC access"));
    };
    match pcsc.list_readers() {
        Ok(readers) => {
            let n = readers.len();
            ctx.facts.readers = Some(readers);
            Outcome::ok(t(
                format!("joignable ({n} lecteur(s))"),
                format!("reachable ({n} reader(s))"),
            ))
        }
        Err(PcscError::NoService) => {
            let (fr, en) = match ctx.env.os.as_str() {
                "windows" => (
                    "le service « Carte à puce » (SCardSvr) ne fonctionne pas",
                    "the \"Smart Card\" service (SCardSvr) is not running",
                ),
                "macos" => (
                    "le service de carte à puce ne répond pas",
                    "the smart card service does not answer",
                ),
                _ => (
                    "pcscd ne fonctionne pas (SCARD_E_NO_SERVICE)",
                    "pcscd is not running (SCARD_E_NO_SERVICE)",
                ),
            };
            Outcome::fail(t(fr, en), Some(no_service_remedy(ctx.env)))
        }
        Err(PcscError::NoReaders) => {
            ctx.facts.readers = Some(Vec::new());
            Outcome::ok(t("joignable (aucun lecteur)", "reachable (no reader)"))
        }
        Err(e) => Outcome::fail(
            t(
                format!("le service PC/SC répond mal : {e}"),
                format!("the PC/SC service misbehaves: {e}"),
            ),
            Some(no_service_remedy(ctx.env)),
        ),
    }
}

/// SESAM-Vitale terminals on the USB bus (Linux sysfs, no root needed).
fn usb_terminals(env: &Environment) -> Vec<String> {
    if !env.is_linux() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(env.path("/sys/bus/usb/devices")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .map(|s| s.trim().to_ascii_lowercase())
                .unwrap_or_default()
        };
        let (vendor, product) = (read("idVendor"), read("idProduct"));
        if let Some((_, _, name)) = SESAM_VITALE_USB
            .iter()
            .find(|(v, p, _)| *v == vendor && *p == product)
        {
            found.push(format!("{vendor}:{product} ({name})"));
        }
    }
    found.sort();
    found
}

fn card_label(r: &ReaderInfo) -> String {
    match (&r.atr, r.card_present, r.mute) {
        (_, false, _) => "empty".to_owned(),
        (_, true, true) => "mute card".to_owned(),
        (Some(atr), true, false) => {
            format!("{} ({})", CardKind::from_atr(atr), hex::encode_upper(atr))
        }
        (None, true, false) => "card".to_owned(),
    }
}

/// Readers that are slots of one device: same name but for the last number.
fn multi_slot(readers: &[ReaderInfo]) -> Vec<String> {
    let stem = |name: &str| -> String {
        match name.rsplit_once(' ') {
            Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) => head.to_owned(),
            _ => name.to_owned(),
        }
    };
    let mut groups: Vec<(String, usize)> = Vec::new();
    for r in readers {
        let s = stem(&r.name);
        match groups.iter_mut().find(|(g, _)| *g == s) {
            Some((_, n)) => *n += 1,
            None => groups.push((s, 1)),
        }
    }
    groups
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(g, n)| format!("{g} ({n} slots)"))
        .collect()
}

/// The reader to diagnose: `--reader`, else the one holding a CPS, else one holding
/// a card, else the first.
fn choose<'r>(
    wanted: Option<&str>,
    readers: &'r [ReaderInfo],
) -> Result<&'r ReaderInfo, PcscError> {
    if let Some(w) = wanted {
        return ReaderSelector::parse(w).resolve(readers);
    }
    let is_cps = |r: &&ReaderInfo| {
        r.atr
            .as_deref()
            .is_some_and(|a| CardKind::from_atr(a).generation().is_some())
    };
    readers
        .iter()
        .find(is_cps)
        .or_else(|| readers.iter().find(|r| r.card_present))
        .or_else(|| readers.first())
        .ok_or(PcscError::NoReaders)
}

pub(super) fn readers(ctx: &mut Ctx<'_, '_>) -> Outcome {
    if ctx.facts.in_process {
        return in_process();
    }
    let readers = ctx.facts.readers.clone().unwrap_or_default();
    let usb = usb_terminals(ctx.env);
    let with_usb = |mut o: Outcome| {
        for u in &usb {
            o = o.detail("sesam_vitale_usb", u);
        }
        o
    };
    if readers.is_empty() {
        if !usb.is_empty() {
            return with_usb(Outcome::fail(
                t(
                    "aucun lecteur PC/SC, mais un terminal SESAM-Vitale est branché en USB : il \
                     fonctionne sans doute en mode PSS",
                    "no PC/SC reader, but a SESAM-Vitale terminal is plugged in over USB: it \
                     probably runs in PSS mode",
                ),
                Some(Remedy::PssReader),
            ));
        }
        return Outcome::fail(
            t("aucun lecteur de cartes", "no card reader"),
            Some(Remedy::NoReader),
        );
    }
    let mut details = Vec::new();
    for r in &readers {
        details.push(crate::report::Detail {
            key: format!("reader[{}]", r.index),
            value: format!("{} — {}", r.name, card_label(r)),
        });
    }
    let slots = multi_slot(&readers);
    let sesam: Vec<&str> = readers
        .iter()
        .filter(|r| {
            let n = r.name.to_ascii_lowercase();
            SESAM_VITALE_WORDS.iter().any(|w| n.contains(w))
        })
        .map(|r| r.name.as_str())
        .collect();
    let chosen = match choose(ctx.opts.reader.as_deref(), &readers) {
        Ok(r) => r.clone(),
        Err(e) => {
            return with_usb(
                Outcome::fail(
                    t(
                        format!("lecteur demandé introuvable : {e}"),
                        format!("the reader asked for: {e}"),
                    ),
                    Some(Remedy::NoReader),
                )
                .details(details),
            );
        }
    };
    let n = readers.len();
    let holding = readers.iter().filter(|r| r.card_present).count();
    let mut o = Outcome::ok(t(
        format!(
            "{n} lecteur(s), {holding} avec une carte ; lecteur diagnostiqué : {}",
            chosen.name
        ),
        format!(
            "{n} reader(s), {holding} holding a card; reader diagnosed: {}",
            chosen.name
        ),
    ))
    .details(details)
    .detail("chosen", &chosen.name);
    for s in slots {
        o = o.detail("multi_slot_reader", s);
    }
    for s in sesam {
        o = o.detail("sesam_vitale_reader", s);
    }
    ctx.facts.chosen = Some(chosen);
    with_usb(o)
}

pub(super) fn card_present(ctx: &mut Ctx<'_, '_>) -> Outcome {
    if ctx.facts.in_process {
        let atr = ctx.facts.atr.clone().unwrap_or_default();
        return Outcome::ok(t(
            "carte virtuelle, dans le processus",
            "virtual card, in-process",
        ))
        .detail("atr", hex::encode_upper(atr));
    }
    let Some(r) = ctx.facts.chosen.clone() else {
        return Outcome::blocked(t("aucun lecteur choisi", "no reader chosen"));
    };
    if !r.card_present {
        let others: Vec<&str> = ctx
            .facts
            .readers
            .iter()
            .flatten()
            .filter(|o| o.card_present && o.name != r.name)
            .map(|o| o.name.as_str())
            .collect();
        let mut o = Outcome::fail(
            t(
                format!("aucune carte dans « {} »", r.name),
                format!("no card in \"{}\"", r.name),
            ),
            Some(Remedy::NoCard),
        );
        for other in others {
            o = o.detail("card_in_other_reader", other);
        }
        return o;
    }
    if r.mute {
        return Outcome::fail(
            t(
                format!("la carte de « {} » ne répond pas (muette)", r.name),
                format!("the card in \"{}\" does not answer (mute)", r.name),
            ),
            Some(Remedy::CardMute),
        );
    }
    if r.exclusive {
        return Outcome::fail(
            t(
                format!(
                    "une autre application tient la carte de « {} » en exclusivité",
                    r.name
                ),
                format!(
                    "another application holds the card in \"{}\" exclusively",
                    r.name
                ),
            ),
            Some(Remedy::CardBusy),
        );
    }
    let atr = r.atr.clone().unwrap_or_default();
    ctx.facts.atr = Some(atr.clone());
    Outcome::ok(t(
        format!("une carte est dans « {} »", r.name),
        format!("a card is in \"{}\"", r.name),
    ))
    .detail("atr", hex::encode_upper(atr))
    .detail("in_use_by_others", r.in_use)
}
