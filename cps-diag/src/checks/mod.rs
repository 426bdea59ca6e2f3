//! The checks, in report order. Each one is a function of what the ones before it
//! learnt; its id, area, title and dependencies are declared here.

mod card;
mod certs;
mod keyproof;
mod middleware;
mod pcsc;
mod system;

use crate::engine::{CheckDef, Phase};
use crate::report::Area;

/// Every check id, in order, as the report lists them.
pub const CHECK_IDS: [&str; 21] = [
    "system.platform",
    "system.clock",
    "pcsc.service",
    "readers.present",
    "card.present",
    "card.kind",
    "card.serial",
    "app.pkcs15",
    "app.update",
    "pin.pin",
    "pin.puk",
    "certs.present",
    "certs.validity",
    "certs.chain",
    "certs.holder",
    "certs.usage",
    "revocation.crl",
    "keys.proof",
    "middleware.cryptolib",
    "middleware.opensc",
    "middleware.firefox",
];

const fn def(
    id: &'static str,
    area: Area,
    title: (&'static str, &'static str),
    deps: &'static [&'static str],
    phase: Phase,
    run: fn(&mut crate::engine::Ctx<'_, '_>) -> crate::engine::Outcome,
) -> CheckDef {
    CheckDef {
        id,
        area,
        title,
        deps,
        phase,
        revisit: false,
        run,
    }
}

pub(crate) fn catalogue() -> Vec<CheckDef> {
    use Phase::{After, Before, Card};
    let mut clock = def(
        "system.clock",
        Area::System,
        ("Horloge", "Clock"),
        &[],
        Before,
        system::clock,
    );
    clock.revisit = true;
    vec![
        def(
            "system.platform",
            Area::System,
            ("Plateforme", "Platform"),
            &[],
            Before,
            system::platform,
        ),
        clock,
        def(
            "pcsc.service",
            Area::Pcsc,
            ("Service PC/SC", "PC/SC service"),
            &[],
            Before,
            pcsc::service,
        ),
        def(
            "readers.present",
            Area::Readers,
            ("Lecteurs", "Readers"),
            &["pcsc.service"],
            Before,
            pcsc::readers,
        ),
        def(
            "card.present",
            Area::Card,
            ("Carte présente", "Card present"),
            &["readers.present"],
            Before,
            pcsc::card_present,
        ),
        def(
            "card.kind",
            Area::Card,
            ("Type de carte", "Card type"),
            &["card.present"],
            Card,
            card::kind,
        ),
        def(
            "card.serial",
            Area::Card,
            ("Numéro de série (EF.SN)", "Serial number (EF.SN)"),
            &["card.kind"],
            Card,
            card::serial,
        ),
        def(
            "app.pkcs15",
            Area::Application,
            ("Application PKCS#15", "PKCS#15 application"),
            &["card.kind"],
            Card,
            card::pkcs15,
        ),
        def(
            "app.update",
            Area::Application,
            (
                "Mise à jour de la carte (EF_ACTUA)",
                "Card update (EF_ACTUA)",
            ),
            &["card.kind"],
            Card,
            card::update,
        ),
        def(
            "pin.pin",
            Area::Pin,
            ("Code porteur", "PIN (code porteur)"),
            &["app.pkcs15"],
            Card,
            card::pin,
        ),
        def(
            "pin.puk",
            Area::Pin,
            ("Code de déblocage", "Unblock code (code de déblocage)"),
            &["app.pkcs15"],
            Card,
            card::puk,
        ),
        def(
            "certs.present",
            Area::Certificates,
            ("Certificats de la carte", "Card certificates"),
            &["app.pkcs15"],
            Card,
            certs::present,
        ),
        def(
            "certs.validity",
            Area::Certificates,
            ("Validité", "Validity"),
            &["certs.present"],
            Card,
            certs::validity,
        ),
        def(
            "certs.chain",
            Area::Certificates,
            ("Chaîne de confiance IGC-Santé", "IGC-Santé chain of trust"),
            &["certs.present"],
            Card,
            certs::chain,
        ),
        def(
            "certs.holder",
            Area::Certificates,
            ("Porteur", "Holder"),
            &["certs.present"],
            Card,
            certs::holder,
        ),
        def(
            "certs.usage",
            Area::Certificates,
            ("Usages des clés", "Key usages"),
            &["certs.present"],
            Card,
            certs::usage,
        ),
        def(
            "revocation.crl",
            Area::Revocation,
            ("Liste de révocation", "Revocation list"),
            &["certs.present"],
            Card,
            certs::revocation,
        ),
        def(
            "keys.proof",
            Area::KeyProof,
            (
                "Authentification et signature",
                "Authentication and signature",
            ),
            &["certs.present", "pin.pin"],
            Card,
            keyproof::proof,
        ),
        def(
            "middleware.cryptolib",
            Area::Middleware,
            ("Cryptolib CPS", "Cryptolib CPS"),
            &[],
            After,
            middleware::cryptolib,
        ),
        def(
            "middleware.opensc",
            Area::Middleware,
            ("OpenSC", "OpenSC"),
            &[],
            After,
            middleware::opensc,
        ),
        def(
            "middleware.firefox",
            Area::Middleware,
            ("Firefox", "Firefox"),
            &[],
            After,
            middleware::firefox,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_order_and_dependencies() {
        let c = catalogue();
        let ids: Vec<&str> = c.iter().map(|d| d.id).collect();
        assert_eq!(ids, CHECK_IDS);
        for (i, d) in c.iter().enumerate() {
            for dep in d.deps {
                let j = ids.iter().position(|x| x == dep).unwrap();
                assert!(j < i, "{} depends on a later check {dep}", d.id);
            }
        }
    }
}
