//! Middleware: the Cryptolib CPS, OpenSC, and Firefox's view of them.

use std::path::{Path, PathBuf};

use cps_card::{CardKind, Generation};

use crate::engine::{Ctx, Outcome, t};
use crate::env::Environment;
use crate::remedy::Remedy;

/// The Cryptolib's PKCS#11 module, per OS.
fn cryptolib_paths(env: &Environment) -> &'static [&'static str] {
    match env.os.as_str() {
        "windows" => &[
            r"C:\Windows\System32\cps3_pkcs11_w64.dll",
            r"C:\Windows\SysWOW64\cps3_pkcs11_w32.dll",
        ],
        "macos" => &["/usr/local/lib/libcps3_pkcs11_osx.dylib"],
        _ => &[
            "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so",
            "/usr/lib64/libcps3_pkcs11_lux.so",
            "/usr/lib/libcps3_pkcs11_lux.so",
            "/usr/local/galss/libcps3_pkcs11_lux.so",
        ],
    }
}

/// The Cryptolib's configuration, per OS.
fn cryptolib_conf(env: &Environment) -> Option<&'static str> {
    match env.os.as_str() {
        "macos" => Some("/Library/Preferences/santesocial/CPS/cps3_pkcs11.conf"),
        "windows" => None,
        _ => Some("/etc/opt/santesocial/CPS/cps3_pkcs11.conf"),
    }
}

/// OpenSC's PKCS#11 module, per OS.
fn opensc_paths(env: &Environment) -> &'static [&'static str] {
    match env.os.as_str() {
        "windows" => &[
            r"C:\Windows\System32\opensc-pkcs11.dll",
            r"C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll",
        ],
        "macos" => &[
            "/Library/OpenSC/lib/opensc-pkcs11.so",
            "/usr/local/lib/opensc-pkcs11.so",
        ],
        _ => &[
            "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
            "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
            "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
            "/usr/lib64/opensc-pkcs11.so",
            "/usr/lib64/pkcs11/opensc-pkcs11.so",
            "/usr/lib/opensc-pkcs11.so",
            "/usr/lib/pkcs11/opensc-pkcs11.so",
        ],
    }
}

/// A version as numbers (`5.2.2` → `[5, 2, 2]`).
type Version = Vec<u32>;

fn show(v: &Version) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// The leading `a.b.c` of a package version (`0.23.0-0.3+deb12u1` → 0.23.0).
fn parse_dotted(text: &str) -> Option<Version> {
    let text = text.split_once(':').map_or(text, |(_, v)| v);
    let v: Version = text
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()?
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    (!v.is_empty()).then_some(v)
}

/// `050202` → 5.2.2: the first run of six digits in an `.adm` file.
fn parse_adm(text: &str) -> Option<Version> {
    let digits: Vec<char> = text.chars().collect();
    digits.windows(6).find_map(|w| {
        if !w.iter().all(char::is_ascii_digit) {
            return None;
        }
        let s: String = w.iter().collect();
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
        Some(vec![n(0..2)?, n(2..4)?, n(4..6)?])
    })
}

/// The version of a Debian package from dpkg's status file.
fn dpkg_version(env: &Environment, packages: &[&str]) -> Option<(String, Version)> {
    let status = env.read_to_string("/var/lib/dpkg/status")?;
    for block in status.split("\n\n") {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        let Some(package) = field("Package:") else {
            continue;
        };
        if !packages.iter().any(|p| p.eq_ignore_ascii_case(&package)) {
            continue;
        }
        if !field("Status:")
            .is_some_and(|s| s.ends_with("installed") && !s.contains("not-installed"))
        {
            continue;
        }
        if let Some(v) = field("Version:").as_deref().and_then(parse_dotted) {
            return Some((package, v));
        }
    }
    None
}

/// Installed Cryptolib: module path, version and where the version came from.
struct Cryptolib {
    module: Option<PathBuf>,
    version: Option<(Version, String)>,
}

fn find_cryptolib(env: &Environment) -> Cryptolib {
    let module = cryptolib_paths(env)
        .iter()
        .find(|p| env.exists(p))
        .map(|p| PathBuf::from(*p));
    let mut version = None;
    if let Ok(entries) = std::fs::read_dir(env.path("/var/opt/santesocial/commun/adm")) {
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "adm"))
            .collect();
        // The PKCS#11 module's files first.
        files.sort_by_key(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (!(name == "157.adm" || name == "174.adm"), name)
        });
        version = files.iter().find_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let name = p.file_name()?.to_string_lossy().into_owned();
            parse_adm(&text).map(|v| (v, format!("/var/opt/santesocial/commun/adm/{name}")))
        });
    }
    if version.is_none() {
        version = dpkg_version(env, &["cryptolibcps", "cryptolib-cps"])
            .map(|(p, v)| (v, format!("package {p}")));
    }
    Cryptolib { module, version }
}

fn generation(ctx: &Ctx<'_, '_>) -> Option<Generation> {
    ctx.facts.kind.and_then(CardKind::generation)
}

pub(super) fn cryptolib(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let env = ctx.env;
    let found = find_cryptolib(env);
    let cps4 = generation(ctx) == Some(Generation::Cps4);
    let Some(module) = found.module else {
        if let Some((v, from)) = found.version {
            return Outcome::warn(
                t(
                    format!(
                        "déclarée installée ({}, {from}) mais son module PKCS#11 est introuvable",
                        show(&v)
                    ),
                    format!(
                        "recorded as installed ({}, {from}) but its PKCS#11 module is missing",
                        show(&v)
                    ),
                ),
                Some(Remedy::CryptolibMissing),
            );
        }
        return Outcome::warn(
            t("non installée", "not installed"),
            Some(Remedy::CryptolibMissing),
        );
    };
    let mut details = vec![("module", module.display().to_string())];
    if let Some(conf) = cryptolib_conf(env).filter(|c| env.exists(c)) {
        details.push(("configuration", conf.to_owned()));
    }
    let coffre = env.path(crate::trust::COFFRE_DIR);
    if env.is_linux() {
        let n = std::fs::read_dir(&coffre).map(|d| d.count()).unwrap_or(0);
        details.push((
            "coffre",
            format!("{} ({n} file(s))", crate::trust::COFFRE_DIR),
        ));
    }
    let add = |mut o: Outcome, details: &[(&str, String)]| {
        for (k, v) in details {
            o = o.detail(k, v);
        }
        o
    };
    let o = match &found.version {
        Some((v, from)) => {
            details.push(("version", format!("{} ({from})", show(v))));
            let recent = *v >= vec![5, 2];
            if recent {
                Outcome::ok(t(
                    format!("installée, version {}", show(v)),
                    format!("installed, version {}", show(v)),
                ))
            } else if cps4 {
                Outcome::fail(
                    t(
                        format!(
                            "version {} : trop ancienne pour une carte CPS4 (5.2 minimum)",
                            show(v)
                        ),
                        format!(
                            "version {}: too old for a CPS4 card (5.2 at least)",
                            show(v)
                        ),
                    ),
                    Some(Remedy::CryptolibOld),
                )
            } else {
                Outcome::warn(
                    t(
                        format!(
                            "version {} : à mettre à jour (5.2 ou plus récente, nécessaire pour les CPS4)",
                            show(v)
                        ),
                        format!(
                            "version {}: to be updated (5.2 or later, needed for CPS4 cards)",
                            show(v)
                        ),
                    ),
                    Some(Remedy::CryptolibOld),
                )
            }
        }
        None if cps4 => Outcome::warn(
            t(
                "installée, version inconnue : la carte CPS4 demande la 5.2 ou plus récente",
                "installed, version unknown: the CPS4 card needs 5.2 or later",
            ),
            Some(Remedy::CryptolibOld),
        ),
        None => Outcome::ok(t(
            "installée (version inconnue)",
            "installed (version unknown)",
        )),
    };
    add(o, &details)
}

pub(super) fn opensc(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let env = ctx.env;
    let module = opensc_paths(env).iter().find(|p| env.exists(p)).copied();
    let version = dpkg_version(env, &["opensc", "opensc-pkcs11"]).map(|(_, v)| v);
    let cryptolib = find_cryptolib(env).module.is_some();
    let generation = generation(ctx);
    let Some(module) = module else {
        return Outcome::info(t("non installé", "not installed"));
    };
    let shown = version.as_ref().map(show).unwrap_or_else(|| "?".into());
    let drives_cps3 = version.as_ref().is_none_or(|v| *v >= vec![0, 22]);
    let serving = match (generation, cryptolib, drives_cps3) {
        (Some(Generation::Cps4), true, _) => "Cryptolib CPS (OpenSC does not drive CPS4)",
        (Some(Generation::Cps4), false, _) => {
            "none: OpenSC does not drive CPS4 and the Cryptolib CPS is missing"
        }
        (_, true, true) => "Cryptolib CPS or OpenSC, whichever module the application loads first",
        (_, true, false) => "Cryptolib CPS",
        (_, false, true) => "OpenSC",
        (_, false, false) => "none: this OpenSC is too old for CPS3 (0.22 or later)",
    };
    let o = match (generation, cryptolib) {
        (Some(Generation::Cps4), false) => Outcome::warn(
            t(
                format!("OpenSC {shown} présent, mais il ne pilote pas les cartes CPS4"),
                format!("OpenSC {shown} is present, but it does not drive CPS4 cards"),
            ),
            Some(Remedy::OpenscCps4),
        ),
        (_, true) if drives_cps3 => Outcome::info(t(
            format!(
                "OpenSC {shown} présent à côté de la Cryptolib CPS : il peut prendre la carte \
                 avant elle"
            ),
            format!(
                "OpenSC {shown} is present next to the Cryptolib CPS: it may grab the card \
                 before it"
            ),
        )),
        _ => Outcome::info(t(
            format!("OpenSC {shown} présent"),
            format!("OpenSC {shown} is present"),
        )),
    };
    o.detail("module", module)
        .detail("version", shown)
        .detail("would_serve_the_card", serving)
}

/// Firefox profile directories from a `profiles.ini`.
fn profiles(ini: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(ini) else {
        return Vec::new();
    };
    let base = ini.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut out = Vec::new();
    let mut path: Option<String> = None;
    let mut relative = true;
    let mut flush = |path: &mut Option<String>, relative: bool| {
        if let Some(p) = path.take() {
            out.push(if relative {
                base.join(p)
            } else {
                PathBuf::from(p)
            });
        }
    };
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            flush(&mut path, relative);
            relative = true;
        } else if let Some(p) = line.strip_prefix("Path=") {
            path = Some(p.to_owned());
        } else if let Some(r) = line.strip_prefix("IsRelative=") {
            relative = r.trim() != "0";
        }
    }
    flush(&mut path, relative);
    out.sort();
    out.dedup();
    out
}

fn profiles_ini(env: &Environment) -> Vec<PathBuf> {
    let mut inis = Vec::new();
    if let Some(home) = env.home() {
        inis.push(home.join(".mozilla/firefox/profiles.ini"));
        inis.push(home.join("snap/firefox/common/.mozilla/firefox/profiles.ini"));
        inis.push(home.join("Library/Application Support/Firefox/profiles.ini"));
    }
    if let Some(appdata) = env.var("APPDATA") {
        inis.push(env.path(appdata).join("Mozilla/Firefox/profiles.ini"));
    }
    inis.into_iter().filter(|p| p.is_file()).collect()
}

pub(super) fn firefox(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let env = ctx.env;
    let snap = env.exists("/snap/bin/firefox") || env.exists("/snap/firefox");
    let manifests: Vec<&str> = [
        "/usr/lib/mozilla/pkcs11-modules/cps3.json",
        "/usr/lib64/mozilla/pkcs11-modules/cps3.json",
    ]
    .into_iter()
    .filter(|p| env.exists(p))
    .collect();
    let dirs: Vec<PathBuf> = profiles_ini(env).iter().flat_map(|i| profiles(i)).collect();
    let mut with_cps = Vec::new();
    let mut with_opensc = Vec::new();
    let mut details = Vec::new();
    for d in &dirs {
        let text = std::fs::read_to_string(d.join("pkcs11.txt")).unwrap_or_default();
        let libs: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("library="))
            .filter(|l| !l.is_empty())
            .collect();
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if libs
            .iter()
            .any(|l| l.contains("cps3_pkcs11") || l.contains("libcps3"))
        {
            with_cps.push(name.clone());
        }
        if libs.iter().any(|l| l.contains("opensc-pkcs11")) {
            with_opensc.push(name.clone());
        }
        details.push((
            "profile".to_owned(),
            format!(
                "{name}: {}",
                if libs.is_empty() {
                    "no extra PKCS#11 module".to_owned()
                } else {
                    libs.join(", ")
                }
            ),
        ));
    }
    for m in &manifests {
        details.push(("native_manifest".to_owned(), (*m).to_owned()));
    }
    if snap {
        details.push(("snap".to_owned(), "/snap/firefox".to_owned()));
    }
    let o = if snap {
        Outcome::warn(
            t(
                "Firefox est installé en snap : il ne peut pas charger les modules PKCS#11 du poste",
                "Firefox is installed as a snap: it cannot load the workstation's PKCS#11 modules",
            ),
            Some(Remedy::SnapFirefox),
        )
    } else if dirs.is_empty() {
        Outcome::info(t("aucun profil Firefox trouvé", "no Firefox profile found"))
    } else if !with_cps.is_empty() || !manifests.is_empty() {
        Outcome::ok(t(
            format!(
                "module CPS connu de Firefox ({} profil(s) sur {}{})",
                with_cps.len(),
                dirs.len(),
                if manifests.is_empty() {
                    ""
                } else {
                    ", manifeste cps3.json"
                }
            ),
            format!(
                "the CPS module is known to Firefox ({} of {} profile(s){})",
                with_cps.len(),
                dirs.len(),
                if manifests.is_empty() {
                    ""
                } else {
                    ", cps3.json manifest"
                }
            ),
        ))
    } else if !with_opensc.is_empty() && generation(ctx) != Some(Generation::Cps4) {
        Outcome::info(t(
            "Firefox charge OpenSC, pas le module de la Cryptolib CPS",
            "Firefox loads OpenSC, not the Cryptolib CPS module",
        ))
    } else {
        Outcome::warn(
            t(
                format!(
                    "aucun des {} profil(s) Firefox ne connaît le module CPS",
                    dirs.len()
                ),
                format!(
                    "none of the {} Firefox profile(s) knows the CPS module",
                    dirs.len()
                ),
            ),
            Some(Remedy::FirefoxModule),
        )
    };
    let mut o = o;
    for (k, v) in details {
        o = o.detail(&k, v);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_adm("050202\n"), Some(vec![5, 2, 2]));
        assert_eq!(parse_adm("v=050107;"), Some(vec![5, 1, 7]));
        assert_eq!(parse_adm("5.2"), None);
        assert_eq!(parse_dotted("0.23.0-0.3+deb12u1"), Some(vec![0, 23, 0]));
        assert_eq!(parse_dotted("1:5.2.2-1"), Some(vec![5, 2, 2]));
        assert!(vec![5, 2, 2] >= vec![5, 2]);
        assert!(vec![5, 1, 9] < vec![5, 2]);
    }
}
