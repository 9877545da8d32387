//! The bodies of tickets, comments and SLA policies as field tables. Enums go to the core
//! as their wire numbers (a stranger as the unknown value, which the core reports on the
//! field); the calendar is read here into its proto shape and checked by the core.

use crate::envelope::FieldErrors;
use crate::json_input::{Field, Fields};
use crate::resource::enum_number;
use crate::resource::fields::{Changes, FieldSpec, Kind, Rule, field};
use lastmile_proto::RestName;
use lastmile_proto::v1::{
    SlaCalendar, SlaHours, SlaPolicyInput, TicketCategory, TicketCommentInput, TicketInput,
    TicketPriority, TicketSource, TicketStatus,
};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

fn saturate(value: i64) -> i32 {
    crate::json_input::saturate_i32(value)
}

/// Every field of a ticket body.
pub(crate) const TICKET_FIELDS: &[FieldSpec<TicketInput>] = &[
    field(
        "customer_id",
        Kind::Integer(|t, v| t.customer_id = v),
        false,
        true,
        Rule::range(1, i64::MAX),
        "The customer; on an update it may only repeat the ticket's own.",
    ),
    field(
        "service_id",
        Kind::Integer(|t, v| t.service_id = v),
        true,
        false,
        Rule::range(1, i64::MAX),
        "A service of the customer; policies may be per plan.",
    ),
    field(
        "subject",
        Kind::Text(|t, v| t.subject = v),
        false,
        true,
        Rule::length(3, 200),
        "3-200 characters.",
    ),
    field(
        "description",
        Kind::Text(|t, v| t.description = v),
        false,
        false,
        Rule::length(0, 20_000),
        "Up to 20000 characters.",
    ),
    field(
        "category",
        Kind::OneOf(TicketCategory::NAMES_OR_EMPTY, |t, v| {
            t.category = enum_number::<TicketCategory>(&v.unwrap_or_default())
        }),
        false,
        false,
        Rule::NONE,
        "What it is about (default `other`).",
    ),
    field(
        "priority",
        Kind::OneOf(TicketPriority::NAMES_OR_EMPTY, |t, v| {
            t.priority = enum_number::<TicketPriority>(&v.unwrap_or_default())
        }),
        false,
        false,
        Rule::NONE,
        "How urgent (default `normal`); a change recomputes the SLA due times from the \
         ticket's opening under the priority's policy.",
    ),
    field(
        "status",
        Kind::OneOf(TicketStatus::NAMES, |t, v| {
            t.status = enum_number::<TicketStatus>(&v.unwrap_or_default())
        }),
        false,
        false,
        Rule::NONE,
        "A new ticket is `open` unless it is recorded further along (a call solved at once). \
         Moves: open, in_progress and waiting_on_customer to one another or to resolved or \
         closed; resolved back to open or in_progress within the reopen window, or to \
         closed; closed is final.",
    ),
    field(
        "source",
        Kind::OneOf(TicketSource::NAMES_OR_EMPTY, |t, v| {
            t.source = enum_number::<TicketSource>(&v.unwrap_or_default())
        }),
        false,
        false,
        Rule::NONE,
        "Where it came from (default `api`).",
    ),
    field(
        "assignee_id",
        Kind::Integer(|t, v| t.assignee_id = v),
        true,
        false,
        Rule::range(1, i64::MAX),
        "The user working on it; null unassigns.",
    ),
    field(
        "team_id",
        Kind::Integer(|t, v| t.team_id = v),
        true,
        false,
        Rule::range(1, i64::MAX),
        "The team (a user group); null clears it.",
    ),
];

/// The fields of a ticket opened under its customer's path: the path names the customer.
pub(crate) const CUSTOMER_TICKET_FIELDS: &[FieldSpec<TicketInput>] = TICKET_FIELDS.split_at(1).1;

/// Every field of a comment body.
pub(crate) const COMMENT_FIELDS: &[FieldSpec<TicketCommentInput>] = &[
    field(
        "body",
        Kind::Text(|c, v| c.body = v),
        false,
        true,
        Rule::length(1, 20_000),
        "1-20000 characters.",
    ),
    field(
        "public",
        Kind::Boolean(|c, v| c.public = v),
        false,
        false,
        Rule::NONE,
        "A reply the customer sees (default true); false is an internal note. The first \
         public reply by staff meets the first-response target.",
    ),
    field(
        "from_customer",
        Kind::Boolean(|c, v| c.from_customer = v),
        false,
        false,
        Rule::NONE,
        "Written by the customer (default false), e.g. recorded from an e-mail; on a ticket \
         waiting on the customer it opens the ticket again.",
    ),
];

/// Every field of a policy body.
pub(crate) const POLICY_FIELDS: &[FieldSpec<SlaPolicyInput>] = &[
    field(
        "name",
        Kind::Text(|p, v| p.name = v),
        false,
        true,
        Rule::length(2, 100),
        "2-100 characters; unique among policies, ignoring case.",
    ),
    field(
        "priority",
        Kind::OneOf(TicketPriority::NAMES, |p, v| {
            p.priority = enum_number::<TicketPriority>(&v.unwrap_or_default())
        }),
        false,
        true,
        Rule::NONE,
        "The priority of the tickets it covers.",
    ),
    field(
        "user_group_id",
        Kind::Integer(|p, v| p.user_group_id = v),
        true,
        false,
        Rule::range(1, i64::MAX),
        "Only customers of this user group.",
    ),
    field(
        "plan_id",
        Kind::Integer(|p, v| p.plan_id = v),
        true,
        false,
        Rule::range(1, i64::MAX),
        "Only tickets about a service on this plan.",
    ),
    field(
        "first_response_minutes",
        Kind::Integer(|p, v| p.first_response_minutes = v.map(saturate)),
        false,
        true,
        Rule::range(1, 525_600),
        "Business minutes to the first public staff reply.",
    ),
    field(
        "resolution_minutes",
        Kind::Integer(|p, v| p.resolution_minutes = v.map(saturate)),
        false,
        true,
        Rule::range(1, 525_600),
        "Business minutes to resolution; not below `first_response_minutes`.",
    ),
    field(
        "calendar",
        Kind::Custom {
            read: read_calendar,
            schema: calendar_schema,
        },
        true,
        false,
        Rule::NONE,
        "Business hours; null (the default) is 24x7.",
    ),
    field(
        "pause_while_waiting",
        Kind::Boolean(|p, v| p.pause_while_waiting = v),
        false,
        false,
        Rule::NONE,
        "Whether the clocks stop while the ticket waits on the customer (default true).",
    ),
    field(
        "warning_percent",
        Kind::Integer(|p, v| p.warning_percent = v.map(saturate)),
        false,
        false,
        Rule::range(1, 99),
        "An `sla.warning` is raised when this share of a target has elapsed (default 80).",
    ),
    field(
        "escalate_to_priority",
        Kind::OneOf(TicketPriority::NAMES_OR_EMPTY, |p, v| {
            p.escalate_to_priority = enum_number::<TicketPriority>(&v.unwrap_or_default())
        }),
        true,
        false,
        Rule::NONE,
        "On breach, the ticket's priority is raised to this one (never lowered).",
    ),
    field(
        "escalate_to_team_id",
        Kind::Integer(|p, v| p.escalate_to_team_id = v),
        true,
        false,
        Rule::range(1, i64::MAX),
        "On breach, the ticket goes to this team (a user group).",
    ),
    field(
        "active",
        Kind::Boolean(|p, v| p.active = v),
        false,
        false,
        Rule::NONE,
        "Whether new tickets get it (default true).",
    ),
];

/// `calendar`: null, or `{time_zone, hours: [{day, start, end}], holidays: [date]}`.
fn read_calendar(fields: &Fields<'_>, out: &mut Changes<SlaPolicyInput>, errors: &mut FieldErrors) {
    match fields.object("calendar", errors) {
        Field::Absent => {}
        Field::Null => {
            out.touch("calendar");
            out.input.calendar = None;
        }
        Field::Value(object) => {
            out.touch("calendar");
            let nested = Fields::nested(object, "calendar");
            let time_zone = nested
                .string("time_zone", errors)
                .value()
                .unwrap_or_default();
            let holidays = nested
                .strings("holidays", errors)
                .value()
                .unwrap_or_default();
            let mut hours = Vec::new();
            match object.get("hours") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for item in items {
                        let text = |key: &str| {
                            item.get(key)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned()
                        };
                        if !item.is_object() {
                            errors.add(
                                "calendar.hours",
                                "Each opening interval must be an object with day, start and end.",
                            );
                            continue;
                        }
                        hours.push(SlaHours {
                            day: text("day"),
                            start: text("start"),
                            end: text("end"),
                        });
                    }
                }
                Some(_) => errors.add("calendar.hours", "The calendar hours must be an array."),
            }
            out.input.calendar = Some(SlaCalendar {
                time_zone,
                hours,
                holidays,
            });
        }
    }
}

fn calendar_schema() -> RefOr<Schema> {
    let text = |description: &str, example: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .examples([serde_json::json!(example)])
    };
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let interval = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("day", text("A weekday.", "monday").enum_values(Some(DAYS)))
        .property(
            "start",
            text("Local time `HH:MM`.", "09:00").pattern(Some("^([01][0-9]|2[0-3]):[0-5][0-9]$")),
        )
        .property(
            "end",
            text("Local time `HH:MM` after `start`, or `24:00`.", "17:00")
                .pattern(Some("^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")),
        )
        .required("day")
        .required("start")
        .required("end");
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some("Business hours: the minutes in which SLA clocks run."))
        .property("time_zone", text("An IANA time zone.", "Europe/Berlin"))
        .property(
            "hours",
            ArrayBuilder::new()
                .items(interval)
                .min_items(Some(1))
                .description(Some("Intervals of one day may not overlap.")),
        )
        .property(
            "holidays",
            ArrayBuilder::new()
                .items(
                    text("A local date, `YYYY-MM-DD`.", "2027-12-25").format(Some(
                        utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Date,
                        ),
                    )),
                )
                .max_items(Some(1000)),
        )
        .required("time_zone")
        .required("hours")
        .into()
}
