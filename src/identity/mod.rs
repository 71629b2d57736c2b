//! Microsoft sign-in knowledge: which endpoint an exchange is, what its page and
//! messages say, which sign-in flow it belongs to, and how its MFA went.

pub mod catalogue;
pub mod config;
pub mod jwt;
pub mod messages;
