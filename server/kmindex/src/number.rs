//! How kmindex prints numbers, to the byte.
//!
//! kmindex writes floats through two libraries that disagree:
//! - its JSON goes through nlohmann::json 3.11, which prints a double with Grisu2 (Loitsch 2010:
//!   round-trip exact, *not* always the shortest) then as `%g`-like text with at least one
//!   fractional digit (`1.0`, `0.25`, `1e-05`);
//! - its TSV and error messages go through {fmt} 9, which prints the shortest round-trip digits
//!   (`1`, `0.25`, `1e-05`).
//!
//! [`nlohmann`] and [`fmt`] reproduce each. Both are checked against the C++ libraries
//! themselves by the `number_oracle` test.

/// nlohmann::json's text for a finite double (`dump()` prints `null` for the others).
pub fn nlohmann(value: f64) -> String {
    if !value.is_finite() {
        return "null".to_owned();
    }
    let mut out = String::new();
    if value.is_sign_negative() {
        out.push('-');
    }
    let value = value.abs();
    if value == 0.0 {
        out.push_str("0.0");
        return out;
    }
    let (digits, exponent) = grisu2::digits(value);
    out.push_str(&nlohmann_layout(&digits, exponent));
    out
}

/// Places the decimal point in `digits × 10^exponent`: fixed notation for values in
/// `[1e-4, 1e15)`, else exponential with a signed, at least two-digit exponent.
fn nlohmann_layout(digits: &[u8], exponent: i32) -> String {
    const MIN_EXP: i32 = -4;
    const MAX_EXP: i32 = 15; // f64 digits10
    let k = digits.len() as i32;
    let n = k + exponent; // position of the decimal point relative to the first digit
    let digits = std::str::from_utf8(digits).expect("ascii digits");
    if k <= n && n <= MAX_EXP {
        return format!("{digits}{}.0", "0".repeat((n - k) as usize));
    }
    if 0 < n && n <= MAX_EXP {
        let (int, frac) = digits.split_at(n as usize);
        return format!("{int}.{frac}");
    }
    if MIN_EXP < n && n <= 0 {
        return format!("0.{}{digits}", "0".repeat((-n) as usize));
    }
    let (first, rest) = digits.split_at(1);
    let mantissa = if rest.is_empty() {
        first.to_owned()
    } else {
        format!("{first}.{rest}")
    };
    let e = n - 1;
    format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// {fmt} 9's `{}` text for a double: shortest round-trip digits, fixed notation for decimal
/// exponents in `[-4, 16)`, no trailing `.0`.
pub fn fmt(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exp) = shortest_digits(value.abs());
    let k = digits.len() as i32;
    let body = if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        format!(
            "{first}{dot}{rest}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else if exp < 0 {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else if exp + 1 >= k {
        format!("{digits}{}", "0".repeat((exp + 1 - k) as usize))
    } else {
        let (int, frac) = digits.split_at(exp as usize + 1);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// The shortest digits that read back as `value` (> 0) and the decimal exponent of the first,
/// as Dragonbox gives them: the closest such digits, and the even one of two equally close.
fn shortest_digits(value: f64) -> (String, i32) {
    let split = |text: &str| {
        let (mantissa, exp) = text.split_once('e').expect("`{:e}` has an exponent");
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        (digits, exp.parse::<i32>().expect("`{:e}` exponent"))
    };
    // Rust's `{:e}` is shortest and closest too, but breaks ties upwards.
    let (digits, exp) = split(&format!("{value:e}"));
    // A tie: the exact value is the lower neighbour of the digits plus one half in the next
    // place. Rare, so the exact expansion is only written out when one more digit is a 5.
    let n = digits.len();
    let (near, _) = split(&format!("{value:.n$e}"));
    if !near.ends_with('5') {
        return (digits, exp);
    }
    let (exact, exact_exp) = split(&format!("{value:.800e}"));
    let exact = exact.trim_end_matches('0');
    if exact_exp == exp && exact.len() == n + 1 && exact.ends_with('5') {
        let lower = &exact[..n];
        let even = (lower.as_bytes()[n - 1] - b'0').is_multiple_of(2);
        let reads_back = format!("{lower}e{}", exp - n as i32 + 1).parse::<f64>() == Ok(value);
        if even && lower != digits && reads_back {
            return (lower.to_owned(), exp);
        }
    }
    (digits, exp)
}

/// Grisu2 with nlohmann's choices (α = -60, γ = -32, its cached-power selection and rounding),
/// so that the digits are the same as nlohmann's, including where they are not the shortest.
mod grisu2 {
    const ALPHA: i32 = -60;

    /// `f × 2^e`.
    #[derive(Debug, Clone, Copy)]
    struct DiyFp {
        f: u64,
        e: i32,
    }

    impl DiyFp {
        /// The upper 64 bits of the product, rounded half up.
        fn mul(self, other: DiyFp) -> DiyFp {
            let product = u128::from(self.f) * u128::from(other.f);
            let rounded = (product + (1u128 << 63)) >> 64;
            DiyFp {
                f: rounded as u64,
                e: self.e + other.e + 64,
            }
        }

        fn normalize(self) -> DiyFp {
            let shift = self.f.leading_zeros();
            DiyFp {
                f: self.f << shift,
                e: self.e - shift as i32,
            }
        }

        fn normalize_to(self, e: i32) -> DiyFp {
            DiyFp {
                f: self.f << (self.e - e),
                e,
            }
        }
    }

    /// The normalized value and its normalized lower and upper rounding boundaries.
    fn boundaries(value: f64) -> (DiyFp, DiyFp, DiyFp) {
        const HIDDEN: u64 = 1 << 52;
        const BIAS: i32 = 1075;
        let bits = value.to_bits();
        let biased = (bits >> 52) as i32;
        let fraction = bits & (HIDDEN - 1);
        let v = if biased == 0 {
            DiyFp {
                f: fraction,
                e: 1 - BIAS,
            }
        } else {
            DiyFp {
                f: fraction + HIDDEN,
                e: biased - BIAS,
            }
        };
        let lower_is_closer = fraction == 0 && biased > 1;
        let plus = DiyFp {
            f: 2 * v.f + 1,
            e: v.e - 1,
        }
        .normalize();
        let minus = if lower_is_closer {
            DiyFp {
                f: 4 * v.f - 1,
                e: v.e - 2,
            }
        } else {
            DiyFp {
                f: 2 * v.f - 1,
                e: v.e - 1,
            }
        }
        .normalize_to(plus.e);
        (minus, v.normalize(), plus)
    }

    /// `(f, e, k)` with `f × 2^e ≈ 10^k`, every 8th power of ten from 10^-300 to 10^324.
    #[rustfmt::skip]
    pub(super) const CACHED_POWERS: [(u64, i32, i32); 79] = [
        (0xAB70FE17C79AC6CA, -1060, -300), (0xFF77B1FCBEBCDC4F, -1034, -292),
        (0xBE5691EF416BD60C, -1007, -284), (0x8DD01FAD907FFC3C, -980, -276),
        (0xD3515C2831559A83, -954, -268), (0x9D71AC8FADA6C9B5, -927, -260),
        (0xEA9C227723EE8BCB, -901, -252), (0xAECC49914078536D, -874, -244),
        (0x823C12795DB6CE57, -847, -236), (0xC21094364DFB5637, -821, -228),
        (0x9096EA6F3848984F, -794, -220), (0xD77485CB25823AC7, -768, -212),
        (0xA086CFCD97BF97F4, -741, -204), (0xEF340A98172AACE5, -715, -196),
        (0xB23867FB2A35B28E, -688, -188), (0x84C8D4DFD2C63F3B, -661, -180),
        (0xC5DD44271AD3CDBA, -635, -172), (0x936B9FCEBB25C996, -608, -164),
        (0xDBAC6C247D62A584, -582, -156), (0xA3AB66580D5FDAF6, -555, -148),
        (0xF3E2F893DEC3F126, -529, -140), (0xB5B5ADA8AAFF80B8, -502, -132),
        (0x87625F056C7C4A8B, -475, -124), (0xC9BCFF6034C13053, -449, -116),
        (0x964E858C91BA2655, -422, -108), (0xDFF9772470297EBD, -396, -100),
        (0xA6DFBD9FB8E5B88F, -369, -92), (0xF8A95FCF88747D94, -343, -84),
        (0xB94470938FA89BCF, -316, -76), (0x8A08F0F8BF0F156B, -289, -68),
        (0xCDB02555653131B6, -263, -60), (0x993FE2C6D07B7FAC, -236, -52),
        (0xE45C10C42A2B3B06, -210, -44), (0xAA242499697392D3, -183, -36),
        (0xFD87B5F28300CA0E, -157, -28), (0xBCE5086492111AEB, -130, -20),
        (0x8CBCCC096F5088CC, -103, -12), (0xD1B71758E219652C, -77, -4),
        (0x9C40000000000000, -50, 4), (0xE8D4A51000000000, -24, 12),
        (0xAD78EBC5AC620000, 3, 20), (0x813F3978F8940984, 30, 28),
        (0xC097CE7BC90715B3, 56, 36), (0x8F7E32CE7BEA5C70, 83, 44),
        (0xD5D238A4ABE98068, 109, 52), (0x9F4F2726179A2245, 136, 60),
        (0xED63A231D4C4FB27, 162, 68), (0xB0DE65388CC8ADA8, 189, 76),
        (0x83C7088E1AAB65DB, 216, 84), (0xC45D1DF942711D9A, 242, 92),
        (0x924D692CA61BE758, 269, 100), (0xDA01EE641A708DEA, 295, 108),
        (0xA26DA3999AEF774A, 322, 116), (0xF209787BB47D6B85, 348, 124),
        (0xB454E4A179DD1877, 375, 132), (0x865B86925B9BC5C2, 402, 140),
        (0xC83553C5C8965D3D, 428, 148), (0x952AB45CFA97A0B3, 455, 156),
        (0xDE469FBD99A05FE3, 481, 164), (0xA59BC234DB398C25, 508, 172),
        (0xF6C69A72A3989F5C, 534, 180), (0xB7DCBF5354E9BECE, 561, 188),
        (0x88FCF317F22241E2, 588, 196), (0xCC20CE9BD35C78A5, 614, 204),
        (0x98165AF37B2153DF, 641, 212), (0xE2A0B5DC971F303A, 667, 220),
        (0xA8D9D1535CE3B396, 694, 228), (0xFB9B7CD9A4A7443C, 720, 236),
        (0xBB764C4CA7A44410, 747, 244), (0x8BAB8EEFB6409C1A, 774, 252),
        (0xD01FEF10A657842C, 800, 260), (0x9B10A4E5E9913129, 827, 268),
        (0xE7109BFBA19C0C9D, 853, 276), (0xAC2820D9623BF429, 880, 284),
        (0x80444B5E7AA7CF85, 907, 292), (0xBF21E44003ACDD2D, 933, 300),
        (0x8E679C2F5E44FF8F, 960, 308), (0xD433179D9C8CB841, 986, 316),
        (0x9E19DB92B4E31BA9, 1013, 324),
    ];

    /// A cached power `c` such that `w × c` has a binary exponent in `[α, γ]` for a normalized
    /// `w` of binary exponent `e`.
    fn cached_power(e: i32) -> (DiyFp, i32) {
        let f = ALPHA - e - 1;
        // ceil(f × log10(2)), with log10(2) ≈ 78913 / 2^18.
        let k = (f * 78913) / (1 << 18) + i32::from(f > 0);
        let index = ((300 + k + 7) / 8) as usize;
        let (f, e, k) = CACHED_POWERS[index];
        (DiyFp { f, e }, k)
    }

    /// Moves the last digit down while that brings the number closer to `w` and stays in range.
    fn round(digits: &mut [u8], dist: u64, delta: u64, mut rest: u64, ten_k: u64) {
        let last = digits.len() - 1;
        while rest < dist
            && delta - rest >= ten_k
            && (rest + ten_k < dist || dist - rest > rest + ten_k - dist)
        {
            digits[last] -= 1;
            rest += ten_k;
        }
    }

    /// Digits `d` and exponent `x` with `d × 10^x` inside `[minus, plus]`, close to `w`.
    fn generate(minus: DiyFp, w: DiyFp, plus: DiyFp) -> (Vec<u8>, i32) {
        let mut delta = plus.f - minus.f;
        let mut dist = plus.f - w.f;
        let shift = -plus.e as u32;
        let one = 1u64 << shift;
        let mut p1 = (plus.f >> shift) as u32;
        let mut p2 = plus.f & (one - 1);
        let mut digits = Vec::with_capacity(17);
        let mut exponent = 0;

        let mut n = p1.checked_ilog10().map_or(1, |l| l + 1);
        let mut pow10 = 10u32.pow(n - 1);
        while n > 0 {
            digits.push(b'0' + (p1 / pow10) as u8);
            p1 %= pow10;
            n -= 1;
            let rest = (u64::from(p1) << shift) + p2;
            if rest <= delta {
                exponent += n as i32;
                round(&mut digits, dist, delta, rest, u64::from(pow10) << shift);
                return (digits, exponent);
            }
            pow10 /= 10;
        }
        let mut m = 0;
        loop {
            p2 *= 10;
            digits.push(b'0' + (p2 >> shift) as u8);
            p2 &= one - 1;
            m += 1;
            delta *= 10;
            dist *= 10;
            if p2 <= delta {
                break;
            }
        }
        exponent -= m;
        round(&mut digits, dist, delta, p2, one);
        (digits, exponent)
    }

    /// Decimal digits and exponent of a finite, positive `value`.
    pub(super) fn digits(value: f64) -> (Vec<u8>, i32) {
        let (minus, v, plus) = boundaries(value);
        let (c, k) = cached_power(plus.e);
        let w = v.mul(c);
        let w_minus = minus.mul(c);
        let w_plus = plus.mul(c);
        let lower = DiyFp {
            f: w_minus.f + 1,
            e: w_minus.e,
        };
        let upper = DiyFp {
            f: w_plus.f - 1,
            e: w_plus.e,
        };
        let (digits, exponent) = generate(lower, w, upper);
        (digits, exponent - k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nlohmann_layout_matches_its_documented_cases() {
        assert_eq!(nlohmann(1.0), "1.0");
        assert_eq!(nlohmann(0.0), "0.0");
        assert_eq!(nlohmann(0.5), "0.5");
        assert_eq!(nlohmann(0.25), "0.25");
        assert_eq!(nlohmann(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(nlohmann(0.0001), "0.0001");
        assert_eq!(nlohmann(0.00001), "1e-05");
        assert_eq!(nlohmann(1.5e-7), "1.5e-07");
        assert_eq!(nlohmann(123456789012345.0), "123456789012345.0");
        assert_eq!(nlohmann(1e15), "1e+15");
        assert_eq!(nlohmann(-2.5), "-2.5");
        assert_eq!(nlohmann(f64::NAN), "null");
        assert_eq!(nlohmann(5e-324), "5e-324");
        assert_eq!(nlohmann(f64::MAX), "1.7976931348623157e+308");
    }

    #[test]
    fn fmt_layout_matches_its_documented_cases() {
        assert_eq!(fmt(1.0), "1");
        assert_eq!(fmt(0.0), "0");
        assert_eq!(fmt(0.5), "0.5");
        assert_eq!(fmt(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(fmt(0.0001), "0.0001");
        assert_eq!(fmt(0.00001), "1e-05");
        assert_eq!(fmt(2.5e-5), "2.5e-05");
        assert_eq!(fmt(1e15), "1000000000000000");
        assert_eq!(fmt(1e16), "1e+16");
        assert_eq!(fmt(123.25), "123.25");
        // Two shortest candidates equally close: {fmt} keeps the even one.
        assert_eq!(
            fmt(f64::from_bits(0x4310_565a_94b4_e5f5)),
            "1149636667324797.2"
        );
    }

    /// Recomputes every cached power of ten from exact integer arithmetic.
    #[test]
    fn cached_powers_are_the_rounded_powers_of_ten() {
        for &(f, e, k) in &grisu2::CACHED_POWERS {
            let (want_f, want_e) = normalized_power_of_ten(k);
            assert_eq!((f, e), (want_f, want_e), "10^{k}");
        }
    }

    /// `(f, e)` with `f` a 64-bit integer with its top bit set and `f × 2^e` nearest to `10^k`.
    fn normalized_power_of_ten(k: i32) -> (u64, i32) {
        // Little-endian base-2^32 big integers.
        fn mul_small(n: &mut Vec<u32>, m: u32) {
            let mut carry = 0u64;
            for limb in n.iter_mut() {
                let x = u64::from(*limb) * u64::from(m) + carry;
                *limb = x as u32;
                carry = x >> 32;
            }
            if carry > 0 {
                n.push(carry as u32);
            }
        }
        fn div_small(n: &mut Vec<u32>, d: u32) {
            let mut rem = 0u64;
            for limb in n.iter_mut().rev() {
                let x = (rem << 32) | u64::from(*limb);
                *limb = (x / u64::from(d)) as u32;
                rem = x % u64::from(d);
            }
            while n.last() == Some(&0) {
                n.pop();
            }
        }
        fn bits(n: &[u32]) -> i32 {
            (n.len() as i32 - 1) * 32 + (32 - n.last().unwrap().leading_zeros() as i32)
        }
        fn bit(n: &[u32], i: i32) -> u64 {
            if i < 0 {
                return 0;
            }
            u64::from((n[(i / 32) as usize] >> (i % 32)) & 1)
        }
        // value = n × 2^scale
        let (n, scale) = if k >= 0 {
            let mut n = vec![1u32];
            for _ in 0..k {
                mul_small(&mut n, 10);
            }
            (n, 0)
        } else {
            // A multiple of 32 bits, well past the 64 kept.
            let shift = 32 * (4 + (4 * -k) / 32);
            let mut n = vec![0u32; (shift / 32) as usize];
            n.push(1);
            for _ in 0..-k {
                div_small(&mut n, 10);
            }
            (n, -shift)
        };
        let len = bits(&n);
        let mut f = 0u64;
        for i in 0..64 {
            f = (f << 1) | bit(&n, len - 1 - i);
        }
        let mut e = scale + len - 64;
        if bit(&n, len - 65) == 1 {
            let (sum, overflow) = f.overflowing_add(1);
            f = if overflow { 1 << 63 } else { sum };
            e += i32::from(overflow);
        }
        (f, e)
    }
}
