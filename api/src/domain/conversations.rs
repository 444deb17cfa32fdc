//! Conversations and messages, with the messaging rules of the roles:
//! who may start a conversation with whom, group messages, and relatives brought in by a client.

use std::collections::{HashMap, HashSet};

use inzage_entity::{
    GroupVisibility, NotificationKind, Role, care_group, conversation, conversation_participant, group_member,
    guardian_link, message, relative_link, user,
};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::notifications::{self, Links};
use super::values::Invalid;
use super::{Operation, accounts, care, groups};
use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::db::{Database, WriteTransaction};
use crate::error::{ApiError, ApiResult};
use crate::policy::client::Basis;
use crate::policy::groups::{self as rules, MessageRelation};
use crate::policy::{Decision, Link, links};

/// A message body: not blank, at most 10,000 characters.
pub fn parse_body(raw: &str) -> Result<String, Invalid> {
    super::values::free_text(raw, 10_000)
}

/// Where a message goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// An existing conversation the sender takes part in.
    Conversation(Uuid),
    /// A new conversation with these people.
    People(Vec<Uuid>),
    /// A new conversation with all counselors of a group the sender is a member of.
    Group(Uuid),
}

/// The conversation `id` if the viewer takes part in it; NOT_FOUND otherwise.
pub async fn find(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<conversation::Model> {
    Ok(find_with_people(db, viewer, id).await?.0)
}

/// [`find`], with who takes part in it (see [`taking_part`]).
async fn find_with_people(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<(conversation::Model, Vec<Uuid>)> {
    let people = taking_part(db, &[id]).await?.remove(&id).unwrap_or_default();
    let found = conversation::Entity::find_by_id(id).one(db).await?;
    found
        .filter(|_| people.contains(&viewer.user_id))
        .map(|conversation| (conversation, people))
        .ok_or_else(|| ApiError::not_found("conversation"))
}

/// Who takes part in each of the conversations `ids` now, in the order they joined: a
/// participant counts only while their roles still let them take part (see
/// [`links::takes_part_in_conversation`]).
pub async fn taking_part(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, DbErr> {
    let rows = participants_of(db, ids).await?;
    let people: Vec<Uuid> = rows.iter().map(|(_, user)| *user).collect();
    let roles = accounts::roles_of(db, &people).await?;
    let roles_of = |user: &Uuid| roles.get(user).copied().unwrap_or_default();
    let mut by_conversation: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (conversation, user) in rows {
        by_conversation.entry(conversation).or_default().push(user);
    }
    for people in by_conversation.values_mut() {
        let with_client_side = people.iter().any(|user| !roles_of(user).is_disjoint(links::CLIENT_SIDE_ROLES));
        people.retain(|user| links::takes_part_in_conversation(roles_of(user), with_client_side));
    }
    Ok(by_conversation)
}

/// The people shown as `client_id`'s counselors: caseload, visible groups' counselors, and the
/// coaches and members of their open trajectories.
async fn linked_counselors(db: &impl ConnectionTrait, client_ids: &[Uuid]) -> Result<HashSet<Uuid>, DbErr> {
    Ok(care::shown_counselors(db, client_ids).await?.into_iter().map(|(_, counselor)| counselor.id).collect())
}

/// The MUTUAL groups `user_id` is a member of.
async fn mutual_groups(db: &impl ConnectionTrait, user_id: Uuid) -> Result<HashSet<Uuid>, DbErr> {
    let joined: Vec<Uuid> = group_member::Entity::find()
        .filter(group_member::Column::UserId.eq(user_id))
        .select_only()
        .column(group_member::Column::GroupId)
        .into_tuple()
        .all(db)
        .await?;
    let mutual: Vec<Uuid> = care_group::Entity::find()
        .filter(care_group::Column::Id.among(db, joined))
        .filter(care_group::Column::Visibility.eq(GroupVisibility::Mutual))
        .select_only()
        .column(care_group::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(mutual.into_iter().collect())
}

/// How the sender stands to each recipient, for the messaging rules.
async fn relations(
    db: &impl ConnectionTrait,
    op: &Operation<'_>,
    recipients: &[user::Model],
) -> ApiResult<HashMap<Uuid, MessageRelation>> {
    let me = op.viewer.user_id;
    // The clients the sender speaks for: themselves, and those they are guardian of.
    let mut speaks_for = vec![me];
    if op.viewer.roles.contains(Role::Guardian) {
        speaks_for.extend(
            guardian_link::Entity::find()
                .filter(guardian_link::Column::GuardianId.eq(me))
                .all(db)
                .await?
                .into_iter()
                .map(|l| l.client_id),
        );
    }
    let counselors = linked_counselors(db, &speaks_for).await?;
    let my_mutual = mutual_groups(db, me).await?;
    let ids: Vec<Uuid> = recipients.iter().map(|r| r.id).collect();
    let access = crate::access::load(db, op.viewer, op.now, &ids).await?;
    let relatives = relative_link::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(
                    relative_link::Column::RelativeId
                        .eq(me)
                        .and(relative_link::Column::ClientId.among(db, ids.clone())),
                )
                .add(
                    relative_link::Column::ClientId
                        .eq(me)
                        .and(relative_link::Column::RelativeId.among(db, ids.clone())),
                ),
        )
        .all(db)
        .await?;
    // The recipients who are members of one of the sender's MUTUAL groups, in one query.
    let peers: HashSet<Uuid> = if my_mutual.is_empty() {
        HashSet::new()
    } else {
        group_member::Entity::find()
            .filter(group_member::Column::GroupId.among(db, my_mutual.iter().copied()))
            .filter(group_member::Column::UserId.among(db, ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|member| member.user_id)
            .collect()
    };
    let mut out = HashMap::new();
    for recipient in recipients {
        let peers = peers.contains(&recipient.id);
        out.insert(
            recipient.id,
            MessageRelation {
                sender_counselor: counselors.contains(&recipient.id),
                mutual_peers: peers,
                caseload_client: access.get(&recipient.id).is_some_and(|a| a.access.bases.contains(Basis::Caseload)),
                same_organization: recipient.organization_id == op.viewer.organization_id,
                relative: relatives.iter().any(|l| l.relative_id == recipient.id || l.client_id == recipient.id),
            },
        );
    }
    Ok(out)
}

/// Sends a message: in a conversation the sender takes part in, to people they may message
/// (a new conversation), or to all counselors of a group they are a member of. Every recipient
/// is notified.
pub async fn send(
    db: &Database,
    op: &Operation<'_>,
    destination: Destination,
    body: String,
) -> ApiResult<(message::Model, Option<conversation::Model>)> {
    let txn = db.begin_write().await?;
    // Who takes part, when already read.
    let mut people = None;
    let conversation = match destination {
        Destination::Conversation(id) => {
            let (conversation, taking) = find_with_people(&*txn, op.viewer, id).await?;
            people = Some(taking);
            conversation
        }
        Destination::Group(group_id) => {
            let group = groups::find(&*txn, op.viewer, group_id).await?;
            rules::group_message(group.relation, group.model.visibility).check()?;
            let counselors = groups::counselors_of(&*txn, &[group.model.id]).await?.remove(&group.model.id);
            let people: Vec<Uuid> =
                counselors.unwrap_or_default().into_iter().filter(|u| u.active).map(|u| u.id).collect();
            if people.is_empty() {
                return Err(ApiError::conflict("this group has no counselors to message"));
            }
            start(&txn, op, Some(group.model.id), &people).await?
        }
        Destination::People(ids) => {
            if ids.is_empty() {
                return Err(ApiError::bad_input("input.recipientIds", "must name at least one person"));
            }
            let distinct: HashSet<Uuid> = ids.iter().copied().collect();
            if distinct.len() != ids.len() || distinct.contains(&op.viewer.user_id) {
                return Err(ApiError::bad_input("input.recipientIds", "must name other people, each once"));
            }
            let recipients = user::Entity::find().filter(user::Column::Id.among(&*txn, ids.clone())).all(&*txn).await?;
            let refused = || ApiError::forbidden("you may not message this person");
            if recipients.len() != ids.len() || recipients.iter().any(|r| !r.active) {
                return Err(refused());
            }
            let roles = accounts::roles_of(&*txn, &ids).await?;
            let relations = relations(&*txn, op, &recipients).await?;
            for recipient in &recipients {
                let decision = rules::start_conversation(
                    op.viewer.roles,
                    roles.get(&recipient.id).copied().unwrap_or_default(),
                    relations.get(&recipient.id).copied().unwrap_or_default(),
                );
                if let Decision::Deny(_) = decision {
                    return Err(refused());
                }
            }
            start(&txn, op, None, &ids).await?
        }
    };
    let message = message::ActiveModel {
        id: Set(Uuid::now_v7()),
        conversation_id: Set(conversation.id),
        sender_id: Set(op.viewer.user_id),
        body: Set(body),
        sent_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    let people = match people {
        Some(people) => people,
        None => taking_part(&*txn, &[conversation.id]).await?.remove(&conversation.id).unwrap_or_default(),
    };
    // The conversation goes back with the message only if [`find`] would give it to the sender.
    let sender_takes_part = people.contains(&op.viewer.user_id);
    let recipients: Vec<Uuid> = people.into_iter().filter(|u| *u != op.viewer.user_id).collect();
    let title = format!("New message from {}", op.viewer.display_name);
    let links = Links { message_id: Some(message.id), ..Links::default() };
    notifications::notify(&txn, recipients, NotificationKind::MessageReceived, &title, links, op.now);
    txn.commit().await?;
    Ok((message, sender_takes_part.then_some(conversation)))
}

/// Writes a new conversation of the sender with `people`.
async fn start(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    group_id: Option<Uuid>,
    people: &[Uuid],
) -> ApiResult<conversation::Model> {
    let model = conversation::ActiveModel {
        id: Set(Uuid::now_v7()),
        group_id: Set(group_id),
        created_by: Set(op.viewer.user_id),
        created_at: Set(op.now),
    }
    .insert(&**txn)
    .await?;
    let rows: Vec<conversation_participant::ActiveModel> = std::iter::once(op.viewer.user_id)
        .chain(people.iter().copied())
        .map(|user_id| conversation_participant::ActiveModel {
            conversation_id: Set(model.id),
            user_id: Set(user_id),
            added_at: Set(op.now),
        })
        .collect();
    conversation_participant::Entity::insert_many(rows).exec_without_returning(&**txn).await?;
    Ok(model)
}

/// A client brings their relative into a conversation they take part in; from then on the
/// counselors in it see that relative.
pub async fn add_relative(
    db: &Database,
    op: &Operation<'_>,
    conversation_id: Uuid,
    user_id: Uuid,
) -> ApiResult<conversation::Model> {
    let txn = db.begin_write().await?;
    let conversation = find(&*txn, op.viewer, conversation_id).await?;
    // Both sides of the link count only with their role: a client, and their relative.
    let is_relative = relative_link::Entity::find_by_id((user_id, op.viewer.user_id)).one(&*txn).await?.is_some()
        && Link::Client.counts_for(op.viewer.roles)
        && accounts::holding(&*txn, &[user_id], Link::Relative).await?.contains(&user_id);
    if !is_relative {
        return Err(ApiError::forbidden("a client adds only their own relatives to a conversation"));
    }
    if conversation_participant::Entity::find_by_id((conversation.id, user_id)).one(&*txn).await?.is_none() {
        conversation_participant::ActiveModel {
            conversation_id: Set(conversation.id),
            user_id: Set(user_id),
            added_at: Set(op.now),
        }
        .insert(&*txn)
        .await?;
    }
    txn.commit().await?;
    Ok(conversation)
}

/// The conversations the viewer takes part in, newest first.
pub async fn of_viewer(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<Vec<conversation::Model>, DbErr> {
    let ids: Vec<Uuid> = conversation_participant::Entity::find()
        .filter(conversation_participant::Column::UserId.eq(viewer.user_id))
        .select_only()
        .column(conversation_participant::Column::ConversationId)
        .into_tuple()
        .all(db)
        .await?;
    let taking_part = taking_part(db, &ids).await?;
    let mine: Vec<Uuid> = ids
        .into_iter()
        .filter(|id| taking_part.get(id).is_some_and(|people| people.contains(&viewer.user_id)))
        .collect();
    conversation::Entity::find()
        .filter(conversation::Column::Id.among(db, mine))
        .order_by_desc(conversation::Column::Id)
        .all(db)
        .await
}

/// The participants of each conversation: (conversation, user), in the order they joined.
async fn participants_of(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    Ok(conversation_participant::Entity::find()
        .filter(conversation_participant::Column::ConversationId.among(db, ids.iter().copied()))
        .order_by_asc(conversation_participant::Column::AddedAt)
        .order_by_asc(conversation_participant::Column::UserId)
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.conversation_id, p.user_id))
        .collect())
}

/// One page of a conversation's messages, oldest first.
pub async fn messages_page(
    db: &impl ConnectionTrait,
    conversation_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<message::Model>, DbErr> {
    let mut query = message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation_id))
        .order_by_asc(message::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(message::Column::Id.gt(after));
    }
    query.all(db).await
}

/// A message, if the viewer takes part in its conversation.
pub async fn find_message(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<message::Model>, DbErr> {
    let Some(model) = message::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let takes_part = taking_part(db, &[model.conversation_id])
        .await?
        .get(&model.conversation_id)
        .is_some_and(|people| people.contains(&viewer.user_id));
    Ok(takes_part.then_some(model))
}

/// Everyone who shares a conversation with `viewer_id` (the viewer included, when they take part
/// in any).
pub async fn sharing_with(db: &impl ConnectionTrait, viewer_id: Uuid) -> Result<HashSet<Uuid>, DbErr> {
    let mine: Vec<Uuid> = conversation_participant::Entity::find()
        .filter(conversation_participant::Column::UserId.eq(viewer_id))
        .select_only()
        .column(conversation_participant::Column::ConversationId)
        .into_tuple()
        .all(db)
        .await?;
    if mine.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(conversation_participant::Entity::find()
        .filter(conversation_participant::Column::ConversationId.among(db, mine))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.user_id)
        .collect())
}
