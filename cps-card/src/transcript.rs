//! Transport decorators: tracing (PIN-bearing data redacted), recording to a
//! JSON-lines transcript, and strict replay of such a transcript.
//!
//! Transcript format, one JSON object per line:
//! `{"atr":"3BAC…","version":1}` first, then one
//! `{"command":"00A4…","response":"6127"}` per exchange. A PIN-bearing command is
//! recorded as its 5-byte header plus `"redacted":<data length>`, never its data;
//! replay then matches the header and the length only.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};

use cps_apdu::command::{is_sensitive_ins, trace_hex};
use cps_apdu::{Response, Transport, TransportError};
use serde::{Deserialize, Serialize};

/// Writes one line per APDU to a sink: `> 00 A4 …` and `< 90 00 (success)`.
/// Commands carrying a PIN or PUK show their header and length only.
pub struct Tracing<T, W> {
    inner: T,
    sink: W,
}

impl<T, W> std::fmt::Debug for Tracing<T, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tracing")
    }
}

impl<T: Transport, W: Write> Tracing<T, W> {
    /// Traces `inner` to `sink`.
    pub fn new(inner: T, sink: W) -> Self {
        Tracing { inner, sink }
    }

    /// The decorated transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport, W: Write> Transport for Tracing<T, W> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        // A trace that cannot be written must not stop the card operation.
        let _ = writeln!(self.sink, "> {}", trace_hex(command));
        let result = self.inner.transmit(command);
        let _ = match &result {
            Ok(raw) => match Response::decode(raw) {
                Ok(response) => writeln!(self.sink, "< {response}"),
                Err(_) => writeln!(self.sink, "< {} (not a response APDU)", trace_hex(raw)),
            },
            Err(e) => writeln!(self.sink, "< error: {e}"),
        };
        result
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    version: u32,
    atr: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Exchange {
    command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redacted: Option<usize>,
    response: String,
}

/// The transcript form of a command: whole, or header + length when it carries a
/// secret.
fn recorded(command: &[u8]) -> (String, Option<usize>) {
    match command.get(1) {
        Some(&ins) if is_sensitive_ins(ins) && command.len() > 5 => {
            (hex::encode_upper(&command[..5]), Some(command.len() - 5))
        }
        _ => (hex::encode_upper(command), None),
    }
}

/// Records every exchange to a JSON-lines writer.
pub struct Recording<T, W> {
    inner: T,
    out: W,
}

impl<T, W> std::fmt::Debug for Recording<T, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recording")
    }
}

impl<T: Transport, W: Write> Recording<T, W> {
    /// Starts a transcript of `inner` on `out` (writes the header line now).
    pub fn new(inner: T, mut out: W) -> io::Result<Self> {
        let header = Header {
            version: 1,
            atr: hex::encode_upper(inner.atr()),
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        Ok(Recording { inner, out })
    }

    /// Flushes and returns the transport and the writer.
    pub fn finish(mut self) -> io::Result<(T, W)> {
        self.out.flush()?;
        Ok((self.inner, self.out))
    }
}

impl<T: Transport, W: Write> Transport for Recording<T, W> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let raw = self.inner.transmit(command)?;
        let (command, redacted) = recorded(command);
        let line = Exchange {
            command,
            redacted,
            response: hex::encode_upper(&raw),
        };
        serde_json::to_writer(&mut self.out, &line)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| TransportError::other("writing the transcript", e))?;
        Ok(raw)
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }
}

/// Why a transcript cannot be replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The transcript file is not in the format above.
    #[error("transcript line {line}: {reason}")]
    Format {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The code under test sent something else than what was recorded.
    #[error("exchange {index}: expected command {expected}, got {got}")]
    Mismatch {
        /// 0-based exchange number.
        index: usize,
        /// What the transcript holds.
        expected: String,
        /// What was sent (redacted like the transcript).
        got: String,
    },
    /// The code under test sent more commands than were recorded.
    #[error("exchange {index}: the transcript has no more exchanges (got {got})")]
    Exhausted {
        /// 0-based exchange number.
        index: usize,
        /// What was sent.
        got: String,
    },
    /// Reading the transcript failed.
    #[error("reading the transcript")]
    Io(#[from] io::Error),
}

/// A transport that plays a transcript back, strictly.
#[derive(Debug)]
pub struct Replay {
    atr: Vec<u8>,
    exchanges: VecDeque<(String, Option<usize>, Vec<u8>)>,
    index: usize,
}

impl Replay {
    /// Loads a transcript.
    pub fn from_reader(reader: impl BufRead) -> Result<Replay, ReplayError> {
        let mut lines = reader.lines().enumerate();
        let bad = |line: usize, reason: String| ReplayError::Format {
            line: line + 1,
            reason,
        };
        let (n, first) = lines
            .next()
            .ok_or_else(|| bad(0, "empty transcript".into()))?;
        let header: Header = serde_json::from_str(&first?).map_err(|e| bad(n, e.to_string()))?;
        if header.version != 1 {
            return Err(bad(n, format!("unsupported version {}", header.version)));
        }
        let atr = hex::decode(&header.atr).map_err(|e| bad(n, e.to_string()))?;
        let mut exchanges = VecDeque::new();
        for (n, line) in lines {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let e: Exchange = serde_json::from_str(&line).map_err(|e| bad(n, e.to_string()))?;
            let response = hex::decode(&e.response).map_err(|e| bad(n, e.to_string()))?;
            hex::decode(&e.command).map_err(|e| bad(n, format!("command: {e}")))?;
            exchanges.push_back((e.command.to_uppercase(), e.redacted, response));
        }
        Ok(Replay {
            atr,
            exchanges,
            index: 0,
        })
    }

    /// Exchanges not replayed yet.
    pub fn remaining(&self) -> usize {
        self.exchanges.len()
    }

    fn next(&mut self, command: &[u8]) -> Result<Vec<u8>, ReplayError> {
        let index = self.index;
        self.index += 1;
        let got = recorded(command);
        let show = |(c, r): &(String, Option<usize>)| match r {
            Some(n) => format!("{c} [{n} bytes redacted]"),
            None => c.clone(),
        };
        let (expected, redacted, response) =
            self.exchanges
                .pop_front()
                .ok_or_else(|| ReplayError::Exhausted {
                    index,
                    got: show(&got),
                })?;
        if (expected.as_str(), redacted) != (got.0.as_str(), got.1) {
            return Err(ReplayError::Mismatch {
                index,
                expected: show(&(expected, redacted)),
                got: show(&got),
            });
        }
        Ok(response)
    }
}

impl Transport for Replay {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.next(command)
            .map_err(|e| TransportError::other("replaying a transcript", e))
    }

    fn atr(&self) -> &[u8] {
        &self.atr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Script;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn trace_redacts_pins() {
        let script = Script::new(&[
            ("00 20 00 01 08 31 32 33 34 FF FF FF FF", "63 C2"),
            ("00 A4 00 0C 02 3F 00", "90 00"),
        ]);
        let mut out = Vec::new();
        let mut t = Tracing::new(script, &mut out);
        t.transmit(&hex("00 20 00 01 08 31 32 33 34 FF FF FF FF"))
            .unwrap();
        t.transmit(&hex("00 A4 00 0C 02 3F 00")).unwrap();
        t.into_inner().finish();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "> 00 20 00 01 08 [8 bytes redacted]\n< 63 C2 (wrong code: 2 tries left)\n\
             > 00 A4 00 0C 02 3F 00\n< 90 00 (success)\n"
        );
    }

    #[test]
    fn record_then_replay_strictly() {
        let script = Script::new(&[
            ("00 A4 00 0C 02 3F 00", "90 00"),
            ("00 20 00 01 08 31 32 33 34 FF FF FF FF", "90 00"),
        ]);
        let mut rec = Recording::new(script, Vec::new()).unwrap();
        rec.transmit(&hex("00 A4 00 0C 02 3F 00")).unwrap();
        rec.transmit(&hex("00 20 00 01 08 31 32 33 34 FF FF FF FF"))
            .unwrap();
        let (script, out) = rec.finish().unwrap();
        script.finish();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("31323334"), "{text}");

        // The same commands replay; a different PIN of the same length matches too,
        // since the transcript never held it.
        let mut replay = Replay::from_reader(text.as_bytes()).unwrap();
        assert_eq!(replay.atr()[0], 0x3B);
        assert_eq!(
            replay.transmit(&hex("00 A4 00 0C 02 3F 00")).unwrap(),
            [0x90, 0]
        );
        replay
            .transmit(&hex("00 20 00 01 08 39 39 39 39 FF FF FF FF"))
            .unwrap();
        assert_eq!(replay.remaining(), 0);
        let err = replay.transmit(&hex("00 A4 00 0C 02 3F 00")).unwrap_err();
        assert!(format!("{:?}", err).contains("Exhausted"), "{err:?}");

        let mut replay = Replay::from_reader(text.as_bytes()).unwrap();
        let err = replay.transmit(&hex("00 A4 00 0C 02 2F 00")).unwrap_err();
        assert!(format!("{:?}", err).contains("Mismatch"), "{err:?}");
    }

    #[test]
    fn bad_transcripts() {
        assert!(Replay::from_reader(&b""[..]).is_err());
        assert!(Replay::from_reader(&b"{\"version\":2,\"atr\":\"3B\"}\n"[..]).is_err());
        assert!(
            Replay::from_reader(
                &b"{\"version\":1,\"atr\":\"3B\"}\n{\"command\":\"zz\",\"response\":\"9000\"}"[..]
            )
            .is_err()
        );
    }
}
