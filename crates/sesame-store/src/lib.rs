//! sesame-store (being built).
