//! One module per `lightcone` subcommand group; each parses its arguments and calls the library.

pub mod demo;
pub mod log;
