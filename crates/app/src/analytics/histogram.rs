//! Lengths of time in a status, kept as a sparse histogram so that rollups can be added together and
//! still answer medians and percentiles: exact to the millisecond below ten minutes, within 1% above.

/// Below this many milliseconds every millisecond is its own bin.
const EXACT_MS: i64 = 600_000;
/// Above it, bins grow by this factor.
const GROWTH: f64 = 1.01;

/// The bin a length (milliseconds) falls in.
pub fn bin_of(ms: i64) -> u32 {
    let ms = ms.max(0);
    if ms < EXACT_MS {
        return ms as u32;
    }
    let steps = ((ms as f64 / EXACT_MS as f64).ln() / GROWTH.ln()).floor();
    // Guard against the float landing just above an exact power (then the bin would start after `ms`).
    let mut bin = EXACT_MS as u32 + steps as u32;
    while bin > EXACT_MS as u32 && start_of(bin) > ms as f64 {
        bin -= 1;
    }
    bin
}

/// The first millisecond a bin covers.
pub fn start_of(bin: u32) -> f64 {
    if (bin as i64) < EXACT_MS {
        bin as f64
    } else {
        (EXACT_MS as f64 * GROWTH.powi(bin as i32 - EXACT_MS as i32)).floor()
    }
}

/// Counts by bin, kept as a vector sorted by bin (a bucket's histogram holds a few to a few hundred bins:
/// cheaper to search and grow than a tree of nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(Vec<(u32, i64)>);

impl Histogram {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Count `n` (negative to take away) lengths of `ms` milliseconds.
    pub fn add_ms(&mut self, ms: i64, n: i64) {
        self.add_bin(bin_of(ms), n);
    }

    pub fn add_bin(&mut self, bin: u32, n: i64) {
        match self.0.binary_search_by_key(&bin, |(b, _)| *b) {
            Ok(i) => {
                self.0[i].1 += n;
                if self.0[i].1 == 0 {
                    self.0.remove(i);
                }
            }
            Err(i) if n != 0 => self.0.insert(i, (bin, n)),
            Err(_) => {}
        }
    }

    pub fn merge(&mut self, other: &Histogram, sign: i64) {
        if self.0.is_empty() {
            self.0 = other.0.iter().map(|(b, n)| (*b, n * sign)).collect();
            return;
        }
        let mut merged = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() || j < other.0.len() {
            let next = match (self.0.get(i), other.0.get(j)) {
                (Some(a), Some(b)) if a.0 == b.0 => {
                    i += 1;
                    j += 1;
                    (a.0, a.1 + b.1 * sign)
                }
                (Some(a), Some(b)) if a.0 < b.0 => {
                    i += 1;
                    *a
                }
                (Some(a), None) => {
                    i += 1;
                    *a
                }
                (_, Some(b)) => {
                    j += 1;
                    (b.0, b.1 * sign)
                }
                (None, None) => break,
            };
            if next.1 != 0 {
                merged.push(next);
            }
        }
        self.0 = merged;
    }

    pub fn total(&self) -> i64 {
        self.0.iter().map(|(_, n)| n).sum()
    }

    /// The nearest-rank quantile (`q` in 0..=1) in seconds: the smallest length with at least `q` of all
    /// lengths at or below it.
    pub fn quantile_seconds(&self, q: f64) -> Option<f64> {
        nearest_rank(self.0.iter().copied(), q)
    }

    /// `bin:count` pairs separated by commas, in bin order.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(self.0.len() * 7);
        for (i, (bin, n)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{bin}:{n}");
        }
        out
    }

    /// Reads [`Histogram::to_text`]; pairs that do not parse are skipped.
    pub fn parse(text: &str) -> Histogram {
        let mut h = Histogram::new();
        h.merge_text(text);
        h
    }

    /// Adds another histogram written as text, without building it first.
    pub fn merge_text(&mut self, text: &str) {
        for pair in text.split(',') {
            if let Some((bin, n)) = pair.split_once(':')
                && let (Ok(bin), Ok(n)) = (bin.parse::<u32>(), n.parse::<i64>())
            {
                // Stored text is in bin order: appending is the usual case.
                match self.0.last() {
                    Some((last, _)) if *last < bin && n != 0 => self.0.push((bin, n)),
                    None if n != 0 => self.0.push((bin, n)),
                    _ => self.add_bin(bin, n),
                }
            }
        }
    }
}

/// A histogram for adding many stored ones together (queries): counts by bin in a hash map (a query
/// adds up thousands of small stored histograms; their bins are sorted once, when a quantile is read),
/// and a parser that reads [`Histogram::to_text`] without allocating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals(rustc_hash::FxHashMap<u32, i64>);

impl Totals {
    /// Adds a histogram written as text; pairs that do not parse are skipped.
    pub fn merge_text(&mut self, text: &str) {
        for pair in text.as_bytes().split(|b| *b == b',') {
            let Some(colon) = pair.iter().position(|b| *b == b':') else {
                continue;
            };
            let (Some(bin), Some(n)) = (digits(&pair[..colon]), signed(&pair[colon + 1..])) else {
                continue;
            };
            let Ok(bin) = u32::try_from(bin) else {
                continue;
            };
            *self.0.entry(bin).or_default() += n;
        }
    }

    /// The nearest-rank quantile in seconds, as [`Histogram::quantile_seconds`].
    pub fn quantile_seconds(&self, q: f64) -> Option<f64> {
        let mut pairs: Vec<(u32, i64)> = self
            .0
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(bin, n)| (*bin, *n))
            .collect();
        pairs.sort_unstable_by_key(|(bin, _)| *bin);
        nearest_rank(pairs.into_iter(), q)
    }
}

/// The nearest-rank quantile of (bin, count) pairs in bin order, in seconds.
fn nearest_rank(pairs: impl Iterator<Item = (u32, i64)> + Clone, q: f64) -> Option<f64> {
    let total: i64 = pairs.clone().map(|(_, n)| n).sum();
    if total <= 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    let mut last = None;
    for (bin, n) in pairs {
        last = Some(bin);
        seen += n;
        if seen >= rank {
            return Some(start_of(bin) / 1000.0);
        }
    }
    last.map(|bin| start_of(bin) / 1000.0)
}

fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 18 {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

fn signed(bytes: &[u8]) -> Option<i64> {
    match bytes.first() {
        Some(b'-') => digits(&bytes[1..]).map(|v| -(v as i64)),
        _ => digits(bytes).map(|v| v as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lengths_are_exact_to_the_millisecond() {
        assert_eq!(bin_of(0), 0);
        assert_eq!(bin_of(-5), 0);
        assert_eq!(bin_of(2_500), 2_500);
        assert_eq!(bin_of(599_999), 599_999);
        assert_eq!(start_of(bin_of(125_001)), 125_001.0);
        // The audit's case: lengths of 2 s and 3 s have a median of 2.5 s when there are four of them.
        let mut h = Histogram::new();
        for ms in [2_000, 2_500, 2_500, 3_000] {
            h.add_ms(ms, 1);
        }
        assert_eq!(h.quantile_seconds(0.5), Some(2.5));
    }

    #[test]
    fn long_lengths_land_within_one_percent() {
        for seconds in [600_i64, 601, 900, 3_600, 7_777, 86_400, 30 * 86_400] {
            let ms = seconds * 1000;
            let start = start_of(bin_of(ms));
            assert!(start <= ms as f64, "{seconds}: bin starts at {start}");
            assert!(
                ms as f64 - start <= ms as f64 * 0.0101,
                "{seconds}: bin starts at {start}"
            );
        }
        assert_eq!(start_of(bin_of(600_000)), 600_000.0);
    }

    #[test]
    fn merging_equals_adding_bin_by_bin() {
        use rand::{RngExt, SeedableRng};
        let mut dice = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..300 {
            let (mut a, mut b, mut expected) =
                (Histogram::new(), Histogram::new(), Histogram::new());
            let sign = if dice.random_range(0..2) == 0 { 1 } else { -1 };
            for (h, s) in [(&mut a, 1), (&mut b, sign)] {
                for _ in 0..dice.random_range(0..30) {
                    let (bin, n) = (dice.random_range(0..40u32), dice.random_range(-3..4i64));
                    h.add_bin(bin, n);
                    expected.add_bin(bin, n * s);
                }
            }
            a.merge(&b, sign);
            assert_eq!(a, expected);
            assert!(a.0.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(a.0.iter().all(|(_, n)| *n != 0));
            assert_eq!(Histogram::parse(&a.to_text()), a);
        }
    }

    #[test]
    fn nearest_rank_quantiles() {
        let mut h = Histogram::new();
        for s in [60, 120, 180, 240, 300, 360, 420, 480, 540, 600] {
            h.add_ms(s * 1000, 1);
        }
        assert_eq!(h.quantile_seconds(0.5), Some(300.0));
        assert_eq!(h.quantile_seconds(0.9), Some(540.0));
        assert_eq!(h.quantile_seconds(1.0), Some(600.0));
        let round = Histogram::parse(&h.to_text());
        assert_eq!(round, h);
        let mut totals = Totals::default();
        totals.merge_text(&h.to_text());
        totals.merge_text(&h.to_text());
        totals.merge_text("bad,9:x,:3");
        assert_eq!(totals.quantile_seconds(0.5), Some(300.0));
        assert_eq!(totals.quantile_seconds(0.9), Some(540.0));
        assert_eq!(totals.quantile_seconds(1.0), Some(600.0));
        let mut less = h.clone();
        less.merge(&round, -1);
        assert!(less.is_empty());
    }
}
