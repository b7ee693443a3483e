//! Call planning, without the database: a KAM's "today", how overdue a call is, the order calls are shown
//! in, and a suggested time that lies inside both the KAM's working hours and the restaurant's business
//! hours.
//!
//! Rules (also in ARCHITECTURE.md):
//! - "Today" is the KAM's local calendar day in their IANA zone (23 or 25 hours long across DST changes).
//! - A restaurant is due when its next call falls before the end of that day, or when it has an open
//!   follow-up dated on or before it. Its due date is the earliest of these, read in the KAM's zone.
//! - Days overdue = today − due date. 0 is due today; 1 to 3 days is amber; more than 3 is red.
//! - Ranking: most days overdue first; then restaurants with an order follow-up; then the lower
//!   performance score (unscored count as 0); then the name.
//! - The suggestion is the start of the first stretch, from now (rounded up to the next quarter hour)
//!   to the end of the KAM's day, that is inside both sets of hours. When none is left today, the
//!   planner says so and offers the first shared stretch of the next seven days.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::restaurants::hours::local_to_utc;
use crate::restaurants::{BusinessHours, HoursInterval};

/// The working week a KAM gets until they set their own: Monday to Friday, 09:00 to 17:00.
pub fn default_working_hours() -> Vec<HoursInterval> {
    (0..5)
        .map(|weekday| HoursInterval {
            weekday,
            opens: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            closes: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        })
        .collect()
}

/// A local calendar day as the instants it starts and ends at.
pub fn day_bounds(tz: Tz, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = local_to_utc(tz, day.and_time(NaiveTime::MIN));
    let end = local_to_utc(tz, (day + Duration::days(1)).and_time(NaiveTime::MIN));
    (start, end)
}

pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Due today.
    Due,
    /// One to three days overdue.
    Amber,
    /// More than three days overdue.
    Red,
}

impl Urgency {
    pub fn of(days_overdue: i64) -> Urgency {
        match days_overdue {
            ..=0 => Urgency::Due,
            1..=3 => Urgency::Amber,
            _ => Urgency::Red,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Due => "due",
            Urgency::Amber => "amber",
            Urgency::Red => "red",
        }
    }
}

/// The first stretch of `[from, to)` inside both sets of hours, if any.
pub fn first_overlap(
    a: &BusinessHours,
    b: &BusinessHours,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let xs = a.intervals_utc(from, to);
    let ys = b.intervals_utc(from, to);
    let (mut i, mut j) = (0, 0);
    while i < xs.len() && j < ys.len() {
        let start = xs[i].0.max(ys[j].0);
        let end = xs[i].1.min(ys[j].1);
        if start < end {
            return Some((start, end));
        }
        if xs[i].1 < ys[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    None
}

/// `at` rounded up to the next quarter hour (unchanged when already on one).
pub fn ceil_quarter(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp();
    let rounded = (secs + 899).div_euclid(900) * 900;
    let rounded = if at.nanosecond() > 0 && rounded == secs {
        rounded + 900
    } else {
        rounded
    };
    DateTime::from_timestamp(rounded, 0).unwrap_or(at)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suggestion {
    /// Call at `at`; the shared stretch lasts until `until`.
    Today {
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    /// Nothing shared is left today; the first shared stretch in the next seven days, if any.
    NoneToday {
        next: Option<(DateTime<Utc>, DateTime<Utc>)>,
    },
}

/// A suggested call time for today (the KAM's local day containing `now`).
pub fn suggest(kam: &BusinessHours, restaurant: &BusinessHours, now: DateTime<Utc>) -> Suggestion {
    let (_, day_end) = day_bounds(kam.tz, local_date(kam.tz, now));
    let from = ceil_quarter(now);
    if from < day_end
        && let Some((at, until)) = first_overlap(kam, restaurant, from, day_end)
    {
        return Suggestion::Today { at, until };
    }
    Suggestion::NoneToday {
        next: first_overlap(kam, restaurant, day_end, day_end + Duration::days(7)),
    }
}

/// Local wall-clock text of an instant in a zone, e.g. `Tue 14:30 IST`.
pub fn local_label(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz)
        .format("%a %d %b %H:%M %Z")
        .to_string()
}

/// What decides where a due restaurant sits in the list.
#[derive(Debug, Clone, PartialEq)]
pub struct RankKey {
    pub days_overdue: i64,
    pub has_order_follow_up: bool,
    pub score: Option<i32>,
    pub name: String,
}

pub fn rank_cmp(a: &RankKey, b: &RankKey) -> std::cmp::Ordering {
    b.days_overdue
        .cmp(&a.days_overdue)
        .then(b.has_order_follow_up.cmp(&a.has_order_follow_up))
        .then(a.score.unwrap_or(0).cmp(&b.score.unwrap_or(0)))
        .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
}

/// The due date of a restaurant for a KAM in `tz`: the earliest of its next call (if before the end of
/// today) and its open follow-ups (if on or before today). `None` when nothing is due.
pub fn due_date(
    tz: Tz,
    today: NaiveDate,
    next_call_at: Option<DateTime<Utc>>,
    follow_ups: &[NaiveDate],
) -> Option<NaiveDate> {
    let scheduled = next_call_at
        .map(|at| local_date(tz, at))
        .filter(|d| *d <= today);
    let follow = follow_ups.iter().copied().filter(|d| *d <= today).min();
    match (scheduled, follow) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn hours(tz: Tz, list: &[(u8, &str, &str)]) -> BusinessHours {
        BusinessHours::new(
            tz,
            list.iter()
                .map(|(d, o, c)| HoursInterval::parse(i64::from(*d), o, c).unwrap())
                .collect(),
        )
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn weekdays(tz: Tz, opens: &str, closes: &str) -> BusinessHours {
        hours(
            tz,
            &(0..5).map(|d| (d, opens, closes)).collect::<Vec<_>>()[..],
        )
    }

    #[test]
    fn a_kam_in_kolkata_and_a_restaurant_in_new_york_meet_in_the_kams_evening() {
        // KAM works 12:00–21:00 IST (06:30–15:30 UTC); the restaurant opens 08:00–22:00 New York time,
        // which is 13:00 UTC in winter (EST, UTC−5) and 12:00 UTC in summer (EDT, UTC−4).
        let kam = weekdays(chrono_tz::Asia::Kolkata, "12:00", "21:00");
        let restaurant = weekdays(chrono_tz::America::New_York, "08:00", "22:00");
        // Friday 6 March 2026, 09:00 IST: before the change to summer time in New York.
        let now = utc(2026, 3, 6, 3, 30);
        assert_eq!(
            suggest(&kam, &restaurant, now),
            Suggestion::Today {
                at: utc(2026, 3, 6, 13, 0),
                until: utc(2026, 3, 6, 15, 30)
            }
        );
        // Monday 9 March 2026, after New York moved its clocks on Sunday the 8th: an hour earlier in
        // UTC, 17:30 IST instead of 18:30 IST.
        let now = utc(2026, 3, 9, 3, 30);
        let Suggestion::Today { at, .. } = suggest(&kam, &restaurant, now) else {
            panic!("expected a suggestion")
        };
        assert_eq!(at, utc(2026, 3, 9, 12, 0));
        assert_eq!(
            local_label(chrono_tz::Asia::Kolkata, at),
            "Mon 09 Mar 17:30 IST"
        );
        assert_eq!(
            local_label(chrono_tz::America::New_York, at),
            "Mon 09 Mar 08:00 EDT"
        );
    }

    #[test]
    fn no_overlap_is_said_and_the_next_shared_time_offered() {
        // KAM in Tokyo 09:00–17:00 (00:00–08:00 UTC); restaurant in Los Angeles 11:00–20:00 PST
        // (19:00–04:00 UTC): the shared stretch is 00:00–04:00 UTC = 09:00–13:00 in Tokyo.
        let kam = weekdays(chrono_tz::Asia::Tokyo, "09:00", "17:00");
        let restaurant = hours(
            chrono_tz::America::Los_Angeles,
            &[(0, "11:00", "20:00"), (1, "11:00", "20:00")],
        );
        // Tuesday 13 January 2026 14:00 Tokyo (05:00 UTC): the shared stretch of today is over.
        let now = utc(2026, 1, 13, 5, 0);
        match suggest(&kam, &restaurant, now) {
            Suggestion::NoneToday { next } => {
                // The restaurant's Tuesday opening is Wednesday 04:00–13:00 Tokyo time: the next shared
                // stretch is Wednesday 09:00–13:00 Tokyo (00:00–04:00 UTC).
                assert_eq!(next, Some((utc(2026, 1, 14, 0, 0), utc(2026, 1, 14, 4, 0))));
            }
            other => panic!("expected no overlap, got {other:?}"),
        }
        // A restaurant that only opens at weekends never overlaps a Monday-to-Friday KAM.
        let weekend = hours(
            chrono_tz::Asia::Tokyo,
            &[(5, "10:00", "16:00"), (6, "10:00", "16:00")],
        );
        assert_eq!(
            suggest(&kam, &weekend, now),
            Suggestion::NoneToday { next: None }
        );
    }

    #[test]
    fn an_overnight_restaurant_and_split_shifts() {
        // KAM in London with a split day: 08:00–12:00 and 16:00–20:00. A late-night restaurant in London
        // opens 18:00–03:00. At 10:00 the suggestion is 18:00 (inside the second shift).
        let kam = hours(
            chrono_tz::Europe::London,
            &[(2, "08:00", "12:00"), (2, "16:00", "20:00")],
        );
        let restaurant = hours(
            chrono_tz::Europe::London,
            &[(1, "18:00", "03:00"), (2, "18:00", "03:00")],
        );
        // Wednesday 15 July 2026 10:00 BST = 09:00 UTC.
        let now = utc(2026, 7, 15, 9, 0);
        assert_eq!(
            suggest(&kam, &restaurant, now),
            Suggestion::Today {
                at: utc(2026, 7, 15, 17, 0),
                until: utc(2026, 7, 15, 19, 0)
            }
        );
        // Tuesday night's opening runs into Wednesday until 03:00, so a KAM whose Wednesday shift is
        // 01:00–02:00 meets it (asked at midnight, the start of the KAM's Wednesday).
        let early = hours(chrono_tz::Europe::London, &[(2, "01:00", "02:00")]);
        assert_eq!(
            suggest(&early, &restaurant, utc(2026, 7, 14, 23, 0)),
            Suggestion::Today {
                at: utc(2026, 7, 15, 0, 0),
                until: utc(2026, 7, 15, 1, 0)
            }
        );
    }

    #[test]
    fn the_suggestion_starts_at_the_next_quarter_hour_when_the_stretch_has_begun() {
        let kam = weekdays(chrono_tz::UTC, "09:00", "17:00");
        let restaurant = weekdays(chrono_tz::UTC, "00:00", "00:00");
        let now = utc(2026, 6, 15, 10, 7);
        assert_eq!(
            suggest(&kam, &restaurant, now),
            Suggestion::Today {
                at: utc(2026, 6, 15, 10, 15),
                until: utc(2026, 6, 15, 17, 0)
            }
        );
        assert_eq!(
            ceil_quarter(utc(2026, 6, 15, 10, 15)),
            utc(2026, 6, 15, 10, 15)
        );
    }

    #[test]
    fn today_is_the_kams_local_day_across_dst() {
        // 29 March 2026 is 23 hours long in London; 25 October 2026 is 25.
        let tz = chrono_tz::Europe::London;
        let (s, e) = day_bounds(tz, NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        assert_eq!(e - s, Duration::hours(23));
        let (s, e) = day_bounds(tz, NaiveDate::from_ymd_opt(2026, 10, 25).unwrap());
        assert_eq!(e - s, Duration::hours(25));
        // 23:30 UTC on 14 June is already 15 June in Kolkata (05:00 IST) but still 14 June in New York.
        let at = utc(2026, 6, 14, 23, 30);
        assert_eq!(
            local_date(chrono_tz::Asia::Kolkata, at),
            NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
        );
        assert_eq!(
            local_date(chrono_tz::America::New_York, at),
            NaiveDate::from_ymd_opt(2026, 6, 14).unwrap()
        );
    }

    #[test]
    fn due_dates_urgency_and_rank() {
        let tz = chrono_tz::Asia::Kolkata;
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        // A call planned at 20:00 UTC on 14 June is 01:30 IST on 15 June: due today, not overdue.
        assert_eq!(
            due_date(tz, today, Some(utc(2026, 6, 14, 20, 0)), &[]),
            Some(today)
        );
        // Next call tomorrow, nothing due; a follow-up dated two days ago makes it due (amber).
        let tomorrow = Some(utc(2026, 6, 16, 5, 0));
        assert_eq!(due_date(tz, today, tomorrow, &[]), None);
        let d = due_date(tz, today, tomorrow, &[today - Duration::days(2)]).unwrap();
        assert_eq!(Urgency::of((today - d).num_days()), Urgency::Amber);
        assert_eq!(Urgency::of(0), Urgency::Due);
        assert_eq!(Urgency::of(3), Urgency::Amber);
        assert_eq!(Urgency::of(4), Urgency::Red);

        let key = |days, follow, score, name: &str| RankKey {
            days_overdue: days,
            has_order_follow_up: follow,
            score,
            name: name.into(),
        };
        let mut list = [
            key(0, false, Some(10), "a"),
            key(5, false, Some(90), "b"),
            key(0, true, Some(90), "c"),
            key(0, false, None, "d"),
            key(5, false, Some(20), "e"),
        ];
        list.sort_by(rank_cmp);
        let names: Vec<_> = list.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["e", "b", "c", "d", "a"]);
    }
}
