//! sesame-sigv4 (being built).
