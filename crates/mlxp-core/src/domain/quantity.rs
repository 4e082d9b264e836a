//! Kubernetes resource quantities (`k8s.io/apimachinery/pkg/api/resource`).
//!
//! Grammar accepted (the apimachinery one):
//!
//! ```text
//! quantity ::= [+-] number suffix
//! number   ::= digits | digits "." [digits] | "." digits
//! suffix   ::= "" | n u m k M G T P E          (decimal SI)
//!            | Ki Mi Gi Ti Pi Ei               (binary SI)
//!            | (e|E) [+-] digits              (decimal exponent)
//! ```
//!
//! Values are converted to milli-units as `i128` so that every real quantity
//! (even `8Ei` of memory, ~9.2e21 milli-bytes) is exact; absurd ones
//! (`1e400`) saturate at `±i128::MAX` instead of overflowing. Like
//! `Quantity.MilliValue()`/`Value()`, conversions that lose precision round
//! away from zero ("up"), so `1n` of cpu is 1 millicore, never 0.
//! Input comes from users: nothing here panics.

/// Significant digits kept from the mantissa. 10^18 < 2^60, so even after the
/// largest binary suffix (2^60) the product stays below 2^120 and fits `i128`.
const MAX_SIG_DIGITS: u32 = 18;

/// Exponents beyond this are clamped: the result saturates (or rounds to the
/// smallest non-zero value) long before, and clamping keeps the loops short.
const MAX_EXP: i64 = 1000;

/// Parses a Kubernetes quantity ("500m", "2", "1.5", "1Gi", "512Mi", "1G",
/// "100k", "1e3", "8") into milli-units: cpu "500m" → 500, "2" → 2000,
/// memory "1Gi" → 1073741824000. `None` for anything the apiserver would
/// reject (empty, spaces, unknown suffix such as "1K" or "1Gb", two dots…).
/// Saturates at `±i128::MAX`; rounds away from zero when digits are lost.
pub fn parse_milli(q: &str) -> Option<i128> {
    let b = q.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };

    // Mantissa: at most MAX_SIG_DIGITS significant digits; what does not fit
    // moves into the decimal exponent, and `sticky` remembers a dropped
    // non-zero digit so the final rounding still goes up.
    let mut mant: i128 = 0;
    let mut sig: u32 = 0;
    let mut exp10: i64 = 0;
    let mut sticky = false;
    let mut digits = 0usize;
    let mut seen_dot = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                let d = i128::from(c - b'0');
                if sig < MAX_SIG_DIGITS {
                    if mant != 0 || d != 0 {
                        mant = mant * 10 + d;
                        sig += 1;
                    }
                    if seen_dot {
                        exp10 -= 1;
                    }
                } else {
                    sticky |= d != 0;
                    if !seen_dot {
                        exp10 += 1;
                    }
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    // Digits are ASCII, so `i` is on a char boundary.
    let suffix = q.get(i..)?;
    let (s10, s2) = suffix_exponents(suffix)?;
    let exp10 = exp10.saturating_add(s10).saturating_add(3); // to milli-units

    let magnitude = scale(mant, exp10, s2, sticky);
    Some(if negative { -magnitude } else { magnitude })
}

/// Whole units (bytes, GPUs, pods…), rounded away from zero and clamped to
/// the `i64` range: "1.5" → 2, "1Gi" → 1073741824, "100m" → 1.
pub fn parse_units(q: &str) -> Option<i64> {
    let m = parse_milli(q)?;
    let whole = m / 1000;
    let rounded = if m % 1000 == 0 {
        whole
    } else if m > 0 {
        whole + 1
    } else {
        whole - 1
    };
    Some(clamp_i64(rounded))
}

/// CPU in millicores, clamped to the `i64` range: "500m" → 500, "2" → 2000.
pub fn parse_millicores(q: &str) -> Option<i64> {
    parse_milli(q).map(clamp_i64)
}

/// Formats bytes the way `kubectl describe` prints a canonical byte quantity
/// (`Quantity.String()` in BinarySI): values in (-1024, 1024) are printed as
/// decimal SI ("512", "1k" for 1000), larger ones with the biggest binary
/// suffix that divides them exactly ("64Gi", "1536Mi", "1500").
pub fn format_bytes(bytes: i64) -> String {
    if bytes > -1024 && bytes < 1024 {
        // Decimal SI canonical form; below 1024 only ±1000 has a suffix.
        return if bytes != 0 && bytes % 1000 == 0 {
            format!("{}k", bytes / 1000)
        } else {
            bytes.to_string()
        };
    }
    const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let mut n = bytes;
    let mut idx = 0;
    while idx + 1 < SUFFIXES.len() && n % 1024 == 0 {
        n /= 1024;
        idx += 1;
    }
    let suffix = SUFFIXES.get(idx).copied().unwrap_or("");
    format!("{n}{suffix}")
}

/// (decimal exponent, binary exponent) of a suffix, `None` if unknown.
fn suffix_exponents(s: &str) -> Option<(i64, u32)> {
    let dec = |e: i64| Some((e, 0));
    let bin = |e: u32| Some((0, e));
    match s {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        // "E" alone is exa; "E3" is an exponent (handled below).
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ => {
            let rest = s.strip_prefix(['e', 'E'])?;
            let (neg, digits) = match rest.as_bytes().first() {
                Some(b'-') => (true, rest.get(1..)?),
                Some(b'+') => (false, rest.get(1..)?),
                _ => (false, rest),
            };
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            // Clamp while accumulating so "1e99999999999999999999" is fine.
            let mut e: i64 = 0;
            for c in digits.bytes() {
                e = (e * 10 + i64::from(c - b'0')).min(MAX_EXP);
            }
            dec(if neg { -e } else { e })
        }
    }
}

/// |mant| · 10^exp10 · 2^exp2, rounded up, saturating at `i128::MAX`.
fn scale(mant: i128, exp10: i64, exp2: u32, sticky: bool) -> i128 {
    if mant == 0 {
        return 0;
    }
    // mant < 10^18 < 2^60 and exp2 ≤ 60, so this cannot overflow.
    let v = mant << exp2;
    if exp10 >= 0 {
        let mut v = v;
        for _ in 0..exp10.min(MAX_EXP) {
            match v.checked_mul(10) {
                Some(n) => v = n,
                None => return i128::MAX,
            }
        }
        // A dropped non-zero digit means the true value is a bit larger.
        if sticky { v.saturating_add(1) } else { v }
    } else {
        let k = exp10.unsigned_abs().min(MAX_EXP as u64);
        // 10^39 > i128::MAX ≥ v: the quotient is 0 and the remainder non-zero.
        if k > 38 {
            return 1;
        }
        let d = 10i128.pow(k as u32);
        let q = v / d;
        if v % d != 0 || sticky { q + 1 } else { q }
    }
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_suffixes() {
        assert_eq!(parse_milli("500m"), Some(500));
        assert_eq!(parse_milli("2"), Some(2000));
        assert_eq!(parse_milli("8"), Some(8000));
        assert_eq!(parse_milli("100k"), Some(100_000_000));
        assert_eq!(parse_milli("1M"), Some(1_000_000_000));
        assert_eq!(parse_milli("1G"), Some(1_000_000_000_000));
        assert_eq!(parse_milli("1T"), Some(1_000_000_000_000_000));
        assert_eq!(parse_milli("1P"), Some(1_000_000_000_000_000_000));
        assert_eq!(parse_milli("1E"), Some(1_000_000_000_000_000_000_000));
        assert_eq!(parse_milli("1000u"), Some(1));
        assert_eq!(parse_milli("1000000n"), Some(1));
        assert_eq!(parse_milli("0"), Some(0));
    }

    #[test]
    fn binary_suffixes() {
        assert_eq!(parse_units("1Ki"), Some(1024));
        assert_eq!(parse_units("512Mi"), Some(512 << 20));
        assert_eq!(parse_milli("1Gi"), Some(1_073_741_824_000));
        assert_eq!(parse_units("1Ti"), Some(1 << 40));
        assert_eq!(parse_units("1Pi"), Some(1 << 50));
        assert_eq!(parse_units("1Ei"), Some(1 << 60));
        assert_eq!(parse_units("1.5Gi"), Some(1_610_612_736));
        // 8Ei is exactly 2^63 bytes: one more than i64::MAX, so it clamps.
        assert_eq!(parse_milli("8Ei"), Some((1i128 << 63) * 1000));
        assert_eq!(parse_units("8Ei"), Some(i64::MAX));
    }

    #[test]
    fn exponents_and_signs() {
        assert_eq!(parse_milli("1e3"), Some(1_000_000));
        assert_eq!(parse_milli("1E3"), Some(1_000_000));
        assert_eq!(parse_milli("1e+3"), Some(1_000_000));
        assert_eq!(parse_milli("5e-1"), Some(500));
        assert_eq!(parse_milli("1.5e2"), Some(150_000));
        assert_eq!(parse_milli("+2"), Some(2000));
        assert_eq!(parse_milli("-500m"), Some(-500));
        assert_eq!(parse_units("-1.5"), Some(-2));
    }

    #[test]
    fn decimals_and_rounding_up() {
        assert_eq!(parse_milli("1.5"), Some(1500));
        assert_eq!(parse_milli("0.1"), Some(100));
        assert_eq!(parse_milli(".5"), Some(500));
        assert_eq!(parse_milli("5."), Some(5000));
        assert_eq!(parse_milli("0.0001"), Some(1)); // 0.1 milli → 1
        assert_eq!(parse_milli("1n"), Some(1));
        assert_eq!(parse_millicores("250m"), Some(250));
        assert_eq!(parse_millicores("1.2345"), Some(1235));
        assert_eq!(parse_units("100m"), Some(1));
        assert_eq!(parse_units("1.5"), Some(2));
        assert_eq!(parse_units("2"), Some(2));
        // More digits than kept: the lost tail still rounds up.
        assert_eq!(parse_milli("1.0000000000000000000001"), Some(1001));
        assert_eq!(parse_milli("000000000000000000000000001"), Some(1000));
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "", " ", "1 Gi", " 1", "1 ", "abc", "Gi", "1Gb", "1K", "1ki", "1.2.3", ".", "+", "-",
            "1e", "1e+", "1e1.5", "1Gi1", "1m1", "e3", "--1", "1mi", "½", "1\u{0}", "1ee3",
        ] {
            assert_eq!(parse_milli(bad), None, "{bad:?}");
            assert_eq!(parse_units(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn huge_values_saturate() {
        assert_eq!(parse_milli("1e400"), Some(i128::MAX));
        assert_eq!(parse_milli("-1e400"), Some(-i128::MAX));
        assert_eq!(parse_milli("1e99999999999999999999999"), Some(i128::MAX));
        assert_eq!(parse_milli("1e-400"), Some(1));
        assert_eq!(parse_milli("0e400"), Some(0));
        assert_eq!(
            parse_units("99999999999999999999999999999999Ei"),
            Some(i64::MAX)
        );
        assert_eq!(parse_millicores("100000000000000000000"), Some(i64::MAX));
        assert_eq!(parse_units("-1e30"), Some(i64::MIN));
        let long = "9".repeat(5000);
        assert_eq!(parse_milli(&long), Some(i128::MAX));
    }

    #[test]
    fn never_panics_on_short_strings() {
        // Every string of up to 4 characters over the grammar's alphabet.
        let alphabet: Vec<char> = "09.+-eEkKimGn \u{e9}".chars().collect();
        let mut inputs = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &inputs {
                for c in &alphabet {
                    next.push(format!("{s}{c}"));
                }
            }
            for s in &next {
                let m = parse_milli(s);
                // Whole units and millicores agree with the milli value.
                assert_eq!(parse_millicores(s).is_some(), m.is_some());
                assert_eq!(parse_units(s).is_some(), m.is_some());
            }
            inputs = next;
        }
        assert_eq!(parse_milli("9.9k"), Some(9_900_000));
    }

    #[test]
    fn format_like_kubectl() {
        assert_eq!(format_bytes(64 << 30), "64Gi");
        assert_eq!(format_bytes(1536 << 20), "1536Mi");
        assert_eq!(format_bytes(512), "512");
        assert_eq!(format_bytes(0), "0");
        assert_eq!(format_bytes(1000), "1k");
        assert_eq!(format_bytes(1023), "1023");
        assert_eq!(format_bytes(1024), "1Ki");
        assert_eq!(format_bytes(1500), "1500");
        assert_eq!(format_bytes(1000 << 10), "1000Ki");
        assert_eq!(format_bytes(-2048), "-2Ki");
        assert_eq!(format_bytes(1 << 62), "4Ei");
        assert_eq!(format_bytes(i64::MIN), "-8Ei");
        assert_eq!(format_bytes(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn format_round_trips() {
        for b in [0, 1, 999, 1000, 1024, 3 << 20, 1536 << 20, 123_456_789] {
            assert_eq!(parse_units(&format_bytes(b)), Some(b));
        }
    }
}
