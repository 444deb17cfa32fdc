//! News groups: a group's counselors (and a COUNSELOR_PLUS of the organisation) post news to
//! it, in every visibility mode; every member reads it, newest first, and is told live
//! (NEWS_POSTED). A member of an INVISIBLE group reads the news without learning of the group:
//! neither the post as they see it nor their notification names it.

use std::collections::HashMap;

use inzage_entity::{AuditAction, GroupVisibility, NotificationKind, group_member, news_post};
use sea_orm::sea_query::Query;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use sea_orm::{QueryOrder, QuerySelect};
use uuid::Uuid;

use super::Operation;
use super::groups::{self, VisibleGroup};
use super::notifications::{self, Links};
use super::values::{DisplayName, Invalid};
use crate::access::holds;
use crate::audit::AuditEntry;
use crate::auth::Viewer;
use crate::db::Database;
use crate::error::ApiResult;
use crate::policy::Link;
use crate::policy::groups as rules;

/// A news post, parsed: a title (see [`DisplayName`]) and a body of at most 20,000 characters.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub title: DisplayName,
    pub body: String,
}

/// A post's body: not blank, at most 20,000 characters.
pub fn parse_body(raw: &str) -> Result<String, Invalid> {
    super::values::free_text(raw, 20_000)
}

/// Posts news to a group; every member who still holds a member's role is told.
pub async fn post(db: &Database, op: &Operation<'_>, group_id: Uuid, new: NewPost) -> ApiResult<news_post::Model> {
    let txn = db.begin_write().await?;
    let group = groups::find(&*txn, op.viewer, group_id).await?;
    rules::address_group(op.viewer.roles, group.relation).check()?;
    let title = new.title.into_inner();
    let model = news_post::ActiveModel {
        id: Set(Uuid::now_v7()),
        group_id: Set(group.model.id),
        author_id: Set(op.viewer.user_id),
        title: Set(title.clone()),
        body: Set(new.body),
        posted_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    let entry = AuditEntry { client_id: None, ..AuditEntry::success(Uuid::nil(), AuditAction::Create, "NewsPost") };
    op.log(&*txn, entry.on(model.id)).await?;
    let members: Vec<Uuid> = group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(group.model.id))
        .filter(holds(group_member::Column::UserId, Link::GroupMember))
        .select_only()
        .column(group_member::Column::UserId)
        .into_tuple()
        .all(&*txn)
        .await?;
    let heading = match group.model.visibility {
        GroupVisibility::Invisible => format!("News: {title}"),
        _ => format!("News in {}: {title}", group.model.name),
    };
    notifications::notify(&txn, members, NotificationKind::NewsPosted, &heading, Links::default(), op.now);
    txn.commit().await?;
    Ok(model)
}

/// One page of a group's news, newest first, before the post `after`; at most `limit + 1`.
pub async fn of_group(
    db: &impl ConnectionTrait,
    group_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<news_post::Model>, DbErr> {
    let mut query = news_post::Entity::find()
        .filter(news_post::Column::GroupId.eq(group_id))
        .order_by_desc(news_post::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(news_post::Column::Id.lt(after));
    }
    query.all(db).await
}

/// One page of the news of every group the viewer is a member of (while they hold a member's
/// role), newest first, before the post `after`, with the groups among them the viewer may see
/// (an INVISIBLE group is not among them for its members).
pub async fn of_viewer(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<news_post::Model>, HashMap<Uuid, VisibleGroup>), DbErr> {
    if !Link::GroupMember.counts_for(viewer.roles) {
        return Ok((Vec::new(), HashMap::new()));
    }
    let joined = Query::select()
        .column(group_member::Column::GroupId)
        .from(group_member::Entity)
        .and_where(group_member::Column::UserId.eq(viewer.user_id))
        .to_owned();
    let mut query = news_post::Entity::find()
        .filter(news_post::Column::GroupId.in_subquery(joined))
        .order_by_desc(news_post::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(news_post::Column::Id.lt(after));
    }
    let posts = query.all(db).await?;
    let visible = groups::of_viewer(db, viewer).await?.into_iter().map(|group| (group.model.id, group)).collect();
    Ok((posts, visible))
}
