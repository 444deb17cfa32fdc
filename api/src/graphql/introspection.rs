//! Refusing introspection outright when it is turned off.
//!
//! async-graphql's `disable_introspection` answers `__schema` with `null`, which looks like an
//! empty schema to a client. This extension refuses such a query with an error instead, before
//! anything runs.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// Installs the refusal.
pub struct RefuseIntrospection;

impl ExtensionFactory for RefuseIntrospection {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RefuseIntrospectionExtension)
    }
}

struct RefuseIntrospectionExtension;

#[async_trait::async_trait]
impl Extension for RefuseIntrospectionExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let introspects = document
            .operations
            .iter()
            .any(|(_, operation)| selects_introspection(&document, &operation.node.selection_set.node, 0));
        if introspects {
            return Err(ServerError::new("introspection is turned off on this server", None));
        }
        Ok(document)
    }
}

/// Whether a root selection set asks for `__schema` or `__type`, directly or through fragments.
fn selects_introspection(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
    if depth > 32 {
        return false; // fragment cycles are refused by validation anyway
    }
    set.items.iter().any(|selection| match &selection.node {
        Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(fragment) => {
            selects_introspection(document, &fragment.node.selection_set.node, depth + 1)
        }
        Selection::FragmentSpread(spread) => document
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|fragment| selects_introspection(document, &fragment.node.selection_set.node, depth + 1)),
    })
}
