//! The audit: from a log, trust roots and a policy to per-chip verdicts and fraud signals,
//! without trusting the log's operator (DESIGN §4, §8).

pub mod batch;
pub mod model;
