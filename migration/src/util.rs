//! Small builders the migrations share.

use sea_orm_migration::prelude::*;

/// An index `name` on `table` over `columns`.
pub fn index(name: &str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(*column);
    }
    statement.to_owned()
}

/// A foreign key from `table.column` to `target.id`.
pub fn fk(table: &'static str, column: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(target, "id").to_owned()
}
