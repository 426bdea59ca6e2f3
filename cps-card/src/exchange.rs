//! The exchange layer: turns "send this command, get its answer" into the APDUs a
//! CPS card needs over any [`Transport`] — T=0 `61xx` GET RESPONSE, `6Cxx` resend,
//! CPS2ter `9Fxx`, command chaining, and the reselection rules of the reference.
//!
//! A PIN-bearing command (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) is
//! **never** sent twice by this layer: each one costs a try on the card.

use cps_apdu::command::LengthForm;
use cps_apdu::{Cla, Command, Response, StatusWord, Transport};

use crate::error::CardError;

/// The IAS-ECC root application (CPS3) / ChipDoc application (CPS4).
pub const AID_IAS: [u8; 8] = [0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00];
/// The CPS2ter side (seen on CPS4).
pub const AID_CPS2TER: [u8; 8] = [0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x02];
/// The issuer security domain (CPS4 recovery only).
pub const AID_ISD: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00];

/// Most data this layer accumulates for one command across GET RESPONSE rounds: a
/// card answering `61 xx` forever must not exhaust memory.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// Most GET RESPONSE rounds for one command: a card announcing more data forever
/// without giving any must not keep the host asking.
pub const MAX_GET_RESPONSE_ROUNDS: usize = 1024;

/// What to do when a card seems to have lost its application selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Nothing: report the status word.
    None,
    /// CPS3: on `6E xx` or `6A 86`, reselect the IAS application and retry once.
    Cps3,
    /// CPS4: on `68 81` or `69 85`, run the vendor's recovery sequence (ISD on channel
    /// 1, CPS2ter side on channel 0, ChipDoc on channel 1) and retry once.
    Cps4,
}

/// The exchange layer over a transport.
#[derive(Debug)]
pub struct Exchange<T> {
    transport: T,
    t0: bool,
    recovery: Recovery,
    sent: usize,
}

impl<T: Transport> Exchange<T> {
    /// An exchange over `transport`. `t0` says the card speaks T=0, where a case-4
    /// command travels without Le and the card answers `61 xx`.
    pub fn new(transport: T, t0: bool) -> Self {
        Exchange {
            transport,
            t0,
            recovery: Recovery::None,
            sent: 0,
        }
    }

    /// Chooses the reselection rule (set once the card is identified).
    pub fn set_recovery(&mut self, recovery: Recovery) {
        self.recovery = recovery;
    }

    /// The transport underneath.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport underneath, mutably.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// APDUs sent to the card so far (every GET RESPONSE, resend and chain link counts).
    pub fn apdus_sent(&self) -> usize {
        self.sent
    }

    /// Sends a command and returns the complete answer: data gathered through every
    /// GET RESPONSE, and the final status word.
    pub fn transmit(&mut self, command: &Command) -> Result<Response, CardError> {
        let response = self.transmit_once(command)?;
        if command.is_sensitive() || !self.needs_recovery(response.sw) {
            return Ok(response);
        }
        self.recover(command.class())?;
        self.transmit_once(command)
    }

    fn needs_recovery(&self, sw: StatusWord) -> bool {
        match self.recovery {
            Recovery::None => false,
            Recovery::Cps3 => sw.is_class_not_supported() || sw == StatusWord::IncorrectP1P2,
            Recovery::Cps4 => matches!(
                sw,
                StatusWord::LogicalChannelNotSupported | StatusWord::ConditionsNotSatisfied
            ),
        }
    }

    fn recover(&mut self, class: Cla) -> Result<(), CardError> {
        let select = |cla: u8, aid: &[u8]| Command::new(cla, 0xA4, 0x04, 0x0C).with_data(aid);
        let steps = match self.recovery {
            Recovery::None => vec![],
            Recovery::Cps3 => vec![Command::new(0x00, 0xA4, 0x04, 0x04).with_data(AID_IAS)],
            Recovery::Cps4 => {
                let channel = class.with_chaining(false).0;
                vec![
                    select(channel, &AID_ISD),
                    select(0x00, &AID_CPS2TER),
                    select(channel, &AID_IAS),
                ]
            }
        };
        // The answers don't matter: the retry's status word says whether it worked.
        for step in &steps {
            self.transmit_once(step)?;
        }
        Ok(())
    }

    fn transmit_once(&mut self, command: &Command) -> Result<Response, CardError> {
        let data = command.data();
        if data.len() <= cps_apdu::command::SHORT_MAX_DATA {
            return self.send_and_collect(command);
        }
        // Command chaining: every link but the last carries the chaining bit and must
        // be acknowledged with 90 00.
        let chunks: Vec<&[u8]> = data.chunks(cps_apdu::command::SHORT_MAX_DATA).collect();
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.iter().enumerate() {
            let more = i < last;
            let link = Command::new(
                command.class().with_chaining(more).0,
                command.ins,
                command.p1,
                command.p2,
            )
            .with_data(*chunk)
            .with_le(if more { None } else { command.le() });
            let response = self.send_and_collect(&link)?;
            if !more || !response.is_success() {
                return Ok(response);
            }
        }
        unreachable_response()
    }

    /// One command, then the T=0 / CPS2ter GET RESPONSE rounds and one `6C xx` resend.
    fn send_and_collect(&mut self, command: &Command) -> Result<Response, CardError> {
        let strip_le = self.t0 && command.case() == 4;
        let wire = if strip_le {
            command.clone().with_le(None)
        } else {
            command.clone()
        };
        let mut response = self.send_raw(&wire)?;
        if let Some(le) = response.sw.correct_le()
            && !command.is_sensitive()
        {
            response = self.send_raw(&wire.clone().with_le(le))?;
        }
        let mut data = std::mem::take(&mut response.data);
        let mut rounds = 0;
        while let Some(available) = response.sw.bytes_available() {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE_ROUNDS {
                return Err(CardError::EndlessResponse { rounds });
            }
            let cla = if response.sw.sw1() == 0x9F {
                Cla::CPS2TER.0
            } else {
                command.class().with_chaining(false).0
            };
            response = self.send_raw(&Command::new(cla, 0xC0, 0x00, 0x00).with_le(available))?;
            if data.len() + response.data.len() > MAX_RESPONSE {
                return Err(CardError::ResponseTooLong {
                    limit: MAX_RESPONSE,
                });
            }
            data.append(&mut response.data);
        }
        response.data = data;
        Ok(response)
    }

    fn send_raw(&mut self, command: &Command) -> Result<Response, CardError> {
        let bytes = command.to_bytes_with(LengthForm::Short)?;
        self.sent += 1;
        let raw = self.transport.transmit(&bytes)?;
        Response::decode(&raw).map_err(|_| CardError::InvalidResponse { len: raw.len() })
    }
}

// `chunks()` of a non-empty slice always yields a last element, which returns above.
fn unreachable_response() -> Result<Response, CardError> {
    Err(CardError::InvalidResponse { len: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Script;

    #[test]
    fn t0_case4_goes_without_le_and_collects_61xx() {
        let mut ex = Exchange::new(
            Script::new(&[
                ("00 A4 09 04 04 3F 00 D0 03", "61 04"),
                ("00 C0 00 00 04", "62 02 80 01 61 02"),
                ("00 C0 00 00 02", "02 03 90 00"),
            ]),
            true,
        );
        let c = Command::new(0, 0xA4, 0x09, 0x04)
            .with_data(vec![0x3F, 0x00, 0xD0, 0x03])
            .with_le(256);
        let r = ex.transmit(&c).unwrap();
        assert_eq!(r.data, [0x62, 0x02, 0x80, 0x01, 0x02, 0x03]);
        assert!(r.is_success());
        assert_eq!(ex.apdus_sent(), 3);
        ex.into_inner().finish();
    }

    #[test]
    fn wrong_le_is_resent_once() {
        let mut ex = Exchange::new(
            Script::new(&[
                ("00 B0 9C 00 C0", "6C 0C"),
                ("00 B0 9C 00 0C", "5A 0A 90 00"),
            ]),
            true,
        );
        let r = ex
            .transmit(&Command::new(0, 0xB0, 0x9C, 0).with_le(0xC0))
            .unwrap();
        assert_eq!(r.data, [0x5A, 0x0A]);
        ex.into_inner().finish();
    }

    #[test]
    fn cps2ter_9fxx_uses_class_a0() {
        let mut ex = Exchange::new(
            Script::new(&[
                ("A0 A4 00 00 02 40 10", "9F 07"),
                ("A0 C0 00 00 07", "85 05 00 20 40 10 04 90 00"),
            ]),
            true,
        );
        let r = ex
            .transmit(&Command::new(0xA0, 0xA4, 0, 0).with_data(vec![0x40, 0x10]))
            .unwrap();
        assert_eq!(r.data.len(), 7);
        ex.into_inner().finish();
    }

    #[test]
    fn chaining_splits_long_data() {
        let mut data = vec![0x81];
        data.extend(std::iter::repeat_n(0xAB, 256));
        let first = format!("10 2A 80 86 FF{}", " 81".to_owned() + &" AB".repeat(254));
        let second = "00 2A 80 86 02 AB AB".to_owned();
        let mut ex = Exchange::new(
            Script::new(&[
                (first.as_str(), "90 00"),
                (second.as_str(), "61 02"),
                ("00 C0 00 00 02", "11 22 90 00"),
            ]),
            true,
        );
        let r = ex
            .transmit(
                &Command::new(0, 0x2A, 0x80, 0x86)
                    .with_data(data)
                    .with_le(256),
            )
            .unwrap();
        assert_eq!(r.data, [0x11, 0x22]);
        ex.into_inner().finish();
    }

    #[test]
    fn cps3_recovery_retries_once_but_never_a_pin_command() {
        let mut ex = Exchange::new(
            Script::new(&[
                ("00 B0 00 00 0C", "6E 00"),
                ("00 A4 04 04 08 80 25 00 00 01 FF 01 00", "90 00"),
                ("00 B0 00 00 0C", "90 00"),
                ("00 20 00 01 08 31 32 33 34 FF FF FF FF", "6E 00"),
            ]),
            true,
        );
        ex.set_recovery(Recovery::Cps3);
        assert!(
            ex.transmit(&Command::new(0, 0xB0, 0, 0).with_le(12))
                .unwrap()
                .is_success()
        );
        let verify = Command::new(0, 0x20, 0, 1).with_data(*b"1234\xFF\xFF\xFF\xFF");
        assert_eq!(
            ex.transmit(&verify).unwrap().sw,
            StatusWord::ClaNotSupported
        );
        ex.into_inner().finish();
    }

    #[test]
    fn cps4_recovery_sequence() {
        let mut ex = Exchange::new(
            Script::new(&[
                ("01 B0 00 00 00", "68 81"),
                ("01 A4 04 0C 07 A0 00 00 01 51 00 00", "90 00"),
                ("00 A4 04 0C 08 80 25 00 00 01 FF 00 02", "90 00"),
                ("01 A4 04 0C 08 80 25 00 00 01 FF 01 00", "90 00"),
                ("01 B0 00 00 00", "01 02 90 00"),
            ]),
            false,
        );
        ex.set_recovery(Recovery::Cps4);
        let r = ex
            .transmit(&Command::new(1, 0xB0, 0, 0).with_le(256))
            .unwrap();
        assert_eq!(r.data, [1, 2]);
        ex.into_inner().finish();
    }

    #[test]
    fn endless_61xx_is_bounded() {
        let mut ex = Exchange::new(crate::testing::Endless61, true);
        let err = ex
            .transmit(&Command::new(0, 0xB0, 0, 0).with_le(256))
            .unwrap_err();
        assert!(matches!(err, CardError::ResponseTooLong { .. }), "{err}");
    }

    /// `61 00` with no data, forever: the size limit never grows, the round limit
    /// ends it (this used to loop forever).
    #[test]
    fn endless_empty_61xx_is_bounded() {
        let mut ex = Exchange::new(crate::testing::EmptyEndless61, true);
        let err = ex
            .transmit(&Command::new(0, 0xB0, 0, 0).with_le(256))
            .unwrap_err();
        assert!(
            matches!(err, CardError::EndlessResponse { rounds } if rounds > MAX_GET_RESPONSE_ROUNDS),
            "{err}"
        );
        assert_eq!(ex.apdus_sent(), MAX_GET_RESPONSE_ROUNDS + 1);
    }

    #[test]
    fn garbage_answer_is_a_typed_error() {
        let mut ex = Exchange::new(Script::new(&[("00 B0 00 00 0C", "90")]), false);
        let err = ex
            .transmit(&Command::new(0, 0xB0, 0, 0).with_le(12))
            .unwrap_err();
        assert!(
            matches!(err, CardError::InvalidResponse { len: 1 }),
            "{err}"
        );
    }
}
