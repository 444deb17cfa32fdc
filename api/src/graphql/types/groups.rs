//! Care groups, their reports, conversations and messages.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use inzage_entity::{conversation, group_report, message, news_post};
use uuid::Uuid;

use super::accounts::User;
use crate::domain::groups::{self, VisibleGroup};
use crate::domain::{conversations, news};
use crate::error::{ApiError, FieldResult};
use crate::graphql::enums::GroupVisibility;
use crate::graphql::pagination::{connection, cursor, page_size};
use crate::graphql::{ContextExt, prefetch};
use crate::policy::groups::{self as rules, MembersScope};

/// A care group the viewer may see: counselors linked to many members at once.
pub struct Group {
    pub group: VisibleGroup,
}

impl From<VisibleGroup> for Group {
    fn from(group: VisibleGroup) -> Self {
        Self { group }
    }
}

/// `groups` with the people the current field's selection asks for loaded for all of them at
/// once (see [`prefetch::group_people`]).
pub async fn with_people(ctx: &Context<'_>, groups: Vec<VisibleGroup>) -> FieldResult<Vec<Group>> {
    let ids: Vec<Uuid> = groups.iter().map(|g| g.model.id).collect();
    prefetch::group_people(ctx, &ids, &[ctx.look_ahead()]).await?;
    Ok(groups.into_iter().map(Group::from).collect())
}

#[Object]
impl Group {
    async fn id(&self) -> ID {
        ID(self.group.model.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.group.model.name
    }

    async fn visibility(&self) -> GroupVisibility {
        self.group.model.visibility.into()
    }

    async fn counselors(&self, ctx: &Context<'_>) -> FieldResult<Vec<User>> {
        let counselors = ctx.loaders().group_counselors.load_one(self.group.model.id).await?.unwrap_or_default();
        Ok(counselors.into_iter().map(User).collect())
    }

    /// Members visible to the viewer: all for counselors and in MUTUAL groups, only the viewer in
    /// CLIENT_VISIBLE groups.
    async fn members(&self, ctx: &Context<'_>) -> FieldResult<Vec<User>> {
        let viewer = ctx.viewer()?;
        let scope = rules::members_scope(viewer.roles, self.group.relation, self.group.model.visibility);
        if scope == MembersScope::None {
            return Ok(Vec::new());
        }
        let members = ctx.loaders().group_members.load_one(self.group.model.id).await?.unwrap_or_default();
        Ok(members.into_iter().filter(|m| scope == MembersScope::All || m.id == viewer.user_id).map(User).collect())
    }

    /// Counselors only; FORBIDDEN for others.
    async fn reports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Option<Connection<String, GroupReport>>> {
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        rules::group_reports(self.group.relation).check()?;
        let rows = groups::reports_page(ctx.app().db.conn(), self.group.model.id, after, limit).await?;
        let rows = rows.into_iter().map(GroupReport).collect();
        Ok(Some(connection(rows, limit, after, |r: &GroupReport| r.0.id)))
    }

    /// News posted in this group, newest first.
    async fn news(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, NewsPost>> {
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let rows = news::of_group(ctx.app().db.conn(), self.group.model.id, after, limit).await?;
        let rows = rows.into_iter().map(|model| NewsPost { model, group: Some(self.group.clone()) }).collect();
        Ok(connection(rows, limit, after, |post: &NewsPost| post.model.id))
    }
}

/// News posted in a group.
pub struct NewsPost {
    pub model: news_post::Model,
    /// The group, where the viewer may see it.
    pub group: Option<VisibleGroup>,
}

#[Object]
impl NewsPost {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn title(&self) -> &str {
        &self.model.title
    }

    async fn body(&self) -> &str {
        &self.model.body
    }

    async fn author(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let author = ctx.loaders().users.load_one(self.model.author_id).await?;
        Ok(User(author.ok_or_else(|| ApiError::internal("news without author"))?))
    }

    async fn posted_at(&self) -> DateTime<Utc> {
        self.model.posted_at
    }

    /// The group it was posted in, where the viewer may see that group; null for members of an
    /// INVISIBLE group.
    async fn group(&self) -> Option<Group> {
        self.group.clone().map(Group::from)
    }
}

/// A report on a group, by one of its counselors.
pub struct GroupReport(pub group_report::Model);

#[Object]
impl GroupReport {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn author(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let user = ctx.loaders().users.load_one(self.0.author_id).await?;
        Ok(User(user.ok_or_else(|| ApiError::internal("report without author"))?))
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A conversation the viewer takes part in.
pub struct Conversation(pub conversation::Model);

#[Object]
impl Conversation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn participants(&self, ctx: &Context<'_>) -> FieldResult<Vec<User>> {
        let ids: Vec<uuid::Uuid> =
            conversations::taking_part(ctx.app().db.conn(), &[self.0.id]).await?.remove(&self.0.id).unwrap_or_default();
        let mut found = ctx.loaders().users.load_many(ids.iter().copied()).await?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).map(User).collect())
    }

    /// The group whose counselors a group message went to, when the viewer may see it.
    async fn group(&self, ctx: &Context<'_>) -> FieldResult<Option<Group>> {
        let Some(id) = self.0.group_id else { return Ok(None) };
        let viewer = ctx.viewer()?;
        Ok(groups::find(ctx.app().db.conn(), viewer, id).await.ok().map(Group::from))
    }

    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, Message>> {
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let rows = conversations::messages_page(ctx.app().db.conn(), self.0.id, after, limit).await?;
        let rows = rows.into_iter().map(Message::from).collect();
        Ok(connection(rows, limit, after, |m: &Message| m.model.id))
    }
}

/// A message in a conversation the viewer takes part in.
pub struct Message {
    pub model: message::Model,
    /// Its conversation, when whoever made this value already read it and found that the viewer
    /// takes part in it (the sender of a new message); otherwise it is looked up.
    pub conversation: Option<conversation::Model>,
}

impl From<message::Model> for Message {
    fn from(model: message::Model) -> Self {
        Self { model, conversation: None }
    }
}

#[Object]
impl Message {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn sender(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let user = ctx.loaders().users.load_one(self.model.sender_id).await?;
        Ok(User(user.ok_or_else(|| ApiError::internal("message without sender"))?))
    }

    async fn body(&self) -> &str {
        &self.model.body
    }

    async fn sent_at(&self) -> DateTime<Utc> {
        self.model.sent_at
    }

    async fn conversation(&self, ctx: &Context<'_>) -> FieldResult<Conversation> {
        if let Some(conversation) = &self.conversation {
            return Ok(Conversation(conversation.clone()));
        }
        let viewer = ctx.viewer()?;
        Ok(Conversation(conversations::find(ctx.app().db.conn(), viewer, self.model.conversation_id).await?))
    }
}
