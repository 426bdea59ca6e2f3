//! The card: what it is, its serial, its PKCS#15 application, EF_ACTUA, PIN and PUK.

use cps_apdu::TransportError;
use cps_apdu::tlv::{self, TlvLimits};
use cps_card::pcsc::PcscError;
use cps_card::{CardError, CardKind, CounterState, Generation};

use crate::engine::{AccessError, Ctx, Outcome, t};
use crate::remedy::Remedy;
use crate::time::{from_civil, rfc3339};

fn connect_remedy(e: &AccessError) -> Remedy {
    match e {
        AccessError::Pcsc(PcscError::NoCard { .. }) => Remedy::NoCard,
        AccessError::Pcsc(PcscError::SharingViolation { .. })
        | AccessError::Transport(TransportError::SharingViolation) => Remedy::CardBusy,
        AccessError::Pcsc(PcscError::NoService) => Remedy::PcscServiceLinux,
        AccessError::Transport(TransportError::CardRemoved | TransportError::NoCard) => {
            Remedy::NoCard
        }
        _ => Remedy::CardMute,
    }
}

pub(super) fn kind(ctx: &mut Ctx<'_, '_>) -> Outcome {
    if let Some(e) = &ctx.facts.connect_error {
        return Outcome::fail(
            t(
                format!("impossible de joindre la carte : {e}"),
                format!("cannot reach the card: {e}"),
            ),
            Some(connect_remedy(e)),
        );
    }
    let atr = ctx.facts.atr.clone().unwrap_or_default();
    let kind = CardKind::from_atr(&atr);
    ctx.facts.kind = Some(kind);
    let atr_hex = hex::encode_upper(&atr);
    if let Some(e) = &ctx.facts.open_error {
        let (finding, remedy) = match e {
            CardError::NotACps {
                kind: CardKind::Vitale,
            } => (
                t(
                    "c'est une carte Vitale (carte du patient), pas une CPS",
                    "this is a Carte Vitale (the patient's card), not a CPS",
                ),
                Remedy::VitaleInSlot,
            ),
            CardError::NotACps { .. } => (
                t(
                    "cette carte n'est pas une carte de la famille CPS",
                    "this card is not a CPS-family card",
                ),
                Remedy::UnknownCard,
            ),
            CardError::Cps2ter => (
                t(
                    "carte d'ancienne génération (CPS2ter, avant 2011) : à remplacer",
                    "an old-generation card (CPS2ter, before 2011): to be replaced",
                ),
                Remedy::OldCard,
            ),
            CardError::Transport(TransportError::CardRemoved | TransportError::NoCard) => (
                t(
                    format!("la carte a quitté le lecteur : {e}"),
                    format!("the card left the reader: {e}"),
                ),
                Remedy::NoCard,
            ),
            other => (
                t(
                    format!("la carte ne répond pas comme une CPS : {other}"),
                    format!("the card does not answer as a CPS: {other}"),
                ),
                Remedy::CardMalfunction,
            ),
        };
        return Outcome::fail(finding, Some(remedy))
            .detail("atr", atr_hex)
            .detail("atr_says", kind);
    }
    let Some(card) = ctx.card.as_deref() else {
        return Outcome::blocked(t("pas de carte à examiner", "no card to examine"));
    };
    let generation = card.generation();
    let o = match kind {
        CardKind::Cps3Contactless => Outcome::info(t(
            "CPS3 lue sans contact : pas de code porteur ni de signature par cette interface",
            "CPS3 read contactless: no PIN and no signature over this interface",
        )),
        CardKind::Cps4ReleaseCandidate => Outcome::info(t(
            "CPS4 (version préliminaire de la puce)",
            "CPS4 (release-candidate chip)",
        )),
        other => Outcome::ok(t(other.to_string(), other.to_string())),
    };
    o.detail("atr", atr_hex).detail("kind", kind).detail(
        "generation",
        match generation {
            Generation::Cps3 => "CPS3",
            Generation::Cps4 => "CPS4",
        },
    )
}

pub(super) fn serial(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let Some(card) = ctx.card.as_deref() else {
        return Outcome::blocked(t("pas de carte", "no card"));
    };
    let sn = card.serial().clone();
    ctx.facts.hide(&sn.pan);
    ctx.facts.hide(&sn.serial);
    let o = if sn.luhn_ok {
        Outcome::ok(t(
            format!("{} (émetteur ANS, clé de Luhn correcte)", sn.serial),
            format!("{} (agency issuer, Luhn check digit right)", sn.serial),
        ))
    } else {
        Outcome::warn(
            t(
                format!("{} : la clé de Luhn du numéro est fausse", sn.serial),
                format!("{}: the number's Luhn check digit is wrong", sn.serial),
            ),
            Some(Remedy::CardMalfunction),
        )
    };
    o.detail("serial", &sn.serial).detail("pan", &sn.pan)
}

pub(super) fn pkcs15(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let Some(card) = ctx.card.as_deref_mut() else {
        return Outcome::blocked(t("pas de carte", "no card"));
    };
    match card.token_info() {
        Ok(token) => {
            let label = token.label.clone().unwrap_or_default();
            if let Some((_, number)) = label.split_once('-') {
                ctx.facts.hide(number);
            }
            ctx.facts.hide(&label);
            let mut o = Outcome::ok(t(
                format!("lisible, étiquette « {label} »"),
                format!("readable, label \"{label}\""),
            ))
            .detail("token_label", &label);
            if let Some(m) = token.manufacturer {
                o = o.detail("manufacturer", m);
            }
            o
        }
        Err(e) => Outcome::fail(
            t(
                format!("application PKCS#15 illisible : {e}"),
                format!("the PKCS#15 application is unreadable: {e}"),
            ),
            Some(Remedy::CardMalfunction),
        ),
    }
}

/// EF_ACTUA: `EC { 81 start, 82 end }`, 7-byte packed BCD `YYYYMMDDhhmmss` each.
fn parse_actua(bytes: &[u8]) -> Option<(std::time::SystemTime, std::time::SystemTime)> {
    let objects = tlv::parse_ber(bytes, TlvLimits::default()).ok()?;
    let stamp = |tag: u8| {
        let v = tlv::find_path(&objects, &[&[0xEC], &[tag]]).and_then(tlv::primitive_value)?;
        if v.len() != 7 {
            return None;
        }
        let mut digits = Vec::with_capacity(14);
        for b in v {
            for n in [b >> 4, b & 0x0F] {
                if n > 9 {
                    return None;
                }
                digits.push(u32::from(n));
            }
        }
        let num = |r: std::ops::Range<usize>| digits[r].iter().fold(0u32, |a, d| a * 10 + d);
        from_civil(
            i64::from(num(0..4)),
            num(4..6),
            num(6..8),
            num(8..10),
            num(10..12),
            num(12..14),
        )
    };
    Some((stamp(0x81)?, stamp(0x82)?))
}

pub(super) fn update(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let Some(card) = ctx.card.as_deref_mut() else {
        return Outcome::blocked(t("pas de carte", "no card"));
    };
    match card.update_window() {
        Ok(None) => Outcome::info(t(
            "absent : la carte n'a jamais été mise à jour à distance (normal)",
            "absent: the card was never updated remotely (normal)",
        )),
        Ok(Some(bytes)) => match parse_actua(&bytes) {
            Some((start, end)) => Outcome::ok(t(
                format!(
                    "campagne de mise à jour du {} au {}",
                    rfc3339(start),
                    rfc3339(end)
                ),
                format!(
                    "update campaign from {} to {}",
                    rfc3339(start),
                    rfc3339(end)
                ),
            ))
            .detail("start", rfc3339(start))
            .detail("end", rfc3339(end)),
            None => Outcome::fail(
                t(
                    "EF_ACTUA est vide ou incomplet : la Cryptolib CPS déclare alors la carte \
                     inutilisable",
                    "EF_ACTUA is empty or partial: the Cryptolib CPS then calls the card unusable",
                ),
                Some(Remedy::CardMalfunction),
            )
            .detail("content", hex::encode_upper(bytes)),
        },
        Err(e) => Outcome::warn(
            t(
                format!("EF_ACTUA illisible : {e}"),
                format!("EF_ACTUA is unreadable: {e}"),
            ),
            Some(Remedy::CardMalfunction),
        ),
    }
}

fn contactless(ctx: &Ctx<'_, '_>) -> bool {
    ctx.facts.kind == Some(CardKind::Cps3Contactless)
}

fn read_status(ctx: &mut Ctx<'_, '_>) -> Option<Result<cps_card::PinStatus, String>> {
    if ctx.facts.pin_status.is_none() {
        let card = ctx.card.as_deref_mut()?;
        ctx.facts.pin_status = Some(card.pin_status().map_err(|e| e.to_string()));
    }
    ctx.facts.pin_status.clone()
}

fn no_pin_contactless() -> Outcome {
    Outcome::not_applicable(t(
        "sans objet sans contact : le code porteur ne passe que par le contact",
        "not applicable contactless: the PIN only goes over the contacts",
    ))
}

pub(super) fn pin(ctx: &mut Ctx<'_, '_>) -> Outcome {
    if contactless(ctx) {
        return no_pin_contactless();
    }
    let status = match read_status(ctx) {
        None => return Outcome::blocked(t("pas de carte", "no card")),
        Some(Err(e)) => {
            return Outcome::fail(
                t(
                    format!("compteurs illisibles : {e}"),
                    format!("the counters are unreadable: {e}"),
                ),
                Some(Remedy::CardMalfunction),
            );
        }
        Some(Ok(s)) => s,
    };
    let c = status.pin;
    let (left, max) = (c.tries_left, c.tries_max);
    let o = match c.state {
        CounterState::Ok => Outcome::ok(t(
            format!("{left} essai(s) sur {max}"),
            format!("{left} of {max} tries left"),
        )),
        CounterState::Low => Outcome::warn(
            t(
                format!("{left} essai(s) sur {max} : un code erroné a été saisi"),
                format!("{left} of {max} tries left: a wrong code was entered"),
            ),
            Some(Remedy::ForgottenCode),
        ),
        CounterState::FinalTry => Outcome::warn(
            t(
                format!("un seul essai restant sur {max}"),
                format!("only one try left of {max}"),
            ),
            Some(Remedy::PinFinalTry),
        ),
        CounterState::Blocked | CounterState::Exhausted => {
            let puk_gone = matches!(
                status.puk.state,
                CounterState::Blocked | CounterState::Exhausted
            );
            Outcome::fail(
                t(
                    "bloqué (3 codes erronés de suite)",
                    "blocked (3 wrong codes in a row)",
                ),
                Some(if puk_gone {
                    Remedy::CardToReplace
                } else {
                    Remedy::PinBlocked
                }),
            )
        }
    };
    o.detail("tries_left", left).detail("tries_max", max)
}

pub(super) fn puk(ctx: &mut Ctx<'_, '_>) -> Outcome {
    if contactless(ctx) {
        return no_pin_contactless();
    }
    let status = match read_status(ctx) {
        None => return Outcome::blocked(t("pas de carte", "no card")),
        Some(Err(e)) => {
            return Outcome::fail(
                t(
                    format!("compteurs illisibles : {e}"),
                    format!("the counters are unreadable: {e}"),
                ),
                Some(Remedy::CardMalfunction),
            );
        }
        Some(Ok(s)) => s,
    };
    let c = status.puk;
    let (left, max) = (c.tries_left, c.tries_max);
    let usage = c
        .usage_left
        .map(|u| {
            (
                format!(", {u} déblocage(s) restant(s)"),
                format!(", {u} unblock(s) left"),
            )
        })
        .unwrap_or_default();
    let mut o = match c.state {
        CounterState::Ok => Outcome::ok(t(
            format!("{left} essai(s) sur {max}{}", usage.0),
            format!("{left} of {max} tries left{}", usage.1),
        )),
        CounterState::Low | CounterState::FinalTry => Outcome::warn(
            t(
                format!("{left} essai(s) sur {max}{}", usage.0),
                format!("{left} of {max} tries left{}", usage.1),
            ),
            Some(Remedy::PukTriesSpent),
        ),
        CounterState::Blocked => Outcome::fail(
            t(
                "bloqué : la carte ne peut plus être débloquée",
                "blocked: the card can no longer be unblocked",
            ),
            Some(Remedy::CardToReplace),
        ),
        CounterState::Exhausted => Outcome::fail(
            t(
                "épuisé (plus aucun déblocage possible) : la carte doit être remplacée",
                "used up (no unblock left): the card must be replaced",
            ),
            Some(Remedy::CardToReplace),
        ),
    };
    o = o.detail("tries_left", left).detail("tries_max", max);
    if let Some(u) = c.usage_left {
        o = o.detail("usage_left", u);
    }
    o
}
