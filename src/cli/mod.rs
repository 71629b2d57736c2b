//! Command line: arguments to a validated configuration, and the commands.
