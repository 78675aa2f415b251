//! twofold-client (being written).
