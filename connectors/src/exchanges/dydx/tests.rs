//! Table tests of the dYdX connector with the documented example frames.
