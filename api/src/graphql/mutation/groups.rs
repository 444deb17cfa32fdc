use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::conversations::{self, Destination};
use crate::domain::groups::{self, Joining};
use crate::domain::news;
use crate::domain::values::DisplayName;
use crate::error::{ApiError, FieldResult};
use crate::graphql::enums::GroupVisibility;
use crate::graphql::types::client::Tool;
use crate::graphql::types::groups::{Conversation, Group, GroupReport, Message, NewsPost};
use crate::graphql::{ContextExt, parse_id, parse_ids};
use crate::ratelimit::Limited;

#[derive(InputObject)]
pub struct CreateGroupInput {
    pub name: String,
    #[graphql(default_with = "Some(GroupVisibility::Invisible)")]
    pub visibility: Option<GroupVisibility>,
}

#[derive(InputObject)]
pub struct SendMessageInput {
    /// Reply in an existing conversation, or start one with recipientIds, or message all
    /// counselors of groupId.
    pub conversation_id: Option<ID>,
    pub recipient_ids: Option<Vec<ID>>,
    pub group_id: Option<ID>,
    pub body: String,
}

/// The group after a change, as the viewer sees it now.
async fn group(ctx: &Context<'_>, id: uuid::Uuid) -> FieldResult<Group> {
    let viewer = ctx.viewer()?;
    Ok(Group::from(groups::find(ctx.app().db.conn(), viewer, id).await?))
}

#[derive(Default)]
pub struct GroupMutation;

#[Object]
impl GroupMutation {
    /// By a COUNSELOR_PLUS; INVISIBLE unless said otherwise.
    async fn create_group(&self, ctx: &Context<'_>, input: CreateGroupInput) -> FieldResult<Group> {
        let op = ctx.operation()?;
        let name = DisplayName::parse(&input.name).map_err(|e| e.at("input.name"))?;
        let visibility = input.visibility.unwrap_or(GroupVisibility::Invisible).into();
        let model = groups::create(&ctx.app().db, &op, name, visibility).await?;
        group(ctx, model.id).await
    }

    /// Takes effect on the next request.
    async fn set_group_visibility(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        visibility: GroupVisibility,
    ) -> FieldResult<Group> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let model = groups::set_visibility(&ctx.app().db, &op, group_id, visibility.into()).await?;
        group(ctx, model.id).await
    }

    /// CLIENT, GUARDIAN and EXTERNAL users of the organisation.
    async fn add_group_members(&self, ctx: &Context<'_>, group_id: ID, user_ids: Vec<ID>) -> FieldResult<Group> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let user_ids = parse_ids(&user_ids, "userIds")?;
        let model = groups::add(&ctx.app().db, &op, group_id, &user_ids, Joining::Members).await?;
        group(ctx, model.id).await
    }

    /// COUNSELOR and COUNSELOR_PLUS users of the organisation.
    async fn add_group_counselors(&self, ctx: &Context<'_>, group_id: ID, user_ids: Vec<ID>) -> FieldResult<Group> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let user_ids = parse_ids(&user_ids, "userIds")?;
        let model = groups::add(&ctx.app().db, &op, group_id, &user_ids, Joining::Counselors).await?;
        group(ctx, model.id).await
    }

    async fn remove_group_member(&self, ctx: &Context<'_>, group_id: ID, user_id: ID) -> FieldResult<Group> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let user_id = parse_id(&user_id, "userId")?;
        let model = groups::remove_member(&ctx.app().db, &op, group_id, user_id).await?;
        group(ctx, model.id).await
    }

    /// By a COUNSELOR_PLUS or ADMINISTRATOR of the organisation: the counselor's group CASELOAD
    /// ends at once.
    async fn remove_group_counselor(&self, ctx: &Context<'_>, group_id: ID, user_id: ID) -> FieldResult<Group> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let user_id = parse_id(&user_id, "userId")?;
        let model = groups::remove_counselor(&ctx.app().db, &op, group_id, user_id).await?;
        group(ctx, model.id).await
    }

    /// By the group's counselors.
    async fn write_group_report(&self, ctx: &Context<'_>, group_id: ID, body: String) -> FieldResult<GroupReport> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let body = groups::parse_report(&body).map_err(|e| e.at("body"))?;
        Ok(GroupReport(groups::write_report(&ctx.app().db, &op, group_id, body).await?))
    }

    /// By the group's counselors and a COUNSELOR_PLUS of the organisation: one tool for every
    /// CLIENT member, owned by them, each told (TOOL_ASSIGNED); nothing they read names the
    /// group. `counselorId` (a counselor of the group) is the tools' counselor; by default the
    /// viewer, when they counsel the group.
    async fn assign_group_tool(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        name: String,
        content: String,
        counselor_id: Option<ID>,
    ) -> FieldResult<Vec<Tool>> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let counselor_id = counselor_id.as_ref().map(|id| parse_id(id, "counselorId")).transpose()?;
        let new = super::care::parse_tool(&name, &content, "")?;
        let (tools, access) = groups::assign_tool(&ctx.app().db, &op, group_id, counselor_id, new).await?;
        Ok(tools
            .into_iter()
            .map(|model| {
                let owner_access = access.get(&model.owner_id).map(|found| found.access.clone()).unwrap_or_default();
                Tool { model, owner_access }
            })
            .collect())
    }

    /// By the group's counselors and a COUNSELOR_PLUS of the organisation, in every visibility
    /// mode; every member is told (NEWS_POSTED).
    async fn post_group_news(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        title: String,
        body: String,
    ) -> FieldResult<NewsPost> {
        let op = ctx.operation()?;
        let group_id = parse_id(&group_id, "groupId")?;
        let title = DisplayName::parse(&title).map_err(|e| e.at("title"))?;
        let body = news::parse_body(&body).map_err(|e| e.at("body"))?;
        let model = news::post(&ctx.app().db, &op, group_id, news::NewPost { title, body }).await?;
        let group = groups::find(ctx.app().db.conn(), op.viewer, model.group_id).await?;
        Ok(NewsPost { model, group: Some(group) })
    }

    async fn send_message(&self, ctx: &Context<'_>, input: SendMessageInput) -> FieldResult<Message> {
        let op = ctx.operation()?;
        let body = conversations::parse_body(&input.body).map_err(|e| e.at("input.body"))?;
        let destination = match (&input.conversation_id, &input.recipient_ids, &input.group_id) {
            (Some(id), None, None) => Destination::Conversation(parse_id(id, "input.conversationId")?),
            (None, Some(ids), None) => Destination::People(parse_ids(ids, "input.recipientIds")?),
            (None, None, Some(id)) => Destination::Group(parse_id(id, "input.groupId")?),
            _ => {
                return Err(ApiError::bad_input(
                    "input",
                    "give exactly one of conversationId, recipientIds and groupId",
                )
                .into());
            }
        };
        ctx.rate_limit(Limited::SendMessage).await?;
        let (model, conversation) = conversations::send(&ctx.app().db, &op, destination, body).await?;
        Ok(Message { model, conversation })
    }

    /// By a client: brings their relative into a conversation they take part in.
    async fn add_to_conversation(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        user_id: ID,
    ) -> FieldResult<Conversation> {
        let op = ctx.operation()?;
        let conversation_id = parse_id(&conversation_id, "conversationId")?;
        let user_id = parse_id(&user_id, "userId")?;
        Ok(Conversation(conversations::add_relative(&ctx.app().db, &op, conversation_id, user_id).await?))
    }
}
