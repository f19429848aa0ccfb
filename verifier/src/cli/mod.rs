//! One module per `lightcone` subcommand group; each parses its arguments and calls the library.

pub mod audit;
pub mod chip;
pub mod demo;
pub mod evidence;
pub mod landmark;
pub mod log;
pub mod registry;
pub mod relay;
pub mod vendor;
pub mod verdict;
pub mod witness;
