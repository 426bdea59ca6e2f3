#![doc = include_str!("../README.md")]

pub mod card;
pub mod cert;
pub mod error;
pub mod exchange;
pub mod identify;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod pkcs15;
pub mod secret;
#[cfg(test)]
mod testing;
pub mod transcript;

pub use card::{
    CardCertificate, CertKind, Counter, CounterState, CpsCard, LastTry, PinStatus, UnblockOutcome,
    VerifyOutcome,
};
pub use error::CardError;
pub use exchange::{Exchange, Recovery};
pub use identify::{CardKind, Generation, Interface, SerialNumber};
pub use secret::{Pin, PinFormat, Puk};
#[doc(hidden)]
pub mod fuzzing;
