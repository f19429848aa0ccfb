//! ISO 3166-1 country codes (alpha-2, alpha-3, numeric) and name lookup with close-match
//! suggestions.
//!
//! The table is ISO 3166-1 as shipped by Debian's `iso-codes` 4.15.0 (249 entries), plus one
//! user-assigned code, `XK`/`XKX`/`-` for Kosovo, which the EU and IMF use and ISO does not
//! assign. The world-atlas features carry the numeric code as their `id`; features without one
//! (Somaliland, N. Cyprus, ...) are named by the dataset's own name.

/// One ISO 3166-1 entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountryCode {
    /// Two-letter code, e.g. `"CN"`.
    pub alpha2: &'static str,
    /// Three-letter code, e.g. `"CHN"`.
    pub alpha3: &'static str,
    /// Numeric code, e.g. `156`; `0` for the user-assigned Kosovo entry, which has none.
    pub numeric: u16,
    /// ISO short name, e.g. `"China"`.
    pub name: &'static str,
}

/// Every ISO 3166-1 entry, ordered by numeric code (Kosovo, user-assigned, last).
#[rustfmt::skip]
pub static CODES: &[CountryCode] = &[
    CountryCode { alpha2: "AF", alpha3: "AFG", numeric: 4, name: "Afghanistan" },
    CountryCode { alpha2: "AL", alpha3: "ALB", numeric: 8, name: "Albania" },
    CountryCode { alpha2: "AQ", alpha3: "ATA", numeric: 10, name: "Antarctica" },
    CountryCode { alpha2: "DZ", alpha3: "DZA", numeric: 12, name: "Algeria" },
    CountryCode { alpha2: "AS", alpha3: "ASM", numeric: 16, name: "American Samoa" },
    CountryCode { alpha2: "AD", alpha3: "AND", numeric: 20, name: "Andorra" },
    CountryCode { alpha2: "AO", alpha3: "AGO", numeric: 24, name: "Angola" },
    CountryCode { alpha2: "AG", alpha3: "ATG", numeric: 28, name: "Antigua and Barbuda" },
    CountryCode { alpha2: "AZ", alpha3: "AZE", numeric: 31, name: "Azerbaijan" },
    CountryCode { alpha2: "AR", alpha3: "ARG", numeric: 32, name: "Argentina" },
    CountryCode { alpha2: "AU", alpha3: "AUS", numeric: 36, name: "Australia" },
    CountryCode { alpha2: "AT", alpha3: "AUT", numeric: 40, name: "Austria" },
    CountryCode { alpha2: "BS", alpha3: "BHS", numeric: 44, name: "Bahamas" },
    CountryCode { alpha2: "BH", alpha3: "BHR", numeric: 48, name: "Bahrain" },
    CountryCode { alpha2: "BD", alpha3: "BGD", numeric: 50, name: "Bangladesh" },
    CountryCode { alpha2: "AM", alpha3: "ARM", numeric: 51, name: "Armenia" },
    CountryCode { alpha2: "BB", alpha3: "BRB", numeric: 52, name: "Barbados" },
    CountryCode { alpha2: "BE", alpha3: "BEL", numeric: 56, name: "Belgium" },
    CountryCode { alpha2: "BM", alpha3: "BMU", numeric: 60, name: "Bermuda" },
    CountryCode { alpha2: "BT", alpha3: "BTN", numeric: 64, name: "Bhutan" },
    CountryCode { alpha2: "BO", alpha3: "BOL", numeric: 68, name: "Bolivia" },
    CountryCode { alpha2: "BA", alpha3: "BIH", numeric: 70, name: "Bosnia and Herzegovina" },
    CountryCode { alpha2: "BW", alpha3: "BWA", numeric: 72, name: "Botswana" },
    CountryCode { alpha2: "BV", alpha3: "BVT", numeric: 74, name: "Bouvet Island" },
    CountryCode { alpha2: "BR", alpha3: "BRA", numeric: 76, name: "Brazil" },
    CountryCode { alpha2: "BZ", alpha3: "BLZ", numeric: 84, name: "Belize" },
    CountryCode { alpha2: "IO", alpha3: "IOT", numeric: 86, name: "British Indian Ocean Territory" },
    CountryCode { alpha2: "SB", alpha3: "SLB", numeric: 90, name: "Solomon Islands" },
    CountryCode { alpha2: "VG", alpha3: "VGB", numeric: 92, name: "Virgin Islands, British" },
    CountryCode { alpha2: "BN", alpha3: "BRN", numeric: 96, name: "Brunei Darussalam" },
    CountryCode { alpha2: "BG", alpha3: "BGR", numeric: 100, name: "Bulgaria" },
    CountryCode { alpha2: "MM", alpha3: "MMR", numeric: 104, name: "Myanmar" },
    CountryCode { alpha2: "BI", alpha3: "BDI", numeric: 108, name: "Burundi" },
    CountryCode { alpha2: "BY", alpha3: "BLR", numeric: 112, name: "Belarus" },
    CountryCode { alpha2: "KH", alpha3: "KHM", numeric: 116, name: "Cambodia" },
    CountryCode { alpha2: "CM", alpha3: "CMR", numeric: 120, name: "Cameroon" },
    CountryCode { alpha2: "CA", alpha3: "CAN", numeric: 124, name: "Canada" },
    CountryCode { alpha2: "CV", alpha3: "CPV", numeric: 132, name: "Cabo Verde" },
    CountryCode { alpha2: "KY", alpha3: "CYM", numeric: 136, name: "Cayman Islands" },
    CountryCode { alpha2: "CF", alpha3: "CAF", numeric: 140, name: "Central African Republic" },
    CountryCode { alpha2: "LK", alpha3: "LKA", numeric: 144, name: "Sri Lanka" },
    CountryCode { alpha2: "TD", alpha3: "TCD", numeric: 148, name: "Chad" },
    CountryCode { alpha2: "CL", alpha3: "CHL", numeric: 152, name: "Chile" },
    CountryCode { alpha2: "CN", alpha3: "CHN", numeric: 156, name: "China" },
    CountryCode { alpha2: "TW", alpha3: "TWN", numeric: 158, name: "Taiwan" },
    CountryCode { alpha2: "CX", alpha3: "CXR", numeric: 162, name: "Christmas Island" },
    CountryCode { alpha2: "CC", alpha3: "CCK", numeric: 166, name: "Cocos (Keeling) Islands" },
    CountryCode { alpha2: "CO", alpha3: "COL", numeric: 170, name: "Colombia" },
    CountryCode { alpha2: "KM", alpha3: "COM", numeric: 174, name: "Comoros" },
    CountryCode { alpha2: "YT", alpha3: "MYT", numeric: 175, name: "Mayotte" },
    CountryCode { alpha2: "CG", alpha3: "COG", numeric: 178, name: "Congo" },
    CountryCode { alpha2: "CD", alpha3: "COD", numeric: 180, name: "Congo, The Democratic Republic of the" },
    CountryCode { alpha2: "CK", alpha3: "COK", numeric: 184, name: "Cook Islands" },
    CountryCode { alpha2: "CR", alpha3: "CRI", numeric: 188, name: "Costa Rica" },
    CountryCode { alpha2: "HR", alpha3: "HRV", numeric: 191, name: "Croatia" },
    CountryCode { alpha2: "CU", alpha3: "CUB", numeric: 192, name: "Cuba" },
    CountryCode { alpha2: "CY", alpha3: "CYP", numeric: 196, name: "Cyprus" },
    CountryCode { alpha2: "CZ", alpha3: "CZE", numeric: 203, name: "Czechia" },
    CountryCode { alpha2: "BJ", alpha3: "BEN", numeric: 204, name: "Benin" },
    CountryCode { alpha2: "DK", alpha3: "DNK", numeric: 208, name: "Denmark" },
    CountryCode { alpha2: "DM", alpha3: "DMA", numeric: 212, name: "Dominica" },
    CountryCode { alpha2: "DO", alpha3: "DOM", numeric: 214, name: "Dominican Republic" },
    CountryCode { alpha2: "EC", alpha3: "ECU", numeric: 218, name: "Ecuador" },
    CountryCode { alpha2: "SV", alpha3: "SLV", numeric: 222, name: "El Salvador" },
    CountryCode { alpha2: "GQ", alpha3: "GNQ", numeric: 226, name: "Equatorial Guinea" },
    CountryCode { alpha2: "ET", alpha3: "ETH", numeric: 231, name: "Ethiopia" },
    CountryCode { alpha2: "ER", alpha3: "ERI", numeric: 232, name: "Eritrea" },
    CountryCode { alpha2: "EE", alpha3: "EST", numeric: 233, name: "Estonia" },
    CountryCode { alpha2: "FO", alpha3: "FRO", numeric: 234, name: "Faroe Islands" },
    CountryCode { alpha2: "FK", alpha3: "FLK", numeric: 238, name: "Falkland Islands (Malvinas)" },
    CountryCode { alpha2: "GS", alpha3: "SGS", numeric: 239, name: "South Georgia and the South Sandwich Islands" },
    CountryCode { alpha2: "FJ", alpha3: "FJI", numeric: 242, name: "Fiji" },
    CountryCode { alpha2: "FI", alpha3: "FIN", numeric: 246, name: "Finland" },
    CountryCode { alpha2: "AX", alpha3: "ALA", numeric: 248, name: "Åland Islands" },
    CountryCode { alpha2: "FR", alpha3: "FRA", numeric: 250, name: "France" },
    CountryCode { alpha2: "GF", alpha3: "GUF", numeric: 254, name: "French Guiana" },
    CountryCode { alpha2: "PF", alpha3: "PYF", numeric: 258, name: "French Polynesia" },
    CountryCode { alpha2: "TF", alpha3: "ATF", numeric: 260, name: "French Southern Territories" },
    CountryCode { alpha2: "DJ", alpha3: "DJI", numeric: 262, name: "Djibouti" },
    CountryCode { alpha2: "GA", alpha3: "GAB", numeric: 266, name: "Gabon" },
    CountryCode { alpha2: "GE", alpha3: "GEO", numeric: 268, name: "Georgia" },
    CountryCode { alpha2: "GM", alpha3: "GMB", numeric: 270, name: "Gambia" },
    CountryCode { alpha2: "PS", alpha3: "PSE", numeric: 275, name: "Palestine, State of" },
    CountryCode { alpha2: "DE", alpha3: "DEU", numeric: 276, name: "Germany" },
    CountryCode { alpha2: "GH", alpha3: "GHA", numeric: 288, name: "Ghana" },
    CountryCode { alpha2: "GI", alpha3: "GIB", numeric: 292, name: "Gibraltar" },
    CountryCode { alpha2: "KI", alpha3: "KIR", numeric: 296, name: "Kiribati" },
    CountryCode { alpha2: "GR", alpha3: "GRC", numeric: 300, name: "Greece" },
    CountryCode { alpha2: "GL", alpha3: "GRL", numeric: 304, name: "Greenland" },
    CountryCode { alpha2: "GD", alpha3: "GRD", numeric: 308, name: "Grenada" },
    CountryCode { alpha2: "GP", alpha3: "GLP", numeric: 312, name: "Guadeloupe" },
    CountryCode { alpha2: "GU", alpha3: "GUM", numeric: 316, name: "Guam" },
    CountryCode { alpha2: "GT", alpha3: "GTM", numeric: 320, name: "Guatemala" },
    CountryCode { alpha2: "GN", alpha3: "GIN", numeric: 324, name: "Guinea" },
    CountryCode { alpha2: "GY", alpha3: "GUY", numeric: 328, name: "Guyana" },
    CountryCode { alpha2: "HT", alpha3: "HTI", numeric: 332, name: "Haiti" },
    CountryCode { alpha2: "HM", alpha3: "HMD", numeric: 334, name: "Heard Island and McDonald Islands" },
    CountryCode { alpha2: "VA", alpha3: "VAT", numeric: 336, name: "Holy See (Vatican City State)" },
    CountryCode { alpha2: "HN", alpha3: "HND", numeric: 340, name: "Honduras" },
    CountryCode { alpha2: "HK", alpha3: "HKG", numeric: 344, name: "Hong Kong" },
    CountryCode { alpha2: "HU", alpha3: "HUN", numeric: 348, name: "Hungary" },
    CountryCode { alpha2: "IS", alpha3: "ISL", numeric: 352, name: "Iceland" },
    CountryCode { alpha2: "IN", alpha3: "IND", numeric: 356, name: "India" },
    CountryCode { alpha2: "ID", alpha3: "IDN", numeric: 360, name: "Indonesia" },
    CountryCode { alpha2: "IR", alpha3: "IRN", numeric: 364, name: "Iran" },
    CountryCode { alpha2: "IQ", alpha3: "IRQ", numeric: 368, name: "Iraq" },
    CountryCode { alpha2: "IE", alpha3: "IRL", numeric: 372, name: "Ireland" },
    CountryCode { alpha2: "IL", alpha3: "ISR", numeric: 376, name: "Israel" },
    CountryCode { alpha2: "IT", alpha3: "ITA", numeric: 380, name: "Italy" },
    CountryCode { alpha2: "CI", alpha3: "CIV", numeric: 384, name: "Côte d'Ivoire" },
    CountryCode { alpha2: "JM", alpha3: "JAM", numeric: 388, name: "Jamaica" },
    CountryCode { alpha2: "JP", alpha3: "JPN", numeric: 392, name: "Japan" },
    CountryCode { alpha2: "KZ", alpha3: "KAZ", numeric: 398, name: "Kazakhstan" },
    CountryCode { alpha2: "JO", alpha3: "JOR", numeric: 400, name: "Jordan" },
    CountryCode { alpha2: "KE", alpha3: "KEN", numeric: 404, name: "Kenya" },
    CountryCode { alpha2: "KP", alpha3: "PRK", numeric: 408, name: "North Korea" },
    CountryCode { alpha2: "KR", alpha3: "KOR", numeric: 410, name: "South Korea" },
    CountryCode { alpha2: "KW", alpha3: "KWT", numeric: 414, name: "Kuwait" },
    CountryCode { alpha2: "KG", alpha3: "KGZ", numeric: 417, name: "Kyrgyzstan" },
    CountryCode { alpha2: "LA", alpha3: "LAO", numeric: 418, name: "Laos" },
    CountryCode { alpha2: "LB", alpha3: "LBN", numeric: 422, name: "Lebanon" },
    CountryCode { alpha2: "LS", alpha3: "LSO", numeric: 426, name: "Lesotho" },
    CountryCode { alpha2: "LV", alpha3: "LVA", numeric: 428, name: "Latvia" },
    CountryCode { alpha2: "LR", alpha3: "LBR", numeric: 430, name: "Liberia" },
    CountryCode { alpha2: "LY", alpha3: "LBY", numeric: 434, name: "Libya" },
    CountryCode { alpha2: "LI", alpha3: "LIE", numeric: 438, name: "Liechtenstein" },
    CountryCode { alpha2: "LT", alpha3: "LTU", numeric: 440, name: "Lithuania" },
    CountryCode { alpha2: "LU", alpha3: "LUX", numeric: 442, name: "Luxembourg" },
    CountryCode { alpha2: "MO", alpha3: "MAC", numeric: 446, name: "Macao" },
    CountryCode { alpha2: "MG", alpha3: "MDG", numeric: 450, name: "Madagascar" },
    CountryCode { alpha2: "MW", alpha3: "MWI", numeric: 454, name: "Malawi" },
    CountryCode { alpha2: "MY", alpha3: "MYS", numeric: 458, name: "Malaysia" },
    CountryCode { alpha2: "MV", alpha3: "MDV", numeric: 462, name: "Maldives" },
    CountryCode { alpha2: "ML", alpha3: "MLI", numeric: 466, name: "Mali" },
    CountryCode { alpha2: "MT", alpha3: "MLT", numeric: 470, name: "Malta" },
    CountryCode { alpha2: "MQ", alpha3: "MTQ", numeric: 474, name: "Martinique" },
    CountryCode { alpha2: "MR", alpha3: "MRT", numeric: 478, name: "Mauritania" },
    CountryCode { alpha2: "MU", alpha3: "MUS", numeric: 480, name: "Mauritius" },
    CountryCode { alpha2: "MX", alpha3: "MEX", numeric: 484, name: "Mexico" },
    CountryCode { alpha2: "MC", alpha3: "MCO", numeric: 492, name: "Monaco" },
    CountryCode { alpha2: "MN", alpha3: "MNG", numeric: 496, name: "Mongolia" },
    CountryCode { alpha2: "MD", alpha3: "MDA", numeric: 498, name: "Moldova" },
    CountryCode { alpha2: "ME", alpha3: "MNE", numeric: 499, name: "Montenegro" },
    CountryCode { alpha2: "MS", alpha3: "MSR", numeric: 500, name: "Montserrat" },
    CountryCode { alpha2: "MA", alpha3: "MAR", numeric: 504, name: "Morocco" },
    CountryCode { alpha2: "MZ", alpha3: "MOZ", numeric: 508, name: "Mozambique" },
    CountryCode { alpha2: "OM", alpha3: "OMN", numeric: 512, name: "Oman" },
    CountryCode { alpha2: "NA", alpha3: "NAM", numeric: 516, name: "Namibia" },
    CountryCode { alpha2: "NR", alpha3: "NRU", numeric: 520, name: "Nauru" },
    CountryCode { alpha2: "NP", alpha3: "NPL", numeric: 524, name: "Nepal" },
    CountryCode { alpha2: "NL", alpha3: "NLD", numeric: 528, name: "Netherlands" },
    CountryCode { alpha2: "CW", alpha3: "CUW", numeric: 531, name: "Curaçao" },
    CountryCode { alpha2: "AW", alpha3: "ABW", numeric: 533, name: "Aruba" },
    CountryCode { alpha2: "SX", alpha3: "SXM", numeric: 534, name: "Sint Maarten (Dutch part)" },
    CountryCode { alpha2: "BQ", alpha3: "BES", numeric: 535, name: "Bonaire, Sint Eustatius and Saba" },
    CountryCode { alpha2: "NC", alpha3: "NCL", numeric: 540, name: "New Caledonia" },
    CountryCode { alpha2: "VU", alpha3: "VUT", numeric: 548, name: "Vanuatu" },
    CountryCode { alpha2: "NZ", alpha3: "NZL", numeric: 554, name: "New Zealand" },
    CountryCode { alpha2: "NI", alpha3: "NIC", numeric: 558, name: "Nicaragua" },
    CountryCode { alpha2: "NE", alpha3: "NER", numeric: 562, name: "Niger" },
    CountryCode { alpha2: "NG", alpha3: "NGA", numeric: 566, name: "Nigeria" },
    CountryCode { alpha2: "NU", alpha3: "NIU", numeric: 570, name: "Niue" },
    CountryCode { alpha2: "NF", alpha3: "NFK", numeric: 574, name: "Norfolk Island" },
    CountryCode { alpha2: "NO", alpha3: "NOR", numeric: 578, name: "Norway" },
    CountryCode { alpha2: "MP", alpha3: "MNP", numeric: 580, name: "Northern Mariana Islands" },
    CountryCode { alpha2: "UM", alpha3: "UMI", numeric: 581, name: "United States Minor Outlying Islands" },
    CountryCode { alpha2: "FM", alpha3: "FSM", numeric: 583, name: "Micronesia, Federated States of" },
    CountryCode { alpha2: "MH", alpha3: "MHL", numeric: 584, name: "Marshall Islands" },
    CountryCode { alpha2: "PW", alpha3: "PLW", numeric: 585, name: "Palau" },
    CountryCode { alpha2: "PK", alpha3: "PAK", numeric: 586, name: "Pakistan" },
    CountryCode { alpha2: "PA", alpha3: "PAN", numeric: 591, name: "Panama" },
    CountryCode { alpha2: "PG", alpha3: "PNG", numeric: 598, name: "Papua New Guinea" },
    CountryCode { alpha2: "PY", alpha3: "PRY", numeric: 600, name: "Paraguay" },
    CountryCode { alpha2: "PE", alpha3: "PER", numeric: 604, name: "Peru" },
    CountryCode { alpha2: "PH", alpha3: "PHL", numeric: 608, name: "Philippines" },
    CountryCode { alpha2: "PN", alpha3: "PCN", numeric: 612, name: "Pitcairn" },
    CountryCode { alpha2: "PL", alpha3: "POL", numeric: 616, name: "Poland" },
    CountryCode { alpha2: "PT", alpha3: "PRT", numeric: 620, name: "Portugal" },
    CountryCode { alpha2: "GW", alpha3: "GNB", numeric: 624, name: "Guinea-Bissau" },
    CountryCode { alpha2: "TL", alpha3: "TLS", numeric: 626, name: "Timor-Leste" },
    CountryCode { alpha2: "PR", alpha3: "PRI", numeric: 630, name: "Puerto Rico" },
    CountryCode { alpha2: "QA", alpha3: "QAT", numeric: 634, name: "Qatar" },
    CountryCode { alpha2: "RE", alpha3: "REU", numeric: 638, name: "Réunion" },
    CountryCode { alpha2: "RO", alpha3: "ROU", numeric: 642, name: "Romania" },
    CountryCode { alpha2: "RU", alpha3: "RUS", numeric: 643, name: "Russian Federation" },
    CountryCode { alpha2: "RW", alpha3: "RWA", numeric: 646, name: "Rwanda" },
    CountryCode { alpha2: "BL", alpha3: "BLM", numeric: 652, name: "Saint Barthélemy" },
    CountryCode { alpha2: "SH", alpha3: "SHN", numeric: 654, name: "Saint Helena, Ascension and Tristan da Cunha" },
    CountryCode { alpha2: "KN", alpha3: "KNA", numeric: 659, name: "Saint Kitts and Nevis" },
    CountryCode { alpha2: "AI", alpha3: "AIA", numeric: 660, name: "Anguilla" },
    CountryCode { alpha2: "LC", alpha3: "LCA", numeric: 662, name: "Saint Lucia" },
    CountryCode { alpha2: "MF", alpha3: "MAF", numeric: 663, name: "Saint Martin (French part)" },
    CountryCode { alpha2: "PM", alpha3: "SPM", numeric: 666, name: "Saint Pierre and Miquelon" },
    CountryCode { alpha2: "VC", alpha3: "VCT", numeric: 670, name: "Saint Vincent and the Grenadines" },
    CountryCode { alpha2: "SM", alpha3: "SMR", numeric: 674, name: "San Marino" },
    CountryCode { alpha2: "ST", alpha3: "STP", numeric: 678, name: "Sao Tome and Principe" },
    CountryCode { alpha2: "SA", alpha3: "SAU", numeric: 682, name: "Saudi Arabia" },
    CountryCode { alpha2: "SN", alpha3: "SEN", numeric: 686, name: "Senegal" },
    CountryCode { alpha2: "RS", alpha3: "SRB", numeric: 688, name: "Serbia" },
    CountryCode { alpha2: "SC", alpha3: "SYC", numeric: 690, name: "Seychelles" },
    CountryCode { alpha2: "SL", alpha3: "SLE", numeric: 694, name: "Sierra Leone" },
    CountryCode { alpha2: "SG", alpha3: "SGP", numeric: 702, name: "Singapore" },
    CountryCode { alpha2: "SK", alpha3: "SVK", numeric: 703, name: "Slovakia" },
    CountryCode { alpha2: "VN", alpha3: "VNM", numeric: 704, name: "Vietnam" },
    CountryCode { alpha2: "SI", alpha3: "SVN", numeric: 705, name: "Slovenia" },
    CountryCode { alpha2: "SO", alpha3: "SOM", numeric: 706, name: "Somalia" },
    CountryCode { alpha2: "ZA", alpha3: "ZAF", numeric: 710, name: "South Africa" },
    CountryCode { alpha2: "ZW", alpha3: "ZWE", numeric: 716, name: "Zimbabwe" },
    CountryCode { alpha2: "ES", alpha3: "ESP", numeric: 724, name: "Spain" },
    CountryCode { alpha2: "SS", alpha3: "SSD", numeric: 728, name: "South Sudan" },
    CountryCode { alpha2: "SD", alpha3: "SDN", numeric: 729, name: "Sudan" },
    CountryCode { alpha2: "EH", alpha3: "ESH", numeric: 732, name: "Western Sahara" },
    CountryCode { alpha2: "SR", alpha3: "SUR", numeric: 740, name: "Suriname" },
    CountryCode { alpha2: "SJ", alpha3: "SJM", numeric: 744, name: "Svalbard and Jan Mayen" },
    CountryCode { alpha2: "SZ", alpha3: "SWZ", numeric: 748, name: "Eswatini" },
    CountryCode { alpha2: "SE", alpha3: "SWE", numeric: 752, name: "Sweden" },
    CountryCode { alpha2: "CH", alpha3: "CHE", numeric: 756, name: "Switzerland" },
    CountryCode { alpha2: "SY", alpha3: "SYR", numeric: 760, name: "Syria" },
    CountryCode { alpha2: "TJ", alpha3: "TJK", numeric: 762, name: "Tajikistan" },
    CountryCode { alpha2: "TH", alpha3: "THA", numeric: 764, name: "Thailand" },
    CountryCode { alpha2: "TG", alpha3: "TGO", numeric: 768, name: "Togo" },
    CountryCode { alpha2: "TK", alpha3: "TKL", numeric: 772, name: "Tokelau" },
    CountryCode { alpha2: "TO", alpha3: "TON", numeric: 776, name: "Tonga" },
    CountryCode { alpha2: "TT", alpha3: "TTO", numeric: 780, name: "Trinidad and Tobago" },
    CountryCode { alpha2: "AE", alpha3: "ARE", numeric: 784, name: "United Arab Emirates" },
    CountryCode { alpha2: "TN", alpha3: "TUN", numeric: 788, name: "Tunisia" },
    CountryCode { alpha2: "TR", alpha3: "TUR", numeric: 792, name: "Türkiye" },
    CountryCode { alpha2: "TM", alpha3: "TKM", numeric: 795, name: "Turkmenistan" },
    CountryCode { alpha2: "TC", alpha3: "TCA", numeric: 796, name: "Turks and Caicos Islands" },
    CountryCode { alpha2: "TV", alpha3: "TUV", numeric: 798, name: "Tuvalu" },
    CountryCode { alpha2: "UG", alpha3: "UGA", numeric: 800, name: "Uganda" },
    CountryCode { alpha2: "UA", alpha3: "UKR", numeric: 804, name: "Ukraine" },
    CountryCode { alpha2: "MK", alpha3: "MKD", numeric: 807, name: "North Macedonia" },
    CountryCode { alpha2: "EG", alpha3: "EGY", numeric: 818, name: "Egypt" },
    CountryCode { alpha2: "GB", alpha3: "GBR", numeric: 826, name: "United Kingdom" },
    CountryCode { alpha2: "GG", alpha3: "GGY", numeric: 831, name: "Guernsey" },
    CountryCode { alpha2: "JE", alpha3: "JEY", numeric: 832, name: "Jersey" },
    CountryCode { alpha2: "IM", alpha3: "IMN", numeric: 833, name: "Isle of Man" },
    CountryCode { alpha2: "TZ", alpha3: "TZA", numeric: 834, name: "Tanzania" },
    CountryCode { alpha2: "US", alpha3: "USA", numeric: 840, name: "United States" },
    CountryCode { alpha2: "VI", alpha3: "VIR", numeric: 850, name: "Virgin Islands, U.S." },
    CountryCode { alpha2: "BF", alpha3: "BFA", numeric: 854, name: "Burkina Faso" },
    CountryCode { alpha2: "UY", alpha3: "URY", numeric: 858, name: "Uruguay" },
    CountryCode { alpha2: "UZ", alpha3: "UZB", numeric: 860, name: "Uzbekistan" },
    CountryCode { alpha2: "VE", alpha3: "VEN", numeric: 862, name: "Venezuela" },
    CountryCode { alpha2: "WF", alpha3: "WLF", numeric: 876, name: "Wallis and Futuna" },
    CountryCode { alpha2: "WS", alpha3: "WSM", numeric: 882, name: "Samoa" },
    CountryCode { alpha2: "YE", alpha3: "YEM", numeric: 887, name: "Yemen" },
    CountryCode { alpha2: "ZM", alpha3: "ZMB", numeric: 894, name: "Zambia" },
    CountryCode { alpha2: "XK", alpha3: "XKX", numeric: 0, name: "Kosovo" },
];

/// The entry with this numeric code, if any.
pub fn by_numeric(numeric: u16) -> Option<&'static CountryCode> {
    if numeric == 0 {
        return None;
    }
    CODES.iter().find(|c| c.numeric == numeric)
}

/// The entry named by an alpha-2, alpha-3 or numeric code (case-insensitive, numeric with or
/// without leading zeros), if any.
pub fn by_code(code: &str) -> Option<&'static CountryCode> {
    let code = code.trim();
    if !code.is_empty() && code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()) {
        return code.parse::<u16>().ok().and_then(by_numeric);
    }
    CODES
        .iter()
        .find(|c| c.alpha2.eq_ignore_ascii_case(code) || c.alpha3.eq_ignore_ascii_case(code))
}

/// Case-insensitive Levenshtein edit distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut row_first = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = row_first + 1;
            let v = sub.min(del).min(ins);
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = v;
            }
            row_first = v;
        }
        if let Some(slot) = cur.get_mut(0) {
            *slot = i + 1;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// Up to `max` candidates closest to `query` by edit distance (also matching prefixes), best
/// first, for an "unknown country" error message.
pub fn close_matches<'a>(
    query: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<String> {
    let q = query.trim().to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let lc = c.to_lowercase();
            let d = if !q.is_empty() && (lc.starts_with(&q) || lc.contains(&q)) {
                0
            } else {
                edit_distance(&q, &lc)
            };
            (d, c)
        })
        .collect();
    scored.sort_by(|x, y| x.0.cmp(&y.0).then_with(|| x.1.cmp(y.1)));
    scored.dedup_by(|x, y| x.1 == y.1);
    let limit = (q.chars().count() / 2).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(max)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(by_code("cn").map(|c| c.numeric), Some(156));
        assert_eq!(by_code("CHN").map(|c| c.alpha2), Some("CN"));
        assert_eq!(by_code("156").map(|c| c.alpha2), Some("CN"));
        assert_eq!(by_code("036").map(|c| c.alpha2), Some("AU"));
        assert_eq!(by_code("XK").map(|c| c.name), Some("Kosovo"));
        assert!(by_code("ZZ").is_none());
        assert!(by_code("0").is_none());
    }

    #[test]
    fn table_is_unique() {
        for (i, a) in CODES.iter().enumerate() {
            for b in CODES.iter().skip(i + 1) {
                assert_ne!(a.alpha2, b.alpha2);
                assert_ne!(a.alpha3, b.alpha3);
                assert!(a.numeric != b.numeric || a.numeric == 0);
            }
        }
        assert_eq!(CODES.len(), 250);
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let m = close_matches("Chna", ["China", "Chad", "Chile", "Germany"], 3);
        assert_eq!(m.first().map(String::as_str), Some("China"));
    }
}
