//! Table tests of the Bitfinex connector with the documented example frames.
