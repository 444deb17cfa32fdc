//! The GraphQL schema: thin resolvers that parse input, call `domain/`, and ask `policy/`.
//! Types here are the contract (`schema.graphql`); entities stay storage.

pub mod completion;
mod context;
pub mod enums;
pub mod guard;
pub mod limits;
mod loaders;
mod mutation;
pub mod pagination;
pub mod prefetch;
mod query;
pub mod subscription;
pub mod types;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

pub use limits::{CheckedSchema, QueryLimits};
pub use subscription::{LiveConnection, SubscriptionRoot};

pub use context::{AppData, ContextExt, RequestData, parse_id, parse_ids};
pub use loaders::{Keep, LazyLoaders, LiveLoaders, Loaders};

/// The root query type.
#[derive(MergedObject, Default)]
pub struct Query(
    query::accounts::AccountQuery,
    query::clients::ClientQuery,
    query::groups::GroupQuery,
    query::trajectories::TrajectoryQuery,
    query::workflows::WorkflowQuery,
);

/// The root mutation type.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::accounts::AccountMutation,
    mutation::care::CareMutation,
    mutation::groups::GroupMutation,
    mutation::notifications::NotificationMutation,
    mutation::registrations::RegistrationMutation,
    mutation::teams::TeamMutation,
    mutation::trajectories::TrajectoryMutation,
    mutation::workflows::WorkflowMutation,
);

/// The executable schema.
pub type InzageSchema = Schema<Query, Mutation, SubscriptionRoot>;

fn builder() -> SchemaBuilder<Query, Mutation, SubscriptionRoot> {
    Schema::build(Query::default(), Mutation::default(), SubscriptionRoot)
}

/// The schema the server runs, with its shared data.
///
/// It has no extensions: with any, async-graphql sends every field of every response through
/// the extension chain. The shape limits are checked before a document reaches the schema
/// (`http/` for HTTP, [`CheckedSchema`] for WebSockets), and operations are counted there.
pub fn build_schema(app: AppData, limits: QueryLimits, field_suggestions: bool) -> InzageSchema {
    let mut builder = builder().data(app);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if !field_suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The schema in SDL, as `inzage export-schema` writes it to `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
