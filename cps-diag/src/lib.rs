#![doc = include_str!("../README.md")]

pub mod remedy;

pub use remedy::{Lang, Remedy};
