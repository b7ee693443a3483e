//! The uptime rule on plain numbers (Unix microseconds), so a full-size report is arithmetic, not
//! allocation. Between polls every instant takes the status of the nearest poll in time; before the first
//! poll and after the last, the status of that poll; two polls at one instant count once, inactive winning.

/// Unix microseconds.
pub type Micros = i64;

pub const SECOND: Micros = 1_000_000;
pub const MINUTE: Micros = 60 * SECOND;
pub const HOUR: Micros = 60 * MINUTE;
pub const DAY: Micros = 24 * HOUR;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Poll {
    pub at: Micros,
    pub inactive: bool,
}

impl Poll {
    pub fn new(at: Micros, inactive: bool) -> Poll {
        Poll { at, inactive }
    }
}

/// Sort by time and keep one poll per instant (inactive when any poll at that instant was inactive).
pub fn normalise(polls: &mut Vec<Poll>) {
    polls.sort_unstable();
    // Sorted by (at, inactive): of equal instants the inactive one comes last, so keep the last.
    let mut out = 0;
    for i in 0..polls.len() {
        if i + 1 < polls.len() && polls[i + 1].at == polls[i].at {
            continue;
        }
        polls[out] = polls[i];
        out += 1;
    }
    polls.truncate(out);
}

/// A stretch of time with one status, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start: Micros,
    end: Micros,
    inactive: bool,
}

/// The status segments of normalised polls: poll `i` rules from the midpoint with its predecessor to the
/// midpoint with its successor; the first and last reach to the ends of time.
fn segments(polls: &[Poll]) -> impl Iterator<Item = Segment> + '_ {
    polls.iter().enumerate().map(move |(i, p)| {
        let start = if i == 0 {
            Micros::MIN
        } else {
            midpoint(polls[i - 1].at, p.at)
        };
        let end = match polls.get(i + 1) {
            Some(next) => midpoint(p.at, next.at),
            None => Micros::MAX,
        };
        Segment {
            start,
            end,
            inactive: p.inactive,
        }
    })
}

fn midpoint(a: Micros, b: Micros) -> Micros {
    a + (b - a) / 2
}

/// One piece of business time with one status, in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub start: Micros,
    pub end: Micros,
    pub inactive: bool,
}

/// Business time (sorted, disjoint `[start, end)` intervals) cut by status. Empty without polls.
pub fn pieces(polls: &[Poll], business: &[(Micros, Micros)]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut segs = segments(polls).peekable();
    for &(a, b) in business {
        while let Some(seg) = segs.peek() {
            if seg.end <= a {
                segs.next();
                continue;
            }
            if seg.start >= b {
                break;
            }
            let start = seg.start.max(a);
            let end = seg.end.min(b);
            if start < end {
                match out.last_mut() {
                    Some(Piece {
                        end: last_end,
                        inactive,
                        ..
                    }) if *last_end == start && *inactive == seg.inactive => *last_end = end,
                    _ => out.push(Piece {
                        start,
                        end,
                        inactive: seg.inactive,
                    }),
                }
            }
            if seg.end > b {
                break;
            }
            segs.next();
        }
    }
    out
}

/// Active time within business intervals.
pub fn uptime(polls: &[Poll], business: &[(Micros, Micros)]) -> Micros {
    pieces(polls, business)
        .iter()
        .filter(|p| !p.inactive)
        .map(|p| p.end - p.start)
        .sum()
}

pub fn total(intervals: &[(Micros, Micros)]) -> Micros {
    intervals.iter().map(|(a, b)| b - a).sum()
}

/// Intervals clipped to `[from, to)`.
pub fn clip(intervals: &[(Micros, Micros)], from: Micros, to: Micros) -> Vec<(Micros, Micros)> {
    intervals
        .iter()
        .filter_map(|&(a, b)| {
            let (a, b) = (a.max(from), b.min(to));
            (a < b).then_some((a, b))
        })
        .collect()
}

/// Uptime and downtime of the last hour, day and week ending at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    pub uptime_hour: Micros,
    pub uptime_day: Micros,
    pub uptime_week: Micros,
    pub downtime_hour: Micros,
    pub downtime_day: Micros,
    pub downtime_week: Micros,
}

/// `business_week`: the store's business intervals within `[now - 7 days, now)`.
pub fn figures(polls: &[Poll], business_week: &[(Micros, Micros)], now: Micros) -> Figures {
    let mut figures = Figures::default();
    let windows = [
        (now - HOUR, &mut figures.uptime_hour, 0),
        (now - DAY, &mut figures.uptime_day, 1),
        (now - 7 * DAY, &mut figures.uptime_week, 2),
    ];
    let mut downtimes = [0; 3];
    for (from, up, slot) in windows {
        let business = clip(business_week, from, now);
        *up = uptime(polls, &business);
        downtimes[slot] = total(&business) - *up;
    }
    figures.downtime_hour = downtimes[0];
    figures.downtime_day = downtimes[1];
    figures.downtime_week = downtimes[2];
    figures
}

/// A run of inactive business time not broken by an active poll in business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub start: Micros,
    pub end: Micros,
    /// Business time inside the outage (closed hours in between are not counted).
    pub downtime: Micros,
    /// Inactive polls inside business time during the outage.
    pub inactive_polls: usize,
}

pub fn outages(polls: &[Poll], business: &[(Micros, Micros)]) -> Vec<Outage> {
    let mut out: Vec<Outage> = Vec::new();
    let mut open = false;
    for piece in pieces(polls, business) {
        if !piece.inactive {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some(o) if open => {
                o.end = piece.end;
                o.downtime += piece.end - piece.start;
            }
            _ => {
                out.push(Outage {
                    start: piece.start,
                    end: piece.end,
                    downtime: piece.end - piece.start,
                    inactive_polls: 0,
                });
                open = true;
            }
        }
    }
    for outage in &mut out {
        outage.inactive_polls = polls
            .iter()
            .filter(|p| p.inactive && p.at >= outage.start && p.at < outage.end)
            .filter(|p| business.iter().any(|&(a, b)| p.at >= a && p.at < b))
            .count();
    }
    out
}

/// How far either side of a poll its status counts as known. Stores are polled about once an hour,
/// so business time further than an hour from every poll has no data: the uptime rule above still
/// gives it the nearest poll's status (the seed's rule, kept in reports), but pages show it as
/// "no data" rather than as up or down.
pub const KNOWN_AROUND_A_POLL: Micros = HOUR;

/// The parts of business time (sorted, disjoint intervals) within `KNOWN_AROUND_A_POLL` of a poll
/// (normalised polls), as sorted, disjoint intervals.
pub fn covered(polls: &[Poll], business: &[(Micros, Micros)]) -> Vec<(Micros, Micros)> {
    // The polls' own reach, merged.
    let mut reach: Vec<(Micros, Micros)> = Vec::new();
    for poll in polls {
        let (a, b) = (
            poll.at.saturating_sub(KNOWN_AROUND_A_POLL),
            poll.at.saturating_add(KNOWN_AROUND_A_POLL),
        );
        match reach.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => reach.push((a, b)),
        }
    }
    // Both lists are sorted and disjoint: walk them together.
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < reach.len() && j < business.len() {
        let (a, b) = (reach[i].0.max(business[j].0), reach[i].1.min(business[j].1));
        if a < b {
            out.push((a, b));
        }
        if reach[i].1 < business[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_time_far_from_every_poll_is_not_covered() {
        // Business 08:00-20:00; polls at 09:00 and 09:30 cover 08:00-10:30, one at 18:00 covers 17:00-19:00.
        let business = [(8 * 60 * MINUTE, 20 * 60 * MINUTE)];
        let polls = [p(9 * 60, false), p(9 * 60 + 30, true), p(18 * 60, false)];
        assert_eq!(
            covered(&polls, &business),
            vec![
                (8 * 60 * MINUTE, (10 * 60 + 30) * MINUTE),
                (17 * 60 * MINUTE, 19 * 60 * MINUTE)
            ]
        );
        // A split day: the reach is cut at each interval's edges.
        let split = [
            (8 * 60 * MINUTE, 9 * 60 * MINUTE),
            (17 * 60 * MINUTE, 22 * 60 * MINUTE),
        ];
        assert_eq!(
            covered(&polls, &split),
            vec![
                (8 * 60 * MINUTE, 9 * 60 * MINUTE),
                (17 * 60 * MINUTE, 19 * 60 * MINUTE)
            ]
        );
        assert!(covered(&[], &business).is_empty());
        assert!(covered(&polls, &[]).is_empty());
        // Hourly polls cover all of it.
        let hourly: Vec<Poll> = (8..=20).map(|h| p(h * 60 + 7, false)).collect();
        assert_eq!(covered(&hourly, &business), business.to_vec());
    }

    fn p(minute: i64, inactive: bool) -> Poll {
        Poll::new(minute * MINUTE, inactive)
    }

    #[test]
    fn nearest_poll_splits_the_gap_at_the_midpoint() {
        // Active at 0, inactive at 60: minutes 0..30 active, 30..60 inactive.
        let polls = [p(0, false), p(60, true)];
        assert_eq!(uptime(&polls, &[(0, 60 * MINUTE)]), 30 * MINUTE);
        // Before the first poll and after the last the status of that poll holds.
        assert_eq!(uptime(&polls, &[(-100 * MINUTE, 0)]), 100 * MINUTE);
        assert_eq!(uptime(&polls, &[(60 * MINUTE, 500 * MINUTE)]), 0);
    }

    #[test]
    fn same_instant_inactive_wins_and_duplicates_count_once() {
        let mut polls = vec![
            p(10, false),
            p(0, false),
            p(10, true),
            p(10, false),
            p(0, false),
        ];
        normalise(&mut polls);
        assert_eq!(polls, vec![p(0, false), p(10, true)]);
    }

    #[test]
    fn uptime_only_counts_business_time() {
        let polls = [p(0, false)];
        let business = [(10 * MINUTE, 20 * MINUTE), (30 * MINUTE, 35 * MINUTE)];
        assert_eq!(uptime(&polls, &business), 15 * MINUTE);
        assert_eq!(uptime(&[], &business), 0);
    }

    #[test]
    fn figures_per_window() {
        // Always open; inactive for the last 30 minutes (poll at now-30min inactive, earlier active).
        let now = 10 * DAY;
        let polls = [
            Poll::new(now - 2 * DAY, false),
            Poll::new(now - 60 * MINUTE, false),
            Poll::new(now - 20 * MINUTE, true),
        ];
        let business = [(now - 7 * DAY, now)];
        let f = figures(&polls, &business, now);
        // Midpoint of -60 and -20 is -40: inactive for the last 40 minutes.
        assert_eq!(f.uptime_hour, 20 * MINUTE);
        assert_eq!(f.downtime_hour, 40 * MINUTE);
        assert_eq!(f.uptime_day, DAY - 40 * MINUTE);
        assert_eq!(f.downtime_week, 40 * MINUTE);
        assert_eq!(f.uptime_week + f.downtime_week, 7 * DAY);
    }

    #[test]
    fn outages_continue_over_closed_hours_and_end_at_an_active_poll() {
        // Open 0-60 and 120-180; inactive at 30 and 130, active at 170.
        let polls = [p(0, false), p(30, true), p(130, true), p(170, false)];
        let business = [(0, 60 * MINUTE), (120 * MINUTE, 180 * MINUTE)];
        let got = outages(&polls, &business);
        assert_eq!(
            got,
            vec![Outage {
                start: 15 * MINUTE,
                end: 150 * MINUTE,
                downtime: 45 * MINUTE + 30 * MINUTE,
                inactive_polls: 2,
            }]
        );
    }
}
