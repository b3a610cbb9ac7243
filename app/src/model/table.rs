//! The one layout of a pair's results wherever they are laid out: the app's table and its
//! exports, the ZIP's TSVs, the Arrow stream.

use super::session::ColumnKind;

/// The columns every result starts with, in this order wherever results are laid out: the
/// app's table and its exports, the ZIP's TSVs, the Arrow stream (after `query` and
/// `database`). The metadata columns follow. `has_metadata` is false for a sample the MetaDB
/// has no row for (its metadata are then all empty).
pub const HIT_COLUMNS: [(&str, ColumnKind); 7] = [
    ("ID", ColumnKind::Text),
    ("index", ColumnKind::Text),
    ("CovXK", ColumnKind::Float),
    ("CovXB", ColumnKind::Float),
    ("CovYK", ColumnKind::Float),
    ("CovYB", ColumnKind::Float),
    ("has_metadata", ColumnKind::Boolean),
];
pub const ID: usize = 0;
pub const INDEX: usize = 1;
pub const HAS_METADATA: usize = 6;
/// CovYK and CovYB: missing by nature for presence/absence indexes.
pub const ABUNDANCE_ONLY: [usize; 2] = [4, 5];
