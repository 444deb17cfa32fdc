//! Relay connections: `first` / `after` arguments and building a page.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The page size when `first` is `null`.
pub const DEFAULT_PAGE_SIZE: i32 = 50;

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 200;

/// Checks `first` (1 to [`MAX_PAGE_SIZE`]); an explicit `null` means the page size
/// [`DEFAULT_PAGE_SIZE`].
pub fn page_size(first: Option<i32>) -> ApiResult<u64> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if (1..=MAX_PAGE_SIZE).contains(&first) {
        Ok(first as u64)
    } else {
        Err(ApiError::bad_input("first", format!("must be between 1 and {MAX_PAGE_SIZE}")))
    }
}

/// Parses an `after` cursor (the id of the last row of the previous page).
pub fn cursor(after: Option<&str>) -> ApiResult<Option<Uuid>> {
    after.map(|raw| Uuid::parse_str(raw).map_err(|_| ApiError::bad_input("after", "is not a valid cursor"))).transpose()
}

/// A page from `rows`, which holds up to `limit + 1` rows in order (the extra one only tells
/// that there is a next page).
pub fn connection<T: OutputType>(
    mut rows: Vec<T>,
    limit: u64,
    after: Option<Uuid>,
    id_of: impl Fn(&T) -> Uuid,
) -> Connection<String, T> {
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let mut page = Connection::new(after.is_some(), has_next);
    page.edges.extend(rows.into_iter().map(|row| Edge::new(id_of(&row).to_string(), row)));
    page
}
