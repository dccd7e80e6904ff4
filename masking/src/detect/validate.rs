//! Check-digit algorithms shared by the built-in detectors and
//! [`Validator`](super::Validator).

/// Luhn (ISO/IEC 7812-1) over the ASCII digits of `s`, ignoring every other
/// character; false when `s` has fewer than two digits.
pub(crate) fn luhn(s: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0usize;
    for (i, d) in s
        .bytes()
        .rev()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .enumerate()
    {
        count += 1;
        sum += if i % 2 == 1 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
    }
    count >= 2 && sum.is_multiple_of(10)
}

/// ISO 7064 mod 97-10 as IBANs use it (ISO 13616): over the ASCII
/// alphanumerics of `s` (others ignored, letters case-insensitive), the first
/// four moved to the end, letters as 10..=35; valid when the remainder is 1.
/// False when `s` has fewer than five alphanumerics.
pub(crate) fn mod97(s: &str) -> bool {
    let chars = alphanumerics(s);
    if chars.len() < 5 {
        return false;
    }
    let (head, tail) = chars.split_at(4);
    remainder(tail.iter().chain(head)) == 1
}

/// The check digits (the third and fourth characters) that make the IBAN
/// whose alphanumerics are those of `s` valid, whatever its own are; `None`
/// when it has fewer than five alphanumerics.
pub(crate) fn iban_check_digits(s: &str) -> Option<[u8; 2]> {
    let chars = alphanumerics(s);
    if chars.len() < 5 {
        return None;
    }
    let (head, tail) = chars.split_at(4);
    let check = 98 - remainder(tail.iter().chain(&head[..2]).chain(b"00"));
    let digit = |d: u32| b'0' + u8::try_from(d).unwrap_or(0);
    Some([digit(check / 10), digit(check % 10)])
}

/// The ASCII alphanumerics of `s`, uppercase.
fn alphanumerics(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase())
        .collect()
}

/// The remainder mod 97 of the number `chars` spell, letters as 10..=35.
fn remainder<'a>(chars: impl Iterator<Item = &'a u8>) -> u32 {
    let mut rem = 0u32;
    for &c in chars {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn("4111111111111111"));
        assert!(luhn("4111 1111-1111 1111"));
        assert!(luhn("378282246310005"));
        assert!(luhn("79927398713"));
        assert!(!luhn("4111111111111112"));
        assert!(!luhn("79927398710"));
        assert!(!luhn("0"));
        assert!(!luhn(""));
    }

    #[test]
    fn mod97_known_values() {
        assert!(mod97("DE89370400440532013000"));
        assert!(mod97("GB82 WEST 1234 5698 7654 32"));
        assert!(mod97("gb82west12345698765432"));
        assert!(mod97("FR1420041010050500013M02606"));
        assert!(!mod97("DE89370400440532013001"));
        assert!(!mod97("GB82"));
    }

    #[test]
    fn iban_check_digits_are_those_of_valid_ibans() {
        for iban in [
            "DE89370400440532013000",
            "GB82 WEST 1234 5698 7654 32",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
        ] {
            let compact: String = iban.chars().filter(|c| *c != ' ').collect();
            assert_eq!(
                iban_check_digits(iban),
                Some([compact.as_bytes()[2], compact.as_bytes()[3]]),
                "{iban}"
            );
            // Whatever the check digits were, the computed ones validate.
            let wrong = format!("{}00{}", &compact[..2], &compact[4..]);
            let [a, b] = iban_check_digits(&wrong).unwrap();
            let fixed = format!(
                "{}{}{}{}",
                &compact[..2],
                a as char,
                b as char,
                &compact[4..]
            );
            assert!(mod97(&fixed), "{fixed}");
        }
        assert_eq!(iban_check_digits("DE89"), None);
    }
}
