//! Table tests of the Hyperliquid connector with the documented example frames.
