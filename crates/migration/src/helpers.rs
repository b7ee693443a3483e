//! Small builders every migration uses, so the schema files read as the schema.

use sea_orm_migration::prelude::*;

/// A foreign key from `(table, column)` to `to.id` that deletes the row with its parent.
pub fn fk(from: (&'static str, &'static str), to: &'static str) -> ForeignKeyCreateStatement {
    fk_on_delete(from, to, ForeignKeyAction::Cascade)
}

/// A foreign key from `(table, column)` to `to.id` with the given delete action.
pub fn fk_on_delete(
    from: (&'static str, &'static str),
    to: &'static str,
    action: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to, "id")
        .on_delete(action)
        .to_owned()
}

/// An index named `idx_<table>_<columns>`.
pub fn index(table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(format!("idx_{}_{}", table, cols.join("_")))
        .table(table);
    for col in cols {
        stmt.col(*col);
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}
