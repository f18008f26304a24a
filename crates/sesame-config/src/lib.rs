//! sesame-config (being built).
