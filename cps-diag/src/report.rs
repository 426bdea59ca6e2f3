//! The report: one result per check, grouped by area, serialisable (`schema_version`),
//! printable for people in French or English, redactable before it is sent to support.

use std::fmt::Write as _;

use serde::Serialize;

use crate::remedy::{Lang, Remedy};

/// Version of the report's JSON layout (`schema/report.schema.json`). Fields are only
/// added within a major version.
pub const SCHEMA_VERSION: u32 = 1;

/// The exit code of a diagnosis in which a check failed (or warned, with `strict`).
pub const EXIT_FAILED: u8 = 10;

/// What a check concluded, from best to worst (skipped aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As it should be.
    Ok,
    /// Worth knowing, nothing to do.
    Info,
    /// Works, but something needs attention.
    Warn,
    /// Does not work: the remedy says what to do.
    Fail,
    /// Not run: a check it depends on failed, or it does not apply here.
    Skipped,
}

impl Verdict {
    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Info => "info",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
        }
    }
}

/// The part of the workstation a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Area {
    /// Operating system, tool, clock.
    System,
    /// The PC/SC service.
    Pcsc,
    /// Card readers.
    Readers,
    /// The card itself.
    Card,
    /// The card's PKCS#15 application.
    Application,
    /// PIN and unblock code.
    Pin,
    /// The card's certificates.
    Certificates,
    /// Revocation lists.
    Revocation,
    /// The card's keys at work.
    KeyProof,
    /// Middleware and browsers.
    Middleware,
}

impl Area {
    /// The heading of the area in the human report.
    pub fn title(self, lang: Lang) -> &'static str {
        let (fr, en) = match self {
            Area::System => ("Système", "System"),
            Area::Pcsc => ("Service PC/SC", "PC/SC service"),
            Area::Readers => ("Lecteurs", "Readers"),
            Area::Card => ("Carte", "Card"),
            Area::Application => ("Application de la carte", "Card application"),
            Area::Pin => ("Code porteur et code de déblocage", "PIN and unblock code"),
            Area::Certificates => ("Certificats", "Certificates"),
            Area::Revocation => ("Révocation", "Revocation"),
            Area::KeyProof => ("Preuve des clés", "Key proof"),
            Area::Middleware => ("Logiciels", "Middleware"),
        };
        lang.pick(fr, en)
    }
}

/// A sentence in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Text {
    /// French.
    pub fr: String,
    /// English.
    pub en: String,
}

impl Text {
    /// A sentence from its French and English versions.
    pub fn new(fr: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            fr: fr.into(),
            en: en.into(),
        }
    }

    /// The version in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.fr, &self.en)
    }

    fn replace(&mut self, from: &str, to: &str) {
        self.fr = self.fr.replace(from, to);
        self.en = self.en.replace(from, to);
    }
}

/// One named value a check found (a reader name, a serial, a path…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// What it is, as a short English key (`reader`, `serial`, `not_after`).
    pub key: String,
    /// The value, as text.
    pub value: String,
}

/// A remedy as it appears in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemedyText {
    /// Its stable identifier ([`Remedy::id`]).
    pub id: String,
    /// French.
    pub fr: String,
    /// English.
    pub en: String,
}

impl From<Remedy> for RemedyText {
    fn from(remedy: Remedy) -> RemedyText {
        RemedyText {
            id: remedy.id().to_owned(),
            fr: remedy.text(Lang::Fr).to_owned(),
            en: remedy.text(Lang::En).to_owned(),
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// Stable identifier (`pin.pin`, `certs.chain`…).
    pub id: String,
    /// The area it belongs to.
    pub area: Area,
    /// What the check looks at.
    pub title: Text,
    /// The verdict.
    pub verdict: Verdict,
    /// One line saying what was found.
    pub finding: Text,
    /// Values found, in order.
    pub details: Vec<Detail>,
    /// What to do, for `warn` and `fail` verdicts that have one.
    pub remedy: Option<RemedyText>,
    /// The checks this one needs.
    pub depends_on: Vec<String>,
    /// Time spent, in milliseconds.
    pub duration_ms: f64,
}

impl CheckResult {
    /// The value of a detail, if the check gave it.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|d| d.key == key)
            .map(|d| d.value.as_str())
    }
}

/// How many checks gave each verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// `ok` verdicts.
    pub ok: usize,
    /// `info` verdicts.
    pub info: usize,
    /// `warn` verdicts.
    pub warn: usize,
    /// `fail` verdicts.
    pub fail: usize,
    /// `skipped` verdicts.
    pub skipped: usize,
}

/// The tool that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tool {
    /// Its name (`cps`).
    pub name: String,
    /// Its version.
    pub version: String,
}

/// How the card was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Through the PC/SC service and a reader.
    Pcsc,
    /// In-process, without PC/SC (the virtual card).
    InProcess,
}

/// How much of a report [`Report::render_text`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Warnings and failures with their remedies, and the summary (`cps diag -q`).
    Quiet,
    /// Every check on one line; details for warnings and failures.
    #[default]
    Normal,
    /// Every check with all its details (`cps diag -v`).
    Verbose,
}

/// A whole diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool.
    pub tool: Tool,
    /// When the diagnosis started, RFC 3339 (UTC), by the diagnosed clock.
    pub started_at: String,
    /// Total time, in milliseconds.
    pub duration_ms: f64,
    /// How the card was reached.
    pub mode: Mode,
    /// APDUs sent to the card.
    pub apdus: usize,
    /// Whether names, identifiers and serials were hidden.
    pub redacted: bool,
    /// Counts per verdict.
    pub summary: Summary,
    /// Every check, in order.
    pub checks: Vec<CheckResult>,
}

const REDACTED: &str = "[redacted]";

impl Report {
    /// The result of a check by id.
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The verdict of a check by id.
    pub fn verdict(&self, id: &str) -> Option<Verdict> {
        self.check(id).map(|c| c.verdict)
    }

    /// Whether a check failed (or, with `strict`, warned).
    pub fn failed(&self, strict: bool) -> bool {
        self.checks
            .iter()
            .any(|c| c.verdict == Verdict::Fail || (strict && c.verdict == Verdict::Warn))
    }

    /// The process exit code: 0, or [`EXIT_FAILED`] when a check failed (with `strict`,
    /// also when one warned).
    pub fn exit_code(&self, strict: bool) -> u8 {
        if self.failed(strict) { EXIT_FAILED } else { 0 }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"schema_version\":{SCHEMA_VERSION},\"error\":\"{e}\"}}")
        })
    }

    pub(crate) fn summarise(&mut self) {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.verdict {
                Verdict::Ok => s.ok += 1,
                Verdict::Info => s.info += 1,
                Verdict::Warn => s.warn += 1,
                Verdict::Fail => s.fail += 1,
                Verdict::Skipped => s.skipped += 1,
            }
        }
        self.summary = s;
    }

    /// Hides every value in `sensitive` (names, identifiers, serials the checks
    /// recorded) wherever it appears, and the details that are identifiers by nature.
    pub(crate) fn redact(&mut self, sensitive: &[String]) {
        let mut words: Vec<&str> = sensitive
            .iter()
            .map(|s| s.trim())
            .filter(|s| s.chars().count() >= 3)
            .collect();
        // Longest first, so that a PAN goes before the serial it contains.
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        words.dedup();
        for check in &mut self.checks {
            for word in &words {
                check.finding.replace(word, REDACTED);
                for d in &mut check.details {
                    d.value = d.value.replace(word, REDACTED);
                }
            }
            for d in &mut check.details {
                if SENSITIVE_KEYS.contains(&d.key.as_str()) {
                    d.value = REDACTED.to_owned();
                }
            }
        }
        self.redacted = true;
    }

    /// The report for people: grouped by area, one line per check, remedies below,
    /// then the summary line. Details are shown for warnings and failures, and for
    /// every check at [`Verbosity::Verbose`]; [`Verbosity::Quiet`] keeps only the
    /// warnings and failures (with their remedies) and the summary. ANSI colours when
    /// `colour` is set.
    pub fn render_text(&self, lang: Lang, colour: bool, verbosity: Verbosity) -> String {
        let paint = |code: &str, s: &str| {
            if colour {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_owned()
            }
        };
        let mut out = String::new();
        let mut area = None;
        let problem = |c: &CheckResult| matches!(c.verdict, Verdict::Warn | Verdict::Fail);
        for c in &self.checks {
            if verbosity == Verbosity::Quiet && !problem(c) {
                continue;
            }
            if area != Some(c.area) {
                area = Some(c.area);
                if !out.is_empty() {
                    out.push('\n');
                }
                let _ = writeln!(out, "{}", paint("1", c.area.title(lang)));
            }
            let (label, code) = match c.verdict {
                Verdict::Ok => ("ok", "32"),
                Verdict::Info => ("info", "36"),
                Verdict::Warn => (lang.pick("attention", "warn"), "33"),
                Verdict::Fail => (lang.pick("échec", "fail"), "31;1"),
                Verdict::Skipped => (lang.pick("ignoré", "skipped"), "2"),
            };
            let label = format!("[{label:^9}]");
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint(code, &label),
                c.title.get(lang),
                c.finding.get(lang)
            );
            if verbosity == Verbosity::Verbose || problem(c) {
                for d in &c.details {
                    let _ = writeln!(out, "              {}: {}", d.key, d.value);
                }
            }
            if let Some(r) = &c.remedy
                && problem(c)
            {
                let text = lang.pick(&r.fr, &r.en);
                let _ = writeln!(
                    out,
                    "              {} {}",
                    paint("1", lang.pick("→ À faire :", "→ To do:")),
                    text
                );
            }
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "{}{}",
            if out.is_empty() { "" } else { "\n" },
            match lang {
                Lang::Fr => format!(
                    "Bilan : {} ok, {} info, {} attention, {} échec, {} ignoré — {} APDU, {:.0} ms{}",
                    s.ok,
                    s.info,
                    s.warn,
                    s.fail,
                    s.skipped,
                    self.apdus,
                    self.duration_ms,
                    if self.redacted { " (anonymisé)" } else { "" }
                ),
                Lang::En => format!(
                    "Summary: {} ok, {} info, {} warn, {} fail, {} skipped — {} APDUs, {:.0} ms{}",
                    s.ok,
                    s.info,
                    s.warn,
                    s.fail,
                    s.skipped,
                    self.apdus,
                    self.duration_ms,
                    if self.redacted { " (redacted)" } else { "" }
                ),
            }
        );
        out
    }
}

/// Detail keys whose values are identifiers in themselves.
const SENSITIVE_KEYS: &[&str] = &[
    "serial",
    "pan",
    "holder",
    "national_id",
    "subject",
    "token_label",
    "card_number",
    "upn",
    "certificate_serial",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, verdict: Verdict) -> CheckResult {
        CheckResult {
            id: id.into(),
            area: Area::Card,
            title: Text::new("Carte", "Card"),
            verdict,
            finding: Text::new("numéro 99213845", "number 99213845"),
            details: vec![Detail {
                key: "serial".into(),
                value: "99213845".into(),
            }],
            remedy: Some(Remedy::NoCard.into()),
            depends_on: vec![],
            duration_ms: 0.5,
        }
    }

    fn report(checks: Vec<CheckResult>) -> Report {
        let mut r = Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "cps".into(),
                version: "0".into(),
            },
            started_at: String::new(),
            duration_ms: 1.0,
            mode: Mode::InProcess,
            apdus: 0,
            redacted: false,
            summary: Summary::default(),
            checks,
        };
        r.summarise();
        r
    }

    #[test]
    fn exit_codes_and_strict() {
        let r = report(vec![result("a", Verdict::Ok), result("b", Verdict::Warn)]);
        assert_eq!(r.exit_code(false), 0);
        assert_eq!(r.exit_code(true), EXIT_FAILED);
        let r = report(vec![result("a", Verdict::Fail)]);
        assert_eq!(r.exit_code(false), EXIT_FAILED);
        assert_eq!(r.summary.fail, 1);
    }

    #[test]
    fn redaction_hides_values_and_identifier_details() {
        let mut r = report(vec![result("a", Verdict::Fail)]);
        r.redact(&["99213845".into()]);
        let json = r.to_json();
        assert!(!json.contains("99213845"), "{json}");
        assert!(r.redacted);
    }

    #[test]
    fn verbosity_levels_choose_checks_and_details() {
        let mut ok = result("a", Verdict::Ok);
        ok.title = Text::new("Lecteur", "Reader");
        ok.area = Area::Readers;
        let r = report(vec![ok, result("b", Verdict::Warn)]);
        let quiet = r.render_text(Lang::En, false, Verbosity::Quiet);
        assert!(!quiet.contains("Reader"), "{quiet}");
        assert!(quiet.contains("Card: number 99213845"), "{quiet}");
        assert!(quiet.contains("To do:"), "{quiet}");
        assert!(quiet.contains("Summary: 1 ok, 0 info, 1 warn"), "{quiet}");
        let normal = r.render_text(Lang::En, false, Verbosity::Normal);
        assert!(normal.contains("Reader: number"), "{normal}");
        // Details: only the warning's at Normal, both at Verbose.
        assert_eq!(normal.matches("serial: 99213845").count(), 1, "{normal}");
        let verbose = r.render_text(Lang::En, false, Verbosity::Verbose);
        assert_eq!(verbose.matches("serial: 99213845").count(), 2, "{verbose}");
        // Nothing to report: quiet prints the summary alone.
        let r = report(vec![result("a", Verdict::Ok)]);
        let quiet = r.render_text(Lang::Fr, false, Verbosity::Quiet);
        assert!(quiet.starts_with("Bilan : 1 ok"), "{quiet}");
    }

    #[test]
    fn text_rendering_colours_only_when_asked() {
        let r = report(vec![result("a", Verdict::Fail)]);
        let plain = r.render_text(Lang::En, false, Verbosity::Verbose);
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("To do:"));
        assert!(
            r.render_text(Lang::Fr, true, Verbosity::Normal)
                .contains("\x1b[31;1m")
        );
        assert!(
            r.render_text(Lang::Fr, false, Verbosity::Normal)
                .contains("À faire")
        );
    }
}
