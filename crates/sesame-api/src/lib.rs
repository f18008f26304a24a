//! sesame-api (being built).
