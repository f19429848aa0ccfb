//! C2SP tlog-tiles paths: any string parses or gives a typed error; a parsed path is canonical
//! (encoding it gives back the same string).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::log::tile::{encode_index, TilePath};

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tile) = TilePath::parse(path) {
        assert_eq!(tile.to_path_string(), path);
        assert_eq!(TilePath::parse(&tile.to_path_string()).ok(), Some(tile));
    }
    if let Some(bytes) = data.get(..8) {
        let n = u64::from_le_bytes(bytes.try_into().unwrap_or_default());
        let s = format!("tile/0/{}", encode_index(n));
        assert_eq!(TilePath::parse(&s).map(|t| t.index).ok(), Some(n));
    }
});
