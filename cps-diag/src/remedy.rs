//! What the holder is told to do, in French and English, following the agency's help
//! page ("Assistance", `shared/seed/ans-assistance-cps.txt`). `cps diag` and the PIN
//! commands of `cps` print these.

/// A language for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Français.
    Fr,
    /// English.
    #[default]
    En,
}

impl Lang {
    /// French when a POSIX locale value (`LANG`, `LC_ALL`, `LC_MESSAGES`) starts
    /// with `fr`, English otherwise.
    pub fn from_locale(value: &str) -> Lang {
        if value.to_ascii_lowercase().starts_with("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    /// The language of the environment (`LC_ALL`, then `LC_MESSAGES`, then `LANG`).
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .map_or(Lang::En, |v| Lang::from_locale(&v))
    }

    /// Picks the text of this language.
    pub fn pick<'a>(self, fr: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

/// The agency's customer service number.
pub const CUSTOMER_SERVICE: &str = "0 825 852 000";

/// A known situation and its remedy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Remedy {
    /// Three wrong PINs: the card is blocked, the unblock code can free it.
    PinBlocked,
    /// One try left on the PIN.
    PinFinalTry,
    /// The unblock code is blocked or used up: the card must be replaced.
    CardToReplace,
    /// The PIN is forgotten or its letter lost.
    ForgottenCode,
    /// The card is in opposition (its certificates are revoked).
    Opposition,
    /// Some tries of the unblock code were spent.
    PukTriesSpent,
    /// pcscd is not running (Linux and other Unix systems).
    PcscServiceLinux,
    /// The Smart Card service is not running (Windows).
    PcscServiceWindows,
    /// The smart card service of macOS did not answer.
    PcscServiceMacos,
    /// No reader is connected.
    NoReader,
    /// A SESAM-Vitale terminal is plugged in but speaks PSS, not PC/SC.
    PssReader,
    /// The reader is empty.
    NoCard,
    /// The card does not answer.
    CardMute,
    /// Another application holds the card.
    CardBusy,
    /// A Carte Vitale is where the CPS should be.
    VitaleInSlot,
    /// The card is not a CPS.
    UnknownCard,
    /// A CPS2ter-era card, no longer supported.
    OldCard,
    /// The card does not behave as a working CPS.
    CardMalfunction,
    /// The card's certificates expired.
    CertExpired,
    /// The card's certificates expire soon.
    CertExpiring,
    /// The system clock is wrong.
    ClockWrong,
    /// The certificates do not chain to a trusted IGC-Santé CA.
    UntrustedCa,
    /// A test card (or a card of the test hierarchy).
    TestCard,
    /// A CRL is out of date.
    CrlStale,
    /// A CRL could not be verified.
    CrlUnverified,
    /// The PIN given for the key proof was wrong.
    WrongPin,
    /// The Cryptolib CPS is not installed.
    CryptolibMissing,
    /// The Cryptolib CPS is older than 5.2.
    CryptolibOld,
    /// OpenSC does not drive CPS4 cards.
    OpenscCps4,
    /// Firefox is a snap and cannot load the CPS module.
    SnapFirefox,
    /// No Firefox profile knows the CPS module.
    FirefoxModule,
}

impl Remedy {
    /// Every remedy, for tests and documentation.
    pub const ALL: [Remedy; 31] = [
        Remedy::PinBlocked,
        Remedy::PinFinalTry,
        Remedy::CardToReplace,
        Remedy::ForgottenCode,
        Remedy::Opposition,
        Remedy::PukTriesSpent,
        Remedy::PcscServiceLinux,
        Remedy::PcscServiceWindows,
        Remedy::PcscServiceMacos,
        Remedy::NoReader,
        Remedy::PssReader,
        Remedy::NoCard,
        Remedy::CardMute,
        Remedy::CardBusy,
        Remedy::VitaleInSlot,
        Remedy::UnknownCard,
        Remedy::OldCard,
        Remedy::CardMalfunction,
        Remedy::CertExpired,
        Remedy::CertExpiring,
        Remedy::ClockWrong,
        Remedy::UntrustedCa,
        Remedy::TestCard,
        Remedy::CrlStale,
        Remedy::CrlUnverified,
        Remedy::WrongPin,
        Remedy::CryptolibMissing,
        Remedy::CryptolibOld,
        Remedy::OpenscCps4,
        Remedy::SnapFirefox,
        Remedy::FirefoxModule,
    ];

    /// A stable identifier (`pin_blocked`), for JSON reports.
    pub fn id(self) -> &'static str {
        match self {
            Remedy::PinBlocked => "pin_blocked",
            Remedy::PinFinalTry => "pin_final_try",
            Remedy::CardToReplace => "card_to_replace",
            Remedy::ForgottenCode => "forgotten_code",
            Remedy::Opposition => "opposition",
            Remedy::PukTriesSpent => "puk_tries_spent",
            Remedy::PcscServiceLinux => "pcsc_service_linux",
            Remedy::PcscServiceWindows => "pcsc_service_windows",
            Remedy::PcscServiceMacos => "pcsc_service_macos",
            Remedy::NoReader => "no_reader",
            Remedy::PssReader => "pss_reader",
            Remedy::NoCard => "no_card",
            Remedy::CardMute => "card_mute",
            Remedy::CardBusy => "card_busy",
            Remedy::VitaleInSlot => "vitale_in_slot",
            Remedy::UnknownCard => "unknown_card",
            Remedy::OldCard => "old_card",
            Remedy::CardMalfunction => "card_malfunction",
            Remedy::CertExpired => "cert_expired",
            Remedy::CertExpiring => "cert_expiring",
            Remedy::ClockWrong => "clock_wrong",
            Remedy::UntrustedCa => "untrusted_ca",
            Remedy::TestCard => "test_card",
            Remedy::CrlStale => "crl_stale",
            Remedy::CrlUnverified => "crl_unverified",
            Remedy::WrongPin => "wrong_pin",
            Remedy::CryptolibMissing => "cryptolib_missing",
            Remedy::CryptolibOld => "cryptolib_old",
            Remedy::OpenscCps4 => "opensc_cps4",
            Remedy::SnapFirefox => "snap_firefox",
            Remedy::FirefoxModule => "firefox_module",
        }
    }

    /// The remedy's text.
    pub fn text(self, lang: Lang) -> &'static str {
        let (fr, en) = self.texts();
        lang.pick(fr, en)
    }

    /// The French and English texts.
    fn texts(self) -> (&'static str, &'static str) {
        match self {
            Remedy::PinBlocked => (
                "Le code porteur est bloqué (3 codes erronés de suite). Avec le code de déblocage \
                 à 8 chiffres (sur le même courrier que le code porteur), débloquez la carte avec \
                 `cps unblock`, avec l'outil en ligne de l'ANS, ou à votre CPAM muni de la carte et \
                 des codes. Sans le code de déblocage, demandez d'abord au service clients \
                 (0 825 852 000) de vous renvoyer le courrier.",
                "The PIN (code porteur) is blocked after 3 wrong codes in a row. With the 8-digit \
                 unblock code (code de déblocage, on the same letter as the PIN), unblock the card \
                 with `cps unblock`, the agency's online tool, or at your CPAM with the card and \
                 the codes. Without the unblock code, first ask customer service (0 825 852 000) \
                 to send the letter again.",
            ),
            Remedy::PinFinalTry => (
                "Il ne reste qu'un essai : un code erroné de plus bloquera la carte. En cas de \
                 doute, retrouvez le courrier du code porteur ou appelez le service clients \
                 (0 825 852 000).",
                "One try is left: one more wrong code blocks the card. If in doubt, find the PIN \
                 letter or call customer service (0 825 852 000).",
            ),
            Remedy::CardToReplace => (
                "Le code de déblocage est bloqué ou épuisé : la carte ne peut plus être débloquée \
                 et doit être remplacée. Le responsable de structure le déclare dans le \
                 téléservice TOM, le professionnel libéral pour ses employés dans TOPS, le porteur \
                 par téléphone au 0 825 852 000 (muni du code de déblocage), ou toute personne \
                 concernée avec le formulaire 501 par e-mail. Une nouvelle carte arrive en \
                 10 jours ouvrés environ ; les codes suivent un jour après.",
                "The unblock code is blocked or used up: the card can no longer be unblocked and \
                 must be replaced. Structure managers declare it in the TOM tele-service, liberal \
                 professionals for their staff in TOPS, the holder by phone on 0 825 852 000 \
                 (with the unblock code), or anyone concerned with form 501 by e-mail. A new card \
                 takes about 10 working days; the codes follow a day later.",
            ),
            Remedy::ForgottenCode => (
                "Code oublié ou courrier perdu : appelez le service clients au 0 825 852 000 ; \
                 le code est renvoyé par pli sécurisé le jour ouvré suivant.",
                "Forgotten code or lost letter: call customer service on 0 825 852 000; the code \
                 is sent again by secure mail the next working day.",
            ),
            Remedy::Opposition => (
                "La carte est en opposition : ses certificats sont révoqués et elle ne permet plus \
                 l'accès aux services sécurisés. Contactez le service clients (0 825 852 000) ; \
                 une nouvelle carte doit être demandée.",
                "The card is in opposition: its certificates are revoked and it no longer gives \
                 access to secure services. Contact customer service (0 825 852 000); a new card \
                 must be requested.",
            ),
            Remedy::PukTriesSpent => (
                "Des essais du code de déblocage ont été consommés : s'il se bloque, la carte \
                 devra être remplacée. N'utilisez que le code du courrier ; en cas de doute, \
                 appelez le service clients (0 825 852 000).",
                "Tries of the unblock code were spent: if it blocks, the card must be replaced. \
                 Use only the code from the letter; if in doubt, call customer service \
                 (0 825 852 000).",
            ),
            Remedy::PcscServiceLinux => (
                "Démarrez le service PC/SC : `sudo systemctl start pcscd.socket` (ou lancez \
                 `pcscd` en root) ; s'il manque, installez-le (Debian et Ubuntu : paquet `pcscd`, \
                 RHEL : `pcsc-lite`).",
                "Start the PC/SC service: `sudo systemctl start pcscd.socket` (or run `pcscd` as \
                 root); if it is missing, install it (Debian and Ubuntu: package `pcscd`, RHEL: \
                 `pcsc-lite`).",
            ),
            Remedy::PcscServiceWindows => (
                "Démarrez le service « Carte à puce » (SCardSvr), en démarrage automatique : \
                 `sc config SCardSvr start= auto` puis `sc start SCardSvr` en administrateur.",
                "Start the \"Smart Card\" service (SCardSvr) and set it to start automatically: \
                 `sc config SCardSvr start= auto` then `sc start SCardSvr` as an administrator.",
            ),
            Remedy::PcscServiceMacos => (
                "macOS démarre son service de carte à puce à la demande : branchez un lecteur et \
                 recommencez.",
                "macOS starts its smart card service on demand: plug in a reader and try again.",
            ),
            Remedy::NoReader => (
                "Branchez un lecteur de cartes : un lecteur PC/SC standard mono-fente ou un \
                 lecteur bi-fente homologué SESAM-Vitale. S'il est branché, vérifiez que le \
                 service PC/SC le voit (`pcsc_scan -r`) et qu'il a son pilote (CCID).",
                "Plug in a card reader: a standard single-slot PC/SC reader or an approved \
                 two-slot SESAM-Vitale reader. If one is plugged in, check that the PC/SC service \
                 sees it (`pcsc_scan -r`) and that it has its driver (CCID).",
            ),
            Remedy::PssReader => (
                "Un terminal SESAM-Vitale Ingenico est branché mais ne parle pas PC/SC : son \
                 application est en mode PSS (GALSS). Passez-le en mode PC/SC ou mettez à jour son \
                 application (EI96S 4.0 ou plus récente) auprès de votre fournisseur.",
                "An Ingenico SESAM-Vitale terminal is plugged in but does not speak PC/SC: its \
                 application runs in PSS mode (GALSS). Switch it to PC/SC mode or update its \
                 application (EI96S 4.0 or later) through your supplier.",
            ),
            Remedy::NoCard => (
                "Insérez la carte CPS, puce en premier ; dans un lecteur bi-fente, dans la fente \
                 CPS (la carte Vitale va dans l'autre).",
                "Insert the CPS card, chip first; in a two-slot reader, in the CPS slot (the \
                 Carte Vitale goes in the other one).",
            ),
            Remedy::CardMute => (
                "La carte ne répond pas : retirez-la et réinsérez-la dans le bon sens, puce en \
                 premier ; essayez un autre lecteur. Si elle reste muette, déclarez un \
                 dysfonctionnement (TOM, TOPS, 0 825 852 000 ou formulaire 501).",
                "The card does not answer: remove it and reinsert it the right way round, chip \
                 first; try another reader. If it stays mute, declare a malfunction (TOM, TOPS, \
                 0 825 852 000 or form 501).",
            ),
            Remedy::CardBusy => (
                "Une autre application utilise la carte en exclusivité : fermez-la (ou le \
                 logiciel qui l'utilise) puis recommencez.",
                "Another application holds the card exclusively: close it (or the software \
                 using it), then try again.",
            ),
            Remedy::VitaleInSlot => (
                "C'est une carte Vitale (carte du patient), pas une CPS : insérez la carte de \
                 professionnel de santé dans ce lecteur (dans un lecteur bi-fente, la carte \
                 Vitale va dans l'autre fente).",
                "This is a Carte Vitale (the patient's card), not a CPS: insert the health \
                 professional card in this reader (in a two-slot reader, the Carte Vitale goes in \
                 the other slot).",
            ),
            Remedy::UnknownCard => (
                "Cette carte n'est pas une carte de la famille CPS : insérez votre CPS (ou CPE, \
                 CPF, CPA).",
                "This card is not a CPS-family card: insert your CPS (or CPE, CPF, CPA).",
            ),
            Remedy::OldCard => (
                "Carte d'ancienne génération (CPS2ter, avant 2011) : elle n'est plus prise en \
                 charge et doit être remplacée. Appelez le service clients (0 825 852 000) ou \
                 déclarez-la dans TOM, TOPS ou avec le formulaire 501.",
                "An old-generation card (CPS2ter, before 2011): it is no longer supported and \
                 must be replaced. Call customer service (0 825 852 000) or declare it in TOM, \
                 TOPS or with form 501.",
            ),
            Remedy::CardMalfunction => (
                "La carte ne se comporte pas comme une CPS en état de marche : déclarez un \
                 dysfonctionnement (responsable de structure : TOM ; professionnel libéral pour \
                 ses employés : TOPS ; porteur : 0 825 852 000 ; ou formulaire 501).",
                "The card does not behave as a working CPS: declare a malfunction (structure \
                 managers: TOM; liberal professionals for their staff: TOPS; the holder: \
                 0 825 852 000; or form 501).",
            ),
            Remedy::CertExpired => (
                "Les certificats de la carte ont expiré : elle ne permet plus l'accès aux \
                 services sécurisés. Une carte est normalement renouvelée avant son expiration ; \
                 si vous n'avez rien reçu, appelez le service clients (0 825 852 000).",
                "The card's certificates expired: it no longer gives access to secure services. \
                 Cards are normally renewed before they expire; if nothing arrived, call customer \
                 service (0 825 852 000).",
            ),
            Remedy::CertExpiring => (
                "Les certificats de la carte expirent bientôt. Une nouvelle carte est \
                 normalement envoyée avant l'échéance ; sinon, appelez le service clients \
                 (0 825 852 000).",
                "The card's certificates expire soon. A new card is normally sent before then; \
                 otherwise call customer service (0 825 852 000).",
            ),
            Remedy::ClockWrong => (
                "Mettez l'horloge du poste à l'heure (synchronisation automatique : \
                 `timedatectl set-ntp true` sous Linux, Paramètres > Heure sous Windows) : la \
                 validité des certificats en dépend.",
                "Set the workstation's clock right (automatic synchronisation: `timedatectl \
                 set-ntp true` on Linux, Settings > Time on Windows): certificate validity \
                 depends on it.",
            ),
            Remedy::UntrustedCa => (
                "Les certificats de la carte ne remontent pas à une autorité IGC-Santé connue : \
                 vérifiez les certificats d'autorité du poste (dossier Coffre de la Cryptolib \
                 CPS, réinstallez-la au besoin, ou `--ca-dir`). Une carte qui ne vient pas de \
                 l'ANS ne permet pas l'accès aux services de santé.",
                "The card's certificates do not chain to a known IGC-Santé authority: check the \
                 workstation's CA certificates (the Cryptolib CPS Coffre folder; reinstall it if \
                 needed, or pass `--ca-dir`). A card not issued by the agency gives no access to \
                 health services.",
            ),
            Remedy::TestCard => (
                "C'est une carte de test (hiérarchie IGC-Santé TEST) : elle ne fonctionne que sur \
                 les plateformes de test. Pour les services en production, utilisez votre carte \
                 réelle. (Code porteur des cartes de test : 1234.)",
                "This is a test card (IGC-Santé TEST hierarchy): it only works on test platforms. \
                 For production services, use your real card. (Test cards' PIN: 1234.)",
            ),
            Remedy::CrlStale => (
                "Téléchargez une liste de révocation à jour (http://igc-sante.esante.gouv.fr/CRL/), \
                 uniquement celles des autorités utilisées, aussi souvent qu'elles sont publiées.",
                "Download an up-to-date revocation list (http://igc-sante.esante.gouv.fr/CRL/), \
                 only those of the authorities you use, as often as they are published.",
            ),
            Remedy::CrlUnverified => (
                "Cette liste de révocation n'est pas signée par une autorité de confiance : \
                 téléchargez-la de nouveau depuis http://igc-sante.esante.gouv.fr/CRL/ et \
                 vérifiez les certificats d'autorité (`--ca-dir`).",
                "This revocation list is not signed by a trusted authority: download it again \
                 from http://igc-sante.esante.gouv.fr/CRL/ and check the CA certificates \
                 (`--ca-dir`).",
            ),
            Remedy::WrongPin => (
                "Le code porteur saisi est erroné. Retrouvez le courrier du code porteur ; en cas \
                 d'oubli, appelez le service clients (0 825 852 000). Trois codes erronés de \
                 suite bloquent la carte.",
                "The PIN entered is wrong. Find the PIN letter; if it is forgotten, call customer \
                 service (0 825 852 000). Three wrong codes in a row block the card.",
            ),
            Remedy::CryptolibMissing => (
                "Installez la Cryptolib CPS (version 5), téléchargeable gratuitement sur le site \
                 de l'ANS : les logiciels de santé et les navigateurs l'utilisent pour accéder à la \
                 carte (sauf logiciels qui l'embarquent eux-mêmes).",
                "Install the Cryptolib CPS (version 5), free from the agency's site: health \
                 software and browsers use it to reach the card (except software that embeds it).",
            ),
            Remedy::CryptolibOld => (
                "Mettez à jour la Cryptolib CPS : la version 5.2 ou plus récente est nécessaire \
                 pour les cartes CPS4 (5.2.2 corrige un défaut CPS4).",
                "Update the Cryptolib CPS: version 5.2 or later is needed for CPS4 cards (5.2.2 \
                 fixes a CPS4 fault).",
            ),
            Remedy::OpenscCps4 => (
                "OpenSC ne pilote pas les cartes CPS4 : utilisez le module de la Cryptolib CPS \
                 (5.2 ou plus récente) dans vos applications et navigateurs.",
                "OpenSC does not drive CPS4 cards: use the Cryptolib CPS module (5.2 or later) in \
                 your applications and browsers.",
            ),
            Remedy::SnapFirefox => (
                "Firefox est installé en snap : il ne peut pas charger les modules PKCS#11 du \
                 poste (Cryptolib CPS). Installez Firefox depuis un paquet .deb ou .rpm (dépôt de \
                 Mozilla ou de la distribution).",
                "Firefox is installed as a snap: it cannot load the workstation's PKCS#11 modules \
                 (Cryptolib CPS). Install Firefox from a .deb or .rpm package (Mozilla's or the \
                 distribution's repository).",
            ),
            Remedy::FirefoxModule => (
                "Aucun profil Firefox ne connaît le module CPS : installez l'extension de l'ANS \
                 (avec le manifeste cps3.json de la Cryptolib), ou ajoutez le module dans \
                 Paramètres > Vie privée et sécurité > Périphériques de sécurité.",
                "No Firefox profile knows the CPS module: install the agency's extension (with \
                 the Cryptolib's cps3.json manifest), or add the module in Settings > Privacy & \
                 Security > Security Devices.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(Lang::from_locale("fr_FR.UTF-8"), Lang::Fr);
        assert_eq!(Lang::from_locale("en_GB.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C"), Lang::En);
        for r in [
            Remedy::PinBlocked,
            Remedy::PinFinalTry,
            Remedy::CardToReplace,
            Remedy::ForgottenCode,
            Remedy::Opposition,
            Remedy::WrongPin,
        ] {
            assert!(r.text(Lang::Fr).contains(CUSTOMER_SERVICE));
            assert!(r.text(Lang::En).contains(CUSTOMER_SERVICE));
        }
        assert!(Remedy::CardToReplace.text(Lang::En).contains("TOM"));
        assert!(Remedy::CardToReplace.text(Lang::Fr).contains("501"));
    }

    #[test]
    fn every_remedy_has_both_texts_and_a_unique_id() {
        let mut ids = std::collections::HashSet::new();
        for r in Remedy::ALL {
            assert!(ids.insert(r.id()), "{}", r.id());
            assert!(!r.text(Lang::Fr).is_empty() && !r.text(Lang::En).is_empty());
            assert_ne!(r.text(Lang::Fr), r.text(Lang::En));
        }
    }
}
