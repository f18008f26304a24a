//! sesame-engine (being built).
