//! Input values parsed into domain types at the edge, so that invalid input cannot reach an
//! operation ("parse, don't validate"). Each parser says what is wrong in words a person can
//! act on; the caller adds which field it was.

use chrono::NaiveDate;
use email_address::EmailAddress;

use crate::policy::RoleSet;
use inzage_entity::Role;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    /// The `BAD_USER_INPUT` error for this value at `field`.
    pub fn at(self, field: &str) -> crate::error::ApiError {
        crate::error::ApiError::bad_input(field, self.0)
    }
}

fn invalid<T>(message: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(message.into()))
}

/// A person's or thing's name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return invalid("must not be empty");
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return invalid(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        if trimmed.chars().any(char::is_control) {
            return invalid("must not contain control characters");
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An e-mail address, trimmed and lower-cased (addresses are compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let normalised = raw.trim().to_lowercase();
        if normalised.len() > Self::MAX_CHARS {
            return invalid(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        // Bare addresses only: no display names ("Ann <ann@x.nl>"), and a dot in the domain.
        let valid = EmailAddress::is_valid(&normalised)
            && !normalised.contains(['<', '>', ' '])
            && normalised.rsplit_once('@').is_some_and(|(_, domain)| domain.contains('.'));
        if !valid {
            return invalid("is not a valid e-mail address");
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// At least one role.
pub fn parse_roles(roles: impl IntoIterator<Item = Role>) -> Result<RoleSet, Invalid> {
    let set: RoleSet = roles.into_iter().collect();
    if set.is_empty() {
        return invalid("must hold at least one role");
    }
    Ok(set)
}

/// A phone number: digits with optional `+`, spaces, dashes, dots and parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        let allowed = trimmed.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
        if !allowed || !(6..=20).contains(&digits) || trimmed.len() > 50 {
            return invalid("is not a valid phone number");
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// `text` cut to at most `max` characters, ending in `…` when it was longer: titles and subjects
/// built from people's names must fit their columns whatever the names are.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// Refuses control characters in free text other than line breaks and tabs: NUL cannot be
/// stored in PostgreSQL text, and the others have no place in what people write.
/// Free text as written: not blank, at most `max_chars` characters, no control characters
/// (see [`check_free_text`]).
pub fn free_text(raw: &str, max_chars: usize) -> Result<String, Invalid> {
    if raw.trim().is_empty() {
        return Err(Invalid("must not be empty".into()));
    }
    if raw.chars().count() > max_chars {
        return Err(Invalid(format!("must be at most {max_chars} characters")));
    }
    check_free_text(raw)?;
    Ok(raw.to_owned())
}

/// Free text trimmed, of `min_chars` to `max_chars` characters.
pub fn trimmed_text(raw: &str, min_chars: usize, max_chars: usize) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    let count = trimmed.chars().count();
    if count == 0 {
        return Err(Invalid("must not be empty".into()));
    }
    if count < min_chars {
        return Err(Invalid(format!("must be at least {min_chars} characters")));
    }
    if count > max_chars {
        return Err(Invalid(format!("must be at most {max_chars} characters")));
    }
    check_free_text(trimmed)?;
    Ok(trimmed.to_owned())
}

pub fn check_free_text(text: &str) -> Result<(), Invalid> {
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return invalid("must not contain control characters other than line breaks and tabs");
    }
    Ok(())
}

/// A postal address: trimmed, 1 to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(String);

impl Address {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return invalid("must not be empty when given");
        }
        if trimmed.chars().count() > 500 {
            return invalid("must be at most 500 characters");
        }
        check_free_text(trimmed)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A birth date as `YYYY-MM-DD`, not after `today`.
pub fn parse_birth_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let date =
        NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").or_else(|_| invalid("must be a date as YYYY-MM-DD"))?;
    if date > today {
        return invalid("must not be in the future");
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_is_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ann  ").map(DisplayName::into_inner), Ok("Ann".to_owned()));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
        assert!(DisplayName::parse(&"é".repeat(200)).is_ok());
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(Email::parse(" Ann@Example.NL ").map(Email::into_inner), Ok("ann@example.nl".to_owned()));
        for bad in ["", "ann", "ann@", "@example.nl", "ann@localhost", "Ann <ann@example.nl>", "a b@example.nl"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_must_not_be_empty() {
        assert!(parse_roles([]).is_err());
        assert_eq!(parse_roles([Role::Client, Role::Client]).map(|set| set.len()), Ok(1));
    }

    #[test]
    fn phone_address_and_birth_date() {
        assert!(Phone::parse("+31 (0)20-123 4567").is_ok());
        assert!(Phone::parse("call me").is_err());
        assert!(Phone::parse("12").is_err());
        assert!(Address::parse("  ").is_err());
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert!(parse_birth_date("2000-02-29", today).is_ok());
        assert!(parse_birth_date("2001-02-29", today).is_err());
        assert!(parse_birth_date("2030-01-01", today).is_err());
    }
}
