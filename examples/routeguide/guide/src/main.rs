//! Guide: route_guide's server, with all four kinds of rpc, over the
//! standard feature database of the gRPC examples (`data/`, 100 features).
//!
//! Written as tonic's route_guide server is: `ListFeatures` streams from a
//! spawned task through a channel, `RecordRoute` reads its request stream,
//! `RouteChat` answers each note with the earlier notes at its location.
//! One addition for the tests: a caller may cap `ListFeatures` with the
//! `x-max-features` header; past the cap the stream ends with
//! `RESOURCE_EXHAUSTED` after the features it sent.

use std::collections::HashMap;
use std::env;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::Server;
use tonic::{Request, Response, Status, Streaming};

pub mod routeguide {
    tonic::include_proto!("routeguide");
}

use routeguide::route_guide_server::{RouteGuide, RouteGuideServer};
use routeguide::{Feature, Point, Rectangle, RouteNote, RouteSummary};

#[derive(Debug)]
struct Guide {
    features: Arc<Vec<Feature>>,
}

#[derive(serde::Deserialize)]
struct Db {
    feature: Vec<DbFeature>,
}

#[derive(serde::Deserialize)]
struct DbFeature {
    location: DbPoint,
    name: String,
}

#[derive(serde::Deserialize)]
struct DbPoint {
    latitude: i32,
    longitude: i32,
}

fn load() -> Result<Vec<Feature>, serde_json::Error> {
    let db: Db = serde_json::from_str(include_str!("../data/route_guide_db.json"))?;
    Ok(db
        .feature
        .into_iter()
        .map(|f| Feature {
            name: f.name,
            location: Some(Point {
                latitude: f.location.latitude,
                longitude: f.location.longitude,
            }),
        })
        .collect())
}

fn in_range(point: &Point, rect: &Rectangle) -> bool {
    let (lo, hi) = match (&rect.lo, &rect.hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        _ => return false,
    };
    let (left, right) = (lo.longitude.min(hi.longitude), lo.longitude.max(hi.longitude));
    let (bottom, top) = (lo.latitude.min(hi.latitude), lo.latitude.max(hi.latitude));
    point.longitude >= left
        && point.longitude <= right
        && point.latitude >= bottom
        && point.latitude <= top
}

/// The great-circle distance between two points, in metres (haversine).
fn distance(a: &Point, b: &Point) -> i32 {
    const COORD_FACTOR: f64 = 1e7;
    const R: f64 = 6_371_000.0;
    let lat1 = (a.latitude as f64 / COORD_FACTOR).to_radians();
    let lat2 = (b.latitude as f64 / COORD_FACTOR).to_radians();
    let lng1 = (a.longitude as f64 / COORD_FACTOR).to_radians();
    let lng2 = (b.longitude as f64 / COORD_FACTOR).to_radians();
    let (dlat, dlng) = (lat2 - lat1, lng2 - lng1);
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    (R * 2.0 * h.sqrt().atan2((1.0 - h).sqrt())) as i32
}

type NoteStream = Pin<Box<dyn Stream<Item = Result<RouteNote, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl RouteGuide for Guide {
    async fn get_feature(&self, request: Request<Point>) -> Result<Response<Feature>, Status> {
        let point = request.into_inner();
        let found = self.features.iter().find(|f| f.location.as_ref() == Some(&point));
        Ok(Response::new(found.cloned().unwrap_or(Feature {
            name: String::new(),
            location: Some(point),
        })))
    }

    type ListFeaturesStream = ReceiverStream<Result<Feature, Status>>;

    async fn list_features(
        &self,
        request: Request<Rectangle>,
    ) -> Result<Response<Self::ListFeaturesStream>, Status> {
        let cap = match request.metadata().get("x-max-features") {
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok())
                    .ok_or_else(|| Status::invalid_argument("x-max-features is not a number"))?,
            ),
            None => None,
        };
        let rect = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        let features = self.features.clone();
        tokio::spawn(async move {
            let mut sent = 0;
            for feature in features.iter() {
                let Some(location) = &feature.location else { continue };
                if !in_range(location, &rect) {
                    continue;
                }
                if cap.is_some_and(|cap| sent == cap) {
                    let status = Status::resource_exhausted(format!("more than {sent} features"));
                    let _ = tx.send(Err(status)).await;
                    return;
                }
                if tx.send(Ok(feature.clone())).await.is_err() {
                    return; // the caller went away
                }
                sent += 1;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn record_route(
        &self,
        request: Request<Streaming<Point>>,
    ) -> Result<Response<RouteSummary>, Status> {
        let mut stream = request.into_inner();
        let mut summary = RouteSummary::default();
        let mut last: Option<Point> = None;
        let started = Instant::now();
        while let Some(point) = stream.next().await {
            let point = point?;
            summary.point_count += 1;
            if self.features.iter().any(|f| f.location.as_ref() == Some(&point)) {
                summary.feature_count += 1;
            }
            if let Some(last) = &last {
                summary.distance += distance(last, &point);
            }
            last = Some(point);
        }
        summary.elapsed_time = started.elapsed().as_secs() as i32;
        Ok(Response::new(summary))
    }

    type RouteChatStream = NoteStream;

    async fn route_chat(
        &self,
        request: Request<Streaming<RouteNote>>,
    ) -> Result<Response<Self::RouteChatStream>, Status> {
        let mut notes: HashMap<(i32, i32), Vec<RouteNote>> = HashMap::new();
        let mut stream = request.into_inner();
        let output = async_stream::try_stream! {
            while let Some(note) = stream.next().await {
                let note = note?;
                let at = note.location.as_ref().map_or((0, 0), |p| (p.latitude, p.longitude));
                let earlier = notes.entry(at).or_default();
                for before in earlier.iter() {
                    yield before.clone();
                }
                earlier.push(note);
            }
        };
        Ok(Response::new(Box::pin(output) as Self::RouteChatStream))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("GUIDE_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:10000".to_string())
        .parse()?;
    let guide = Guide {
        features: Arc::new(load()?),
    };
    eprintln!("guide listening on {addr}");
    Server::builder()
        .add_service(RouteGuideServer::new(guide))
        .serve(addr)
        .await?;
    Ok(())
}
