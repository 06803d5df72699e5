//! Table tests of the HTX connectors with the documented example frames.
