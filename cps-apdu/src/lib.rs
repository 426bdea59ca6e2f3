#![doc = include_str!("../README.md")]

pub mod atr;
pub mod command;
pub mod fcp;
#[doc(hidden)]
pub mod fuzzing;
pub mod response;
pub mod status;
pub mod tlv;
pub mod transport;

pub use atr::{Atr, AtrError};
pub use command::{Cla, Command, CommandError};
pub use fcp::{Fcp, FcpError};
pub use response::{Response, ResponseError};
pub use status::StatusWord;
pub use tlv::{TlvError, TlvLimits};
pub use transport::{Transport, TransportError};
