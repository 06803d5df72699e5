//! Table tests of the Lighter connector with the documented example frames.
