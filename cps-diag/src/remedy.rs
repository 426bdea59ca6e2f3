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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl Remedy {
    /// The remedy's text.
    pub fn text(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Remedy::PinBlocked, Lang::Fr) => {
                "Le code porteur est bloqué (3 codes erronés de suite). Avec le code de déblocage \
                 à 8 chiffres (sur le même courrier que le code porteur), débloquez la carte avec \
                 `cps unblock`, avec l'outil en ligne de l'ANS, ou à votre CPAM muni de la carte et \
                 des codes. Sans le code de déblocage, demandez d'abord au service clients \
                 (0 825 852 000) de vous renvoyer le courrier."
            }
            (Remedy::PinBlocked, Lang::En) => {
                "The PIN (code porteur) is blocked after 3 wrong codes in a row. With the 8-digit \
                 unblock code (code de déblocage, on the same letter as the PIN), unblock the card \
                 with `cps unblock`, the agency's online tool, or at your CPAM with the card and \
                 the codes. Without the unblock code, first ask customer service (0 825 852 000) \
                 to send the letter again."
            }
            (Remedy::PinFinalTry, Lang::Fr) => {
                "Il ne reste qu'un essai : un code erroné de plus bloquera la carte. En cas de \
                 doute, retrouvez le courrier du code porteur ou appelez le service clients \
                 (0 825 852 000)."
            }
            (Remedy::PinFinalTry, Lang::En) => {
                "One try is left: one more wrong code blocks the card. If in doubt, find the PIN \
                 letter or call customer service (0 825 852 000)."
            }
            (Remedy::CardToReplace, Lang::Fr) => {
                "Le code de déblocage est bloqué ou épuisé : la carte ne peut plus être débloquée \
                 et doit être remplacée. Le responsable de structure le déclare dans le \
                 téléservice TOM, le professionnel libéral pour ses employés dans TOPS, le porteur \
                 par téléphone au 0 825 852 000 (muni du code de déblocage), ou toute personne \
                 concernée avec le formulaire 501 par e-mail. Une nouvelle carte arrive en \
                 10 jours ouvrés environ ; les codes suivent un jour après."
            }
            (Remedy::CardToReplace, Lang::En) => {
                "The unblock code is blocked or used up: the card can no longer be unblocked and \
                 must be replaced. Structure managers declare it in the TOM tele-service, liberal \
                 professionals for their staff in TOPS, the holder by phone on 0 825 852 000 \
                 (with the unblock code), or anyone concerned with form 501 by e-mail. A new card \
                 takes about 10 working days; the codes follow a day later."
            }
            (Remedy::ForgottenCode, Lang::Fr) => {
                "Code oublié ou courrier perdu : appelez le service clients au 0 825 852 000 ; \
                 le code est renvoyé par pli sécurisé le jour ouvré suivant."
            }
            (Remedy::ForgottenCode, Lang::En) => {
                "Forgotten code or lost letter: call customer service on 0 825 852 000; the code \
                 is sent again by secure mail the next working day."
            }
            (Remedy::Opposition, Lang::Fr) => {
                "La carte est en opposition : ses certificats sont révoqués et elle ne permet plus \
                 l'accès aux services sécurisés. Contactez le service clients (0 825 852 000) ; \
                 une nouvelle carte doit être demandée."
            }
            (Remedy::Opposition, Lang::En) => {
                "The card is in opposition: its certificates are revoked and it no longer gives \
                 access to secure services. Contact customer service (0 825 852 000); a new card \
                 must be requested."
            }
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
        ] {
            assert!(r.text(Lang::Fr).contains(CUSTOMER_SERVICE));
            assert!(r.text(Lang::En).contains(CUSTOMER_SERVICE));
        }
        assert!(Remedy::CardToReplace.text(Lang::En).contains("TOM"));
        assert!(Remedy::CardToReplace.text(Lang::Fr).contains("501"));
    }
}
