//! The terminal cockpit. Filled by the cockpit issue.
