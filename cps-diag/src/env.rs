//! The workstation as the checks see it: a filesystem root, environment variables, a
//! clock and the platform. Tests build fake workstations in temporary directories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the checks read from the workstation, every part injectable.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Where `/` is: every absolute path the checks read (`/sys`, `/etc/opt`, `/opt`,
    /// `$HOME`…) is taken under it.
    pub root: PathBuf,
    /// Environment variables (`HOME`, `APPDATA`…).
    pub vars: HashMap<String, String>,
    /// The clock's "now".
    pub now: SystemTime,
    /// Operating system, as [`std::env::consts::OS`] names it (`linux`, `windows`,
    /// `macos`).
    pub os: String,
    /// Architecture, as [`std::env::consts::ARCH`] names it.
    pub arch: String,
}

impl Environment {
    /// The real workstation: root `/`, the process environment, the system clock.
    pub fn host() -> Environment {
        Environment {
            root: PathBuf::from("/"),
            vars: std::env::vars().collect(),
            now: SystemTime::now(),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
        }
    }

    /// A fake Linux workstation rooted at `root`, with `HOME=/home/user`, no other
    /// variable, and the system clock.
    pub fn fake(root: impl Into<PathBuf>) -> Environment {
        Environment {
            root: root.into(),
            vars: HashMap::from([("HOME".to_owned(), "/home/user".to_owned())]),
            now: SystemTime::now(),
            os: "linux".to_owned(),
            arch: "x86_64".to_owned(),
        }
    }

    /// An absolute workstation path (`/etc/opt/…`, `C:\Windows\…`) under [`root`](Self::root).
    pub fn path(&self, absolute: impl AsRef<Path>) -> PathBuf {
        let p = absolute.as_ref();
        let text = p.to_string_lossy();
        // Windows paths: drop the drive, use the rest under the root.
        let relative = if text.len() > 2 && text.as_bytes()[1] == b':' {
            PathBuf::from(text[2..].trim_start_matches(['\\', '/']).replace('\\', "/"))
        } else {
            p.components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .collect()
        };
        self.root.join(relative)
    }

    /// A variable's value, when set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The user's home directory (`HOME`, else `USERPROFILE`), under the root.
    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME")
            .or_else(|| self.var("USERPROFILE"))
            .map(|h| self.path(h))
    }

    /// Whether a workstation path exists.
    pub fn exists(&self, absolute: impl AsRef<Path>) -> bool {
        self.path(absolute).exists()
    }

    /// A workstation file as text, if readable.
    pub fn read_to_string(&self, absolute: impl AsRef<Path>) -> Option<String> {
        std::fs::read_to_string(self.path(absolute)).ok()
    }

    pub(crate) fn is_linux(&self) -> bool {
        self.os == "linux"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_live_under_the_root() {
        let env = Environment::fake("/tmp/ws");
        assert_eq!(
            env.path("/etc/opt/santesocial"),
            PathBuf::from("/tmp/ws/etc/opt/santesocial")
        );
        assert_eq!(
            env.path(r"C:\Windows\System32\x.dll"),
            PathBuf::from("/tmp/ws/Windows/System32/x.dll")
        );
        assert_eq!(env.home(), Some(PathBuf::from("/tmp/ws/home/user")));
        assert_eq!(Environment::host().path("/etc"), PathBuf::from("/etc"));
    }
}
