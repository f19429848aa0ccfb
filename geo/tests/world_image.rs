//! The embedded world image is its sources: rebuilt from `geo/data/countries-10m.json` it is
//! the same bytes, and loaded it is the same world, field by field and bit for bit.
//! `LIGHTCONE_BLESS=1 cargo test -p lightcone-geo --test world_image` rewrites it.

use lightcone_geo::borders::EMBEDDED_IMAGE;
use lightcone_geo::World;

const IMAGE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/world.image");

fn from_sources() -> (World, Vec<u8>) {
    let topojson = include_str!("../data/countries-10m.json");
    let territories = include_str!("../data/territories.geojson");
    let (world, grid, sources) =
        World::from_embedded_sources(topojson, territories).expect("sources build");
    let image = world.to_image(grid, &sources).expect("image encodes");
    (world, image)
}

#[test]
fn embedded_image_is_its_sources() {
    let (built, image) = from_sources();
    if std::env::var_os("LIGHTCONE_BLESS").is_some() {
        std::fs::write(IMAGE_PATH, &image).expect("write image");
        return;
    }
    assert!(
        image == EMBEDDED_IMAGE,
        "geo/data/world.image is stale: rebuild it with LIGHTCONE_BLESS=1 cargo test -p lightcone-geo --test world_image"
    );
    let (loaded, sources) = World::from_image(EMBEDDED_IMAGE).expect("image loads");
    assert!(
        loaded.same_as(&built),
        "the loaded image differs from its sources"
    );
    assert!(sources
        .iter()
        .any(|s| s.contains(lightcone_geo::borders::EMBEDDED_SHA256)));
    // The comparison can fail: a world with one feature renamed is not the same.
    let mut other = EMBEDDED_IMAGE.to_vec();
    let at = other
        .windows(5)
        .position(|w| w == b"China")
        .expect("a feature named China");
    other[at] = b'K';
    let (renamed, _) = World::from_image(&other).expect("still an image");
    assert!(!renamed.same_as(&built));
}

#[test]
fn sources_match_their_recorded_hashes() {
    use sha2::Digest;
    let hex = |bytes: &[u8]| -> String {
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(
        hex(include_bytes!("../data/territories.geojson")),
        lightcone_geo::borders::TERRITORIES_SHA256
    );
    assert_eq!(
        hex(include_bytes!("../data/countries-10m.json")),
        lightcone_geo::borders::EMBEDDED_SHA256
    );
}

#[test]
fn damaged_images_are_refused_not_panics() {
    // Every truncation and a sample of single-byte changes: an error or a world, never a panic.
    let step = EMBEDDED_IMAGE.len() / 23;
    for cut in (0..EMBEDDED_IMAGE.len()).step_by(step.max(1)) {
        let _ = World::from_image(&EMBEDDED_IMAGE[..cut]);
    }
    assert!(World::from_image(&EMBEDDED_IMAGE[..EMBEDDED_IMAGE.len() / 2]).is_err());
    assert!(World::from_image(b"").is_err());
    let mut bytes = EMBEDDED_IMAGE.to_vec();
    bytes[3] ^= 0x20; // the magic
    assert!(World::from_image(&bytes).is_err());
}
