//! Billing. `rules` holds the arithmetic every invoice line goes through — periods,
//! proration by days, rounding half to even once per line, inclusive and exclusive tax —
//! as pure functions over integer minor units, so that each rule is tested to the minor
//! unit on its own.

pub mod rules;
