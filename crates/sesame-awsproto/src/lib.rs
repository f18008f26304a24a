//! sesame-awsproto (being built).
