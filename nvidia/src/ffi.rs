//! The only `unsafe` code of lightcone: NVML's C API, loaded with `libloading`.
//!
//! Layouts and signatures are those of NVIDIA's public `nvml.h` (driver 535 and later):
//!
//! ```c
//! nvmlReturn_t nvmlInit_v2(void);
//! nvmlReturn_t nvmlShutdown(void);
//! const char  *nvmlErrorString(nvmlReturn_t result);
//! nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
//! nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(nvmlDevice_t device,
//!                  nvmlConfComputeGpuAttestationReport_t *gpuAtstReport);   // nonce in, report out
//! nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t device,
//!                  nvmlConfComputeGpuCertificate_t *gpuCert);
//! ```
//!
//! `nvmlReturn_t` is a C enum (an `int`), `nvmlDevice_t` an opaque pointer.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use libloading::Library;

use crate::NvmlError;

/// `NVML_CC_GPU_CEC_NONCE_SIZE`.
pub(crate) const NONCE_SIZE: usize = 0x20;
/// `NVML_CC_GPU_ATTESTATION_REPORT_SIZE`.
const ATTESTATION_REPORT_SIZE: usize = 0x2000;
/// `NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE`.
const CEC_ATTESTATION_REPORT_SIZE: usize = 0x1000;
/// `NVML_GPU_CERT_CHAIN_SIZE`.
const CERT_CHAIN_SIZE: usize = 0x1000;
/// `NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE`.
const ATTESTATION_CERT_CHAIN_SIZE: usize = 0x1400;
/// `NVML_SUCCESS`.
const SUCCESS: c_int = 0;

const INIT: &str = "nvmlInit_v2";
const HANDLE_BY_INDEX: &str = "nvmlDeviceGetHandleByIndex_v2";
/// The report call's name, which [`NvmlError::is_no_gpu`] tells apart from setup calls.
pub(crate) const ATTESTATION_REPORT: &str = "nvmlDeviceGetConfComputeGpuAttestationReport";
const CERTIFICATE: &str = "nvmlDeviceGetConfComputeGpuCertificate";

/// `nvmlConfComputeGpuAttestationReport_t`.
#[repr(C)]
struct AttestationReport {
    is_cec_attestation_report_present: c_uint,
    attestation_report_size: c_uint,
    cec_attestation_report_size: c_uint,
    nonce: [u8; NONCE_SIZE],
    attestation_report: [u8; ATTESTATION_REPORT_SIZE],
    cec_attestation_report: [u8; CEC_ATTESTATION_REPORT_SIZE],
}

/// `nvmlConfComputeGpuCertificate_t`.
#[repr(C)]
struct Certificate {
    cert_chain_size: c_uint,
    attestation_cert_chain_size: c_uint,
    cert_chain: [u8; CERT_CHAIN_SIZE],
    attestation_cert_chain: [u8; ATTESTATION_CERT_CHAIN_SIZE],
}

/// The size of `nvmlConfComputeGpuAttestationReport_t` as laid out here.
#[cfg(test)]
pub(crate) const fn report_struct_size() -> usize {
    std::mem::size_of::<AttestationReport>()
}

/// The size of `nvmlConfComputeGpuCertificate_t` as laid out here.
#[cfg(test)]
pub(crate) const fn certificate_struct_size() -> usize {
    std::mem::size_of::<Certificate>()
}

type InitFn = unsafe extern "C" fn() -> c_int;
type ShutdownFn = unsafe extern "C" fn() -> c_int;
type ErrorStringFn = unsafe extern "C" fn(c_int) -> *const c_char;
type HandleByIndexFn = unsafe extern "C" fn(c_uint, *mut *mut c_void) -> c_int;
type ReportFn = unsafe extern "C" fn(*mut c_void, *mut AttestationReport) -> c_int;
type CertificateFn = unsafe extern "C" fn(*mut c_void, *mut Certificate) -> c_int;

/// A device handle NVML gave out; valid while the [`Nvml`] that made it is alive.
pub(crate) struct Device(*mut c_void);

/// The functions used, pointing into a loaded library.
struct Fns {
    shutdown: ShutdownFn,
    error_string: ErrorStringFn,
    handle_by_index: HandleByIndexFn,
    report: ReportFn,
    certificate: CertificateFn,
}

/// The loaded library, initialised, and its functions. The function pointers point into
/// `_library`, which is only dropped (unloaded) after `Drop` has called `nvmlShutdown`.
pub(crate) struct Nvml {
    fns: Fns,
    _library: Library,
}

/// The error of `call`, which returned `code`, with NVML's text for it. `error_string` must point
/// into a library that is still loaded.
fn call_error(error_string: ErrorStringFn, call: &'static str, code: c_int) -> NvmlError {
    // SAFETY: `nvmlErrorString` accepts any return code (it needs no init) and returns a pointer
    // to a static, NUL-terminated string (or null, checked below) owned by the library, which
    // every caller keeps loaded.
    let text = unsafe { error_string(code) };
    let message = if text.is_null() {
        "unknown error".to_owned()
    } else {
        // SAFETY: non-null, NUL-terminated, static in the loaded library (above).
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    };
    NvmlError::Call {
        call,
        code,
        message,
    }
}

/// Copies a function pointer out of `library`.
fn symbol<T: Copy>(library: &Library, name: &'static str) -> Result<T, NvmlError> {
    let mut c_name = Vec::with_capacity(name.len() + 1);
    c_name.extend_from_slice(name.as_bytes());
    c_name.push(0);
    // SAFETY: `T` is, at every call site, the `unsafe extern "C" fn` type that nvml.h declares
    // for `name`, so reading the symbol's address as `T` is sound; the pointer is used only
    // while the `Library` lives (both are kept together in `Nvml`).
    let found = unsafe { library.get::<T>(&c_name) };
    found
        .map(|s| *s)
        .map_err(|_| NvmlError::MissingSymbol(name))
}

impl Nvml {
    /// Loads `libnvidia-ml.so.1` and calls `nvmlInit_v2`.
    pub(crate) fn load() -> Result<Self, NvmlError> {
        Self::load_from(crate::LIBRARY)
    }

    /// Loads NVML from `path` and initialises it.
    pub(crate) fn load_from(path: &str) -> Result<Self, NvmlError> {
        // SAFETY: loading a shared library runs its initialisers. The library named is NVIDIA's
        // NVML, which the driver installs and which is meant to be dlopen'ed this way (nvidia-smi
        // and NVIDIA's own Python bindings do the same); a missing file is an error, not UB.
        let library =
            unsafe { Library::new(path) }.map_err(|e| NvmlError::LibraryMissing(e.to_string()))?;
        let init: InitFn = symbol(&library, INIT)?;
        let fns = Fns {
            shutdown: symbol(&library, "nvmlShutdown")?,
            error_string: symbol(&library, "nvmlErrorString")?,
            handle_by_index: symbol(&library, HANDLE_BY_INDEX)?,
            report: symbol(&library, ATTESTATION_REPORT)?,
            certificate: symbol(&library, CERTIFICATE)?,
        };
        // SAFETY: `nvmlInit_v2` takes no arguments and may be called from any thread; the
        // library is loaded (it is dropped only at the end of this function, or with `Nvml`).
        let code = unsafe { init() };
        if code != SUCCESS {
            // Not initialised: no `Nvml` is built, so no `nvmlShutdown` is called for it.
            return Err(call_error(fns.error_string, INIT, code));
        }
        Ok(Nvml {
            fns,
            _library: library,
        })
    }

    fn error(&self, call: &'static str, code: c_int) -> NvmlError {
        call_error(self.fns.error_string, call, code)
    }

    /// `nvmlDeviceGetHandleByIndex_v2`.
    pub(crate) fn device_by_index(&self, index: u32) -> Result<Device, NvmlError> {
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: NVML is initialised; `handle` is a valid place for the out pointer.
        let code = unsafe { (self.fns.handle_by_index)(index, &mut handle) };
        if code != SUCCESS {
            return Err(self.error(HANDLE_BY_INDEX, code));
        }
        Ok(Device(handle))
    }

    /// `nvmlDeviceGetConfComputeGpuAttestationReport` with `nonce`: the report's bytes.
    pub(crate) fn attestation_report(
        &self,
        device: &Device,
        nonce: &[u8; NONCE_SIZE],
    ) -> Result<Vec<u8>, NvmlError> {
        let mut out = Box::new(AttestationReport {
            is_cec_attestation_report_present: 0,
            attestation_report_size: 0,
            cec_attestation_report_size: 0,
            nonce: *nonce,
            attestation_report: [0; ATTESTATION_REPORT_SIZE],
            cec_attestation_report: [0; CEC_ATTESTATION_REPORT_SIZE],
        });
        // SAFETY: NVML is initialised, `device.0` is a handle it gave out, and `out` points to a
        // writable struct with nvml.h's layout (checked by a test), which NVML fills in.
        let code = unsafe { (self.fns.report)(device.0, &mut *out) };
        if code != SUCCESS {
            return Err(self.error(ATTESTATION_REPORT, code));
        }
        let len = usize::try_from(out.attestation_report_size)
            .map_err(|_| NvmlError::BadSize(ATTESTATION_REPORT))?;
        out.attestation_report
            .get(..len)
            .map(<[u8]>::to_vec)
            .ok_or(NvmlError::BadSize(ATTESTATION_REPORT))
    }

    /// `nvmlDeviceGetConfComputeGpuCertificate`: the attestation chain's bytes.
    pub(crate) fn attestation_cert_chain(&self, device: &Device) -> Result<Vec<u8>, NvmlError> {
        let mut out = Box::new(Certificate {
            cert_chain_size: 0,
            attestation_cert_chain_size: 0,
            cert_chain: [0; CERT_CHAIN_SIZE],
            attestation_cert_chain: [0; ATTESTATION_CERT_CHAIN_SIZE],
        });
        // SAFETY: as for the report: an initialised NVML, its handle, a writable struct of
        // nvml.h's layout.
        let code = unsafe { (self.fns.certificate)(device.0, &mut *out) };
        if code != SUCCESS {
            return Err(self.error(CERTIFICATE, code));
        }
        let len = usize::try_from(out.attestation_cert_chain_size)
            .map_err(|_| NvmlError::BadSize(CERTIFICATE))?;
        out.attestation_cert_chain
            .get(..len)
            .map(<[u8]>::to_vec)
            .ok_or(NvmlError::BadSize(CERTIFICATE))
    }
}

impl Drop for Nvml {
    fn drop(&mut self) {
        // SAFETY: this `Nvml` was initialised (a failed init never builds one that drops, see
        // `load_from`), so it owns one reference of NVML's init count; the library is still
        // loaded (`_library` drops after this).
        let _ = unsafe { (self.fns.shutdown)() };
    }
}
