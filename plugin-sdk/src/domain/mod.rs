//! The domains of the reference policies: a hotel guest's stay, a loan
//! request, and money in US dollars.
//!
//! They are not part of what every plugin must know. The generic surface
//! of the SDK is [`Input`](crate::Input), [`Customer`](crate::Customer)'s
//! generic fields (`id`, `name`, `birth_date`, `language`, `products`,
//! `extra`), [`Decision`](crate::Decision), [`Params`](crate::Params),
//! [`Date`](crate::Date), [`Lang`](crate::Lang) and the
//! [`schema`](crate::schema). The types here are what the `stay` and
//! `loan_request` tables of a profile decode to (see
//! [`schema::STAY`](crate::schema::STAY) and
//! [`schema::LOAN_REQUEST`](crate::schema::LOAN_REQUEST)), and the money type
//! the hotel and lending policies compute with.
//!
//! Each table type is `#[non_exhaustive]`: the SDK can learn a new field
//! of a stay or a loan without breaking plugins. Build one with its
//! constructor and `with_*` setters, and read or assign its public fields.
//! The types are also re-exported at the crate root, as SDK 1.0 had them.

pub mod hotel;
pub mod lending;
pub mod money;
