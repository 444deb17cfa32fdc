//! The demo data: a small care provider with one account per role, and a partner whose
//! workflow one of its clients takes part in, loaded into an empty database so that GraphiQL
//! has something to show.

use chrono::{DateTime, NaiveDate, Utc};
use inzage_entity::{OrganizationKind, Role, instance_setting, organization, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::db::Database;
use crate::domain::accounts::{self, NewAccount, NewContact};
use crate::domain::values::{Address, DisplayName, Email, Phone};
use crate::error::{ApiError, ApiResult};
use crate::policy::RoleSet;

/// The `instance_setting` key naming the demo organisation.
const DEMO_ORGANIZATION_KEY: &str = "demo_organization_id";

/// The `instance_setting` key naming the demo partner (the workflows and consent scenario).
const DEMO_PARTNER_KEY: &str = "demo_partner_id";

/// The `instance_setting` key naming the demo intervention provider (the delegation scenario).
const DEMO_PROVIDER_KEY: &str = "demo_provider_id";

/// A demo account, for printing its token.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub roles: RoleSet,
}

struct Person {
    email: &'static str,
    name: &'static str,
    roles: &'static [Role],
    phone: Option<&'static str>,
    address: Option<&'static str>,
    birth_date: Option<(i32, u32, u32)>,
}

const fn account(email: &'static str, name: &'static str, roles: &'static [Role]) -> Person {
    Person { email, name, roles, phone: None, address: None, birth_date: None }
}

const PEOPLE: &[Person] = &[
    account("admin@delinde.example", "Anouk Admin", &[Role::Administrator]),
    account("secretary@delinde.example", "Sanne Secretaris", &[Role::Secretary]),
    account("carla@delinde.example", "Carla Counselor", &[Role::Counselor]),
    account("koen@delinde.example", "Koen Counselor", &[Role::Counselor]),
    account("pim@delinde.example", "Pim Counselor-Plus", &[Role::CounselorPlus]),
    account("sofie@delinde.example", "Sofie Supervisor", &[Role::Supervisor]),
    account("daan@delinde.example", "Daan Analyst", &[Role::DataAnalyst]),
    account("olga@delinde.example", "Olga Officer", &[Role::DataOfficer]),
    Person {
        email: "lotte@delinde.example",
        name: "Lotte de Vries",
        roles: &[Role::Client],
        phone: Some("+31 6 1234 5678"),
        address: Some("Lindelaan 12, 3511 AB Utrecht"),
        birth_date: Some((1991, 4, 17)),
    },
    Person {
        email: "milan@delinde.example",
        name: "Milan Jansen",
        roles: &[Role::Client],
        phone: Some("+31 6 8765 4321"),
        address: Some("Kanaalweg 3, 3526 KL Utrecht"),
        birth_date: Some((1985, 11, 2)),
    },
    Person {
        email: "noor@delinde.example",
        name: "Noor Bakker",
        roles: &[Role::Client],
        phone: None,
        address: Some("Parkstraat 8, 3581 PC Utrecht"),
        birth_date: Some((2012, 6, 30)),
    },
    account("gijs@delinde.example", "Gijs Bakker", &[Role::Guardian]),
    account("ria@delinde.example", "Ria de Vries", &[Role::Relative]),
    account("eric@delinde.example", "Eric Ervaringsdeskundige", &[Role::External]),
];

/// The demo partner: a health-check organisation whose professionals work in a workflow that
/// De Linde's clients take part in.
const PARTNER_PEOPLE: &[Person] = &[
    account("admin@vitaalcheck.example", "Vera Admin", &[Role::Administrator]),
    account("bram@vitaalcheck.example", "Bram Bedrijfsarts", &[Role::Counselor]),
    account("eva@vitaalcheck.example", "Eva Leefstijlcoach", &[Role::Counselor]),
    account("jesse@vitaalcheck.example", "Jesse Psycholoog", &[Role::Counselor]),
];

/// The demo intervention provider's staff: Hanna carries out its programs and accepts
/// delegated dossiers.
const PROVIDER_PEOPLE: &[Person] = &[account("hanna@herstelwerk.example", "Hanna Uitvoerder", &[Role::Counselor])];

/// Whether the database holds no organisation yet.
pub async fn database_is_empty(db: &Database) -> ApiResult<bool> {
    Ok(organization::Entity::find().count(db.conn()).await? == 0)
}

/// Loads the demo organisation. Refuses (`CONFLICT`) when it is already there.
pub async fn load(db: &Database, now: DateTime<Utc>) -> ApiResult<()> {
    let txn = db.begin_write().await?;
    if instance_setting::Entity::find_by_id(DEMO_ORGANIZATION_KEY.to_owned()).one(&*txn).await?.is_some() {
        return Err(ApiError::conflict("the demo organisation is already loaded"));
    }
    let name = DisplayName::parse("Zorggroep De Linde").map_err(|e| ApiError::internal(e.0))?;
    let org = accounts::create_organization(&*txn, now, name, OrganizationKind::CareProvider).await?;
    let name = DisplayName::parse("VitaalCheck").map_err(|e| ApiError::internal(e.0))?;
    let partner = accounts::create_organization(&*txn, now, name, OrganizationKind::Partner).await?;
    let name = DisplayName::parse("Herstelwerk").map_err(|e| ApiError::internal(e.0))?;
    let provider_org = accounts::create_organization(&*txn, now, name, OrganizationKind::InterventionProvider).await?;
    let mut ids = std::collections::HashMap::new();
    let people = PEOPLE
        .iter()
        .map(|p| (org.id, p, false))
        .chain(PARTNER_PEOPLE.iter().map(|p| (partner.id, p, false)))
        .chain(PROVIDER_PEOPLE.iter().map(|p| (provider_org.id, p, true)));
    for (organization_id, person, accepts_delegations) in people {
        let new = NewAccount {
            email: Email::parse(person.email).map_err(|e| ApiError::internal(e.0))?,
            display_name: DisplayName::parse(person.name).map_err(|e| ApiError::internal(e.0))?,
            roles: person.roles.iter().copied().collect(),
            accepts_delegations,
            contact: NewContact {
                phone: person.phone.map(Phone::parse).transpose().map_err(|e| ApiError::internal(e.0))?,
                address: person.address.map(Address::parse).transpose().map_err(|e| ApiError::internal(e.0))?,
                birth_date: person.birth_date.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
            },
        };
        let account = accounts::insert_account(&*txn, organization_id, new, now).await?;
        ids.insert(person.email, account.id);
    }
    let id = |email: &str| ids.get(email).copied().ok_or_else(|| ApiError::internal(format!("demo account {email}")));
    care_relations(&*txn, now, &id).await?;
    workflow_and_consent(&txn, now, partner.id, &id).await?;
    trajectories_and_delegation(&txn, now, org.id, &id).await?;
    groups_and_conversation(&txn, now, org.id, &id).await?;
    let settings =
        [(DEMO_ORGANIZATION_KEY, org.id), (DEMO_PARTNER_KEY, partner.id), (DEMO_PROVIDER_KEY, provider_org.id)];
    for (key, value) in settings {
        instance_setting::Entity::insert(instance_setting::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(value.to_string()),
        })
        .exec(&*txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Who works with whom in the demo, and what is in the dossiers.
async fn care_relations(
    txn: &impl sea_orm::ConnectionTrait,
    now: DateTime<Utc>,
    id: &impl Fn(&str) -> ApiResult<Uuid>,
) -> ApiResult<()> {
    use inzage_entity::{
        DossierEntryKind, caseload_link, dossier_entry, guardian_link, relative_link, supervision_link, tool,
    };
    use sea_orm::ActiveModelTrait;

    let (carla, koen, sofie) =
        (id("carla@delinde.example")?, id("koen@delinde.example")?, id("sofie@delinde.example")?);
    let (lotte, milan, noor) =
        (id("lotte@delinde.example")?, id("milan@delinde.example")?, id("noor@delinde.example")?);
    let (gijs, ria) = (id("gijs@delinde.example")?, id("ria@delinde.example")?);
    for (counselor, client) in [(carla, lotte), (carla, milan), (koen, noor)] {
        caseload_link::ActiveModel { counselor_id: Set(counselor), client_id: Set(client), created_at: Set(now) }
            .insert(txn)
            .await?;
    }
    supervision_link::ActiveModel { supervisor_id: Set(sofie), client_id: Set(lotte), created_at: Set(now) }
        .insert(txn)
        .await?;
    guardian_link::ActiveModel { guardian_id: Set(gijs), client_id: Set(noor), created_at: Set(now) }
        .insert(txn)
        .await?;
    relative_link::ActiveModel { relative_id: Set(ria), client_id: Set(lotte), created_at: Set(now) }
        .insert(txn)
        .await?;
    let entries = [
        (
            lotte,
            carla,
            DossierEntryKind::Report,
            "Intake",
            "Lotte asked for help with sleeping problems and stress at work.",
        ),
        (lotte, carla, DossierEntryKind::Note, "Second session", "Agreed on a sleep diary for two weeks."),
        (milan, carla, DossierEntryKind::Report, "Intake", "Milan was referred by his GP for low mood."),
        (noor, koen, DossierEntryKind::Report, "Intake", "Noor and her father came in together; school refusal."),
    ];
    for (client, author, kind, title, body) in entries {
        dossier_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            client_id: Set(client),
            kind: Set(kind),
            title: Set(title.to_owned()),
            body: Set(body.to_owned()),
            author_id: Set(Some(author)),
            trajectory_id: Set(None),
            workflow_id: Set(None),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
    }
    let tools = [
        (
            lotte,
            Some(carla),
            "Sleep diary",
            "Each morning: when did you go to bed, when did you sleep, how rested are you (1-10)?",
        ),
        (ria, None, "Caring for a loved one", "My own notes on keeping energy while supporting Lotte."),
    ];
    for (owner, counselor, name, content) in tools {
        let tool = tool::ActiveModel {
            id: Set(Uuid::now_v7()),
            owner_id: Set(owner),
            counselor_id: Set(counselor),
            name: Set(name.to_owned()),
            content: Set(content.to_owned()),
            assigned_at: Set(now),
        }
        .insert(txn)
        .await?;
        // Carla's feedback on the sleep diary she guides.
        if let Some(counselor) = counselor {
            inzage_entity::tool_feedback::ActiveModel {
                id: Set(Uuid::now_v7()),
                tool_id: Set(tool.id),
                author_id: Set(counselor),
                body: Set("Goed bijgehouden! Probeer deze week om 23 uur naar bed te gaan.".to_owned()),
                created_at: Set(now),
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(())
}

/// The partner's project with one workflow (two professionals, appending allowed) that Lotte
/// takes part in: she granted one professional access, the other request and the prior
/// agreement to assignments are pending, and she recorded a result.
async fn workflow_and_consent(
    txn: &crate::db::WriteTransaction,
    now: DateTime<Utc>,
    partner_id: Uuid,
    id: &impl Fn(&str) -> ApiResult<Uuid>,
) -> ApiResult<()> {
    use crate::domain::notifications::{self, Links};
    use inzage_entity::{
        ConsentKind, ConsentStatus, DossierEntryKind, NotificationKind, consent_request, dossier_entry, participation,
        project, workflow, workflow_professional,
    };
    use sea_orm::ActiveModelTrait;

    let (bram, eva, lotte) =
        (id("bram@vitaalcheck.example")?, id("eva@vitaalcheck.example")?, id("lotte@delinde.example")?);
    let project = project::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(partner_id),
        name: Set("Gezond aan het werk".to_owned()),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    let workflow = workflow::ActiveModel {
        id: Set(Uuid::now_v7()),
        project_id: Set(project.id),
        organization_id: Set(partner_id),
        name: Set("Vitaliteitscheck".to_owned()),
        allow_append_professionals: Set(true),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    let professionals = [
        (bram, 30, "Bespreekt de uitslag van de check met de deelnemer"),
        (eva, 90, "Begeleidt de deelnemer bij het leefstijlplan"),
    ];
    for (professional, days, reason) in professionals {
        workflow_professional::ActiveModel {
            workflow_id: Set(workflow.id),
            professional_id: Set(professional),
            access_days: Set(days),
            reason: Set(reason.to_owned()),
            added_at: Set(now),
        }
        .insert(&**txn)
        .await?;
    }
    let participation = participation::ActiveModel {
        id: Set(Uuid::now_v7()),
        workflow_id: Set(workflow.id),
        participant_id: Set(lotte),
        started_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    let requests = [
        (ConsentKind::WorkflowProfessional, Some((bram, 30, professionals[0].2)), true),
        (ConsentKind::WorkflowProfessional, Some((eva, 90, professionals[1].2)), false),
        (ConsentKind::AppendProfessionals, None, false),
    ];
    for (kind, professional, granted) in requests {
        let request = consent_request::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(kind),
            status: Set(if granted { ConsentStatus::Granted } else { ConsentStatus::Pending }),
            client_id: Set(lotte),
            professional_id: Set(professional.map(|(id, _, _)| id)),
            workflow_id: Set(workflow.id),
            participation_id: Set(participation.id),
            reason: Set(professional
                .map_or("VitaalCheck may assign professionals to you later", |(_, _, r)| r)
                .to_owned()),
            access_days: Set(professional.map(|(_, days, _)| days)),
            ends_at: Set(None),
            requested_at: Set(now),
            decided_at: Set(granted.then_some(now)),
            granted_until: Set(professional
                .filter(|_| granted)
                .map(|(_, days, _)| now + chrono::Duration::days(i64::from(days)))),
            warned_at: Set(None),
            ended_at: Set(None),
        }
        .insert(&**txn)
        .await?;
        let links = Links { client_id: Some(lotte), consent_request_id: Some(request.id), ..Links::default() };
        let title = "A consent request for Vitaliteitscheck is waiting for you";
        notifications::notify(txn, [lotte], NotificationKind::ConsentRequested, title, links, now);
        if let (true, Some((professional, _, _))) = (granted, professional) {
            let title = "Lotte de Vries gave you access to their results in Vitaliteitscheck";
            notifications::notify(txn, [professional], NotificationKind::ConsentGranted, title, links, now);
        }
    }
    dossier_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(lotte),
        kind: Set(DossierEntryKind::Result),
        title: Set("Vragenlijst energie".to_owned()),
        body: Set("Energie 6/10, slaap 5/10, beweging 3 keer per week.".to_owned()),
        author_id: Set(Some(lotte)),
        trajectory_id: Set(None),
        workflow_id: Set(Some(workflow.id)),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    Ok(())
}

/// De Linde works with the provider Herstelwerk (two programs: one inheriting Hanna as executor,
/// one without executor); Milan has a deployment trajectory waiting for the intervention to be
/// confirmed; Lotte has a trajectory with Koen as second coach and the back-office team.
async fn trajectories_and_delegation(
    txn: &crate::db::WriteTransaction,
    now: DateTime<Utc>,
    organization_id: Uuid,
    id: &impl Fn(&str) -> ApiResult<Uuid>,
) -> ApiResult<()> {
    use crate::domain::notifications::{self, Links};
    use inzage_entity::{
        DossierEntryKind, ExecutorMode, NotificationKind, TaskKind, TaskStatus, TrajectoryKind, TrajectoryStatus,
        dossier_entry, program, provider, task, team, team_member, trajectory, trajectory_member, trajectory_team,
    };
    use sea_orm::ActiveModelTrait;

    let (carla, koen, sanne) =
        (id("carla@delinde.example")?, id("koen@delinde.example")?, id("secretary@delinde.example")?);
    let (lotte, milan, hanna) =
        (id("lotte@delinde.example")?, id("milan@delinde.example")?, id("hanna@herstelwerk.example")?);
    let provider = provider::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        name: Set("Herstelwerk".to_owned()),
        default_executor_id: Set(Some(hanna)),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    for (name, mode) in [("Werkfit", ExecutorMode::Inherit), ("Slaaptraining", ExecutorMode::Own)] {
        program::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider_id: Set(provider.id),
            organization_id: Set(organization_id),
            name: Set(name.to_owned()),
            executor_mode: Set(mode),
            executor_id: Set(None),
            created_at: Set(now),
        }
        .insert(&**txn)
        .await?;
    }
    let open = |client: Uuid, title: &str, kind: TrajectoryKind| trajectory::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        client_id: Set(client),
        title: Set(title.to_owned()),
        kind: Set(kind),
        status: Set(TrajectoryStatus::Open),
        protocol_id: Set(None),
        primary_coach_id: Set(Some(carla)),
        program_id: Set(None),
        parent_id: Set(None),
        opened_at: Set(now),
        closed_at: Set(None),
    };
    let deployment = open(milan, "Re-integratie", TrajectoryKind::InterventionDeployment).insert(&**txn).await?;
    let confirm = task::ActiveModel {
        id: Set(Uuid::now_v7()),
        trajectory_id: Set(deployment.id),
        kind: Set(TaskKind::ConfirmIntervention),
        status: Set(TaskStatus::Open),
        created_at: Set(now),
        completed_at: Set(None),
    }
    .insert(&**txn)
    .await?;
    let links = Links { client_id: Some(milan), task_id: Some(confirm.id), ..Links::default() };
    let title = "Confirm the intervention in Re-integratie";
    notifications::notify(txn, [carla], NotificationKind::TaskCreated, title, links, now);

    let sleep = open(lotte, "Slaap en stress", TrajectoryKind::General).insert(&**txn).await?;
    trajectory_member::ActiveModel {
        trajectory_id: Set(sleep.id),
        user_id: Set(koen),
        role: Set("second coach".to_owned()),
        added_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    let back_office = team::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        name: Set("Backoffice".to_owned()),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    team_member::ActiveModel {
        team_id: Set(back_office.id),
        user_id: Set(sanne),
        role: Set("back office".to_owned()),
        added_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    trajectory_team::ActiveModel { trajectory_id: Set(sleep.id), team_id: Set(back_office.id), assigned_at: Set(now) }
        .insert(&**txn)
        .await?;
    dossier_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(lotte),
        kind: Set(DossierEntryKind::Note),
        title: Set("Slaapdagboek besproken".to_owned()),
        body: Set("Inslapen gaat beter; doorslapen nog niet. Volgende stap: ontspanningsoefening.".to_owned()),
        author_id: Set(Some(koen)),
        trajectory_id: Set(Some(sleep.id)),
        workflow_id: Set(None),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    Ok(())
}

/// One care group of each visibility with news in each, a group report, a tool for every client
/// of the sleep group, a conversation between Lotte and Carla, and a pending registration.
async fn groups_and_conversation(
    txn: &crate::db::WriteTransaction,
    now: DateTime<Utc>,
    organization_id: Uuid,
    id: &impl Fn(&str) -> ApiResult<Uuid>,
) -> ApiResult<()> {
    use crate::domain::notifications::{self, Links};
    use inzage_entity::{
        GroupVisibility, NotificationKind, care_group, conversation, conversation_participant, group_counselor,
        group_member, group_report, message, news_post, tool,
    };
    use sea_orm::ActiveModelTrait;

    let (carla, pim) = (id("carla@delinde.example")?, id("pim@delinde.example")?);
    let (lotte, milan, noor) =
        (id("lotte@delinde.example")?, id("milan@delinde.example")?, id("noor@delinde.example")?);
    let (gijs, eric) = (id("gijs@delinde.example")?, id("eric@delinde.example")?);
    let groups = [
        ("Intakeoverleg", GroupVisibility::Invisible, vec![milan, noor], carla),
        ("Slaapgroep", GroupVisibility::ClientVisible, vec![lotte, milan], pim),
        ("Lotgenoten", GroupVisibility::Mutual, vec![lotte, gijs, eric], pim),
    ];
    for (name, visibility, members, counselor) in groups {
        let group = care_group::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization_id),
            name: Set(name.to_owned()),
            visibility: Set(visibility),
            created_at: Set(now),
        }
        .insert(&**txn)
        .await?;
        for &member in &members {
            group_member::ActiveModel { group_id: Set(group.id), user_id: Set(member), added_at: Set(now) }
                .insert(&**txn)
                .await?;
        }
        group_counselor::ActiveModel { group_id: Set(group.id), user_id: Set(counselor), added_at: Set(now) }
            .insert(&**txn)
            .await?;
        // News in every group; the members of the invisible one read it without its name.
        news_post::ActiveModel {
            id: Set(Uuid::now_v7()),
            group_id: Set(group.id),
            author_id: Set(counselor),
            title: Set("Volgende bijeenkomst".to_owned()),
            body: Set("We zien elkaar donderdag om 19 uur in de grote zaal.".to_owned()),
            posted_at: Set(now),
        }
        .insert(&**txn)
        .await?;
        if visibility == GroupVisibility::ClientVisible {
            // A tool set ready for every client of the sleep group, each one's own.
            for &owner in &members {
                tool::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    owner_id: Set(owner),
                    counselor_id: Set(Some(counselor)),
                    name: Set("Avondritueel".to_owned()),
                    content: Set("Een uur voor het slapen: scherm uit, licht dimmen, thee.".to_owned()),
                    assigned_at: Set(now),
                }
                .insert(&**txn)
                .await?;
            }
            group_report::ActiveModel {
                id: Set(Uuid::now_v7()),
                group_id: Set(group.id),
                author_id: Set(pim),
                body: Set("Eerste bijeenkomst: iedereen houdt een slaapdagboek bij.".to_owned()),
                created_at: Set(now),
            }
            .insert(&**txn)
            .await?;
        }
    }
    let talk = conversation::ActiveModel {
        id: Set(Uuid::now_v7()),
        group_id: Set(None),
        created_by: Set(lotte),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    for person in [lotte, carla] {
        conversation_participant::ActiveModel {
            conversation_id: Set(talk.id),
            user_id: Set(person),
            added_at: Set(now),
        }
        .insert(&**txn)
        .await?;
    }
    let messages = [
        (lotte, carla, "Lotte de Vries", "Ik slaap deze week beter. Zullen we de volgende afspraak verzetten?"),
        (carla, lotte, "Carla Counselor", "Fijn om te horen! Donderdag om 10 uur kan ook."),
    ];
    for (sender, recipient, name, body) in messages {
        let sent = message::ActiveModel {
            id: Set(Uuid::now_v7()),
            conversation_id: Set(talk.id),
            sender_id: Set(sender),
            body: Set(body.to_owned()),
            sent_at: Set(now),
        }
        .insert(&**txn)
        .await?;
        let links = Links { message_id: Some(sent.id), ..Links::default() };
        let title = format!("New message from {name}");
        notifications::notify(txn, [recipient], NotificationKind::MessageReceived, &title, links, now);
    }
    // Someone who signed up and waits for the secretary.
    inzage_entity::registration::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        display_name: Set("Sam de Boer".to_owned()),
        email: Set("sam.deboer@example.org".to_owned()),
        phone: Set(Some("+31 6 2345 6789".to_owned())),
        birth_date: Set(chrono::NaiveDate::from_ymd_opt(1990, 4, 1)),
        note: Set(Some("Doorverwezen door de huisarts.".to_owned())),
        status: Set(inzage_entity::RegistrationStatus::Pending),
        submitted_at: Set(now),
        processed_at: Set(None),
        processed_by: Set(None),
        client_id: Set(None),
        reason: Set(None),
    }
    .insert(&**txn)
    .await?;
    Ok(())
}

/// The demo organisations' active accounts (the care provider's, then the partner's), in the
/// order they were created; empty when the demo is not loaded.
pub async fn accounts(db: &Database) -> ApiResult<Vec<DemoAccount>> {
    let mut found = Vec::new();
    for key in [DEMO_ORGANIZATION_KEY, DEMO_PARTNER_KEY, DEMO_PROVIDER_KEY] {
        found.extend(accounts_of(db, key).await?);
    }
    Ok(found)
}

async fn accounts_of(db: &Database, key: &str) -> ApiResult<Vec<DemoAccount>> {
    let Some(setting) = instance_setting::Entity::find_by_id(key.to_owned()).one(db.conn()).await? else {
        return Ok(Vec::new());
    };
    let Ok(organization_id) = Uuid::parse_str(&setting.value) else {
        return Ok(Vec::new());
    };
    let users = user::Entity::find()
        .filter(user::Column::OrganizationId.eq(organization_id))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(db.conn())
        .await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut roles = accounts::roles_of(db.conn(), &ids).await?;
    Ok(users
        .into_iter()
        .map(|u| DemoAccount {
            roles: roles.remove(&u.id).unwrap_or_default(),
            id: u.id,
            email: u.email,
            display_name: u.display_name,
        })
        .collect())
}
