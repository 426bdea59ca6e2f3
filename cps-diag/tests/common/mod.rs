//! Shared by the diagnosis tests: virtual cards, a tampering transport, a fake PC/SC
//! service and fake workstations.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use cps_apdu::{Transport, TransportError};
use cps_card::cert::Certificate;
use cps_card::pcsc::{PcscError, ReaderInfo};
use cps_diag::{
    AccessError, Environment, Options, PcscAccess, Report, SessionEnd, Target, Verdict, diagnose,
};
use cps_sim::card::VirtualCard;
use cps_sim::pki::TestPki;
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;

pub fn profile(name: &str) -> Profile {
    Profile::builtin(name).unwrap()
}

pub fn sim(p: &Profile) -> SimTransport<VirtualCard> {
    SimTransport::from_profile(p).unwrap()
}

/// Options trusting the virtual card's test CA, as `cps diag --sim` does.
pub fn sim_options() -> Options {
    let pki = TestPki::load().unwrap();
    let mut o = Options::default();
    for der in [pki.root_certificate(), pki.issuing_certificate()] {
        o.extra_cas.push((
            Certificate::from_der(der).unwrap(),
            "virtual card test CA".into(),
        ));
    }
    o
}

/// A fake workstation: an empty temporary root.
pub struct Workstation {
    pub dir: tempfile::TempDir,
    pub env: Environment,
}

impl Workstation {
    pub fn new() -> Workstation {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::fake(dir.path());
        Workstation { dir, env }
    }

    /// Writes a file at a workstation path.
    pub fn file(&self, absolute: &str, content: &str) -> &Self {
        let p = self.env.path(absolute);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn path(&self, absolute: &str) -> std::path::PathBuf {
        self.env.path(absolute)
    }
}

pub fn run_in_process(ws: &Workstation, opts: &Options, transport: &mut dyn Transport) -> Report {
    diagnose(&ws.env, opts, Target::InProcess(transport))
}

/// The whole diagnosis of a built-in profile, in-process, on an empty workstation.
pub fn run_profile(name: &str) -> Report {
    let ws = Workstation::new();
    let mut t = sim(&profile(name));
    run_in_process(&ws, &sim_options(), &mut t)
}

pub fn verdict(r: &Report, id: &str) -> Verdict {
    r.verdict(id).unwrap_or_else(|| panic!("no check {id}"))
}

pub fn remedy(r: &Report, id: &str) -> Option<String> {
    r.check(id)
        .and_then(|c| c.remedy.as_ref())
        .map(|x| x.id.clone())
}

pub fn finding(r: &Report, id: &str) -> String {
    r.check(id).unwrap().finding.en.clone()
}

/// A transport that lets a test rewrite answers: `f(command, previous command,
/// answer)` returns the answer to deliver.
pub struct Tamper<T, F> {
    pub inner: T,
    pub f: F,
    last: Vec<u8>,
    /// The data of the last SELECT.
    pub selected: Vec<u8>,
}

impl<T: Transport, F: FnMut(&[u8], &[u8], &[u8], Vec<u8>) -> Vec<u8>> Tamper<T, F> {
    pub fn new(inner: T, f: F) -> Self {
        Tamper {
            inner,
            f,
            last: Vec::new(),
            selected: Vec::new(),
        }
    }
}

impl<T: Transport, F: FnMut(&[u8], &[u8], &[u8], Vec<u8>) -> Vec<u8>> Transport for Tamper<T, F> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if command.get(1) == Some(&0xA4) && command.len() > 5 {
            self.selected = command[5..].to_vec();
        }
        let answer = self.inner.transmit(command)?;
        let out = (self.f)(command, &self.last, &self.selected, answer);
        if command.get(1) != Some(&0xC0) {
            self.last = command.to_vec();
        }
        Ok(out)
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }
}

/// A fake PC/SC service.
pub struct FakePcsc {
    pub readers: Result<Vec<ReaderInfo>, fn() -> PcscError>,
    pub card: Option<Box<dyn Transport>>,
    pub connect: Option<fn() -> AccessError>,
    pub sessions: Vec<(String, SessionEnd)>,
    pub panic_on_list: bool,
}

impl FakePcsc {
    pub fn with_readers(readers: Vec<ReaderInfo>) -> FakePcsc {
        FakePcsc {
            readers: Ok(readers),
            card: None,
            connect: None,
            sessions: Vec::new(),
            panic_on_list: false,
        }
    }

    /// One reader holding the card of `profile`.
    pub fn holding(name: &str, p: &Profile) -> FakePcsc {
        let t = sim(p);
        let atr = t.atr().to_vec();
        let mut f = FakePcsc::with_readers(vec![ReaderInfo::new(0, name).with_card(atr)]);
        f.card = Some(Box::new(t));
        f
    }
}

impl PcscAccess for FakePcsc {
    fn list_readers(&mut self) -> Result<Vec<ReaderInfo>, PcscError> {
        assert!(!self.panic_on_list, "the fake PC/SC service fell over");
        match &self.readers {
            Ok(r) => Ok(r.clone()),
            Err(f) => Err(f()),
        }
    }

    fn with_card(
        &mut self,
        reader: &str,
        session: &mut dyn FnMut(&mut dyn Transport) -> SessionEnd,
    ) -> Result<(), AccessError> {
        if let Some(e) = self.connect {
            return Err(e());
        }
        let card = self.card.as_mut().ok_or_else(|| {
            AccessError::Pcsc(PcscError::NoCard {
                reader: reader.to_owned(),
            })
        })?;
        let end = session(card.as_mut());
        self.sessions.push((reader.to_owned(), end));
        Ok(())
    }
}

pub fn run_pcsc(ws: &Workstation, opts: &Options, pcsc: &mut FakePcsc) -> Report {
    diagnose(&ws.env, opts, Target::Pcsc(pcsc))
}

pub fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

pub fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}
