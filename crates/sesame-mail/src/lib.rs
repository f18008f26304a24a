//! sesame-mail (being built).
