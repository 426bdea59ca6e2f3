//! Advisory `flock` locks, shared by [`crate::vpcd::SlotLock`] and
//! [`crate::state::StateFile::lock`].

use std::fs::File;
use std::io;

/// Takes an exclusive `flock` on `file` without waiting: `Ok(false)` when another open
/// file holds it. Released when `file` is closed (or its process dies).
pub(crate) fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    loop {
        match flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(true),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => return Ok(false),
            Err(e) if e == rustix::io::Errno::INTR => {}
            Err(e) => return Err(e.into()),
        }
    }
}
