#![doc = include_str!("../README.md")]

pub mod cert;
#[cfg(feature = "pcsc")]
pub mod pcsc;
