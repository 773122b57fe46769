//! Age bands: a list parameter whose items each cover a range of ages, such
//! as a rate card's surcharge bands or a product ladder's rungs.
//!
//! The rules are the same wherever such a list appears: the bands follow
//! each other in age order with no gap and no overlap, each ends at or
//! after it starts, and only the last one is open-ended (it has no
//! `max_age`), so every age from the first band up falls in exactly one.
//! [`AgeBands`] checks them inside [`Params::validate`](crate::Params::validate),
//! naming the path of the value at fault.
//!
//! ```
//! use verdict_sdk::{AgeBand, AgeBands, ParamError};
//!
//! struct Band { min_age: u32, max_age: Option<u32> }
//!
//! impl AgeBand for Band {
//!     fn min_age(&self) -> u32 { self.min_age }
//!     fn max_age(&self) -> Option<u32> { self.max_age }
//! }
//!
//! let bands = [Band { min_age: 18, max_age: Some(30) }, Band { min_age: 30, max_age: None }];
//! let rules = AgeBands::new("bands", "band").starting_at("min_age", 18);
//! let mut problems = Vec::new();
//! rules.check(&bands, &mut problems);
//! assert_eq!(problems, [ParamError::new(
//!     "bands[1].min_age",
//!     "overlaps after the band ending at 30: must be 31, not 30",
//! )]);
//! assert!(bands[1].contains(99));
//! ```

use crate::ParamError;

/// An item of a list parameter that covers a range of ages: from
/// `min_age`, to `max_age` included, or open-ended.
pub trait AgeBand {
    /// The first age of the band.
    fn min_age(&self) -> u32;

    /// The last age of the band; `None` for the open-ended last band.
    fn max_age(&self) -> Option<u32>;

    /// Whether `age` falls in the band.
    fn contains(&self, age: u32) -> bool {
        self.min_age() <= age && self.max_age().is_none_or(|max| age <= max)
    }
}

/// The rules of one list parameter of [`AgeBand`]s, and the words its
/// problems use: the list's name (the start of every path) and what one
/// item is called (`band`, `rung`). The items' fields are `min_age` and
/// `max_age`.
#[derive(Debug, Clone, Copy)]
pub struct AgeBands<'a> {
    list: &'a str,
    noun: &'a str,
    first: Option<(&'a str, u32)>,
}

impl<'a> AgeBands<'a> {
    /// The rules of the list parameter `list`, whose items are called
    /// `noun` in messages.
    #[must_use]
    pub const fn new(list: &'a str, noun: &'a str) -> AgeBands<'a> {
        AgeBands {
            list,
            noun,
            first: None,
        }
    }

    /// Also requires the first band to start at `age`, the value of the
    /// parameter `param` (such as the youngest age served).
    #[must_use]
    pub const fn starting_at(self, param: &'a str, age: u32) -> AgeBands<'a> {
        AgeBands {
            first: Some((param, age)),
            ..self
        }
    }

    /// The path of `field` of the item at `index`: `list[index].field`.
    #[must_use]
    pub fn at(&self, index: usize, field: &str) -> String {
        format!("{}[{index}].{field}", self.list)
    }

    /// The problem of a list with no band at all, which covers no age.
    pub fn check_not_empty<B>(&self, bands: &[B]) -> Result<(), ParamError> {
        if bands.is_empty() {
            return Err(ParamError::new(
                self.list,
                format!("needs at least one {}", self.noun),
            ));
        }
        Ok(())
    }

    /// Checks the whole list: that it is not empty, then each band with
    /// [`AgeBands::check_band`].
    pub fn check<B: AgeBand>(&self, bands: &[B], problems: &mut Vec<ParamError>) {
        if let Err(problem) = self.check_not_empty(bands) {
            problems.push(problem);
            return;
        }
        for index in 0..bands.len() {
            self.check_band(bands, index, problems);
        }
    }

    /// Checks the band at `index` against its neighbours: where it starts
    /// (at the start required of the first band, the year after the band
    /// before ends), then where it ends (not before it starts; open-ended
    /// exactly when it is the last). A policy whose items have more fields
    /// checks those before or after calling this for each index, in the
    /// order its problems should be listed.
    pub fn check_band<B: AgeBand>(
        &self,
        bands: &[B],
        index: usize,
        problems: &mut Vec<ParamError>,
    ) {
        let Some(band) = bands.get(index) else {
            return;
        };
        let noun = self.noun;
        let min_age = band.min_age();
        match index.checked_sub(1).and_then(|before| bands.get(before)) {
            None => {
                if let Some((param, first)) = self.first.filter(|(_, first)| min_age != *first) {
                    problems.push(ParamError::new(
                        self.at(index, "min_age"),
                        format!("the first {noun} must start at {param} ({first}), not {min_age}"),
                    ));
                }
            }
            Some(previous) => {
                if let Some(end) = previous.max_age() {
                    let expected = end.saturating_add(1);
                    if min_age != expected {
                        let how = if min_age > expected {
                            "leaves a gap"
                        } else {
                            "overlaps"
                        };
                        problems.push(ParamError::new(
                            self.at(index, "min_age"),
                            format!(
                                "{how} after the {noun} ending at {end}: must be {expected}, \
                                 not {min_age}"
                            ),
                        ));
                    }
                }
            }
        }
        let last = index + 1 == bands.len();
        let problem = match band.max_age() {
            Some(max) if max < min_age => {
                format!("must be at least min_age ({min_age}), not {max}")
            }
            Some(_) if last => format!("the last {noun} must be open-ended: remove max_age"),
            None if !last => format!("only the last {noun} may be open-ended: set max_age"),
            _ => return,
        };
        problems.push(ParamError::new(self.at(index, "max_age"), problem));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Band(u32, Option<u32>);

    impl AgeBand for Band {
        fn min_age(&self) -> u32 {
            self.0
        }
        fn max_age(&self) -> Option<u32> {
            self.1
        }
    }

    fn problems(rules: AgeBands<'_>, bands: &[Band]) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        rules.check(bands, &mut problems);
        problems.into_iter().map(|p| (p.path, p.message)).collect()
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let pairs = expected.iter();
        pairs
            .map(|(path, message)| ((*path).to_owned(), (*message).to_owned()))
            .collect()
    }

    #[test]
    fn contiguous_bands_ending_open_are_fine() {
        let rules = AgeBands::new("bands", "band").starting_at("min_age", 18);
        let bands = [Band(18, Some(24)), Band(25, Some(64)), Band(65, None)];
        assert_eq!(problems(rules, &bands), []);
        assert!(bands[0].contains(18) && bands[0].contains(24) && !bands[0].contains(25));
        assert!(bands[2].contains(u32::MAX));
    }

    #[test]
    fn every_rule_names_the_value_at_fault() {
        let rules = AgeBands::new("rungs", "rung");
        assert_eq!(
            problems(rules, &[]),
            owned(&[("rungs", "needs at least one rung")])
        );
        let bands = [
            Band(5, Some(10)),
            Band(12, Some(11)),
            Band(11, None),
            Band(20, Some(30)),
        ];
        assert_eq!(
            problems(rules, &bands),
            owned(&[
                (
                    "rungs[1].min_age",
                    "leaves a gap after the rung ending at 10: must be 11, not 12"
                ),
                ("rungs[1].max_age", "must be at least min_age (12), not 11"),
                (
                    "rungs[2].min_age",
                    "overlaps after the rung ending at 11: must be 12, not 11"
                ),
                (
                    "rungs[2].max_age",
                    "only the last rung may be open-ended: set max_age"
                ),
                (
                    "rungs[3].max_age",
                    "the last rung must be open-ended: remove max_age"
                ),
            ])
        );
        let rules = rules.starting_at("min_age", 18);
        assert_eq!(
            problems(rules, &[Band(16, None)]),
            owned(&[(
                "rungs[0].min_age",
                "the first rung must start at min_age (18), not 16"
            )])
        );
    }
}
