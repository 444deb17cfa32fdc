//! The access log's monthly partitions on PostgreSQL: their names and bounds, shared by the
//! migration that makes the table partitioned and by the service, which makes months ahead.

use chrono::{Datelike, NaiveDate};

/// The name of the partition holding the month that starts on `month`.
pub fn partition_name(month: NaiveDate) -> String {
    format!("audit_event_y{:04}m{:02}", month.year(), month.month())
}

/// The first day of the month after `month`.
pub fn next_month(month: NaiveDate) -> NaiveDate {
    let (year, month) = if month.month() == 12 { (month.year() + 1, 1) } else { (month.year(), month.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MAX)
}

/// `CREATE TABLE IF NOT EXISTS` of the partition for the month starting on `month`.
pub fn create_partition(month: NaiveDate) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF audit_event FOR VALUES FROM ('{month} 00:00:00+00') TO ('{} 00:00:00+00')",
        partition_name(month),
        next_month(month)
    )
}
