//! The card's certificates: present, valid, chained to IGC-Santé, their holder and
//! key usages; revocation.

use std::time::Duration;

use cps_card::cert::{Certificate, ExtKeyUsage, Validity};
use cps_card::{CardCertificate, CertKind};

use crate::engine::{Ctx, Outcome, t};
use crate::remedy::Remedy;
use crate::report::Verdict;
use crate::time::{date, rfc3339};
use crate::trust::{ChainOutcome, Crl};

fn kind_name(k: CertKind) -> &'static str {
    match k {
        CertKind::Auth => "authentication",
        CertKind::Sign => "signature",
        CertKind::Tech => "technical",
    }
}

fn kind_fr(k: CertKind) -> &'static str {
    match k {
        CertKind::Auth => "authentification",
        CertKind::Sign => "signature",
        CertKind::Tech => "technique",
    }
}

pub(super) fn present(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let Some(card) = ctx.card.as_deref_mut() else {
        return Outcome::blocked(t("pas de carte", "no card"));
    };
    let certs = match card.certificates() {
        Ok(c) => c,
        Err(e) => {
            return Outcome::fail(
                t(
                    format!("certificats illisibles : {e}"),
                    format!("the certificates are unreadable: {e}"),
                ),
                Some(Remedy::CardMalfunction),
            );
        }
    };
    let contactless = ctx.facts.kind == Some(cps_card::CardKind::Cps3Contactless);
    let has = |k| certs.iter().any(|c: &CardCertificate| c.which == k);
    let mut o = if contactless && has(CertKind::Tech) {
        Outcome::ok(t(
            "certificat technique (sans contact) lu",
            "technical (contactless) certificate read",
        ))
    } else if has(CertKind::Auth) && has(CertKind::Sign) {
        Outcome::ok(t(
            "certificats d'authentification et de signature lus",
            "authentication and signature certificates read",
        ))
    } else {
        Outcome::fail(
            t(
                format!("certificat(s) manquant(s) : {} trouvé(s)", certs.len()),
                format!("certificate(s) missing: {} found", certs.len()),
            ),
            Some(Remedy::CardMalfunction),
        )
    };
    for c in &certs {
        let cert = &c.certificate;
        ctx.facts.hide(cert.subject());
        ctx.facts.hide(cert.serial_hex());
        o = o.detail(
            kind_name(c.which),
            format!(
                "{} — serial {}, until {}",
                cert.subject(),
                cert.serial_hex(),
                cert.not_after_rfc3339()
            ),
        );
        if let Ok(h) = cert.holder() {
            for v in [&h.national_id, &h.base_id, &h.given_name, &h.surname] {
                ctx.facts.hide(v.as_str());
            }
            for v in [
                &h.local_id,
                &h.card_number,
                &h.structure_id,
                &h.structure_name,
            ]
            .into_iter()
            .flatten()
            {
                ctx.facts.hide(v.as_str());
            }
        }
        if let Some(upn) = cert.upn() {
            ctx.facts.hide(upn);
        }
    }
    ctx.facts.certs = certs;
    o
}

/// The certificates that matter: authentication and signature (technical when that is
/// all a contactless read gives).
fn main_certs<'c>(ctx: &'c Ctx<'_, '_>) -> Vec<&'c CardCertificate> {
    let main: Vec<_> = ctx
        .facts
        .certs
        .iter()
        .filter(|c| c.which != CertKind::Tech)
        .collect();
    if main.is_empty() {
        ctx.facts.certs.iter().collect()
    } else {
        main
    }
}

fn days(d: Duration) -> u64 {
    d.as_secs() / 86_400
}

pub(super) fn validity(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let now = ctx.env.now;
    let warn = Duration::from_secs(u64::from(ctx.opts.warn_days) * 86_400);
    let certs = main_certs(ctx);
    let mut worst: Option<Outcome> = None;
    let mut details = Vec::new();
    let rank = |v: Verdict| match v {
        Verdict::Fail => 3,
        Verdict::Warn => 2,
        _ => 1,
    };
    for c in certs {
        let cert = &c.certificate;
        let (kf, ke) = (kind_fr(c.which), kind_name(c.which));
        details.push(crate::report::Detail {
            key: format!("{ke}_validity"),
            value: format!(
                "{} → {}",
                cert.not_before_rfc3339(),
                cert.not_after_rfc3339()
            ),
        });
        let o = match cert.validity_at(now) {
            Validity::NotYetValid => Outcome::fail(
                t(
                    format!(
                        "le certificat de {kf} n'est pas encore valable (à partir du {}) : l'horloge \
                         du poste est sans doute fausse",
                        cert.not_before_rfc3339()
                    ),
                    format!(
                        "the {ke} certificate is not valid yet (from {}): the workstation's clock \
                         is probably wrong",
                        cert.not_before_rfc3339()
                    ),
                ),
                Some(Remedy::ClockWrong),
            ),
            Validity::Expired { since } => Outcome::fail(
                t(
                    format!(
                        "le certificat de {kf} a expiré le {} (il y a {} jour(s))",
                        date(cert.not_after()),
                        days(since)
                    ),
                    format!(
                        "the {ke} certificate expired on {} ({} day(s) ago)",
                        date(cert.not_after()),
                        days(since)
                    ),
                ),
                Some(Remedy::CertExpired),
            ),
            Validity::Valid { expires_in } if expires_in <= warn => Outcome::warn(
                t(
                    format!(
                        "le certificat de {kf} expire le {} (dans {} jour(s))",
                        date(cert.not_after()),
                        days(expires_in)
                    ),
                    format!(
                        "the {ke} certificate expires on {} (in {} day(s))",
                        date(cert.not_after()),
                        days(expires_in)
                    ),
                ),
                Some(Remedy::CertExpiring),
            ),
            Validity::Valid { expires_in } => Outcome::ok(t(
                format!(
                    "valables jusqu'au {} ({} jour(s))",
                    date(cert.not_after()),
                    days(expires_in)
                ),
                format!(
                    "valid until {} ({} day(s))",
                    date(cert.not_after()),
                    days(expires_in)
                ),
            )),
        };
        let replace = match &worst {
            None => true,
            Some(w) => {
                rank(o.verdict) > rank(w.verdict)
                    || (o.verdict == Verdict::Ok && w.verdict == Verdict::Ok)
            }
        };
        if replace {
            worst = Some(o);
        }
    }
    match worst {
        Some(o) => o.details(details).detail("warn_days", ctx.opts.warn_days),
        None => Outcome::blocked(t("aucun certificat", "no certificate")),
    }
}

fn is_legacy(cert: &Certificate) -> bool {
    cert.issuer().to_ascii_uppercase().contains("GIP-CPS")
}

pub(super) fn chain(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let mut worst: Option<Outcome> = None;
    let mut details = Vec::new();
    let rank = |v: Verdict| match v {
        Verdict::Fail => 3,
        Verdict::Warn => 2,
        _ => 1,
    };
    for c in main_certs(ctx) {
        let cert = &c.certificate;
        let (kf, ke) = (kind_fr(c.which), kind_name(c.which));
        let o = if is_legacy(cert) {
            Outcome::fail(
                t(
                    format!(
                        "le certificat de {kf} vient d'une ancienne autorité GIP-CPS, obsolète"
                    ),
                    format!("the {ke} certificate comes from an obsolete GIP-CPS authority"),
                ),
                Some(Remedy::CertExpired),
            )
        } else {
            match ctx.trust.chain(cert) {
                ChainOutcome::Trusted {
                    path,
                    source,
                    test_hierarchy,
                } => {
                    details.push(crate::report::Detail {
                        key: format!("{ke}_chain"),
                        value: format!("{} (trusted: {source})", path.join(" → ")),
                    });
                    if test_hierarchy {
                        Outcome::warn(
                            t(
                                "carte de test : chaîne vérifiée jusqu'à l'autorité IGC-Santé TEST",
                                "test card: chain verified up to the IGC-Santé TEST authority",
                            ),
                            Some(Remedy::TestCard),
                        )
                    } else {
                        Outcome::ok(t(
                            "signatures vérifiées jusqu'à une autorité IGC-Santé de production",
                            "signatures verified up to an IGC-Santé production authority",
                        ))
                    }
                }
                ChainOutcome::UnknownIssuer { issuer } if cert.is_test_hierarchy() => {
                    details.push(crate::report::Detail {
                        key: format!("{ke}_issuer"),
                        value: issuer.clone(),
                    });
                    Outcome::warn(
                        t(
                            format!(
                                "carte de test : son autorité ({issuer}) n'est pas parmi les \
                                 autorités de confiance, chaîne non vérifiée"
                            ),
                            format!(
                                "test card: its authority ({issuer}) is not among the trusted \
                                 ones, chain not verified"
                            ),
                        ),
                        Some(Remedy::TestCard),
                    )
                }
                ChainOutcome::UnknownIssuer { issuer } => Outcome::fail(
                    t(
                        format!("le certificat de {kf} vient d'une autorité inconnue : {issuer}"),
                        format!("the {ke} certificate comes from an unknown authority: {issuer}"),
                    ),
                    Some(Remedy::UntrustedCa),
                ),
                ChainOutcome::BadSignature { subject, issuer } => Outcome::fail(
                    t(
                        format!(
                            "la signature de « {subject} » ne se vérifie pas avec la clé de \
                             « {issuer} »"
                        ),
                        format!(
                            "the signature of \"{subject}\" does not verify with the key of \
                             \"{issuer}\""
                        ),
                    ),
                    Some(Remedy::UntrustedCa),
                ),
            }
        };
        if worst
            .as_ref()
            .is_none_or(|w| rank(o.verdict) > rank(w.verdict))
        {
            worst = Some(o);
        }
    }
    let anchors = ctx.trust.anchors().len();
    let Some(mut o) = worst else {
        return Outcome::blocked(t("aucun certificat", "no certificate"));
    };
    o = o.details(details).detail("trusted_cas", anchors);
    for n in &ctx.facts.trust_notes {
        o = o.detail("ca_source", n);
    }
    o
}

pub(super) fn holder(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let cert = ctx
        .facts
        .certs
        .iter()
        .find(|c| c.which == CertKind::Auth)
        .or_else(|| ctx.facts.certs.first());
    let Some(c) = cert else {
        return Outcome::blocked(t("aucun certificat", "no certificate"));
    };
    match c.certificate.holder() {
        Ok(h) => {
            let (fr, en) = (h.summary_fr(), h.summary_en());
            let o = if h.is_test() {
                Outcome::info(t(fr, en))
            } else {
                Outcome::ok(t(fr, en))
            };
            let mut o = o
                .detail("holder", format!("{} {}", h.surname, h.given_name))
                .detail("national_id", &h.national_id)
                .detail("id_kind", h.id_kind.as_str())
                .detail("test_card", h.is_test());
            if let Some(ct) = h.card_type {
                o = o.detail("card_type", ct);
            }
            if let Some(p) = h
                .profession_label
                .as_deref()
                .or_else(|| h.profession_name())
            {
                o = o.detail("profession", p);
            }
            o
        }
        Err(e) => Outcome::warn(
            t(
                format!("le porteur ne se lit pas dans le certificat : {e}"),
                format!("the holder cannot be read from the certificate: {e}"),
            ),
            Some(Remedy::UntrustedCa),
        ),
    }
}

pub(super) fn usage(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut details = Vec::new();
    for c in &ctx.facts.certs {
        let cert = &c.certificate;
        let ku = cert.key_usage().unwrap_or_default();
        let eku: Vec<String> = cert
            .extended_key_usage()
            .unwrap_or_default()
            .iter()
            .map(|e| e.name().to_owned())
            .collect();
        details.push(crate::report::Detail {
            key: format!("{}_usage", kind_name(c.which)),
            value: format!(
                "{}{}{}",
                ku.names().join(", "),
                if eku.is_empty() { "" } else { "; " },
                eku.join(", ")
            ),
        });
        if cert.rsa_modulus_bits().is_some_and(|b| b < 2048) {
            problems.push((
                format!("clé de {} trop courte", kind_fr(c.which)),
                format!("{} key too short", kind_name(c.which)),
            ));
        }
        match c.which {
            CertKind::Auth => {
                let client = cert
                    .extended_key_usage()
                    .is_none_or(|e| e.contains(&ExtKeyUsage::ClientAuth));
                if !ku.digital_signature || !client {
                    problems.push((
                        "le certificat d'authentification n'a pas digitalSignature et clientAuth"
                            .into(),
                        "the authentication certificate lacks digitalSignature and clientAuth"
                            .into(),
                    ));
                }
            }
            CertKind::Sign => {
                if !ku.non_repudiation {
                    problems.push((
                        "le certificat de signature n'a pas nonRepudiation".into(),
                        "the signature certificate lacks nonRepudiation".into(),
                    ));
                }
            }
            CertKind::Tech => {}
        }
    }
    if problems.is_empty() {
        Outcome::ok(t(
            "conformes : authentification (digitalSignature, clientAuth), signature \
             (nonRepudiation)",
            "as expected: authentication (digitalSignature, clientAuth), signature \
             (nonRepudiation)",
        ))
        .details(details)
    } else {
        let fr: Vec<String> = problems.iter().map(|p| p.0.clone()).collect();
        let en: Vec<String> = problems.iter().map(|p| p.1.clone()).collect();
        Outcome::warn(
            t(fr.join(" ; "), en.join("; ")),
            Some(Remedy::CardMalfunction),
        )
        .details(details)
    }
}

pub(super) fn revocation(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let certs: Vec<&Certificate> = main_certs(ctx).iter().map(|c| &c.certificate).collect();
    let urls: Vec<String> = certs
        .iter()
        .flat_map(|c| c.crl_urls().iter().cloned())
        .fold(Vec::new(), |mut v, u| {
            if !v.contains(&u) {
                v.push(u);
            }
            v
        });
    if ctx.opts.crls.is_empty() {
        let url = urls.first().cloned().unwrap_or_else(|| "?".into());
        let mut o = Outcome::info(t(
            format!(
                "non vérifiée : aucune liste de révocation fournie (--crl) ; celle de la carte : {url}"
            ),
            format!("not checked: no revocation list given (--crl); the card's is {url}"),
        ));
        for u in &urls {
            o = o.detail("crl_url", u);
        }
        return o;
    }
    let (crls, errors) = Crl::load(&ctx.opts.crls);
    let now = ctx.env.now;
    let mut details = Vec::new();
    let mut push = |k: &str, v: String| {
        details.push(crate::report::Detail {
            key: k.to_owned(),
            value: v,
        })
    };
    for e in &errors {
        push("crl_error", e.to_string());
    }
    let mut covering = Vec::new();
    for crl in &crls {
        match crl.examine(ctx.trust, &certs) {
            Ok(r) => {
                push(
                    "crl",
                    format!(
                        "{} — {}, this update {}, next update {}",
                        r.path.display(),
                        r.issuer,
                        rfc3339(r.this_update),
                        r.next_update.map(rfc3339).unwrap_or_else(|| "-".into())
                    ),
                );
                if r.covers {
                    covering.push(r);
                }
            }
            Err(e) => push("crl_error", format!("{}: {e}", crl.path.display())),
        }
    }
    let attach = |o: Outcome, details: Vec<crate::report::Detail>| o.details(details);
    if covering.is_empty() {
        let url = urls.first().cloned().unwrap_or_default();
        return attach(
            Outcome::warn(
                t(
                    format!(
                        "aucune des listes fournies n'est celle de l'autorité de la carte ({url}) : \
                         non vérifiée"
                    ),
                    format!(
                        "none of the lists given is the card's authority's ({url}): not checked"
                    ),
                ),
                Some(Remedy::CrlStale),
            ),
            details,
        );
    }
    if let Some(r) = covering
        .iter()
        .find(|r| !r.revoked.is_empty() && r.signature_ok == Some(true))
    {
        let (serial, when) = &r.revoked[0];
        return attach(
            Outcome::fail(
                t(
                    format!(
                        "carte en opposition : un certificat de la carte (n° {serial}) est révoqué \
                         depuis le {}",
                        rfc3339(*when)
                    ),
                    format!(
                        "the card is in opposition: a card certificate (serial {serial}) is revoked \
                         since {}",
                        rfc3339(*when)
                    ),
                ),
                Some(Remedy::Opposition),
            )
            .detail("certificate_serial", serial),
            details,
        );
    }
    if let Some(r) = covering.iter().find(|r| r.signature_ok != Some(true)) {
        let listed = if r.revoked.is_empty() {
            ("", "")
        } else {
            (" (elle cite pourtant la carte)", " (yet it lists the card)")
        };
        return attach(
            Outcome::warn(
                t(
                    format!(
                        "la signature de la liste {} n'a pas pu être vérifiée{}",
                        r.path.display(),
                        listed.0
                    ),
                    format!(
                        "the signature of the list {} could not be verified{}",
                        r.path.display(),
                        listed.1
                    ),
                ),
                Some(Remedy::CrlUnverified),
            ),
            details,
        );
    }
    let fresh = covering
        .iter()
        .any(|r| r.next_update.is_none_or(|n| n >= now));
    if !fresh {
        let next = covering
            .iter()
            .filter_map(|r| r.next_update)
            .max()
            .map(rfc3339)
            .unwrap_or_default();
        return attach(
            Outcome::warn(
                t(
                    format!(
                        "carte absente de la liste, mais la liste est périmée (prochaine mise à jour prévue le {next})"
                    ),
                    format!(
                        "the card is not listed, but the list is out of date (next update was due {next})"
                    ),
                ),
                Some(Remedy::CrlStale),
            ),
            details,
        );
    }
    attach(
        Outcome::ok(t(
            "non révoquée : la carte est absente d'une liste à jour et vérifiée",
            "not revoked: the card is absent from a verified, up-to-date list",
        )),
        details,
    )
}

#[cfg(test)]
mod tests {
    //! Verdicts only a production card gives, driven with the embedded production CA
    //! certificates standing in for card certificates.
    use super::*;
    use crate::engine::{Facts, Options};
    use crate::env::Environment;
    use crate::trust::{PRODUCTION_CAS, TrustStore};

    fn production_cert(name: &str) -> Certificate {
        let (_, der, _) = PRODUCTION_CAS
            .iter()
            .find(|(n, _, _)| *n == name)
            .copied()
            .unwrap_or(PRODUCTION_CAS[0]);
        Certificate::from_der(der).unwrap_or_else(|e| panic!("{e}"))
    }

    fn run(trust: &TrustStore, cert: Certificate, f: fn(&mut Ctx<'_, '_>) -> Outcome) -> Outcome {
        let env = Environment::fake("/nonexistent");
        let opts = Options::default();
        let mut facts = Facts {
            certs: vec![CardCertificate {
                which: CertKind::Auth,
                label: "test".into(),
                certificate: cert,
            }],
            ..Facts::default()
        };
        let mut ctx = Ctx {
            env: &env,
            opts: &opts,
            trust,
            facts: &mut facts,
            pcsc: None,
            card: None,
        };
        f(&mut ctx)
    }

    #[test]
    fn chain_to_a_production_ca_is_ok() {
        let o = run(
            &TrustStore::production(),
            production_cert("AC_STANDARD_PERSONNES_20130625.cer"),
            chain,
        );
        assert_eq!(o.verdict, Verdict::Ok, "{:?}", o.finding);
    }

    #[test]
    fn unknown_production_issuer_fails() {
        let o = run(
            &TrustStore::empty(),
            production_cert("AC_STANDARD_PERSONNES_20130625.cer"),
            chain,
        );
        assert_eq!(o.verdict, Verdict::Fail, "{:?}", o.finding);
        assert_eq!(o.remedy, Some(Remedy::UntrustedCa));
    }

    #[test]
    fn a_ca_certificate_has_no_holder_and_wrong_usages() {
        let cert = production_cert("AC_STANDARD_PERSONNES_20130625.cer");
        let o = run(&TrustStore::empty(), cert.clone(), holder);
        assert_eq!(o.verdict, Verdict::Warn, "{:?}", o.finding);
        let o = run(&TrustStore::empty(), cert, usage);
        assert_eq!(o.verdict, Verdict::Warn, "{:?}", o.finding);
    }
}
