//! The engine: runs the checks in order, each in its own guard (a panic becomes a
//! `fail`), timed, skipping the dependents of a check that failed; the card checks
//! run inside one card session (one PC/SC transaction).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use cps_apdu::{Transport, TransportError};
use cps_card::cert::Certificate;
use cps_card::pcsc::{ConnectOptions, Disposition, PcscContext, PcscError, ReaderInfo};
use cps_card::transcript::Tracing;
use cps_card::{CardCertificate, CardError, CardKind, CpsCard, LastTry, Pin, PinStatus};

use crate::env::Environment;
use crate::remedy::Remedy;
use crate::report::{
    Area, CheckResult, Detail, Mode, RemedyText, Report, SCHEMA_VERSION, Summary, Text, Tool,
    Verdict,
};
use crate::trust::{AnchorSource, COFFRE_DIR, TrustStore};

/// What the caller asks of a diagnosis.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The tool's name, for the report.
    pub tool_name: String,
    /// The tool's version, for the report.
    pub tool_version: String,
    /// The reader (`--reader`: an index or a name); default: the reader holding a CPS.
    pub reader: Option<String>,
    /// The PIN for the key proof; without it the key proof is skipped.
    pub pin: Option<Pin>,
    /// Why there is no PIN, when the caller knows (shown in the skipped key proof).
    pub no_pin_reason: Option<Text>,
    /// Whether the key proof may spend the PIN's last try.
    pub last_try: LastTry,
    /// Certificates expiring within this many days are a `warn`.
    pub warn_days: u32,
    /// CA directories to trust besides the embedded production CAs; empty: the
    /// Cryptolib's `Coffre` directory when it exists.
    pub ca_dirs: Vec<PathBuf>,
    /// CA certificates to trust, with a label (the virtual card's test CA).
    pub extra_cas: Vec<(Certificate, String)>,
    /// CRL files or directories.
    pub crls: Vec<PathBuf>,
    /// Hide names, identifiers and serials in the report.
    pub redact: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tool_name: "cps".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            reader: None,
            pin: None,
            no_pin_reason: None,
            last_try: LastTry::Refuse,
            warn_days: 30,
            ca_dirs: Vec::new(),
            extra_cas: Vec::new(),
            crls: Vec::new(),
            redact: false,
        }
    }
}

/// How a card session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Leave the card as it is (read-only work).
    Leave,
    /// Reset it (a PIN was verified: don't leave it unlocked).
    Reset,
}

/// Why a card session could not be opened or closed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// Reaching the service, the reader or the card failed.
    #[error(transparent)]
    Pcsc(#[from] PcscError),
    /// The transaction or the disconnection failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// The PC/SC side of a workstation: readers, and sessions with a card. [`HostPcsc`]
/// is the real one; tests give fakes (no service, no reader, a Carte Vitale…).
pub trait PcscAccess {
    /// Every reader with its card state.
    ///
    /// # Errors
    ///
    /// [`PcscError::NoService`] when the service is not running, or another failure.
    fn list_readers(&mut self) -> Result<Vec<ReaderInfo>, PcscError>;

    /// Connects to the card in `reader`, runs `session` inside one transaction, and
    /// disconnects as `session` says.
    ///
    /// # Errors
    ///
    /// Connecting, beginning or ending the transaction, or disconnecting failed.
    fn with_card(
        &mut self,
        reader: &str,
        session: &mut dyn FnMut(&mut dyn Transport) -> SessionEnd,
    ) -> Result<(), AccessError>;
}

/// The workstation's PC/SC service.
#[derive(Debug)]
pub struct HostPcsc {
    ctx: Option<PcscContext>,
    timeout: Duration,
}

impl HostPcsc {
    /// The PC/SC service, each call to the card bounded by `timeout`.
    pub fn new(timeout: Duration) -> HostPcsc {
        HostPcsc { ctx: None, timeout }
    }

    fn context(&mut self) -> Result<&PcscContext, PcscError> {
        if self.ctx.is_none() {
            self.ctx = Some(PcscContext::establish()?);
        }
        self.ctx.as_ref().ok_or(PcscError::NoService)
    }
}

impl PcscAccess for HostPcsc {
    fn list_readers(&mut self) -> Result<Vec<ReaderInfo>, PcscError> {
        match self.context()?.list_readers() {
            Err(PcscError::NoReaders) => Ok(Vec::new()),
            other => other,
        }
    }

    fn with_card(
        &mut self,
        reader: &str,
        session: &mut dyn FnMut(&mut dyn Transport) -> SessionEnd,
    ) -> Result<(), AccessError> {
        let timeout = self.timeout;
        let mut transport = self
            .context()?
            .connect(reader, ConnectOptions::default().with_timeout(timeout))?;
        let mut end = SessionEnd::Leave;
        let result = transport.transaction(|txn| {
            end = session(txn);
            Ok::<(), TransportError>(())
        });
        let disposition = match end {
            SessionEnd::Leave => Disposition::Leave,
            SessionEnd::Reset => Disposition::Reset,
        };
        let closed = transport.disconnect(disposition);
        result?;
        closed?;
        Ok(())
    }
}

/// A [`PcscAccess`] that writes every APDU of the card session to a sink, PIN-bearing
/// data redacted (the `cps --trace` format of [`cps_card::transcript::Tracing`]).
pub struct TracedAccess<A, W> {
    inner: A,
    sink: W,
}

impl<A, W> std::fmt::Debug for TracedAccess<A, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TracedAccess")
    }
}

impl<A: PcscAccess, W: std::io::Write> TracedAccess<A, W> {
    /// Traces the card sessions of `inner` to `sink`.
    pub fn new(inner: A, sink: W) -> Self {
        TracedAccess { inner, sink }
    }
}

impl<A: PcscAccess, W: std::io::Write> PcscAccess for TracedAccess<A, W> {
    fn list_readers(&mut self) -> Result<Vec<ReaderInfo>, PcscError> {
        self.inner.list_readers()
    }

    fn with_card(
        &mut self,
        reader: &str,
        session: &mut dyn FnMut(&mut dyn Transport) -> SessionEnd,
    ) -> Result<(), AccessError> {
        let sink = &mut self.sink;
        self.inner.with_card(reader, &mut |transport| {
            session(&mut Tracing::new(transport, &mut *sink))
        })
    }
}

/// Where the card is.
pub enum Target<'t> {
    /// Behind the PC/SC service (the real one, or a fake).
    Pcsc(&'t mut dyn PcscAccess),
    /// In-process (the virtual card): the PC/SC and reader checks are skipped.
    InProcess(&'t mut dyn Transport),
}

impl std::fmt::Debug for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Pcsc(_) => "Target::Pcsc",
            Target::InProcess(_) => "Target::InProcess",
        })
    }
}

/// The card as the checks drive it.
pub(crate) type Card<'c> = CpsCard<&'c mut dyn Transport>;

/// What the checks learnt, for the checks after them.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub in_process: bool,
    pub readers: Option<Vec<ReaderInfo>>,
    pub chosen: Option<ReaderInfo>,
    pub atr: Option<Vec<u8>>,
    /// Connecting to the card failed.
    pub connect_error: Option<AccessError>,
    /// `CpsCard::open` failed.
    pub open_error: Option<CardError>,
    pub kind: Option<CardKind>,
    pub pin_status: Option<Result<PinStatus, String>>,
    pub certs: Vec<CardCertificate>,
    pub pin_verified: bool,
    pub apdus: usize,
    /// Values `--redact` hides.
    pub sensitive: Vec<String>,
    /// CA files that could not be used.
    pub trust_notes: Vec<String>,
}

impl Facts {
    pub(crate) fn hide(&mut self, value: impl Into<String>) {
        let v = value.into();
        if !v.trim().is_empty() {
            self.sensitive.push(v);
        }
    }
}

/// What a check is given.
pub(crate) struct Ctx<'a, 'c> {
    pub env: &'a Environment,
    pub opts: &'a Options,
    pub trust: &'a TrustStore,
    pub facts: &'a mut Facts,
    pub pcsc: Option<&'a mut dyn PcscAccess>,
    pub card: Option<&'a mut Card<'c>>,
}

/// What a check returns.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub verdict: Verdict,
    pub finding: Text,
    pub details: Vec<Detail>,
    pub remedy: Option<Remedy>,
    /// For `skipped`: whether the checks that depend on this one are skipped too.
    pub blocks: bool,
}

impl Outcome {
    pub(crate) fn new(verdict: Verdict, finding: Text) -> Outcome {
        Outcome {
            verdict,
            finding,
            details: Vec::new(),
            remedy: None,
            blocks: verdict == Verdict::Fail,
        }
    }
    pub(crate) fn ok(finding: Text) -> Outcome {
        Outcome::new(Verdict::Ok, finding)
    }
    pub(crate) fn info(finding: Text) -> Outcome {
        Outcome::new(Verdict::Info, finding)
    }
    pub(crate) fn warn(finding: Text, remedy: Option<Remedy>) -> Outcome {
        Outcome::new(Verdict::Warn, finding).with_remedy(remedy)
    }
    pub(crate) fn fail(finding: Text, remedy: Option<Remedy>) -> Outcome {
        Outcome::new(Verdict::Fail, finding).with_remedy(remedy)
    }
    /// Does not apply here; the checks that depend on it still run.
    pub(crate) fn not_applicable(reason: Text) -> Outcome {
        Outcome::new(Verdict::Skipped, reason)
    }
    /// Could not run; the checks that depend on it are skipped too.
    pub(crate) fn blocked(reason: Text) -> Outcome {
        let mut o = Outcome::new(Verdict::Skipped, reason);
        o.blocks = true;
        o
    }
    pub(crate) fn with_remedy(mut self, remedy: Option<Remedy>) -> Outcome {
        self.remedy = remedy;
        self
    }
    pub(crate) fn detail(mut self, key: &str, value: impl ToString) -> Outcome {
        self.details.push(Detail {
            key: key.to_owned(),
            value: value.to_string(),
        });
        self
    }
    pub(crate) fn details(mut self, details: Vec<Detail>) -> Outcome {
        self.details.extend(details);
        self
    }
}

/// When a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the card session.
    Before,
    /// Inside the card session.
    Card,
    /// After it.
    After,
}

/// One check.
pub(crate) struct CheckDef {
    pub id: &'static str,
    pub area: Area,
    pub title: (&'static str, &'static str),
    pub deps: &'static [&'static str],
    pub phase: Phase,
    /// Run again at the end, replacing the first result (the clock, once the card's
    /// certificates are known).
    pub revisit: bool,
    pub run: fn(&mut Ctx<'_, '_>) -> Outcome,
}

/// A short text for both languages.
pub(crate) fn t(fr: impl Into<String>, en: impl Into<String>) -> Text {
    Text::new(fr, en)
}

struct Runner<'a> {
    env: &'a Environment,
    opts: &'a Options,
    trust: TrustStore,
    facts: Facts,
    results: Vec<CheckResult>,
    blocks: HashMap<&'static str, bool>,
}

impl Runner<'_> {
    fn run_def(
        &mut self,
        def: &CheckDef,
        pcsc: Option<&mut dyn PcscAccess>,
        card: Option<&mut Card<'_>>,
    ) -> CheckResult {
        let start = Instant::now();
        let blocker = def
            .deps
            .iter()
            .find(|d| self.blocks.get(*d).copied().unwrap_or(true));
        let outcome = match blocker {
            Some(dep) => {
                let why = self
                    .results
                    .iter()
                    .find(|r| r.id == *dep)
                    .map(|r| r.verdict)
                    .unwrap_or(Verdict::Skipped);
                let (fr, en) = match why {
                    Verdict::Fail => ("a échoué", "failed"),
                    _ => ("n'a pas pu être fait", "could not run"),
                };
                Outcome::blocked(t(
                    format!("non vérifié : {dep} {fr}"),
                    format!("not checked: {dep} {en}"),
                ))
            }
            None => {
                let mut ctx = Ctx {
                    env: self.env,
                    opts: self.opts,
                    trust: &self.trust,
                    facts: &mut self.facts,
                    pcsc: match pcsc {
                        Some(p) => Some(&mut *p),
                        None => None,
                    },
                    card,
                };
                catch_unwind(AssertUnwindSafe(|| (def.run)(&mut ctx))).unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".to_owned());
                    Outcome::fail(
                        t(
                            format!("erreur interne de la vérification : {message}"),
                            format!("internal error in this check: {message}"),
                        ),
                        None,
                    )
                })
            }
        };
        self.blocks.insert(
            def.id,
            outcome.verdict == Verdict::Fail
                || (outcome.verdict == Verdict::Skipped && outcome.blocks),
        );
        CheckResult {
            id: def.id.to_owned(),
            area: def.area,
            title: t(def.title.0, def.title.1),
            verdict: outcome.verdict,
            finding: outcome.finding,
            details: outcome.details,
            remedy: outcome.remedy.map(RemedyText::from),
            depends_on: def.deps.iter().map(|d| (*d).to_owned()).collect(),
            duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        }
    }

    fn run_all(&mut self, defs: &[&CheckDef], mut pcsc: Option<&mut dyn PcscAccess>) {
        for def in defs {
            let p: Option<&mut dyn PcscAccess> = match &mut pcsc {
                Some(p) => Some(&mut **p),
                None => None,
            };
            let r = self.run_def(def, p, None);
            self.results.push(r);
        }
    }

    /// The card checks, with the card opened on `transport` (none: they report why).
    fn card_phase(
        &mut self,
        defs: &[&CheckDef],
        transport: Option<&mut dyn Transport>,
    ) -> SessionEnd {
        let mut card = None;
        if let Some(t) = transport {
            self.facts.atr = Some(t.atr().to_vec());
            self.facts.kind = Some(CardKind::from_atr(t.atr()));
            match catch_unwind(AssertUnwindSafe(|| CpsCard::open(t))) {
                Ok(Ok(c)) => card = Some(c),
                Ok(Err(e)) => self.facts.open_error = Some(e),
                Err(_) => {
                    self.facts.open_error = Some(CardError::Missing {
                        what: "working card model (opening the card panicked)",
                    });
                }
            }
        }
        for def in defs {
            let r = self.run_def(def, None, card.as_mut());
            self.results.push(r);
        }
        if let Some(c) = &card {
            self.facts.apdus = c.apdus_sent();
        }
        if self.facts.pin_verified {
            SessionEnd::Reset
        } else {
            SessionEnd::Leave
        }
    }
}

fn trust_store(env: &Environment, opts: &Options, notes: &mut Vec<String>) -> TrustStore {
    let mut trust = TrustStore::production();
    let dirs: Vec<PathBuf> = if opts.ca_dirs.is_empty() {
        let coffre = env.path(COFFRE_DIR);
        if coffre.is_dir() {
            vec![coffre]
        } else {
            Vec::new()
        }
    } else {
        opts.ca_dirs.clone()
    };
    for dir in dirs {
        match trust.add_dir(&dir) {
            Ok(n) => notes.push(format!("{}: {n} CA certificate(s)", dir.display())),
            Err(e) => notes.push(format!("{}: {e}", dir.display())),
        }
    }
    for (cert, label) in &opts.extra_cas {
        trust.add(cert.clone(), AnchorSource::Supplied(label.clone()));
    }
    notes.extend(trust.problems().iter().cloned());
    trust
}

/// Runs the whole diagnosis. Never panics, never stops early: every check gives a
/// result, `skipped` when a check it depends on failed or it does not apply.
pub fn diagnose(env: &Environment, options: &Options, target: Target<'_>) -> Report {
    let started = Instant::now();
    let mut notes = Vec::new();
    let trust = trust_store(env, options, &mut notes);
    let mut runner = Runner {
        env,
        opts: options,
        trust,
        facts: Facts {
            trust_notes: notes,
            ..Facts::default()
        },
        results: Vec::new(),
        blocks: HashMap::new(),
    };
    let catalogue = crate::checks::catalogue();
    let phase = |p: Phase| {
        catalogue
            .iter()
            .filter(move |d| d.phase == p)
            .collect::<Vec<_>>()
    };
    let (before, card_defs, after) = (
        phase(Phase::Before),
        phase(Phase::Card),
        phase(Phase::After),
    );
    let mode = match target {
        Target::InProcess(transport) => {
            runner.facts.in_process = true;
            runner.facts.atr = Some(transport.atr().to_vec());
            runner.run_all(&before, None);
            runner.card_phase(&card_defs, Some(transport));
            Mode::InProcess
        }
        Target::Pcsc(access) => {
            runner.run_all(&before, Some(&mut *access));
            let reader = runner
                .facts
                .chosen
                .clone()
                .filter(|_| runner.blocks.get("card.present") == Some(&false));
            match reader {
                Some(reader) => {
                    let mut ran = false;
                    let result = access.with_card(&reader.name, &mut |t| {
                        ran = true;
                        runner.card_phase(&card_defs, Some(t))
                    });
                    match result {
                        Ok(()) => {}
                        Err(e) if !ran => {
                            runner.facts.connect_error = Some(e);
                            runner.card_phase(&card_defs, None);
                        }
                        Err(e) => runner
                            .facts
                            .trust_notes
                            .push(format!("ending the card session: {e}")),
                    }
                }
                None => {
                    runner.card_phase(&card_defs, None);
                }
            }
            Mode::Pcsc
        }
    };
    runner.run_all(&after, None);
    // Checks that learn from later ones run again in place.
    for def in catalogue.iter().filter(|d| d.revisit) {
        if let Some(i) = runner.results.iter().position(|r| r.id == def.id) {
            let spent = runner.results[i].duration_ms;
            let mut again = runner.run_def(def, None, None);
            again.duration_ms += spent;
            runner.results[i] = again;
        }
    }
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: options.tool_name.clone(),
            version: options.tool_version.clone(),
        },
        started_at: crate::time::rfc3339(env.now),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        mode,
        apdus: runner.facts.apdus,
        redacted: false,
        summary: Summary::default(),
        checks: runner.results,
    };
    report.summarise();
    if options.redact {
        report.redact(&runner.facts.sensitive);
    }
    report
}

/// A clock reading for reports: seconds since the epoch of `t` (0 before it).
pub(crate) fn unix(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}
