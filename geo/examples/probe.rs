//! scratch
fn main() {
    let w = lightcone_geo::World::embedded();
    for (name, lat, lon) in [
        ("Simferopol", 44.95, 34.10),
        ("Donetsk", 48.00, 37.80),
        ("Sukhumi", 43.00, 41.02),
        ("Tskhinvali", 42.23, 43.97),
        ("Tiraspol", 46.84, 29.63),
        ("Mischief", 9.90, 115.53),
        ("Nangan", 26.16, 119.93),
        ("Kinmen", 24.44, 118.32),
        ("Pratas", 20.70, 116.72),
        ("Baikonur", 45.62, 63.31),
        ("Taiping", 10.377, 114.365),
        ("Fiery", 9.549, 112.889),
        ("Subi", 10.923, 114.084),
        ("Woody(Paracel)", 16.834, 112.338),
        ("Scarborough", 15.15, 117.76),
        ("AksaiChin", 35.0, 79.0),
        ("Laayoune", 27.15, -13.2),
        ("Nicosia N", 35.2, 33.36),
        ("Srinagar", 34.08, 74.80),
        ("Gilgit", 35.92, 74.31),
        ("Muzaffarabad", 34.37, 73.47),
        ("StPeter", 41.9022, 12.4539),
        ("HK", 22.3, 114.17),
        ("Macau", 22.19, 113.54),
        ("Caspian", 42.0, 50.5),
    ] {
        let set = w.containing(lat, lon);
        let labels: Vec<String> = set.iter().map(|&f| w.features()[f].name.clone()).collect();
        println!("{name}: {labels:?}");
    }
}
