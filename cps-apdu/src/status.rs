//! Status words (SW1 SW2): the ISO 7816-4 words a CPS card answers, the CPS2ter
//! (`98xx`, `94xx`, `9Fxx`) words of its legacy side, and `Other` for the rest.
//!
//! Every `u16` converts to a [`StatusWord`] and back unchanged, so a status word
//! read from a card can always be reported exactly.

use std::fmt;

/// A status word, named where ISO 7816-4 or the CPS2ter side gives it a meaning.
///
/// Conversion is lossless both ways: `StatusWord::from(sw).to_u16() == sw` for every `sw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// `90 00`: normal processing.
    Success,
    /// `61 xx`: `xx` response bytes are waiting for GET RESPONSE (`00` means 256).
    BytesAvailable(u8),
    /// `62 00`: warning, non-volatile memory unchanged, no information given.
    WarningUnchanged,
    /// `62 81`: part of the returned data may be corrupted.
    DataMayBeCorrupted,
    /// `62 82`: end of file reached before reading Le bytes.
    EndOfFile,
    /// `62 83`: the selected file is deactivated.
    FileDeactivated,
    /// `62 84`: the file control information is not formatted as ISO 7816-4 says.
    FciNotFormatted,
    /// `63 00`: warning, non-volatile memory changed, no information given.
    WarningChanged,
    /// `63 Cx`: verification failed, `x` tries left (`0` means the reference is now blocked).
    VerificationFailed {
        /// Tries left on the reference.
        tries_left: u8,
    },
    /// `64 00`: execution error, non-volatile memory unchanged.
    ExecutionError,
    /// `65 81`: memory failure.
    MemoryFailure,
    /// `67 00`: wrong length (Lc or Le).
    WrongLength,
    /// `68 81`: logical channel not supported.
    LogicalChannelNotSupported,
    /// `68 82`: secure messaging not supported.
    SecureMessagingNotSupported,
    /// `68 83`: the last command of a chain was expected.
    LastCommandExpected,
    /// `68 84`: command chaining not supported.
    ChainingNotSupported,
    /// `69 81`: command incompatible with the file structure.
    IncompatibleFileStructure,
    /// `69 82`: security status not satisfied (a PIN must be verified first).
    SecurityStatusNotSatisfied,
    /// `69 83`: authentication method blocked (the PIN or PUK is blocked).
    AuthenticationBlocked,
    /// `69 84`: reference data not usable (invalidated; for the PUK, its usage is exhausted).
    ReferenceDataNotUsable,
    /// `69 85`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `69 86`: command not allowed (no current EF).
    CommandNotAllowed,
    /// `69 87`: expected secure messaging data objects missing.
    SmDataMissing,
    /// `69 88`: incorrect secure messaging data objects.
    SmDataIncorrect,
    /// `6A 80`: incorrect parameters in the data field.
    IncorrectData,
    /// `6A 81`: function not supported.
    FunctionNotSupported,
    /// `6A 82`: file or application not found.
    FileNotFound,
    /// `6A 83`: record not found.
    RecordNotFound,
    /// `6A 84`: not enough memory space in the file.
    NotEnoughMemory,
    /// `6A 86`: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// `6A 87`: Lc inconsistent with P1-P2.
    LcInconsistent,
    /// `6A 88`: referenced data or reference data not found.
    ReferencedDataNotFound,
    /// `6B 00`: wrong parameters P1-P2 (offset outside the EF).
    WrongP1P2,
    /// `6C xx`: wrong Le; `xx` is the exact length to ask for (`00` means 256).
    WrongLe(u8),
    /// `6D 00`: instruction not supported.
    InsNotSupported,
    /// `6E 00`: class not supported.
    ClaNotSupported,
    /// `6F 00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// `9F xx` (CPS2ter side): `xx` response bytes are waiting for GET RESPONSE with CLA `A0`.
    Cps2terBytesAvailable(u8),
    /// `98 04` (CPS2ter side): wrong PIN, or access condition not fulfilled.
    Cps2terWrongPin,
    /// `98 40` (CPS2ter side): PIN blocked.
    Cps2terPinBlocked,
    /// `94 04` (CPS2ter side): file not found.
    Cps2terFileNotFound,
    /// `94 00` (CPS2ter side): no file selected.
    Cps2terNoFileSelected,
    /// `94 02` (CPS2ter side): out of range (invalid address).
    Cps2terOutOfRange,
    /// Any other status word, kept as is.
    Other(u16),
}

impl StatusWord {
    /// The status word for SW1 and SW2.
    pub const fn new(sw1: u8, sw2: u8) -> Self {
        Self::from_u16(u16::from_be_bytes([sw1, sw2]))
    }

    /// The status word for a 16-bit value (`0x9000`, …).
    pub const fn from_u16(sw: u16) -> Self {
        let [sw1, sw2] = sw.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Success,
            (0x61, n) => Self::BytesAvailable(n),
            (0x62, 0x00) => Self::WarningUnchanged,
            (0x62, 0x81) => Self::DataMayBeCorrupted,
            (0x62, 0x82) => Self::EndOfFile,
            (0x62, 0x83) => Self::FileDeactivated,
            (0x62, 0x84) => Self::FciNotFormatted,
            (0x63, 0x00) => Self::WarningChanged,
            (0x63, n) if n & 0xF0 == 0xC0 => Self::VerificationFailed {
                tries_left: n & 0x0F,
            },
            (0x64, 0x00) => Self::ExecutionError,
            (0x65, 0x81) => Self::MemoryFailure,
            (0x67, 0x00) => Self::WrongLength,
            (0x68, 0x81) => Self::LogicalChannelNotSupported,
            (0x68, 0x82) => Self::SecureMessagingNotSupported,
            (0x68, 0x83) => Self::LastCommandExpected,
            (0x68, 0x84) => Self::ChainingNotSupported,
            (0x69, 0x81) => Self::IncompatibleFileStructure,
            (0x69, 0x82) => Self::SecurityStatusNotSatisfied,
            (0x69, 0x83) => Self::AuthenticationBlocked,
            (0x69, 0x84) => Self::ReferenceDataNotUsable,
            (0x69, 0x85) => Self::ConditionsNotSatisfied,
            (0x69, 0x86) => Self::CommandNotAllowed,
            (0x69, 0x87) => Self::SmDataMissing,
            (0x69, 0x88) => Self::SmDataIncorrect,
            (0x6A, 0x80) => Self::IncorrectData,
            (0x6A, 0x81) => Self::FunctionNotSupported,
            (0x6A, 0x82) => Self::FileNotFound,
            (0x6A, 0x83) => Self::RecordNotFound,
            (0x6A, 0x84) => Self::NotEnoughMemory,
            (0x6A, 0x86) => Self::IncorrectP1P2,
            (0x6A, 0x87) => Self::LcInconsistent,
            (0x6A, 0x88) => Self::ReferencedDataNotFound,
            (0x6B, 0x00) => Self::WrongP1P2,
            (0x6C, n) => Self::WrongLe(n),
            (0x6D, 0x00) => Self::InsNotSupported,
            (0x6E, 0x00) => Self::ClaNotSupported,
            (0x6F, 0x00) => Self::NoPreciseDiagnosis,
            (0x9F, n) => Self::Cps2terBytesAvailable(n),
            (0x98, 0x04) => Self::Cps2terWrongPin,
            (0x98, 0x40) => Self::Cps2terPinBlocked,
            (0x94, 0x04) => Self::Cps2terFileNotFound,
            (0x94, 0x00) => Self::Cps2terNoFileSelected,
            (0x94, 0x02) => Self::Cps2terOutOfRange,
            _ => Self::Other(sw),
        }
    }

    /// The 16-bit value, SW1 in the high byte.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Success => 0x9000,
            Self::BytesAvailable(n) => 0x6100 | n as u16,
            Self::WarningUnchanged => 0x6200,
            Self::DataMayBeCorrupted => 0x6281,
            Self::EndOfFile => 0x6282,
            Self::FileDeactivated => 0x6283,
            Self::FciNotFormatted => 0x6284,
            Self::WarningChanged => 0x6300,
            Self::VerificationFailed { tries_left } => 0x63C0 | (tries_left & 0x0F) as u16,
            Self::ExecutionError => 0x6400,
            Self::MemoryFailure => 0x6581,
            Self::WrongLength => 0x6700,
            Self::LogicalChannelNotSupported => 0x6881,
            Self::SecureMessagingNotSupported => 0x6882,
            Self::LastCommandExpected => 0x6883,
            Self::ChainingNotSupported => 0x6884,
            Self::IncompatibleFileStructure => 0x6981,
            Self::SecurityStatusNotSatisfied => 0x6982,
            Self::AuthenticationBlocked => 0x6983,
            Self::ReferenceDataNotUsable => 0x6984,
            Self::ConditionsNotSatisfied => 0x6985,
            Self::CommandNotAllowed => 0x6986,
            Self::SmDataMissing => 0x6987,
            Self::SmDataIncorrect => 0x6988,
            Self::IncorrectData => 0x6A80,
            Self::FunctionNotSupported => 0x6A81,
            Self::FileNotFound => 0x6A82,
            Self::RecordNotFound => 0x6A83,
            Self::NotEnoughMemory => 0x6A84,
            Self::IncorrectP1P2 => 0x6A86,
            Self::LcInconsistent => 0x6A87,
            Self::ReferencedDataNotFound => 0x6A88,
            Self::WrongP1P2 => 0x6B00,
            Self::WrongLe(n) => 0x6C00 | n as u16,
            Self::InsNotSupported => 0x6D00,
            Self::ClaNotSupported => 0x6E00,
            Self::NoPreciseDiagnosis => 0x6F00,
            Self::Cps2terBytesAvailable(n) => 0x9F00 | n as u16,
            Self::Cps2terWrongPin => 0x9804,
            Self::Cps2terPinBlocked => 0x9840,
            Self::Cps2terFileNotFound => 0x9404,
            Self::Cps2terNoFileSelected => 0x9400,
            Self::Cps2terOutOfRange => 0x9402,
            Self::Other(sw) => sw,
        }
    }

    /// SW1 and SW2.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        self.to_bytes()[0]
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.to_bytes()[1]
    }

    /// `true` for `90 00`.
    pub const fn is_success(self) -> bool {
        matches!(self, Self::Success)
    }

    /// `true` for the words after which the command did its work: `90 00`, `61 xx`
    /// and `9F xx` (data still to fetch), and the `62 xx` warnings.
    pub const fn is_ok_or_warning(self) -> bool {
        matches!(self.sw1(), 0x90 | 0x61 | 0x9F | 0x62)
    }

    /// Tries left for `63 Cx` (`Some(x)`), and `Some(0)` for the words that say a
    /// reference is blocked (`69 83`, CPS2ter `98 40`); `None` otherwise.
    pub const fn tries_left(self) -> Option<u8> {
        match self {
            Self::VerificationFailed { tries_left } => Some(tries_left),
            Self::AuthenticationBlocked | Self::Cps2terPinBlocked => Some(0),
            _ => None,
        }
    }

    /// The length to fetch with GET RESPONSE for `61 xx` (ISO) or `9F xx` (CPS2ter),
    /// with `xx = 00` meaning 256.
    pub const fn bytes_available(self) -> Option<usize> {
        match self {
            Self::BytesAvailable(n) | Self::Cps2terBytesAvailable(n) => Some(le_value(n)),
            _ => None,
        }
    }

    /// The exact Le to resend with for `6C xx` (`00` means 256).
    pub const fn correct_le(self) -> Option<usize> {
        match self {
            Self::WrongLe(n) => Some(le_value(n)),
            _ => None,
        }
    }

    /// `true` for `6E xx`: the card does not know the class (a CPS3 then needs its IAS
    /// application reselected, a CPS2ter-era card does not speak ISO).
    pub const fn is_class_not_supported(self) -> bool {
        self.sw1() == 0x6E
    }

    /// What the word means, in English.
    pub fn meaning(self) -> String {
        self.meanings().0
    }

    /// What the word means, in French.
    pub fn meaning_fr(self) -> String {
        self.meanings().1
    }

    fn meanings(self) -> (String, String) {
        let fixed = |en: &str, fr: &str| (en.to_owned(), fr.to_owned());
        match self {
            Self::Success => fixed("success", "succès"),
            Self::BytesAvailable(n) => (
                format!("{} response bytes available (GET RESPONSE)", le_value(n)),
                format!(
                    "{} octets de réponse disponibles (GET RESPONSE)",
                    le_value(n)
                ),
            ),
            Self::WarningUnchanged => fixed(
                "warning: memory unchanged",
                "avertissement : mémoire inchangée",
            ),
            Self::DataMayBeCorrupted => fixed(
                "warning: part of the returned data may be corrupted",
                "avertissement : une partie des données renvoyées peut être corrompue",
            ),
            Self::EndOfFile => fixed(
                "warning: end of file reached before reading Le bytes",
                "avertissement : fin du fichier atteinte avant Le octets",
            ),
            Self::FileDeactivated => fixed(
                "warning: the selected file is deactivated",
                "avertissement : le fichier sélectionné est désactivé",
            ),
            Self::FciNotFormatted => fixed(
                "warning: file control information not formatted per ISO 7816-4",
                "avertissement : informations de contrôle du fichier non conformes à l'ISO 7816-4",
            ),
            Self::WarningChanged => fixed(
                "warning: memory changed",
                "avertissement : mémoire modifiée",
            ),
            Self::VerificationFailed { tries_left: 0 } => fixed(
                "wrong code: no try left, the code is blocked",
                "code faux : plus aucun essai, le code est bloqué",
            ),
            Self::VerificationFailed { tries_left: 1 } => {
                fixed("wrong code: 1 try left", "code faux : 1 essai restant")
            }
            Self::VerificationFailed { tries_left } => (
                format!("wrong code: {tries_left} tries left"),
                format!("code faux : {tries_left} essais restants"),
            ),
            Self::ExecutionError => fixed(
                "execution error, memory unchanged",
                "erreur d'exécution, mémoire inchangée",
            ),
            Self::MemoryFailure => fixed("memory failure", "défaillance mémoire"),
            Self::WrongLength => fixed("wrong length", "longueur incorrecte"),
            Self::LogicalChannelNotSupported => fixed(
                "logical channel not supported",
                "canal logique non pris en charge",
            ),
            Self::SecureMessagingNotSupported => fixed(
                "secure messaging not supported",
                "messagerie sécurisée non prise en charge",
            ),
            Self::LastCommandExpected => fixed(
                "the last command of the chain was expected",
                "la dernière commande de la chaîne était attendue",
            ),
            Self::ChainingNotSupported => fixed(
                "command chaining not supported",
                "chaînage de commandes non pris en charge",
            ),
            Self::IncompatibleFileStructure => fixed(
                "command incompatible with the file structure",
                "commande incompatible avec la structure du fichier",
            ),
            Self::SecurityStatusNotSatisfied => fixed(
                "security status not satisfied (code required)",
                "conditions de sécurité non remplies (code requis)",
            ),
            Self::AuthenticationBlocked => fixed(
                "authentication method blocked (code blocked)",
                "méthode d'authentification bloquée (code bloqué)",
            ),
            Self::ReferenceDataNotUsable => fixed(
                "reference data not usable (unblock limit reached)",
                "données de référence inutilisables (limite de déblocages atteinte)",
            ),
            Self::ConditionsNotSatisfied => fixed(
                "conditions of use not satisfied",
                "conditions d'utilisation non satisfaites",
            ),
            Self::CommandNotAllowed => fixed(
                "command not allowed (no current file)",
                "commande non autorisée (aucun fichier courant)",
            ),
            Self::SmDataMissing => fixed(
                "secure messaging data objects missing",
                "objets de messagerie sécurisée manquants",
            ),
            Self::SmDataIncorrect => fixed(
                "incorrect secure messaging data objects",
                "objets de messagerie sécurisée incorrects",
            ),
            Self::IncorrectData => fixed(
                "incorrect parameters in the data field",
                "paramètres incorrects dans le champ de données",
            ),
            Self::FunctionNotSupported => {
                fixed("function not supported", "fonction non prise en charge")
            }
            Self::FileNotFound => fixed(
                "file or application not found",
                "fichier ou application introuvable",
            ),
            Self::RecordNotFound => fixed("record not found", "enregistrement introuvable"),
            Self::NotEnoughMemory => fixed(
                "not enough memory space in the file",
                "espace mémoire insuffisant dans le fichier",
            ),
            Self::IncorrectP1P2 => {
                fixed("incorrect parameters P1-P2", "paramètres P1-P2 incorrects")
            }
            Self::LcInconsistent => fixed("Lc inconsistent with P1-P2", "Lc incohérent avec P1-P2"),
            Self::ReferencedDataNotFound => fixed(
                "referenced data not found",
                "données référencées introuvables",
            ),
            Self::WrongP1P2 => fixed(
                "wrong parameters P1-P2 (offset outside the file)",
                "paramètres P1-P2 erronés (position hors du fichier)",
            ),
            Self::WrongLe(n) => (
                format!("wrong Le: resend with Le = {}", le_value(n)),
                format!("Le erroné : renvoyer avec Le = {}", le_value(n)),
            ),
            Self::InsNotSupported => fixed(
                "instruction not supported",
                "instruction non prise en charge",
            ),
            Self::ClaNotSupported => fixed("class not supported", "classe non prise en charge"),
            Self::NoPreciseDiagnosis => fixed("no precise diagnosis", "pas de diagnostic précis"),
            Self::Cps2terBytesAvailable(n) => (
                format!(
                    "CPS2ter: {} response bytes available (GET RESPONSE, class A0)",
                    le_value(n)
                ),
                format!(
                    "CPS2ter : {} octets de réponse disponibles (GET RESPONSE, classe A0)",
                    le_value(n)
                ),
            ),
            Self::Cps2terWrongPin => fixed(
                "CPS2ter: wrong code or access condition not fulfilled",
                "CPS2ter : code faux ou condition d'accès non remplie",
            ),
            Self::Cps2terPinBlocked => fixed("CPS2ter: code blocked", "CPS2ter : code bloqué"),
            Self::Cps2terFileNotFound => {
                fixed("CPS2ter: file not found", "CPS2ter : fichier introuvable")
            }
            Self::Cps2terNoFileSelected => fixed(
                "CPS2ter: no file selected",
                "CPS2ter : aucun fichier sélectionné",
            ),
            Self::Cps2terOutOfRange => fixed(
                "CPS2ter: address out of range",
                "CPS2ter : adresse hors limites",
            ),
            Self::Other(sw) => match sw >> 8 {
                0x62 | 0x63 => fixed("warning", "avertissement"),
                0x64..=0x66 => fixed("execution error", "erreur d'exécution"),
                0x67..=0x6F => fixed("checking error", "erreur de vérification"),
                _ => fixed("unknown status word", "mot d'état inconnu"),
            },
        }
    }
}

/// `00` in a length byte means 256.
const fn le_value(n: u8) -> usize {
    if n == 0 { 256 } else { n as usize }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        Self::from_u16(sw)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.to_u16()
    }
}

impl From<[u8; 2]> for StatusWord {
    fn from([sw1, sw2]: [u8; 2]) -> Self {
        Self::new(sw1, sw2)
    }
}

/// `90 00 (success)`: the hex value then its English meaning.
impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [sw1, sw2] = self.to_bytes();
        write!(f, "{sw1:02X} {sw2:02X} ({})", self.meaning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u16_round_trips() {
        for sw in 0..=u16::MAX {
            let word = StatusWord::from(sw);
            assert_eq!(word.to_u16(), sw, "{sw:04X} became {word:?}");
            assert!(!word.meaning().is_empty());
            assert!(!word.meaning_fr().is_empty());
        }
    }

    #[test]
    fn named_words() {
        assert_eq!(StatusWord::from(0x9000), StatusWord::Success);
        assert_eq!(
            StatusWord::from(0x63C2),
            StatusWord::VerificationFailed { tries_left: 2 }
        );
        assert_eq!(StatusWord::from(0x63C2).tries_left(), Some(2));
        assert_eq!(StatusWord::from(0x6983).tries_left(), Some(0));
        assert_eq!(StatusWord::from(0x9840).tries_left(), Some(0));
        assert_eq!(StatusWord::from(0x6A82), StatusWord::FileNotFound);
        assert_eq!(
            StatusWord::from(0x6881),
            StatusWord::LogicalChannelNotSupported
        );
        assert_eq!(StatusWord::from(0x9804), StatusWord::Cps2terWrongPin);
        assert_eq!(StatusWord::from(0x9404), StatusWord::Cps2terFileNotFound);
        assert_eq!(StatusWord::from(0x6E42), StatusWord::Other(0x6E42));
        assert!(StatusWord::from(0x6E42).is_class_not_supported());
        assert!(StatusWord::ClaNotSupported.is_class_not_supported());
    }

    #[test]
    fn length_helpers() {
        assert_eq!(StatusWord::new(0x61, 0x27).bytes_available(), Some(0x27));
        assert_eq!(StatusWord::new(0x61, 0x00).bytes_available(), Some(256));
        assert_eq!(StatusWord::new(0x9F, 0x07).bytes_available(), Some(7));
        assert_eq!(StatusWord::new(0x6C, 0x0C).correct_le(), Some(12));
        assert_eq!(StatusWord::Success.bytes_available(), None);
        assert_eq!(StatusWord::Success.correct_le(), None);
    }

    #[test]
    fn display_names_value_and_meaning() {
        assert_eq!(
            StatusWord::from(0x63C1).to_string(),
            "63 C1 (wrong code: 1 try left)"
        );
        assert_eq!(
            StatusWord::from(0x6983).meaning_fr(),
            "méthode d'authentification bloquée (code bloqué)"
        );
        assert_eq!(
            StatusWord::from(0x1234).to_string(),
            "12 34 (unknown status word)"
        );
    }
}
