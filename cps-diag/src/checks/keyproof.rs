//! The key proof: the card authenticates a fresh challenge and signs a message, and
//! both verify with its certificates' public keys — what a secure online service
//! relies on.

use cps_card::cert::Certificate;
use cps_card::{CardError, CertKind, CounterState, VerifyOutcome};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::engine::{Ctx, Outcome, t};
use crate::remedy::Remedy;

/// DER prefix of a SHA-256 DigestInfo (PKCS#1 v1.5).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Whether `signature` is a PKCS#1 v1.5 SHA-256 signature of `digest` by the key of
/// `cert`.
pub(crate) fn verifies(
    cert: &Certificate,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    let key = RsaPublicKey::from_public_key_der(cert.public_key_der())
        .map_err(|e| format!("the certificate's key is not RSA: {e}"))?;
    Ok(key
        .verify(Pkcs1v15Sign::new::<Sha256>(), digest, signature)
        .is_ok())
}

fn card_refused(what: (&str, &str), e: &CardError) -> Outcome {
    Outcome::fail(
        t(
            format!("la carte a refusé {} : {e}", what.0),
            format!("the card refused {}: {e}", what.1),
        ),
        Some(Remedy::CardMalfunction),
    )
}

pub(super) fn proof(ctx: &mut Ctx<'_, '_>) -> Outcome {
    if ctx.facts.kind == Some(cps_card::CardKind::Cps3Contactless) {
        return Outcome::not_applicable(t(
            "sans objet sans contact (pas de code porteur)",
            "not applicable contactless (no PIN)",
        ));
    }
    let Some(pin) = ctx.opts.pin.clone() else {
        let reason = ctx.opts.no_pin_reason.clone().unwrap_or_else(|| {
            t(
                "non faite : aucun code porteur fourni (--pin-stdin, --pin-file ou --pin-env)",
                "not done: no PIN supplied (--pin-stdin, --pin-file or --pin-env)",
            )
        });
        return Outcome::not_applicable(reason);
    };
    let cert_of = |k| {
        ctx.facts
            .certs
            .iter()
            .find(|c| c.which == k)
            .map(|c| c.certificate.clone())
    };
    let (Some(auth_cert), Some(sign_cert)) = (cert_of(CertKind::Auth), cert_of(CertKind::Sign))
    else {
        return Outcome::blocked(t(
            "certificats d'authentification ou de signature absents",
            "authentication or signature certificate missing",
        ));
    };
    let last_try = ctx.opts.last_try;
    let Some(card) = ctx.card.as_deref_mut() else {
        return Outcome::blocked(t("pas de carte", "no card"));
    };
    match card.verify_pin(&pin, last_try) {
        Ok(VerifyOutcome::Verified) => {}
        Ok(VerifyOutcome::WrongPin { tries_left }) => {
            return Outcome::fail(
                t(
                    format!("code porteur erroné : {tries_left} essai(s) restant(s)"),
                    format!("wrong PIN: {tries_left} tries left"),
                ),
                Some(if tries_left == 1 {
                    Remedy::PinFinalTry
                } else {
                    Remedy::WrongPin
                }),
            )
            .detail("tries_left", tries_left);
        }
        Ok(VerifyOutcome::Blocked) | Err(CardError::PinBlocked) => {
            return Outcome::fail(
                t("le code porteur est bloqué", "the PIN is blocked"),
                Some(Remedy::PinBlocked),
            );
        }
        Err(CardError::LastTry { .. }) => {
            return Outcome::warn(
                t(
                    "non faite : il ne reste qu'un essai au code porteur (--allow-last-try pour \
                     l'utiliser)",
                    "not done: the PIN has one try left (--allow-last-try to use it)",
                ),
                Some(Remedy::PinFinalTry),
            );
        }
        Err(e) => return card_refused(("le code porteur", "the PIN"), &e),
    }
    ctx.facts.pin_verified = true;
    // A stale counter read before the verification would mislead later readers.
    if let Some(Ok(s)) = &mut ctx.facts.pin_status {
        s.pin.tries_left = s.pin.tries_max;
        s.pin.state = CounterState::Ok;
    }

    let nonce: [u8; 32] = rand::random();
    let digest = Sha256::digest(nonce);
    let mut digest_info = SHA256_DIGEST_INFO.to_vec();
    digest_info.extend_from_slice(&digest);
    let auth_sig = match card.authenticate(&digest_info) {
        Ok(s) => s,
        Err(e) => return card_refused(("l'authentification", "to authenticate"), &e),
    };
    let mut message = b"cps diag key proof ".to_vec();
    message.extend_from_slice(&rand::random::<[u8; 32]>());
    let sign_sig = match card.sign_sha256(&message) {
        Ok(s) => s,
        Err(e) => return card_refused(("la signature", "to sign"), &e),
    };
    let auth_ok = verifies(&auth_cert, &digest, &auth_sig);
    let sign_ok = verifies(&sign_cert, &Sha256::digest(&message), &sign_sig);
    let word = |r: &Result<bool, String>| match r {
        Ok(true) => "verified".to_owned(),
        Ok(false) => "does not verify".to_owned(),
        Err(e) => e.clone(),
    };
    let o = match (&auth_ok, &sign_ok) {
        (Ok(true), Ok(true)) => Outcome::ok(t(
            "la carte a authentifié un défi aléatoire et signé un message : les deux se \
             vérifient avec ses certificats",
            "the card authenticated a fresh challenge and signed a message: both verify with \
             its certificates",
        )),
        _ => {
            let which = match (&auth_ok, &sign_ok) {
                (Ok(true), _) => ("de signature", "signature"),
                (_, Ok(true)) => ("d'authentification", "authentication"),
                _ => (
                    "d'authentification et de signature",
                    "authentication and signature",
                ),
            };
            Outcome::fail(
                t(
                    format!(
                        "la clé {} de la carte ne correspond pas à son certificat",
                        which.0
                    ),
                    format!("the card's {} key does not match its certificate", which.1),
                ),
                Some(Remedy::CardMalfunction),
            )
        }
    };
    o.detail("authentication", word(&auth_ok))
        .detail("signature", word(&sign_ok))
}
