//! The gRPC adapter of `EventService`: a page of events after a cursor, and a stream that
//! replays from a cursor and then follows commits as they happen.

use std::time::Duration;

use lastmile_proto::v1 as pb;
use lastmile_proto::{json_to_struct, timestamp};
use pb::event_service_server::{EventService, EventServiceServer};
use tokio::sync::mpsc;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::{Event, EventFilter};
use crate::Core;
use crate::auth::principal;
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::db::{Db, Signal};
use crate::domains::Domain;
use crate::error::Error;
use crate::tenancy::Tenancy;

/// The events domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <EventServiceServer<EventGrpc> as NamedService>::NAME,
        methods: &[
            rule("ListEvents", Resource::Events, Operation::Read),
            rule("StreamEvents", Resource::Events, Operation::Read),
        ],
    },
    serve,
};

/// Events read per query while replaying.
const BATCH: i64 = 500;
/// How often a following stream looks for events even without a wake-up.
const POLL: Duration = Duration::from_secs(1);

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    routes.add_service(EventServiceServer::new(EventGrpc {
        db: core.db.clone(),
    }));
}

/// `lastmile.v1.EventService`.
#[derive(Debug, Clone)]
pub struct EventGrpc {
    db: Db,
}

/// An event as the API shows it.
pub fn to_proto(event: Event) -> pb::Event {
    let data = match event.data() {
        serde_json::Value::Object(map) => Some(json_to_struct(map)),
        _ => None,
    };
    pb::Event {
        cursor: event.id,
        id: event.uuid,
        r#type: event.event_type,
        resource_type: event.resource_type,
        resource_id: event.resource_id,
        partner_id: event.partner_id,
        data,
        occurred_at: Some(timestamp(event.occurred_at)),
    }
}

fn cursor(value: i64) -> Result<i64, Error> {
    if value < 0 {
        return Err(Error::BadRequest(
            "The after_cursor must be 0 or a cursor from an earlier event.".into(),
        ));
    }
    Ok(value)
}

#[tonic::async_trait]
impl EventService for EventGrpc {
    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let tenancy = Tenancy::of(principal(&request)?);
        let r = request.into_inner();
        let after = cursor(r.after_cursor)?;
        let limit = match r.limit {
            0 => 100,
            n if (1..=1000).contains(&n) => i64::from(n),
            _ => {
                return Err(
                    Error::BadRequest("The limit must be between 1 and 1000.".into()).into(),
                );
            }
        };
        let filter = EventFilter::new(r.types, tenancy)?;
        let events = super::after(&mut self.db.conn(), after, &filter, limit).await?;
        let next_cursor = events.last().map_or(after, |e| e.id);
        Ok(Response::new(pb::ListEventsResponse {
            events: events.into_iter().map(to_proto).collect(),
            next_cursor,
        }))
    }

    type StreamEventsStream = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<pb::StreamEventsResponse, Status>> + Send>,
    >;

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let tenancy = Tenancy::of(principal(&request)?);
        let r = request.into_inner();
        let after = cursor(r.after_cursor)?;
        let filter = EventFilter::new(r.types, tenancy)?;
        let (sender, mut receiver) = mpsc::channel(256);
        tokio::spawn(follow(self.db.clone(), after, filter, sender));
        let stream = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
        Ok(Response::new(Box::pin(stream)))
    }
}

/// Sends every event after `cursor`, then waits for commits and sends those, until the
/// client goes away. A database failure ends the stream with UNAVAILABLE; the client
/// resumes from the last cursor it handled.
async fn follow(
    db: Db,
    mut cursor: i64,
    filter: EventFilter,
    sender: mpsc::Sender<Result<pb::StreamEventsResponse, Status>>,
) {
    let mut wake = Signal::Events.subscribe();
    loop {
        wake.borrow_and_update();
        let (events, next) = match super::follow(&mut db.conn(), cursor, &filter, BATCH).await {
            Ok(page) => page,
            Err(err) => {
                let _ = sender.send(Err(Status::from(err))).await;
                return;
            }
        };
        let full = i64::try_from(events.len()).unwrap_or(0) == BATCH;
        for event in events {
            let message = pb::StreamEventsResponse {
                event: Some(to_proto(event)),
            };
            if sender.send(Ok(message)).await.is_err() {
                return;
            }
        }
        cursor = next;
        if full {
            continue;
        }
        tokio::select! {
            () = sender.closed() => return,
            _ = wake.changed() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
