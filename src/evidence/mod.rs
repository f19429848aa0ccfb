//! Evidence a chip can answer a challenge with besides a lightcone `Response` (DESIGN §2): today,
//! the SPDM 1.1 measurement report of a GPU that already holds an attestation key.

pub mod spdm;
