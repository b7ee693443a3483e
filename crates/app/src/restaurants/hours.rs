//! Business hours: per-weekday local intervals in the restaurant's IANA zone. Several intervals a day are
//! split shifts; a closing time at or before the opening time runs past midnight into the next day; an
//! opening equal to the closing means 24 hours. A restaurant with no intervals is open around the clock.
//!
//! Local times that do not exist (the spring-forward gap) move forward by the gap; local times that
//! happen twice (fall-back) take the first.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HoursInterval {
    /// 0 = Monday .. 6 = Sunday.
    #[schema(value_type = crate::http::openapi::Weekday)]
    pub weekday: u8,
    /// Local opening time, "HH:MM" or "HH:MM:SS".
    #[schema(value_type = crate::http::openapi::TimeOfDay, example = "11:30")]
    pub opens: NaiveTime,
    /// Local closing time; at or before `opens` means it runs past midnight.
    #[schema(value_type = crate::http::openapi::TimeOfDay, example = "23:00")]
    pub closes: NaiveTime,
}

impl HoursInterval {
    pub fn parse(weekday: i64, opens: &str, closes: &str) -> Result<HoursInterval, String> {
        if !(0..=6).contains(&weekday) {
            return Err(format!(
                "weekday must be 0 (Monday) to 6 (Sunday), not {weekday}"
            ));
        }
        Ok(HoursInterval {
            weekday: weekday as u8,
            opens: parse_time(opens)?,
            closes: parse_time(closes)?,
        })
    }

    /// How long the interval lasts.
    pub fn length(&self) -> Duration {
        if self.closes > self.opens {
            self.closes - self.opens
        } else {
            Duration::days(1) - (self.opens - self.closes)
        }
    }
}

pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    // The common "HH:MM:SS" without chrono's format machinery (a full report reads 86,000 of them).
    if let [h1, h2, b':', m1, m2, b':', s1, s2] = raw.as_bytes()
        && [h1, h2, m1, m2, s1, s2].iter().all(|d| d.is_ascii_digit())
    {
        let two = |a: &u8, b: &u8| u32::from(a - b'0') * 10 + u32::from(b - b'0');
        if let Some(t) = NaiveTime::from_hms_opt(two(h1, h2), two(m1, m2), two(s1, s2)) {
            return Ok(t);
        }
    }
    NaiveTime::parse_from_str(raw, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M"))
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S%.f"))
        .map_err(|_| format!("{raw:?} is not a time of day like 09:30 or 23:59:59"))
}

/// Local wall-clock time to an instant, with the gap and fold rules above.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: keep the offset in force before it, which lands the same distance past the gap.
            let before = tz
                .from_local_datetime(&(local - Duration::hours(3)))
                .earliest();
            let offset = before
                .map(|b| b.offset().fix().local_minus_utc())
                .unwrap_or(0);
            (local - Duration::seconds(i64::from(offset))).and_utc()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub tz: Tz,
    pub intervals: Vec<HoursInterval>,
}

impl BusinessHours {
    pub fn new(tz: Tz, intervals: Vec<HoursInterval>) -> Self {
        BusinessHours { tz, intervals }
    }

    pub fn always_open(&self) -> bool {
        self.intervals.is_empty()
    }

    /// Opening periods as UTC instants, clipped to `[from, to)`, sorted and merged.
    pub fn intervals_utc(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if from >= to {
            return Vec::new();
        }
        if self.always_open() {
            return vec![(from, to)];
        }
        let first: NaiveDate = from.with_timezone(&self.tz).date_naive() - Duration::days(1);
        let last: NaiveDate = to.with_timezone(&self.tz).date_naive();
        let mut out = Vec::new();
        let mut day = first;
        while day <= last {
            let weekday = day.weekday().num_days_from_monday() as u8;
            for interval in self.intervals.iter().filter(|i| i.weekday == weekday) {
                let start_local = day.and_time(interval.opens);
                let end_local = if interval.closes > interval.opens {
                    day.and_time(interval.closes)
                } else {
                    (day + Duration::days(1)).and_time(interval.closes)
                };
                let start = local_to_utc(self.tz, start_local).max(from);
                let end = local_to_utc(self.tz, end_local).min(to);
                if start < end {
                    out.push((start, end));
                }
            }
            day += Duration::days(1);
        }
        out.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(out.len());
        for (start, end) in out {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        !self.intervals_utc(at, at + Duration::seconds(1)).is_empty()
    }

    /// Total open time in `[from, to)`.
    pub fn open_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        self.intervals_utc(from, to)
            .into_iter()
            .map(|(s, e)| e - s)
            .fold(Duration::zero(), |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: &str) -> NaiveTime {
        parse_time(s).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn every_day(opens: &str, closes: &str) -> Vec<HoursInterval> {
        (0..7)
            .map(|d| HoursInterval {
                weekday: d,
                opens: t(opens),
                closes: t(closes),
            })
            .collect()
    }

    #[test]
    fn split_shift_in_london_summer() {
        // Tuesday 2026-07-07; London is UTC+1 in summer.
        let hours = BusinessHours::new(
            chrono_tz::Europe::London,
            vec![
                HoursInterval {
                    weekday: 1,
                    opens: t("11:30"),
                    closes: t("14:30"),
                },
                HoursInterval {
                    weekday: 1,
                    opens: t("18:00"),
                    closes: t("22:00"),
                },
            ],
        );
        let got = hours.intervals_utc(utc(2026, 7, 7, 0, 0), utc(2026, 7, 8, 0, 0));
        assert_eq!(
            got,
            vec![
                (utc(2026, 7, 7, 10, 30), utc(2026, 7, 7, 13, 30)),
                (utc(2026, 7, 7, 17, 0), utc(2026, 7, 7, 21, 0))
            ]
        );
        assert!(hours.is_open_at(utc(2026, 7, 7, 12, 0)));
        assert!(!hours.is_open_at(utc(2026, 7, 7, 15, 0)));
    }

    #[test]
    fn overnight_hours_run_into_the_next_day() {
        // Friday 18:00 to 02:00 in New York (UTC-4 in June).
        let hours = BusinessHours::new(
            chrono_tz::America::New_York,
            vec![HoursInterval {
                weekday: 4,
                opens: t("18:00"),
                closes: t("02:00"),
            }],
        );
        // Saturday 01:00 local = 05:00 UTC: still open from Friday.
        assert!(hours.is_open_at(utc(2026, 6, 6, 5, 0)));
        assert!(!hours.is_open_at(utc(2026, 6, 6, 6, 30)));
        assert_eq!(
            hours.open_duration(utc(2026, 6, 1, 0, 0), utc(2026, 6, 8, 0, 0)),
            Duration::hours(8)
        );
    }

    #[test]
    fn equal_open_and_close_is_a_full_day_and_no_hours_is_always_open() {
        let hours = BusinessHours::new(
            chrono_tz::UTC,
            vec![HoursInterval {
                weekday: 2,
                opens: t("00:00"),
                closes: t("00:00"),
            }],
        );
        assert_eq!(
            hours.open_duration(utc(2026, 6, 1, 0, 0), utc(2026, 6, 8, 0, 0)),
            Duration::hours(24)
        );
        let none = BusinessHours::new(chrono_tz::UTC, vec![]);
        assert_eq!(
            none.open_duration(utc(2026, 6, 1, 0, 0), utc(2026, 6, 2, 0, 0)),
            Duration::hours(24)
        );
    }

    #[test]
    fn spring_forward_day_is_an_hour_shorter() {
        // 2026-03-08 is the spring-forward Sunday in New York (02:00 -> 03:00).
        let hours = BusinessHours::new(chrono_tz::America::New_York, every_day("00:00", "00:00"));
        let day_start = local_to_utc(
            chrono_tz::America::New_York,
            NaiveDate::from_ymd_opt(2026, 3, 8)
                .unwrap()
                .and_time(t("00:00")),
        );
        let next = local_to_utc(
            chrono_tz::America::New_York,
            NaiveDate::from_ymd_opt(2026, 3, 9)
                .unwrap()
                .and_time(t("00:00")),
        );
        assert_eq!(next - day_start, Duration::hours(23));
        assert_eq!(hours.open_duration(day_start, next), Duration::hours(23));
        // 02:30 does not exist: it moves forward by the gap to 03:30 EDT = 07:30 UTC.
        let gap = local_to_utc(
            chrono_tz::America::New_York,
            NaiveDate::from_ymd_opt(2026, 3, 8)
                .unwrap()
                .and_time(t("02:30")),
        );
        assert_eq!(gap, utc(2026, 3, 8, 7, 30));
    }

    #[test]
    fn fall_back_day_is_an_hour_longer_and_repeated_times_take_the_first() {
        // 2026-11-01 is the fall-back Sunday in New York (02:00 -> 01:00).
        let first = local_to_utc(
            chrono_tz::America::New_York,
            NaiveDate::from_ymd_opt(2026, 11, 1)
                .unwrap()
                .and_time(t("01:30")),
        );
        assert_eq!(first, utc(2026, 11, 1, 5, 30));
        let hours = BusinessHours::new(
            chrono_tz::America::New_York,
            vec![HoursInterval {
                weekday: 6,
                opens: t("00:00"),
                closes: t("04:00"),
            }],
        );
        assert_eq!(
            hours.open_duration(utc(2026, 10, 31, 0, 0), utc(2026, 11, 3, 0, 0)),
            Duration::hours(5)
        );
    }

    #[test]
    fn parsing() {
        assert!(HoursInterval::parse(7, "09:00", "10:00").is_err());
        assert!(HoursInterval::parse(0, "25:00", "10:00").is_err());
        assert_eq!(
            HoursInterval::parse(0, "23:59:59", "10:00").unwrap().opens,
            t("23:59:59")
        );
        assert_eq!(
            HoursInterval::parse(0, "22:00", "02:00").unwrap().length(),
            Duration::hours(4)
        );
    }
}
