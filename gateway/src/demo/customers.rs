//! Synthetic customers for the demo's sample data product.
//!
//! This module owns the generation of fake but *valid-looking* personal data:
//! names, e-mail addresses, E.164 phone numbers, Luhn-valid card numbers,
//! ISO 13616 (mod 97) valid IBANs, US social security numbers, birth dates,
//! postal addresses, and free-text notes that sometimes repeat those values
//! inline. The values pass the checks a PII detector applies, so the masking
//! in front of the product has something real to find. They belong to nobody:
//! e-mail domains are the reserved `example.*` ones, UK, US and French phone
//! numbers come from the ranges their regulators set aside for fiction, and
//! the other numbers are random. National BBAN check digits (the French RIB
//! key, the Spanish DC) are random too; only the IBAN check is computed.
//!
//! Generation is deterministic: a customer depends only on `(seed, id)`, so
//! `generate(10, s)` is a prefix of `generate(1000, s)`, and ages are taken
//! at a fixed reference date (2026-01-01), not from the clock.
//!
//! It does not serve anything: `sample_product` does.

use std::fmt;

use serde::Serialize;

/// One synthetic customer, as the sample product serves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    /// Identifier, 1-based and dense.
    pub id: u32,
    /// First and last name.
    pub name: String,
    /// E-mail address derived from the name, lowercase ASCII, `example.*` domains.
    pub email: String,
    /// Phone number in E.164 form, e.g. `+442079460958`.
    pub phone: String,
    /// 16-digit Visa or Mastercard number with a valid Luhn check digit,
    /// grouped by four in some rows and plain in others.
    pub card_number: String,
    /// IBAN with valid check digits, grouped by four in the same rows as the card.
    pub iban: String,
    /// US social security number, `AAA-GG-SSSS`.
    pub national_id: String,
    /// `YYYY-MM-DD`, an age from 18 to 90 at the reference date.
    pub birth_date: String,
    /// Postal address.
    pub address: Address,
    /// `YYYY-MM-DD` the customer joined, after their 18th birthday.
    pub customer_since: String,
    /// Commercial segment.
    pub segment: Segment,
    /// Account balance, rounded to cents; negative when overdrawn.
    pub balance: f64,
    /// Free text from the service desk; in some rows it repeats PII inline.
    pub notes: String,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// Street and house number, in the country's usual order.
    pub street: String,
    /// City name.
    pub city: String,
    /// Postal code in the country's format.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// A customer's commercial segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Segment {
    /// Private individuals with an everyday account.
    Retail,
    /// Private individuals with high balances.
    Premium,
    /// Companies and sole traders.
    Business,
}

/// Generates `count` customers with ids `1..=count`, the same for the same seed.
pub fn generate(count: usize, seed: u64) -> Vec<Customer> {
    (1..=u32::MAX)
        .take(count)
        .map(|id| customer(id, seed))
        .collect()
}

/// Whether `number` (digits, optionally grouped with spaces or hyphens) has
/// 12 to 19 digits and a valid Luhn check digit.
pub(crate) fn luhn_valid(number: &str) -> bool {
    let mut digits = Vec::with_capacity(number.len());
    for c in number.chars() {
        match c.to_digit(10) {
            Some(d) => digits.push(d),
            None if c == ' ' || c == '-' => {}
            None => return false,
        }
    }
    (12..=19).contains(&digits.len()) && luhn_sum(digits.into_iter().rev()) % 10 == 0
}

/// Whether `iban` (compact or grouped with spaces) has the length of its
/// country and valid ISO 13616 check digits (the mod-97 remainder is 1).
pub(crate) fn iban_valid(iban: &str) -> bool {
    let compact: String = iban.chars().filter(|&c| c != ' ').collect();
    let bytes = compact.as_bytes();
    if bytes.len() < 5
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let length_ok = match iban_length(&compact[..2]) {
        Some(length) => length == bytes.len(),
        None => (15..=34).contains(&bytes.len()),
    };
    length_ok && mod97(compact[4..].chars().chain(compact[..4].chars())) == Some(1)
}

/// The ISO 13616 length of IBANs of `country`, for the countries generated here.
pub(crate) fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: [(&str, usize); 5] =
        [("DE", 22), ("ES", 24), ("FR", 27), ("GB", 22), ("NL", 18)];
    LENGTHS
        .iter()
        .find(|(code, _)| *code == country)
        .map(|&(_, length)| length)
}

/// Sum of the Luhn algorithm over digits given rightmost first.
fn luhn_sum(digits_right_to_left: impl Iterator<Item = u32>) -> u32 {
    digits_right_to_left
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (false, _) => d,
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
        })
        .sum()
}

/// The remainder mod 97 of an IBAN-style string, letters counting A = 10 to
/// Z = 35; `None` if a character is neither a digit nor a capital letter.
fn mod97(mut chars: impl Iterator<Item = char>) -> Option<u32> {
    chars.try_fold(0, |rest, c| match c {
        '0'..='9' => Some((rest * 10 + c.to_digit(10)?) % 97),
        'A'..='Z' => Some((rest * 100 + c.to_digit(36)?) % 97),
        _ => None,
    })
}

/// SplitMix64 (Steele, Lea and Flood, 2014).
///
/// Hand-written rather than taken from the `rand` crate: the demo needs
/// deterministic, seedable synthetic data, this takes a dozen lines without
/// a dependency, and its output cannot change under us with an upgrade.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A number in `0..n` (multiply-shift; the bias is far below 2^-32 for
    /// the small `n` used here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True `percent` times in a hundred.
    fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Fills `pattern`: `#` becomes any digit, `%` a digit from 1 to 9, `@` a
    /// capital letter (from those valid in UK and Dutch postcodes); every
    /// other character is kept.
    fn fill(&mut self, pattern: &str) -> String {
        const LETTERS: &[u8] = b"ABDEFGHJLNPRSTUWXZ";
        pattern
            .chars()
            .map(|c| match c {
                '#' => char::from(b'0' + self.below(10) as u8),
                '%' => char::from(b'0' + self.between(1, 9) as u8),
                '@' => char::from(*self.pick(LETTERS)),
                other => other,
            })
            .collect()
    }
}

/// The SplitMix64 output function: a bijective 64-bit mixer.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Date {
    year: i64,
    month: i64,
    day: i64,
}

/// Ages and membership dates are computed at this date, not at the clock's.
const REFERENCE_DATE: Date = Date {
    year: 2026,
    month: 1,
    day: 1,
};

impl Date {
    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`). An invalid
    /// day rolls over: February 29 of a common year counts as March 1.
    fn days(self) -> i64 {
        let year = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let (era, year_of_era) = (year.div_euclid(400), year.rem_euclid(400));
        let month_from_march = (self.month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + self.day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
    fn from_days(days: i64) -> Self {
        let days = days + 719_468;
        let (era, day_of_era) = (days.div_euclid(146_097), days.rem_euclid(146_097));
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = (month_from_march + 2) % 12 + 1;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self { year, month, day }
    }

    fn plus_days(self, days: i64) -> Self {
        Self::from_days(self.days() + days)
    }

    fn plus_years(self, years: i64) -> Self {
        Self::from_days(
            Self {
                year: self.year + years,
                ..self
            }
            .days(),
        )
    }

    /// A date drawn uniformly from `low..=high`.
    fn between(rng: &mut SplitMix64, low: Self, high: Self) -> Self {
        let (low, high) = (low.days(), high.days());
        Self::from_days(low + rng.below((high - low + 1) as u64) as i64)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[rustfmt::skip] // a table: one name a line would be a hundred lines
const FIRST_NAMES: &[&str] = &[
    "Olivia", "James", "Amelia", "Oliver", "Siobhán", "Niamh", "Lukas", "Hannah", "Maximilian",
    "Jürgen", "Léa", "Louis", "Chloé", "Hugo", "Daan", "Sanne", "Bram", "Lucía", "Javier", "Sofía",
    "Mateo", "Carmen", "João", "Aarav", "Priya", "Rohan", "Ananya", "Wei", "Mei", "Jun", "Hiroshi",
    "Yuki", "Min-jun", "Chinedu", "Ngozi", "Amara", "Kwame", "Fatima", "Omar", "Layla", "Youssef",
    "Zeynep", "Emre", "Agnieszka", "Łukasz", "Søren", "Ingrid", "Björn", "Ava", "Noah",
];

#[rustfmt::skip] // a table: one name a line would be a hundred lines
const LAST_NAMES: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "O'Brien", "Murphy", "Müller", "Schmidt", "Fischer",
    "Weber", "Becker", "Martin", "Dubois", "Lefèvre", "Moreau", "Laurent", "de Vries", "van Dijk",
    "Jansen", "Bakker", "García", "Fernández", "López", "Martínez", "Sánchez", "Silva", "Santos",
    "Patel", "Sharma", "Gupta", "Iyer", "Wang", "Li", "Zhang", "Chen", "Tanaka", "Suzuki", "Kim",
    "Nguyen", "Okafor", "Adeyemi", "Mensah", "Haddad", "Khan", "Yılmaz", "Kowalski", "Nowak",
    "Johansson", "Nielsen", "Rossi",
];

/// Reserved second-level domains (RFC 2606) and hosts under them.
const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "post.example.net",
    "inbox.example.org",
];

/// Where a customer lives, and how that country writes numbers and addresses.
struct Country {
    /// ISO 3166-1 alpha-2.
    code: &'static str,
    /// Country calling code.
    dial: &'static str,
    /// Mobile number pattern (see [`SplitMix64::fill`]), national significant part.
    mobile: &'static str,
    cities: &'static [City],
    streets: &'static [&'static str],
    /// `12 High Street` rather than `Hauptstraße 12`.
    number_first: bool,
    /// How its banks write account numbers; `None` where IBANs are not used.
    bban: Option<Bban>,
}

struct City {
    name: &'static str,
    /// Postal code pattern.
    postal: &'static str,
    /// Landline pattern, national significant part.
    phone: &'static str,
}

const fn city(name: &'static str, postal: &'static str, phone: &'static str) -> City {
    City {
        name,
        postal,
        phone,
    }
}

/// The basic bank account number: a bank code from a list, then a pattern.
struct Bban {
    banks: &'static [&'static str],
    pattern: &'static str,
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "GB",
        dial: "44",
        // Ofcom's drama ranges: 07700 900xxx, 020 7946 0xxx, 01x1 496 0xxx.
        mobile: "7700 900###",
        cities: &[
            city("London", "SE% %@@", "20 7946 0###"),
            city("Manchester", "M% %@@", "161 496 0###"),
            city("Edinburgh", "EH% %@@", "131 496 0###"),
            city("Bristol", "BS% %@@", "117 496 0###"),
        ],
        streets: &[
            "High Street",
            "Station Road",
            "Church Lane",
            "Victoria Road",
            "Mill Lane",
        ],
        number_first: true,
        bban: Some(Bban {
            banks: &["NWBK", "BARC", "LOYD", "HBUK", "MIDL"],
            pattern: "##############",
        }),
    },
    Country {
        code: "DE",
        dial: "49",
        mobile: "151 ########",
        cities: &[
            city("Berlin", "10###", "30 %#######"),
            city("München", "80###", "89 %#######"),
            city("Hamburg", "20###", "40 %#######"),
            city("Köln", "50###", "221 %######"),
        ],
        streets: &[
            "Hauptstraße",
            "Bahnhofstraße",
            "Gartenstraße",
            "Lindenweg",
            "Goethestraße",
        ],
        number_first: false,
        bban: Some(Bban {
            banks: &[],
            pattern: "##################",
        }),
    },
    Country {
        code: "FR",
        dial: "33",
        // ARCEP's ranges for fiction: 01 99 00, 04 65 71, 05 36 49, 06 39 98.
        mobile: "6 39 98 ## ##",
        cities: &[
            city("Paris", "7500%", "1 99 00 ## ##"),
            city("Lyon", "6900%", "4 65 71 ## ##"),
            city("Marseille", "1300%", "4 65 71 ## ##"),
            city("Toulouse", "3100%", "5 36 49 ## ##"),
        ],
        streets: &[
            "rue de la République",
            "avenue Victor Hugo",
            "rue Pasteur",
            "boulevard Voltaire",
            "allée des Tilleuls",
        ],
        number_first: true,
        bban: Some(Bban {
            banks: &[],
            pattern: "#######################",
        }),
    },
    Country {
        code: "NL",
        dial: "31",
        mobile: "6 ########",
        cities: &[
            city("Amsterdam", "10%# @@", "20 %## ####"),
            city("Rotterdam", "30%# @@", "10 %## ####"),
            city("Utrecht", "35%# @@", "30 %## ####"),
            city("Den Haag", "25%# @@", "70 %## ####"),
        ],
        streets: &[
            "Kerkstraat",
            "Dorpsstraat",
            "Molenweg",
            "Prinsengracht",
            "Julianalaan",
        ],
        number_first: false,
        bban: Some(Bban {
            banks: &["ABNA", "INGB", "RABO", "TRIO", "SNSB"],
            pattern: "##########",
        }),
    },
    Country {
        code: "ES",
        dial: "34",
        mobile: "6## ### ###",
        cities: &[
            city("Madrid", "280%#", "91 ### ## ##"),
            city("Barcelona", "080%#", "93 ### ## ##"),
            city("Valencia", "460%#", "96 ### ## ##"),
            city("Sevilla", "410%#", "95 ### ## ##"),
        ],
        streets: &[
            "Calle Mayor",
            "Calle Real",
            "Plaza de España",
            "Paseo del Prado",
            "Calle Nueva",
        ],
        number_first: false,
        bban: Some(Bban {
            banks: &[],
            pattern: "####################",
        }),
    },
    Country {
        code: "US",
        dial: "1",
        // 555-0100 to 555-0199 are reserved for fiction in every area code.
        mobile: "646 555 01##",
        cities: &[
            city("New York", "100##", "212 555 01##"),
            city("San Francisco", "941##", "415 555 01##"),
            city("Chicago", "606##", "312 555 01##"),
            city("Seattle", "981##", "206 555 01##"),
        ],
        streets: &[
            "Main Street",
            "Oak Avenue",
            "Maple Drive",
            "Cedar Lane",
            "Washington Avenue",
        ],
        number_first: true,
        bban: None,
    },
];

const PLAIN_NOTES: &[&str] = &[
    "Prefers paper statements.",
    "Interested in the savings account.",
    "Asked about mortgage rates.",
    "No contact after 6 pm.",
    "Requested a credit limit review.",
    "Member of the loyalty programme.",
    "",
];

fn customer(id: u32, seed: u64) -> Customer {
    let mut rng = SplitMix64::new(mix64(seed ^ mix64(u64::from(id))));
    let first = *rng.pick(FIRST_NAMES);
    let last = *rng.pick(LAST_NAMES);
    let country = rng.pick(COUNTRIES);
    let city = rng.pick(country.cities);
    let grouped = rng.percent(50);

    let landline = rng.percent(40);
    let phone = rng.fill(if landline { city.phone } else { country.mobile });
    let card_number = card_number(&mut rng);
    let iban = iban(&mut rng, country);
    let birth = Date::between(
        &mut rng,
        REFERENCE_DATE.plus_years(-91).plus_days(1),
        REFERENCE_DATE.plus_years(-18),
    );
    let joined_from = birth.plus_years(18).max(Date {
        year: 2000,
        month: 1,
        day: 1,
    });
    let segment = match rng.below(100) {
        0..70 => Segment::Retail,
        70..90 => Segment::Premium,
        _ => Segment::Business,
    };
    let street = *rng.pick(country.streets);
    let number = rng.between(1, 199);

    let mut customer = Customer {
        id,
        name: format!("{first} {last}"),
        email: email(&mut rng, first, last),
        phone: format!("+{}{}", country.dial, phone.replace(' ', "")),
        card_number: if grouped {
            group4(&card_number)
        } else {
            card_number
        },
        iban: if grouped { group4(&iban) } else { iban },
        national_id: ssn(&mut rng),
        birth_date: birth.to_string(),
        address: Address {
            street: if country.number_first {
                format!("{number} {street}")
            } else {
                format!("{street} {number}")
            },
            city: city.name.to_owned(),
            postal_code: rng.fill(city.postal),
            country: country.code.to_owned(),
        },
        customer_since: Date::between(&mut rng, joined_from, REFERENCE_DATE).to_string(),
        segment,
        balance: balance(&mut rng, segment),
        notes: String::new(),
    };
    let alternate_email = email(&mut rng, first, last);
    customer.notes = notes(
        &mut rng,
        &customer,
        &format!("+{} {phone}", country.dial),
        &alternate_email,
    );
    customer
}

fn email(rng: &mut SplitMix64, first: &str, last: &str) -> String {
    let (first, last) = (ascii_fold(first), ascii_fold(last));
    let initial = &first[..1];
    let local = match rng.below(5) {
        0 => format!("{first}.{last}"),
        1 => format!("{first}{last}"),
        2 => format!("{initial}.{last}"),
        3 => format!("{first}_{last}{}", rng.between(1, 99)),
        _ => format!("{initial}{last}{}", rng.between(1950, 2005)),
    };
    format!("{local}@{}", rng.pick(EMAIL_DOMAINS))
}

/// Lowercase ASCII letters and digits of a name: accents are dropped, other
/// characters (spaces, apostrophes, hyphens) removed.
fn ascii_fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'a'..='z' | '0'..='9' => {
                out.push(c);
                continue;
            }
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ñ' => "n",
            'ç' => "c",
            'ł' => "l",
            'ß' => "ss",
            _ => "",
        };
        out.push_str(folded);
    }
    out
}

/// A 16-digit Visa (4) or Mastercard (51–55, 2221–2720) number.
fn card_number(rng: &mut SplitMix64) -> String {
    let mut digits = match rng.below(3) {
        0 => rng.between(2221, 2720).to_string(),
        1 => format!("5{}", rng.between(1, 5)),
        _ => "4".to_owned(),
    };
    while digits.len() < 15 {
        digits.push(char::from(b'0' + rng.below(10) as u8));
    }
    // The check digit is not doubled, so appending 0 leaves the sum short by exactly it.
    let sum = luhn_sum(std::iter::once(0).chain(digits.bytes().rev().map(|b| u32::from(b - b'0'))));
    digits.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
    debug_assert!(luhn_valid(&digits));
    digits
}

/// An IBAN of `country`, or of one of the IBAN countries for those without.
fn iban(rng: &mut SplitMix64, country: &Country) -> String {
    let (code, format) = match &country.bban {
        Some(format) => (country.code, format),
        None => {
            let banking: Vec<(&str, &Bban)> = COUNTRIES
                .iter()
                .filter_map(|c| Some((c.code, c.bban.as_ref()?)))
                .collect();
            *rng.pick(&banking)
        }
    };
    let mut bban = if format.banks.is_empty() {
        String::new()
    } else {
        (*rng.pick(format.banks)).to_owned()
    };
    bban.push_str(&rng.fill(format.pattern));
    let rest = mod97(bban.chars().chain(code.chars()).chain("00".chars()))
        .expect("BBAN patterns hold digits and capital letters only");
    let iban = format!("{code}{:02}{bban}", 98 - rest);
    debug_assert!(iban_valid(&iban));
    iban
}

/// A US SSN with area 001–899 except 666, group 01–99, serial 0001–9999.
fn ssn(rng: &mut SplitMix64) -> String {
    let area = loop {
        let area = rng.between(1, 899);
        if area != 666 {
            break area;
        }
    };
    format!(
        "{area:03}-{:02}-{:04}",
        rng.between(1, 99),
        rng.between(1, 9999)
    )
}

fn balance(rng: &mut SplitMix64, segment: Segment) -> f64 {
    let (low, high): (i64, i64) = match segment {
        Segment::Retail => (-1_500 * 100, 25_000 * 100),
        Segment::Premium => (20_000 * 100, 750_000 * 100),
        Segment::Business => (-100_000 * 100, 2_500_000 * 100),
    };
    let cents = low + rng.below((high - low) as u64 + 1) as i64;
    cents as f64 / 100.0
}

/// Service-desk notes: plain in most rows, repeating PII inline in about a third.
fn notes(
    rng: &mut SplitMix64,
    customer: &Customer,
    phone_display: &str,
    alternate_email: &str,
) -> String {
    if rng.percent(65) {
        return (*rng.pick(PLAIN_NOTES)).to_owned();
    }
    let card = group4(&customer.card_number.replace(' ', ""));
    match rng.below(6) {
        0 => format!("Called from {phone_display} about card {card}."),
        1 => format!("Prefers email to {alternate_email}."),
        2 => format!("Asked to move salary payments to {}.", customer.iban),
        3 => format!(
            "Identity verified by phone, SSN {} on file.",
            customer.national_id
        ),
        4 => format!(
            "Born {}; wants statements sent to {}.",
            customer.birth_date, customer.email
        ),
        _ => format!(
            "Card {card} reported lost; replacement sent to {}, {} {}.",
            customer.address.street, customer.address.postal_code, customer.address.city
        ),
    }
}

/// `value` in groups of four separated by spaces, as cards and IBANs are printed.
fn group4(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 4);
    for (i, c) in value.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: u64 = 42;

    fn sample() -> Vec<Customer> {
        generate(1000, SEED)
    }

    /// Parses `YYYY-MM-DD`, accepting only dates that exist.
    fn parse_date(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let date = Date {
            year: text[..4].parse().ok()?,
            month: text[5..7].parse().ok()?,
            day: text[8..].parse().ok()?,
        };
        // Only an existing date survives the round trip through day numbers.
        (Date::from_days(date.days()) == date).then_some(date)
    }

    fn age_at(birth: Date, at: Date) -> i64 {
        at.year - birth.year - i64::from((at.month, at.day) < (birth.month, birth.day))
    }

    #[test]
    fn same_seed_same_customers_other_seed_others() {
        assert_eq!(generate(50, SEED), generate(50, SEED));
        let other = generate(50, SEED + 1);
        let differing = generate(50, SEED)
            .iter()
            .zip(&other)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differing, 50);
    }

    #[test]
    fn a_smaller_count_is_a_prefix() {
        assert_eq!(generate(10, SEED)[..], sample()[..10]);
    }

    #[test]
    fn ids_are_dense_from_one() {
        let ids: Vec<u32> = sample().iter().map(|c| c.id).collect();
        assert_eq!(ids, (1..=1000).collect::<Vec<_>>());
    }

    #[test]
    fn luhn_accepts_known_numbers_and_rejects_changes() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("5555555555554444"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(!luhn_valid("4111-1111-1111-111x"));
        assert!(!luhn_valid("0"));
    }

    #[test]
    fn every_card_passes_luhn_with_a_visa_or_mastercard_prefix() {
        for customer in sample() {
            let digits = customer.card_number.replace(' ', "");
            assert_eq!(digits.len(), 16, "{}", customer.card_number);
            assert!(
                luhn_valid(&customer.card_number),
                "{}",
                customer.card_number
            );
            let prefix: u32 = digits[..4].parse().unwrap();
            assert!(
                digits.starts_with('4')
                    || (5100..5600).contains(&prefix)
                    || (2221..=2720).contains(&prefix),
                "{}",
                customer.card_number
            );
        }
    }

    #[test]
    fn iban_check_accepts_published_examples_and_rejects_changes() {
        assert!(iban_valid("DE89 3704 0044 0532 0130 00"));
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(!iban_valid("GB82WEST12345698765433"));
        assert!(!iban_valid("GB82WEST1234569876543"));
        assert!(!iban_valid("gb82west12345698765432"));
    }

    #[test]
    fn every_iban_passes_mod_97_with_its_country_length() {
        let mut countries = std::collections::BTreeSet::new();
        for customer in sample() {
            assert!(iban_valid(&customer.iban), "{}", customer.iban);
            let compact = customer.iban.replace(' ', "");
            assert_eq!(Some(compact.len()), iban_length(&compact[..2]), "{compact}");
            countries.insert(compact[..2].to_owned());
        }
        assert_eq!(countries.len(), 5, "{countries:?}");
    }

    #[test]
    fn card_and_iban_share_the_row_format() {
        for customer in sample() {
            assert_eq!(
                customer.card_number.contains(' '),
                customer.iban.contains(' '),
                "{customer:?}"
            );
        }
    }

    #[test]
    fn ssns_avoid_invalid_areas_groups_and_serials() {
        for customer in sample() {
            let parts: Vec<&str> = customer.national_id.split('-').collect();
            let [area, group, serial] = parts[..] else {
                panic!("{}", customer.national_id);
            };
            assert_eq!((area.len(), group.len(), serial.len()), (3, 2, 4));
            let area: u32 = area.parse().unwrap();
            assert!(area != 0 && area != 666 && area < 900, "{area}");
            assert_ne!(group, "00");
            assert_ne!(serial, "0000");
        }
    }

    #[test]
    fn emails_are_lowercase_ascii_on_reserved_domains() {
        for customer in sample() {
            let (local, domain) = customer.email.split_once('@').expect("one @");
            assert!(!local.is_empty() && !local.starts_with('.') && !local.ends_with('.'));
            assert!(!local.contains(".."));
            assert!(
                local
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._".contains(&b)),
                "{}",
                customer.email
            );
            assert!(EMAIL_DOMAINS.contains(&domain), "{domain}");
        }
    }

    #[test]
    fn phones_are_e164_with_the_country_lengths() {
        for customer in sample() {
            let digits = customer.phone.strip_prefix('+').expect("leading +");
            assert!(
                digits.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                customer.phone
            );
            let (dial, lengths): (&str, &[usize]) = match customer.address.country.as_str() {
                "GB" => ("44", &[12]),
                "DE" => ("49", &[12, 13]),
                "FR" => ("33", &[11]),
                "NL" => ("31", &[11]),
                "ES" => ("34", &[11]),
                "US" => ("1", &[11]),
                other => panic!("unexpected country {other}"),
            };
            assert!(digits.starts_with(dial), "{}", customer.phone);
            assert!(lengths.contains(&digits.len()), "{}", customer.phone);
        }
    }

    #[test]
    fn dates_exist_and_ages_are_18_to_90() {
        for customer in sample() {
            let birth = parse_date(&customer.birth_date).expect("valid birth date");
            let since = parse_date(&customer.customer_since).expect("valid join date");
            assert!(
                (18..=90).contains(&age_at(birth, REFERENCE_DATE)),
                "{birth}"
            );
            assert!(age_at(birth, since) >= 18, "{birth} {since}");
            assert!(since <= REFERENCE_DATE, "{since}");
        }
    }

    #[test]
    fn calendar_round_trips_and_knows_leap_years() {
        assert_eq!(
            Date {
                year: 1970,
                month: 1,
                day: 1
            }
            .days(),
            0
        );
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2023-02-29").is_none());
        assert!(parse_date("1900-02-29").is_none());
        assert!(parse_date("2000-02-29").is_some());
        assert!(parse_date("2025-04-31").is_none());
        assert!(parse_date("2025-13-01").is_none());
    }

    #[test]
    fn balances_have_at_most_two_decimals() {
        for customer in sample() {
            let text = customer.balance.to_string();
            let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 2, "{text}");
        }
    }

    #[test]
    fn some_notes_carry_pii_and_others_do_not() {
        let customers = sample();
        let with_pii = customers
            .iter()
            .filter(|c| {
                let notes = &c.notes;
                notes.contains('@')
                    || notes.contains('+')
                    || notes.contains("SSN")
                    || notes.contains("Card")
                    || notes.contains("Born")
                    || notes.contains("payments to")
            })
            .count();
        assert!((200..500).contains(&with_pii), "{with_pii}");
        assert!(
            customers
                .iter()
                .any(|c| c.notes.starts_with("Called from +"))
        );
    }

    #[test]
    fn serializes_with_the_documented_fields() {
        let value = serde_json::to_value(&sample()[0]).unwrap();
        let object = value.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        for key in [
            "id",
            "name",
            "email",
            "phone",
            "card_number",
            "iban",
            "national_id",
            "birth_date",
            "address",
            "customer_since",
            "segment",
            "balance",
            "notes",
        ] {
            assert!(keys.contains(&key), "{key} missing");
        }
        let address = object["address"].as_object().unwrap();
        assert_eq!(address.len(), 4);
        assert!(["retail", "premium", "business"].contains(&object["segment"].as_str().unwrap()));
    }
}
