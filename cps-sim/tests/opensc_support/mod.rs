//! Helpers of the OpenSC tests: the virtual card in slot 1 for the length of a test, and
//! the OpenSC tools run under a timeout with a private configuration.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::ffi::CString;
use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use cps_sim::card::{Counters, VirtualCard};
use cps_sim::pki::CertUsage;
use cps_sim::profile::Profile;
use cps_sim::vpcd::{self, SlotLock, VpcdHandle, VpcdOptions};
use pcsc::{Context, ReaderState, Scope, State};

/// Slot 1: the slot-0 tests (cps-cli, cps-card) never wait on these.
pub const SLOT: u8 = 1;
/// The reader of [`SLOT`]; the tools are pointed at it by name.
pub const READER: &str = "Virtual PCD 00 01";
/// The other vpcd reader, hidden from OpenSC (`ignored_readers`): other tests' cards
/// live there, and the PKCS#11 module would otherwise select files on them.
const OTHER_READER: &str = "Virtual PCD 00 00";

/// PKCS#15 ID of the authentication key and certificate (DF `0001` AID ‖ `02`).
pub const AUTH_ID: &str = "e828bd080f8025000001ff001002";
/// PKCS#15 ID of the signature key and certificate.
pub const SIGN_ID: &str = "e828bd080f8025000001ff001001";

/// The three OpenSC tools the tests run.
const TOOLS: [&str; 3] = ["opensc-tool", "pkcs15-tool", "pkcs11-tool"];
/// Where Debian (and others) put OpenSC's PKCS#11 module.
const MODULES: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
];

/// One tool run takes well under a second; vpcd has no timeout of its own.
const TOOL_LIMIT: Duration = Duration::from_secs(30);
/// How long a test waits for another test or process to free slot 1.
const SLOT_WAIT: Duration = Duration::from_secs(180);
/// A card arriving or leaving is seen within ~0.4 s (pcscd's presence poll).
const STATE_LIMIT: Duration = Duration::from_secs(5);

/// Lines of OpenSC's debug log a failure message shows.
const DEBUG_TAIL: usize = 60;

/// The virtual CPS3 in slot 1, with its counters watched, for the length of a test.
pub struct Inserted {
    handle: Option<VpcdHandle>,
    profile: Profile,
    certificates: Vec<(CertUsage, Vec<u8>)>,
    counters: Arc<Mutex<Counters>>,
    _lock: SlotLock,
}

impl Inserted {
    /// Attaches the built-in `cps3` profile.
    pub fn cps3() -> Inserted {
        Inserted::profile_named("cps3")
    }

    /// Attaches a built-in profile and waits until pcscd sees the card.
    pub fn profile_named(name: &str) -> Inserted {
        let lock = SlotLock::acquire(SLOT, SLOT_WAIT).expect("slot 1 lock");
        let ctx = context();
        // A previous card must be gone, or ours would queue behind it.
        wait_for(&ctx, State::EMPTY);
        let profile = Profile::builtin(name).unwrap();
        let mut card = VirtualCard::new(&profile).unwrap();
        let certificates = card.certificates();
        let counters = Arc::new(Mutex::new(card.counters()));
        let seen = Arc::clone(&counters);
        card.on_counters_changed(Box::new(move |now| {
            *seen.lock().unwrap_or_else(PoisonError::into_inner) = *now;
            Ok(())
        }));
        let handle = vpcd::attach(
            Box::new(card),
            vpcd::slot_addr(SLOT),
            VpcdOptions::default().with_slot(SLOT),
        )
        .expect("attach to vpcd (is pcscd running with vpcd? run scripts/test.sh)");
        assert!(
            handle.wait_connected(STATE_LIMIT),
            "vpcd did not accept the card on {}",
            vpcd::slot_addr(SLOT)
        );
        wait_for(&ctx, State::PRESENT);
        Inserted {
            handle: Some(handle),
            profile,
            certificates,
            counters,
            _lock: lock,
        }
    }

    /// The card's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The card's certificates (DER), as it issued them.
    pub fn certificates(&self) -> &[(CertUsage, Vec<u8>)] {
        &self.certificates
    }

    /// The PIN and PUK counters now (the card reports every change before it answers).
    pub fn counters(&self) -> Counters {
        *self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.shutdown();
        }
        // The next test (or process) must find the slot empty.
        if let Ok(ctx) = Context::establish(Scope::User) {
            let deadline = Instant::now() + STATE_LIMIT;
            while Instant::now() < deadline && reader_state(&ctx).contains(State::PRESENT) {
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn context() -> Context {
    Context::establish(Scope::User)
        .expect("pcscd is not running: run scripts/test.sh (it starts pcscd with vpcd)")
}

fn reader_name() -> CString {
    CString::new(READER).unwrap()
}

fn reader_state(ctx: &Context) -> State {
    let mut states = [ReaderState::new(reader_name(), State::UNAWARE)];
    match ctx.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) => states[0].event_state(),
        Err(_) => State::UNKNOWN,
    }
}

/// Waits until the reader reports `want` (PRESENT or EMPTY), on pcscd's events.
fn wait_for(ctx: &Context, want: State) {
    let deadline = Instant::now() + STATE_LIMIT;
    let mut states = [ReaderState::new(reader_name(), State::UNAWARE)];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(left, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => panic!(
                "{READER} did not become {want:?} within {STATE_LIMIT:?} (state {:?})",
                states[0].event_state()
            ),
            Err(pcsc::Error::UnknownReader) => {
                panic!("pcscd has no reader \"{READER}\": is the vpcd driver installed?")
            }
            Err(e) => panic!("SCardGetStatusChange: {e}"),
        }
        if states[0].event_state().contains(want) {
            return;
        }
        states[0].sync_current_state();
    }
}

/// The serial OpenSC reads from EF.SN.ICC: the PAN `8025000001` ‖ serial ‖ Luhn digit
/// ‖ `F`, less its first two bytes.
pub fn ef_sn_serial(serial: &str) -> Vec<u8> {
    let mut pan = format!("8025000001{serial}");
    let digits: Vec<u32> = pan.chars().filter_map(|c| c.to_digit(10)).collect();
    // Luhn: double every second digit from the right, the check digit not yet there.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                doubled / 10 + doubled % 10
            } else {
                d
            }
        })
        .sum();
    pan.push(char::from_digit((10 - sum % 10) % 10, 10).unwrap());
    pan.push('F');
    hex::decode(&pan).unwrap()[2..].to_vec()
}

/// A private temporary directory, removed on drop.
pub struct Workdir {
    dir: PathBuf,
}

static NAMES: AtomicU32 = AtomicU32::new(0);

impl Workdir {
    pub fn new() -> Workdir {
        let dir = std::env::temp_dir().join(format!(
            "cps-opensc-{}-{}",
            std::process::id(),
            NAMES.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Workdir { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs `command` to completion with its output in files of `dir`, killing it after
/// `limit`: (exit status, `None` if killed; stdout; stderr).
pub fn run_limited(
    mut command: Command,
    dir: &Path,
    limit: Duration,
) -> (Option<ExitStatus>, String, String) {
    let n = NAMES.fetch_add(1, Ordering::Relaxed);
    let stdout = dir.join(format!("stdout-{n}"));
    let stderr = dir.join(format!("stderr-{n}"));
    let program = command.get_program().to_string_lossy().into_owned();
    // Files, not pipes: a chatty tool cannot block on a full pipe.
    let mut child = command
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    (status, read(&stdout), read(&stderr))
}

/// OpenSC's configuration and the files a test exchanges with the tools, in a private
/// directory.
pub struct OpenSc {
    work: Workdir,
    module: PathBuf,
}

impl OpenSc {
    /// Checks that OpenSC is installed (a clear failure otherwise) and writes the
    /// configuration.
    pub fn new() -> OpenSc {
        let missing: Vec<&str> = TOOLS
            .iter()
            .copied()
            .filter(|tool| find_in_path(tool).is_none())
            .collect();
        let module = MODULES.iter().map(PathBuf::from).find(|m| m.is_file());
        let Some(module) = module.filter(|_| missing.is_empty()) else {
            panic!(
                "OpenSC is not installed (missing: {}): `apt-get install opensc`, or run \
                 scripts/test.sh, which installs it",
                if missing.is_empty() {
                    "opensc-pkcs11.so".to_string()
                } else {
                    missing.join(", ")
                }
            );
        };
        let opensc = OpenSc {
            work: Workdir::new(),
            module,
        };
        // No file cache: every run reads the card. Debug output goes to a file, stderr
        // stays what the user would see.
        let conf = format!(
            "app default {{\n\
             \tdebug = 9;\n\
             \tdebug_file = {};\n\
             \tignored_readers = \"{OTHER_READER}\";\n\
             \tframework pkcs15 {{\n\
             \t\tuse_file_caching = no;\n\
             \t}}\n\
             }}\n",
            opensc.debug_log().display()
        );
        fs::write(opensc.conf(), conf).unwrap();
        opensc
    }

    /// OpenSC's PKCS#11 module.
    pub fn module(&self) -> &Path {
        &self.module
    }

    fn conf(&self) -> PathBuf {
        self.work.dir().join("opensc.conf")
    }

    fn debug_log(&self) -> PathBuf {
        self.work.dir().join("opensc-debug.log")
    }

    /// A path in the test's directory, as a string for a tool's argument.
    pub fn path(&self, name: &str) -> String {
        self.work.dir().join(name).to_string_lossy().into_owned()
    }

    /// Writes a file in the test's directory; returns its path.
    pub fn write(&self, name: &str, contents: &[u8]) -> String {
        fs::write(self.work.dir().join(name), contents).unwrap();
        self.path(name)
    }

    /// Runs a tool to completion, killing it after [`TOOL_LIMIT`].
    pub fn run(&self, tool: &str, args: &[&str]) -> Run {
        let debug_start = fs::metadata(self.debug_log()).map_or(0, |m| m.len());
        let mut command = Command::new(tool);
        command
            .args(args)
            .env("OPENSC_CONF", self.conf())
            .env_remove("OPENSC_DRIVER");
        let (status, stdout, stderr) = run_limited(command, self.work.dir(), TOOL_LIMIT);
        let debug = fs::read(self.debug_log()).unwrap_or_default();
        let debug = String::from_utf8_lossy(
            debug
                .get(usize::try_from(debug_start).unwrap_or(usize::MAX)..)
                .unwrap_or_default(),
        );
        let lines: Vec<&str> = debug.lines().collect();
        Run {
            what: format!("{tool} {}", args.join(" ")),
            status,
            stdout,
            stderr,
            debug_tail: lines[lines.len().saturating_sub(DEBUG_TAIL)..].join("\n"),
        }
    }
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    })
}

/// What a tool did; its `Display` is the whole story for a failure message.
pub struct Run {
    what: String,
    /// `None` when killed on timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    debug_tail: String,
}

impl Run {
    /// Checks the tool succeeded.
    #[track_caller]
    pub fn success(self) -> Run {
        assert!(
            self.status.is_some(),
            "killed after {TOOL_LIMIT:?} (the card stopped answering?): {self}"
        );
        assert!(self.status.is_some_and(|s| s.success()), "failed: {self}");
        self
    }

    /// Checks the tool failed (and was not killed).
    #[track_caller]
    pub fn failure(self) -> Run {
        assert!(
            self.status.is_some(),
            "killed after {TOOL_LIMIT:?} (the card stopped answering?): {self}"
        );
        assert!(
            self.status.is_some_and(|s| !s.success()),
            "should have failed: {self}"
        );
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self
            .status
            .map_or_else(|| "killed".to_string(), |s| s.to_string());
        write!(
            f,
            "`{}` ({status})\n--- stdout\n{}\n--- stderr\n{}\n--- OpenSC debug log (last {DEBUG_TAIL} lines)\n{}",
            self.what, self.stdout, self.stderr, self.debug_tail
        )
    }
}
