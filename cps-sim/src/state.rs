//! The card's persistent state: its PIN and PUK counters, kept in a file across runs of the
//! simulator, so that a blocked card stays blocked, and its codes once changed, so that a
//! PIN changed with `cps pin change` (or set by an unblock) is still the PIN next run.
//!
//! The codes are kept as [`CodeDigests`] (SHA-256 of a per-card random salt and the PIN
//! block), never in clear. With 4 to 8 digits that only keeps them from being read at a
//! glance: the file is as sensitive as the card's codes, and it is created readable by
//! its owner only (on Unix; elsewhere with the directory's default permissions). The
//! file names the card profile it belongs to ([`StateFile::with_profile`]): another
//! profile's card refuses it rather than take counters and codes that are not its own.
//!
//! # Atomicity
//!
//! [`StateFile::store`] writes a temporary file in the same directory, syncs it, renames it
//! over the state file and syncs the directory: a crash or `kill -9` at any moment leaves
//! either the old or the new state, never a mix. One simulator per state file: two writers
//! would share the temporary file, so a simulator takes [`StateFile::lock`] first.
//!
//! # Counters never rise by accident
//!
//! Every write carries a generation number, one more than the previous. Between the state
//! in the file and a new one, [`check_transition`] allows only what a card does:
//!
//! - `puk_usage_left` never rises;
//! - an **unblock** (`puk_usage_left` dropped) re-arms the PIN and PUK tries to any value
//!   up to their maximum;
//! - otherwise `pin_tries_left` and `puk_tries_left` rise only straight to their maximum,
//!   which is what a correct PIN or PUK does (a blocked code, at 0, cannot rise that way).
//!
//! The maxima are those given with [`StateFile::with_max`], else those recorded in the file,
//! else the first counters stored (give them when a profile starts below its maxima, as a
//! `blocked-pin` card does). [`StateFile::reset`] is the one way around the rules.
//!
//! The same rules apply at [`StateFile::load`] against what this `StateFile` last read or
//! wrote, and a generation going back is refused: a file restored from a backup, or edited
//! by hand, is an error naming the file, never silently accepted. So is a corrupt file.
//!
//! # Wiring it to the card
//!
//! The virtual card calls its hooks before answering, and answers `65 81` (memory
//! failure) keeping the old state if a hook fails, so a write that fails or breaks the
//! rules never lets a wrong PIN go uncounted. [`StateFile::attach`] does the wiring, as
//! `cps sim --state` does:
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cps_sim::card::VirtualCard;
//! use cps_sim::profile::Profile;
//! use cps_sim::state::StateFile;
//!
//! let mut card = VirtualCard::new(&Profile::builtin("cps3")?)?;
//! let state = StateFile::open("card.json");
//! let _lock = state.lock()?; // one simulator per state file, while the card lives
//! state.attach(&mut card)?;
//! # Ok(()) }
//! ```
//!
//! A change of code reaches the codes hook alone, with the counters that go with it, so
//! an unblock that re-arms the PIN and sets a new one is one write.
//! [`StateFile::reset`] forgets stored codes: the card is back on its profile's.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::card::VirtualCard;

/// The card's counters, as stored. Field names are the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Counters {
    /// Wrong PIN presentations left before the PIN blocks.
    pub pin_tries_left: u8,
    /// Wrong PUK presentations left before the PUK blocks.
    pub puk_tries_left: u8,
    /// Unblocks left (each successful unblock with the PUK uses one).
    pub puk_usage_left: u16,
}

/// The card's codes as the virtual card keeps them: a salt and the SHA-256 of the salt
/// followed by each code's 8-byte block. Field names are the file format (hex).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeDigests {
    /// Random, per card.
    #[serde(with = "hex::serde")]
    pub salt: [u8; 16],
    /// SHA-256(salt ‖ PIN block).
    #[serde(with = "hex::serde")]
    pub pin: [u8; 32],
    /// SHA-256(salt ‖ PUK block).
    #[serde(with = "hex::serde")]
    pub puk: [u8; 32],
}

impl fmt::Debug for CodeDigests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeDigests(..)")
    }
}

/// The version of the file layout below: 2 when the file holds codes or a profile name,
/// which version 1 (counters only) did not know. A file without either is still written
/// as 1, so that an older `cps` keeps reading it.
const FORMAT: u32 = 2;
/// The oldest layout this version reads.
const FORMAT_COUNTERS_ONLY: u32 = 1;

/// The one field every version of the file has.
#[derive(Deserialize)]
struct Header {
    format: u32,
}

/// The file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    format: u32,
    generation: u64,
    max: Counters,
    counters: Counters,
    /// Absent until the codes are first stored (a card still on its profile's codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    codes: Option<CodeDigests>,
    /// The card profile the state belongs to, when given with
    /// [`StateFile::with_profile`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
}

/// One counter, named as in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Counter {
    /// `pin_tries_left`.
    PinTries,
    /// `puk_tries_left`.
    PukTries,
    /// `puk_usage_left`.
    PukUsage,
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Counter::PinTries => "pin_tries_left",
            Counter::PukTries => "puk_tries_left",
            Counter::PukUsage => "puk_usage_left",
        })
    }
}

/// A change of counters that no card operation makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A counter rose where the rules forbid it.
    #[error("{counter} rose from {from} to {to} without an unblock")]
    Increased {
        /// Which counter.
        counter: Counter,
        /// Its value before.
        from: u16,
        /// Its new value.
        to: u16,
    },
    /// A counter is above its maximum.
    #[error("{counter} is {value}, above its maximum {max}")]
    AboveMax {
        /// Which counter.
        counter: Counter,
        /// Its value.
        value: u16,
        /// Its maximum.
        max: u16,
    },
}

/// What can go wrong with the state file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file exists but cannot be read.
    #[error("cannot read the card state file {}", path.display())]
    Read {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not a state file (damaged, truncated, edited).
    #[error("the card state file {} is corrupt; fix or delete it to start afresh", path.display())]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The file has an unknown format version.
    #[error("the card state file {} has format {found}, this version reads formats {FORMAT_COUNTERS_ONLY} to {FORMAT}", path.display())]
    Format {
        /// The state file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The counters break the rules (see the module documentation).
    #[error("the card state file {} breaks the counter rules", path.display())]
    Violation {
        /// The state file.
        path: PathBuf,
        /// Which rule.
        #[source]
        violation: Violation,
    },
    /// The file's generation went back: an older copy replaced it.
    #[error("the card state file {} went back from generation {from} to {to}", path.display())]
    RolledBack {
        /// The state file.
        path: PathBuf,
        /// The generation last seen.
        from: u64,
        /// The generation found.
        to: u64,
    },
    /// The file belongs to another card profile: its counters and codes are not this
    /// card's.
    #[error("the card state file {} belongs to the virtual card `{file}`, not `{card}`: use that profile, or another state file", path.display())]
    OtherProfile {
        /// The state file.
        path: PathBuf,
        /// The profile recorded in the file.
        file: String,
        /// The profile given with [`StateFile::with_profile`].
        card: String,
    },
    /// Another simulator holds the file's lock ([`StateFile::lock`]).
    #[error("the card state file {} is in use by another simulator", path.display())]
    InUse {
        /// The state file.
        path: PathBuf,
    },
    /// The file was there and has disappeared.
    #[error("the card state file {} disappeared", path.display())]
    Missing {
        /// The state file.
        path: PathBuf,
    },
    /// The new state could not be written (the old one is intact).
    #[error("cannot write the card state file {}", path.display())]
    Write {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Checks a change of counters against the rules of the module documentation.
pub fn check_transition(old: &Counters, new: &Counters, max: &Counters) -> Result<(), Violation> {
    check_max(new, max)?;
    if new.puk_usage_left > old.puk_usage_left {
        return Err(Violation::Increased {
            counter: Counter::PukUsage,
            from: old.puk_usage_left,
            to: new.puk_usage_left,
        });
    }
    if new.puk_usage_left < old.puk_usage_left {
        return Ok(()); // an unblock re-arms both tries counters
    }
    // A correct PUK presentation re-arms the PUK tries, straight to their maximum,
    // as a correct PIN does for the PIN below.
    let puk_verified = old.puk_tries_left > 0 && new.puk_tries_left == max.puk_tries_left;
    if new.puk_tries_left > old.puk_tries_left && !puk_verified {
        return Err(Violation::Increased {
            counter: Counter::PukTries,
            from: old.puk_tries_left.into(),
            to: new.puk_tries_left.into(),
        });
    }
    let verified = old.pin_tries_left > 0 && new.pin_tries_left == max.pin_tries_left;
    if new.pin_tries_left > old.pin_tries_left && !verified {
        return Err(Violation::Increased {
            counter: Counter::PinTries,
            from: old.pin_tries_left.into(),
            to: new.pin_tries_left.into(),
        });
    }
    Ok(())
}

fn check_max(counters: &Counters, max: &Counters) -> Result<(), Violation> {
    for (counter, value, max) in [
        (
            Counter::PinTries,
            counters.pin_tries_left.into(),
            max.pin_tries_left.into(),
        ),
        (
            Counter::PukTries,
            counters.puk_tries_left.into(),
            max.puk_tries_left.into(),
        ),
        (
            Counter::PukUsage,
            counters.puk_usage_left,
            max.puk_usage_left,
        ),
    ] {
        if value > max {
            return Err(Violation::AboveMax {
                counter,
                value,
                max,
            });
        }
    }
    Ok(())
}

/// The componentwise maximum.
fn max_of(a: &Counters, b: &Counters) -> Counters {
    Counters {
        pin_tries_left: a.pin_tries_left.max(b.pin_tries_left),
        puk_tries_left: a.puk_tries_left.max(b.puk_tries_left),
        puk_usage_left: a.puk_usage_left.max(b.puk_usage_left),
    }
}

/// A state file's lock, from [`StateFile::lock`]: released on drop.
#[derive(Debug)]
pub struct StateLock {
    _file: Option<File>,
}

/// A state file: where the virtual card keeps its counters.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    max: Option<Counters>,
    profile: Option<String>,
    /// What this handle last read or wrote: loads are checked against it.
    last: Option<Record>,
}

impl StateFile {
    /// A state file at `path` (which need not exist yet). Touches nothing on disk.
    pub fn open(path: impl Into<PathBuf>) -> Self {
        StateFile {
            path: path.into(),
            max: None,
            profile: None,
            last: None,
        }
    }

    /// Takes the file for this simulator alone, for as long as the returned lock lives
    /// (an advisory lock on `.<name>.lock` beside it, released when the process dies):
    /// two writers would replace each other's temporary file. On systems other than
    /// Unix it locks nothing.
    ///
    /// # Errors
    ///
    /// [`StateError::InUse`] when another process holds it; [`StateError::Write`] when
    /// the lock file cannot be created.
    pub fn lock(&self) -> Result<StateLock, StateError> {
        let write_error = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        let lock_path = beside(&self.path, ".lock").map_err(write_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;

            // Never removed nor truncated: a holder's lock is on this very file.
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&lock_path)
                .map_err(write_error)?;
            if crate::flock::try_lock_exclusive(&file).map_err(write_error)? {
                Ok(StateLock { _file: Some(file) })
            } else {
                Err(StateError::InUse {
                    path: self.path.clone(),
                })
            }
        }
        #[cfg(not(unix))]
        {
            let _ = lock_path;
            Ok(StateLock { _file: None })
        }
    }

    /// Wires `card` to this file, as `cps sim --state` does: the maxima and the profile
    /// name are the card's unless given ([`with_max`](Self::with_max),
    /// [`with_profile`](Self::with_profile)); the counters and codes saved are restored
    /// (a fresh file gets the card's counters); then every change reaches the file
    /// before the card answers: counters through [`store`](Self::store), a code and its
    /// counters through [`store_with_codes`](Self::store_with_codes).
    ///
    /// # Errors
    ///
    /// Any [`StateError`] of loading the file or of the first store.
    pub fn attach(mut self, card: &mut VirtualCard) -> Result<(), StateError> {
        let profile = card.profile();
        self.max.get_or_insert(Counters {
            pin_tries_left: profile.pin.tries_max,
            puk_tries_left: profile.puk.tries_max,
            puk_usage_left: profile.puk.usage_max,
        });
        self.profile.get_or_insert_with(|| profile.name.clone());
        match self.load()? {
            Some(saved) => card.set_counters(saved),
            None => self.store(&card.counters())?,
        }
        if let Some(codes) = self.codes() {
            card.set_codes(codes.clone());
        }
        let state = Arc::new(Mutex::new(self));
        let for_codes = Arc::clone(&state);
        card.on_counters_changed(Box::new(move |counters| {
            locked(&state)?.store(counters).map_err(io::Error::other)
        }));
        card.on_codes_changed(Box::new(move |counters, codes| {
            locked(&for_codes)?
                .store_with_codes(counters, codes)
                .map_err(io::Error::other)
        }));
        Ok(())
    }

    /// Names the card profile the state belongs to: recorded in the file at the next
    /// write, and a file recorded for another profile is refused
    /// ([`StateError::OtherProfile`]). A file that names no profile is taken as this one's.
    #[must_use]
    pub fn with_profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Sets the counters' maxima (the profile's initial values for a fresh card),
    /// overriding those recorded in the file.
    #[must_use]
    pub fn with_max(mut self, max: Counters) -> Self {
        self.max = Some(max);
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The generation last read or written by this handle.
    pub fn generation(&self) -> Option<u64> {
        self.last.as_ref().map(|record| record.generation)
    }

    /// The codes last read or written by this handle: `None` while the card is on its
    /// profile's codes.
    pub fn codes(&self) -> Option<&CodeDigests> {
        self.last.as_ref().and_then(|record| record.codes.as_ref())
    }

    /// Reads the counters: `None` if there is no file yet (a fresh card).
    ///
    /// A file that cannot be read, is corrupt, breaks the rules or went back since this
    /// handle last saw it is an error; nothing is ever reset silently.
    pub fn load(&mut self) -> Result<Option<Counters>, StateError> {
        let Some(record) = self.read()? else {
            return match &self.last {
                Some(_) => Err(StateError::Missing {
                    path: self.path.clone(),
                }),
                None => Ok(None),
            };
        };
        let max = self.max.unwrap_or(record.max);
        if let Some(last) = &self.last {
            if record.generation < last.generation {
                return Err(StateError::RolledBack {
                    path: self.path.clone(),
                    from: last.generation,
                    to: record.generation,
                });
            }
            let same = record.generation == last.generation && record.counters == last.counters;
            if !same {
                check_transition(&last.counters, &record.counters, &max)
                    .map_err(|violation| self.violation(violation))?;
            }
        }
        let counters = record.counters;
        self.last = Some(record);
        Ok(Some(counters))
    }

    /// Writes new counters atomically, if the rules allow the change from the file's.
    /// On any error the file keeps its previous content.
    pub fn store(&mut self, counters: &Counters) -> Result<(), StateError> {
        self.write(counters, None, false)
    }

    /// Writes new counters and new codes in one atomic write (the card's codes hook: an
    /// unblock that sets a new PIN is all or nothing), if the rules allow the counters'
    /// change. On any error the file keeps its previous content.
    pub fn store_with_codes(
        &mut self,
        counters: &Counters,
        codes: &CodeDigests,
    ) -> Result<(), StateError> {
        self.write(counters, Some(codes), false)
    }

    /// Writes counters whatever the file held (a fresh card, a test setup): the one
    /// explicit way to raise a counter. They must still fit the maxima, which grow to
    /// include them when none were given with [`with_max`](Self::with_max). Stored codes
    /// are forgotten: the card is back on its profile's codes.
    pub fn reset(&mut self, counters: &Counters) -> Result<(), StateError> {
        self.write(counters, None, true)
    }

    /// Writes `counters` and `codes` (`None`: those in the file, kept).
    fn write(
        &mut self,
        counters: &Counters,
        codes: Option<&CodeDigests>,
        reset: bool,
    ) -> Result<(), StateError> {
        let old = self.read()?;
        let max = match (self.max, &old) {
            (Some(max), _) => max,
            (None, Some(old)) if reset => max_of(&old.max, counters),
            (None, Some(old)) => old.max,
            (None, None) => *counters,
        };
        match &old {
            Some(old) if !reset => check_transition(&old.counters, counters, &max),
            _ => check_max(counters, &max),
        }
        .map_err(|violation| self.violation(violation))?;
        let generation = old
            .as_ref()
            .map(|old| old.generation)
            .max(self.generation())
            .map_or(1, |g| g.saturating_add(1));
        let (old_codes, old_profile) = match old {
            Some(old) if !reset => (old.codes, old.profile),
            Some(old) => (None, old.profile),
            None => (None, None),
        };
        let codes = codes.cloned().or(old_codes);
        let profile = self.profile.clone().or(old_profile);
        let record = Record {
            format: if codes.is_some() || profile.is_some() {
                FORMAT
            } else {
                FORMAT_COUNTERS_ONLY
            },
            generation,
            max,
            counters: *counters,
            codes,
            profile,
        };
        let mut bytes = serde_json::to_vec_pretty(&record).map_err(|e| StateError::Write {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        bytes.push(b'\n');
        write_atomically(&self.path, &bytes).map_err(|source| StateError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.last = Some(record);
        Ok(())
    }

    /// The file's record, `None` if there is no file.
    fn read(&self) -> Result<Option<Record>, StateError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let corrupt = |source| StateError::Corrupt {
            path: self.path.clone(),
            source,
        };
        // The version first, from a reading that ignores the rest: a file of a later
        // version (with fields this one does not know) is "unknown format", never
        // "corrupt; delete it", which would give the blocked card its tries back.
        let header: Header = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if !(FORMAT_COUNTERS_ONLY..=FORMAT).contains(&header.format) {
            return Err(StateError::Format {
                path: self.path.clone(),
                found: header.format,
            });
        }
        let record: Record = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if record.format == FORMAT_COUNTERS_ONLY
            && (record.codes.is_some() || record.profile.is_some())
        {
            return Err(corrupt(serde::de::Error::custom(
                "format 1 holds counters only, and this file has codes or a profile",
            )));
        }
        if let (Some(file), Some(card)) = (&record.profile, &self.profile)
            && file != card
        {
            return Err(StateError::OtherProfile {
                path: self.path.clone(),
                file: file.clone(),
                card: card.clone(),
            });
        }
        check_max(&record.counters, &self.max.unwrap_or(record.max))
            .map_err(|violation| self.violation(violation))?;
        Ok(Some(record))
    }

    fn violation(&self, violation: Violation) -> StateError {
        StateError::Violation {
            path: self.path.clone(),
            violation,
        }
    }
}

/// The state file behind a hook; a panic in another hook (poisoning) fails the write.
fn locked(state: &Mutex<StateFile>) -> io::Result<MutexGuard<'_, StateFile>> {
    state
        .lock()
        .map_err(|_| io::Error::other("the state file's handle is poisoned"))
}

/// `.<name><suffix>` in the directory of `path`: its temporary and lock files.
fn beside(path: &Path, suffix: &str) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut sibling = std::ffi::OsString::from(".");
    sibling.push(name);
    sibling.push(suffix);
    Ok(path.with_file_name(sibling))
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file.
///
/// Once the rename is done the new content is what every reader sees: a failure to sync
/// the directory afterwards (the rename might not survive a power cut) is not reported
/// as a failed write, which would make the card answer `65 81` for a change that is
/// already in place.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // Same directory, so that the rename is atomic (same file system).
    let tmp = beside(path, ".tmp")?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let result = (|| {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    let _ = sync_dir(dir);
    Ok(())
}

/// Creates a new file only its owner can read (it may hold code digests). Whatever is
/// at `path` first goes (a temporary file left by a crash, or a link planted there):
/// the file is created afresh, never opened through a link, never with older
/// permissions.
fn create_private(path: &Path) -> io::Result<File> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes the rename itself durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use rand::Rng;

    const MAX: Counters = Counters {
        pin_tries_left: 3,
        puk_tries_left: 3,
        puk_usage_left: 10,
    };

    fn counters(pin: u8, puk: u8, usage: u16) -> Counters {
        Counters {
            pin_tries_left: pin,
            puk_tries_left: puk,
            puk_usage_left: usage,
        }
    }

    /// A fresh directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir =
                std::env::temp_dir().join(format!("cps-sim-{tag}-{}-{nanos}", std::process::id()));
            fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
        fn file(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn round_trip_and_generations() {
        let dir = TempDir::new("round-trip");
        let path = dir.file("state.json");
        let mut state = StateFile::open(&path);
        assert_eq!(state.load().expect("no file"), None);
        state.store(&MAX).expect("store");
        assert_eq!(state.generation(), Some(1));
        state.store(&counters(2, 3, 10)).expect("store");
        assert_eq!(state.generation(), Some(2));

        let mut again = StateFile::open(&path);
        assert_eq!(again.load().expect("load"), Some(counters(2, 3, 10)));
        assert_eq!(again.generation(), Some(2));
        let names: Vec<_> = fs::read_dir(&dir.0).expect("dir").collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
        let text = fs::read_to_string(&path).expect("text");
        assert!(text.contains("\"pin_tries_left\": 2"), "{text}");
    }

    #[test]
    fn codes_are_stored_kept_by_counter_writes_and_owner_only() {
        let dir = TempDir::new("codes");
        let path = dir.file("state.json");
        let mut state = StateFile::open(&path).with_max(MAX);
        let codes = CodeDigests {
            salt: [7; 16],
            pin: [1; 32],
            puk: [2; 32],
        };
        state.store(&MAX).expect("store");
        assert_eq!(state.codes(), None);
        assert!(
            fs::read_to_string(&path)
                .expect("read")
                .contains("\"format\": 1,")
        );
        // Counters and codes in one write, checked by the rules like any other.
        assert!(matches!(
            state.store_with_codes(&counters(3, 3, 11), &codes),
            Err(StateError::Violation { .. })
        ));
        state
            .store_with_codes(&counters(3, 3, 9), &codes)
            .expect("codes");
        assert_eq!(state.generation(), Some(2));
        assert!(
            fs::read_to_string(&path)
                .expect("read")
                .contains("\"format\": 2,")
        );
        // A counter write keeps them; a fresh handle reads them back.
        state.store(&counters(2, 3, 9)).expect("store");
        let mut fresh = StateFile::open(&path).with_max(MAX);
        assert_eq!(fresh.load().expect("load"), Some(counters(2, 3, 9)));
        assert_eq!(fresh.codes(), Some(&codes));
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.contains(&"07".repeat(16)), "{text}");
        assert_eq!(format!("{codes:?}"), "CodeDigests(..)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        // A reset starts afresh: the profile's codes again.
        fresh.reset(&MAX).expect("reset");
        let mut again = StateFile::open(&path);
        again.load().expect("load");
        assert_eq!(again.codes(), None);
    }

    /// A temporary file left by a crash, readable by all, or a link planted in its
    /// place: the state file is still created owner-only, and the link's target is
    /// never written.
    #[cfg(unix)]
    #[test]
    fn a_stale_temporary_file_or_link_does_not_widen_the_mode() {
        use std::os::unix::fs::{PermissionsExt, symlink};

        let dir = TempDir::new("stale");
        let path = dir.file("state.json");
        let tmp = dir.file(".state.json.tmp");
        fs::write(&tmp, "left by a crash").expect("write");
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).expect("chmod");
        StateFile::open(&path).store(&MAX).expect("store");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert!(!tmp.exists());

        let target = dir.file("elsewhere");
        fs::write(&target, "not the card's").expect("write");
        symlink(&target, &tmp).expect("symlink");
        StateFile::open(&path)
            .store(&counters(2, 3, 10))
            .expect("store");
        assert_eq!(fs::read_to_string(&target).expect("read"), "not the card's");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert!(fs::symlink_metadata(&path).expect("lstat").is_file());
    }

    /// A state file names its profile; another profile's card refuses it, and a reset
    /// keeps the name.
    #[test]
    fn a_state_file_belongs_to_one_profile() {
        let dir = TempDir::new("profile");
        let path = dir.file("state.json");
        StateFile::open(&path).store(&MAX).expect("store");
        // An older file, without a name, is taken by the first profile that opens it.
        let mut cps3 = StateFile::open(&path).with_profile("cps3");
        assert_eq!(cps3.load().expect("load"), Some(MAX));
        cps3.store(&counters(2, 3, 10)).expect("store");
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.contains("\"profile\": \"cps3\""), "{text}");
        assert!(text.contains("\"format\": 2,"), "{text}");
        let err = StateFile::open(&path)
            .with_profile("cps4")
            .load()
            .expect_err("another profile");
        assert!(
            matches!(&err, StateError::OtherProfile { file, card, .. } if file == "cps3" && card == "cps4"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`cps3`, not `cps4`"), "{err}");
        assert!(
            StateFile::open(&path)
                .with_profile("cps4")
                .store(&MAX)
                .is_err()
        );
        // Without a name given, any handle reads it; a reset keeps the name.
        let mut any = StateFile::open(&path);
        assert_eq!(any.load().expect("load"), Some(counters(2, 3, 10)));
        any.reset(&MAX).expect("reset");
        assert!(fs::read_to_string(&path).expect("read").contains("cps3"));
    }

    /// One writer at a time: a second lock on the same file is refused until the first
    /// is dropped.
    #[cfg(unix)]
    #[test]
    fn a_state_file_has_one_writer() {
        let dir = TempDir::new("lock");
        let path = dir.file("state.json");
        let first = StateFile::open(&path).lock().expect("lock");
        let err = StateFile::open(&path).lock().expect_err("second writer");
        assert!(matches!(err, StateError::InUse { .. }), "{err:?}");
        assert!(err.to_string().contains("in use"), "{err}");
        // Another state file in the same directory is another lock.
        StateFile::open(dir.file("other.json"))
            .lock()
            .expect("other");
        drop(first);
        StateFile::open(&path).lock().expect("free again");
    }

    /// A later version's file, with fields this one does not know, is an unknown
    /// format (keep it), not a corrupt file (delete it).
    #[test]
    fn a_later_format_is_not_called_corrupt() {
        let dir = TempDir::new("format3");
        let path = dir.file("state.json");
        fs::write(
            &path,
            r#"{"format":3,"generation":1,"pin_policy":"new","counters":{}}"#,
        )
        .expect("write");
        let err = StateFile::open(&path).load().expect_err("format 3");
        assert!(
            matches!(err, StateError::Format { found: 3, .. }),
            "{err:?}"
        );
    }

    /// Format 1 is counters only: such a file with codes is not one this version wrote.
    #[test]
    fn format_1_is_read_and_holds_no_codes() {
        let dir = TempDir::new("format1");
        let path = dir.file("state.json");
        let counters_only = r#"{"format":1,"generation":4,"max":{"pin_tries_left":3,"puk_tries_left":3,"puk_usage_left":10},"counters":{"pin_tries_left":1,"puk_tries_left":3,"puk_usage_left":10}}"#;
        fs::write(&path, counters_only).expect("write");
        let mut state = StateFile::open(&path);
        assert_eq!(state.load().expect("load"), Some(counters(1, 3, 10)));
        let with_codes = counters_only.replace(
            "}}",
            &format!(
                r#"}},"codes":{{"salt":"{}","pin":"{}","puk":"{}"}}}}"#,
                "00".repeat(16),
                "00".repeat(32),
                "00".repeat(32)
            ),
        );
        fs::write(&path, with_codes).expect("write");
        let err = StateFile::open(&path)
            .load()
            .expect_err("format 1 with codes");
        assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
        let why = std::error::Error::source(&err).expect("source").to_string();
        assert!(why.contains("format 1 holds counters only"), "{why}");
    }

    #[test]
    fn corrupt_or_unreadable_files_are_errors_naming_the_file() {
        let dir = TempDir::new("corrupt");
        let path = dir.file("state.json");
        for content in [
            &b""[..],
            b"{",
            b"garbage",
            b"{\"format\":1,\"generation\":1}",
            b"{\"format\":1,\"generation\":1,\"max\":{\"pin_tries_left\":3,\"puk_tries_left\":3,\"puk_usage_left\":1},\"counters\":{\"pin_tries_left\":300,\"puk_tries_left\":3,\"puk_usage_left\":1}}",
        ] {
            fs::write(&path, content).expect("write");
            let err = StateFile::open(&path).load().expect_err("corrupt");
            assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
            assert!(err.to_string().contains(&path.display().to_string()));
            // A store does not overwrite what it cannot understand either.
            assert!(StateFile::open(&path).store(&MAX).is_err());
            assert_eq!(fs::read(&path).expect("read"), content);
        }

        fs::write(&path, r#"{"format":9,"generation":1,"max":{"pin_tries_left":3,"puk_tries_left":3,"puk_usage_left":1},"counters":{"pin_tries_left":3,"puk_tries_left":3,"puk_usage_left":1}}"#).expect("write");
        let err = StateFile::open(&path).load().expect_err("format");
        assert!(
            matches!(err, StateError::Format { found: 9, .. }),
            "{err:?}"
        );

        fs::write(&path, r#"{"format":1,"generation":1,"max":{"pin_tries_left":3,"puk_tries_left":3,"puk_usage_left":1},"counters":{"pin_tries_left":4,"puk_tries_left":3,"puk_usage_left":1}}"#).expect("write");
        let err = StateFile::open(&path).load().expect_err("above max");
        assert!(
            matches!(
                err,
                StateError::Violation {
                    violation: Violation::AboveMax { .. },
                    ..
                }
            ),
            "{err:?}"
        );

        let err = StateFile::open(&dir.0).load().expect_err("a directory");
        assert!(matches!(err, StateError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains(&dir.0.display().to_string()));
    }

    #[test]
    fn the_rules() {
        let ok = |old, new| check_transition(&old, &new, &MAX);
        // Wrong PIN, wrong PUK.
        assert_eq!(ok(counters(3, 3, 10), counters(2, 3, 10)), Ok(()));
        assert_eq!(ok(counters(0, 3, 10), counters(0, 2, 10)), Ok(()));
        // A correct PIN re-arms to the maximum, not elsewhere, and not from blocked.
        assert_eq!(ok(counters(1, 3, 10), counters(3, 3, 10)), Ok(()));
        assert!(ok(counters(1, 3, 10), counters(2, 3, 10)).is_err());
        assert!(ok(counters(0, 3, 10), counters(3, 3, 10)).is_err());
        // An unblock re-arms both tries counters.
        assert_eq!(ok(counters(0, 1, 10), counters(3, 3, 9)), Ok(()));
        // Never more unblocks, never more PUK tries without an unblock.
        assert_eq!(
            ok(counters(3, 3, 9), counters(3, 3, 10)),
            Err(Violation::Increased {
                counter: Counter::PukUsage,
                from: 9,
                to: 10
            })
        );
        assert!(ok(counters(0, 1, 10), counters(0, 2, 10)).is_err());
        assert!(ok(counters(3, 3, 10), counters(4, 3, 10)).is_err());
    }

    #[test]
    fn store_refuses_a_raise_and_keeps_the_file() {
        let dir = TempDir::new("refuse");
        let path = dir.file("state.json");
        let mut state = StateFile::open(&path).with_max(MAX);
        state.store(&counters(1, 3, 10)).expect("store");
        let before = fs::read(&path).expect("read");
        let err = state.store(&counters(2, 3, 10)).expect_err("raise");
        assert!(matches!(err, StateError::Violation { .. }), "{err:?}");
        assert_eq!(fs::read(&path).expect("read"), before);
        // The legitimate raises.
        state.store(&counters(3, 3, 10)).expect("correct PIN");
        state.store(&counters(0, 3, 10)).expect("three wrong PINs");
        state.store(&counters(3, 3, 9)).expect("unblock");
        // And the explicit one.
        state.reset(&counters(3, 3, 10)).expect("reset");
        assert_eq!(state.generation(), Some(5));
    }

    #[test]
    fn maxima_come_from_the_first_store_unless_given() {
        let dir = TempDir::new("maxima");
        let path = dir.file("state.json");
        let mut blocked = StateFile::open(&path);
        blocked.store(&counters(0, 3, 10)).expect("first store");
        let err = blocked.store(&counters(3, 3, 9)).expect_err("max is 0");
        assert!(matches!(err, StateError::Violation { .. }), "{err:?}");
        let mut given = StateFile::open(&path).with_max(MAX);
        given
            .store(&counters(3, 3, 9))
            .expect("unblock with the profile's max");
    }

    #[test]
    fn load_refuses_a_raise_or_a_rollback_behind_its_back() {
        let dir = TempDir::new("behind");
        let path = dir.file("state.json");
        let mut card = StateFile::open(&path).with_max(MAX);
        card.store(&MAX).expect("store");
        card.store(&counters(2, 3, 10)).expect("store");
        let old_copy = fs::read(&path).expect("copy");
        card.store(&counters(1, 3, 10)).expect("store");

        let mut watcher = StateFile::open(&path);
        assert_eq!(watcher.load().expect("load"), Some(counters(1, 3, 10)));
        fs::write(&path, &old_copy).expect("restore a backup");
        let err = watcher.load().expect_err("rolled back");
        assert!(
            matches!(err, StateError::RolledBack { from: 3, to: 2, .. }),
            "{err:?}"
        );

        // A newer generation with a raised counter, as a careless edit would make.
        let mut editor = StateFile::open(&path);
        editor.reset(&counters(2, 3, 10)).expect("reset");
        assert_eq!(editor.generation(), Some(3));
        editor.reset(&counters(2, 3, 10)).expect("reset");
        let err = card.load().expect_err("raised");
        assert!(matches!(err, StateError::Violation { .. }), "{err:?}");

        fs::remove_file(&path).expect("remove");
        let err = card.load().expect_err("missing");
        assert!(matches!(err, StateError::Missing { .. }), "{err:?}");
    }

    #[test]
    fn a_right_code_rearms_its_counter_straight_to_the_maximum() {
        let max = counters(3, 10, 100);
        // PUK presented right after a wrong one: 9 → 10 is what the card does.
        assert!(check_transition(&counters(0, 9, 100), &counters(0, 10, 100), &max).is_ok());
        // But not one step up, nor out of a blocked PUK.
        assert!(check_transition(&counters(0, 8, 100), &counters(0, 9, 100), &max).is_err());
        assert!(check_transition(&counters(0, 0, 100), &counters(0, 10, 100), &max).is_err());
        assert!(check_transition(&counters(1, 10, 100), &counters(3, 10, 100), &max).is_ok());
        assert!(check_transition(&counters(0, 10, 100), &counters(3, 10, 100), &max).is_err());
    }

    /// The built-in `cps3` profile's maxima: 3 PIN tries, 10 PUK tries, 100 unblocks.
    const KILL_MAX: Counters = Counters {
        pin_tries_left: 3,
        puk_tries_left: 10,
        puk_usage_left: 100,
    };
    const CHILD_ENV: &str = "CPS_SIM_STATE_KILL_CHILD";
    const CHILD_TEST: &str = "state::tests::kill_child";
    const KILLS: u32 = 60;

    /// The real virtual card, persisting through [`StateFile::attach`] as `cps sim
    /// --state` does, driven by a holder who only types wrong PINs: wrong PINs until
    /// blocked, then an unblock with the PUK (one usage), again. Runs until killed.
    #[test]
    #[ignore = "child process of kill_9_during_wrong_pins_never_raises_a_counter"]
    fn kill_child() {
        use crate::card::VirtualCard;
        use crate::profile::Profile;
        use crate::transport::SimTransport;
        use cps_apdu::Transport;

        let Some(path) = std::env::var_os(CHILD_ENV) else {
            return;
        };
        let mut card = VirtualCard::new(&Profile::builtin("cps3").expect("profile")).expect("card");
        StateFile::open(PathBuf::from(path))
            .with_max(KILL_MAX)
            .attach(&mut card)
            .expect("child attach");
        let mut t = SimTransport::new(card);
        let send = |t: &mut SimTransport<VirtualCard>, hex: &str| -> u16 {
            let bytes = hex::decode(hex).expect("hex");
            let r = t.transmit(&bytes).expect("transmit");
            u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
        };
        println!("CHILD-READY");
        io::stdout().flush().expect("flush");
        loop {
            match send(&mut t, "002000010839393939FFFFFFFF") {
                0x63C0..=0x63C2 => {}
                0x6983 => {
                    // Blocked: unblock with the PUK, new PIN 1234.
                    match send(&mut t, "00200002083132333435363738") {
                        0x9000 => {}
                        0x6984 | 0x6983 => return, // used up: the parent starts a new card
                        other => panic!("PUK VERIFY answered {other:04X}"),
                    }
                    assert_eq!(send(&mut t, "002C02010831323334FFFFFFFF"), 0x9000);
                }
                other => panic!("VERIFY answered {other:04X}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn kill_9_during_wrong_pins_never_raises_a_counter() {
        use std::os::unix::process::ExitStatusExt;

        let dir = TempDir::new("kill");
        let path = dir.file("state.json");
        let exe = std::env::current_exe().expect("test binary");
        let mut rng = rand::thread_rng();
        let started = Instant::now();
        let (mut kills, mut exhausted, mut stores, mut mid_write) = (0u32, 0u32, 0u64, 0u32);
        let tmp = dir.file(".state.json.tmp");
        let mut previous: Option<(u64, Counters)> = None;
        while kills < KILLS {
            let mut child = Command::new(&exe)
                .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
                .arg("--test-threads=1")
                .env(CHILD_ENV, &path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn child");
            let stdout = child.stdout.take().expect("stdout");
            let (ready_tx, ready) = mpsc::channel();
            let reader = thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.contains("CHILD-READY") {
                        let _ = ready_tx.send(());
                    }
                }
            });
            let was_ready = ready.recv_timeout(Duration::from_secs(30)).is_ok();
            if was_ready {
                thread::sleep(Duration::from_micros(rng.gen_range(0..=20_000)));
            }
            child.kill().expect("kill");
            let output = child.wait_with_output().expect("wait");
            let _ = reader.join();
            match output.status.signal() {
                Some(9) => kills += 1,
                _ if output.status.success() => exhausted += 1,
                _ => panic!(
                    "the child failed ({:?}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ),
            }
            assert!(
                was_ready || output.status.success(),
                "the child never started"
            );

            // A temporary file left behind: killed between its creation and the rename.
            if fs::remove_file(&tmp).is_ok() {
                mid_write += 1;
            }
            let mut fresh = StateFile::open(&path).with_max(KILL_MAX);
            let Some(now) = fresh.load().expect("the state reloads after kill -9") else {
                continue; // killed before its first store
            };
            let generation = fresh.generation().expect("generation");
            assert!(now.pin_tries_left <= KILL_MAX.pin_tries_left, "{now:?}");
            assert!(now.puk_tries_left <= KILL_MAX.puk_tries_left, "{now:?}");
            assert!(now.puk_usage_left <= KILL_MAX.puk_usage_left, "{now:?}");
            if let Some((was_generation, was)) = previous {
                assert!(generation >= was_generation, "generation went back");
                stores += generation - was_generation;
                assert!(
                    now.puk_usage_left <= was.puk_usage_left,
                    "{was:?} → {now:?}"
                );
                if now.puk_usage_left == was.puk_usage_left {
                    // Without an unblock, a tries counter only falls, or goes back to
                    // its maximum after a right code — never up by one.
                    assert!(
                        now.pin_tries_left <= was.pin_tries_left
                            || (was.pin_tries_left > 0
                                && now.pin_tries_left == KILL_MAX.pin_tries_left),
                        "{was:?} → {now:?}"
                    );
                    assert!(
                        now.puk_tries_left <= was.puk_tries_left
                            || (was.puk_tries_left > 0
                                && now.puk_tries_left == KILL_MAX.puk_tries_left),
                        "{was:?} → {now:?}"
                    );
                }
            } else {
                stores += generation;
            }
            previous = Some((generation, now));
            if now.puk_usage_left == 0 && now.pin_tries_left == 0 {
                fs::remove_file(&path).expect("new card");
                previous = None;
            }
        }
        eprintln!(
            "kill -9 test: {kills} kills ({mid_write} in the middle of a write), {exhausted} cards used up, {stores} stores observed, {:.2?}",
            started.elapsed()
        );
    }
}
