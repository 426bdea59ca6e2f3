//! System: platform, tool version, and a sane clock.

use std::time::{Duration, SystemTime};

use crate::engine::{Ctx, Outcome, t};
use crate::remedy::Remedy;
use crate::time::{date, from_civil, rfc3339};

/// No clock that runs this tool can be before this day (the tool did not exist).
fn floor() -> SystemTime {
    from_civil(2025, 1, 1, 0, 0, 0).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A clock this far past the floor is wildly off.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

pub(super) fn platform(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let env = ctx.env;
    let os_name = match env.os.as_str() {
        "linux" => "Linux",
        "windows" => "Windows",
        "macos" => "macOS",
        other => other,
    };
    let pretty = env
        .read_to_string("/etc/os-release")
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .filter(|_| env.is_linux());
    let system = pretty.clone().unwrap_or_else(|| os_name.to_owned());
    let tool = format!("{} {}", ctx.opts.tool_name, ctx.opts.tool_version);
    let mut o = Outcome::ok(t(
        format!("{system}, {}, {tool}", env.arch),
        format!("{system}, {}, {tool}", env.arch),
    ))
    .detail("os", &env.os)
    .detail("arch", &env.arch)
    .detail("tool", tool);
    if let Some(p) = pretty {
        o = o.detail("distribution", p);
    }
    if let Some(kernel) = env
        .read_to_string("/proc/sys/kernel/osrelease")
        .filter(|_| env.is_linux())
    {
        o = o.detail("kernel", kernel.trim());
    }
    o
}

pub(super) fn clock(ctx: &mut Ctx<'_, '_>) -> Outcome {
    let now = ctx.env.now;
    let shown = rfc3339(now);
    let floor = floor();
    if now < floor {
        return Outcome::fail(
            t(
                format!(
                    "l'horloge indique {shown}, avant la sortie de cet outil ({}) : elle est fausse",
                    date(floor)
                ),
                format!(
                    "the clock says {shown}, before this tool was released ({}): it is wrong",
                    date(floor)
                ),
            ),
            Some(Remedy::ClockWrong),
        )
        .detail("now", shown);
    }
    if let Some(start) = ctx
        .facts
        .certs
        .iter()
        .map(|c| c.certificate.not_before())
        .min()
        && now < start
    {
        return Outcome::fail(
            t(
                format!(
                    "l'horloge indique {shown}, avant le début de validité des certificats de la \
                         carte ({}) : elle retarde sans doute",
                    rfc3339(start)
                ),
                format!(
                    "the clock says {shown}, before the card's certificates start ({}): it is \
                         probably behind",
                    rfc3339(start)
                ),
            ),
            Some(Remedy::ClockWrong),
        )
        .detail("now", shown)
        .detail("certificates_start", rfc3339(start));
    }
    if now > floor + FAR_FUTURE {
        return Outcome::warn(
            t(
                format!("l'horloge indique {shown} : elle semble très en avance"),
                format!("the clock says {shown}: it looks far ahead"),
            ),
            Some(Remedy::ClockWrong),
        )
        .detail("now", shown);
    }
    Outcome::ok(t(
        format!("{shown} (UTC), plausible"),
        format!("{shown} (UTC), plausible"),
    ))
    .detail("now", shown)
}
