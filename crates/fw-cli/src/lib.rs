//! What every filewire app shares: exit codes, progress bars on a terminal, output conventions.
