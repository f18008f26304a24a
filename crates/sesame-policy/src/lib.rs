//! `sesame-policy`: the rules of sending as pure functions over plain values — which identity
//! covers an address (spec D, DECISIONS ), whether a sandboxed account may send to a
//! recipient, what the mailbox simulator does with an address (E-79..E-86,
//! Q-125), which mailbox provider a domain belongs to (Q-134, for complaint attribution Q-159),
//! the exact rejection texts SES users parse, and whether feedback is forwarded by email
//! . No I/O, no clock, no store:
//! callers look identities up and pass the results in.

pub mod forwarding;
pub mod identity;
pub mod isp;
pub mod reputation;
pub mod sandbox;
pub mod simulator;
