//! Evidence a chip can answer a challenge with besides a lightcone `Response` (DESIGN §2): today,
//! the SPDM 1.1 measurement report of a GPU that already holds an attestation key, the log
//! records that carry it, and the registry's timing endorsement of a GPU model.

pub mod endorsement;
pub mod record;
pub mod spdm;

pub use endorsement::{LeafCnPrefix, ModelEndorsement, ModelEndorsementBody};
pub use record::{
    gpu_chip_id, GpuChain, SignedSpdmMeasurement, SpdmMeasurement, SpdmMeasurementBody,
};
