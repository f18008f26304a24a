//! sesame-template (being built).
