//! Local emulators of the third-party services courier's bundled collections talk to.
//!
//! They let a collection (and courier's own test suite) exercise a real
//! network round trip without live credentials or internet access. Each
//! emulator owns only its HTTP surface and its in-memory state; wiring it to
//! the command line (`courier mock ...`) belongs to the CLI layer.

pub mod zoom;
