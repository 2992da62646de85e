//! Tour: the app's entry. One `Run` calls the guide with all four kinds of
//! rpc, as a tonic client does: a unary `GetFeature`, a server stream
//! (`ListFeatures`, read in full or only its first `take` features), a
//! client stream (`RecordRoute`, from an iterator) and a bidi stream
//! (`RouteChat`, its notes sent from a spawned task through a channel).

use std::env;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod routeguide {
    tonic::include_proto!("routeguide");
}

pub mod tour {
    tonic::include_proto!("tour");
}

use routeguide::route_guide_client::RouteGuideClient;
use tour::tour_server::{Tour, TourServer};
use tour::{Ending, TourReport, TourRequest};

struct App {
    guide: RouteGuideClient<Channel>,
}

fn ending(status: &Status) -> Ending {
    Ending {
        code: status.code() as i32,
        message: status.message().to_string(),
    }
}

#[tonic::async_trait]
impl Tour for App {
    async fn run(&self, request: Request<TourRequest>) -> Result<Response<TourReport>, Status> {
        let ask = request.into_inner();
        let mut guide = self.guide.clone();
        let mut report = TourReport::default();

        let point = ask.point.unwrap_or_default();
        report.feature = Some(guide.get_feature(point).await?.into_inner());

        let mut list = Request::new(ask.area.unwrap_or_default());
        if let Some(max) = ask.max_features {
            list.metadata_mut()
                .insert("x-max-features", max.to_string().parse().map_err(|_| Status::internal("header"))?);
        }
        let mut features = guide.list_features(list).await?.into_inner();
        report.list_end = Some(Ending::default());
        loop {
            if ask.take > 0 && report.listed.len() == ask.take as usize {
                break; // dropping the stream cancels the rest
            }
            match features.message().await {
                Ok(Some(feature)) => report.listed.push(feature),
                Ok(None) => break,
                Err(status) => {
                    report.list_end = Some(ending(&status));
                    break;
                }
            }
        }
        drop(features);

        let route = tokio_stream::iter(ask.route);
        report.summary = Some(guide.record_route(route).await?.into_inner());

        let (tx, rx) = mpsc::channel(2);
        let notes = ask.notes;
        tokio::spawn(async move {
            for note in notes {
                if tx.send(note).await.is_err() {
                    break;
                }
            }
        });
        let mut chat = guide.route_chat(ReceiverStream::new(rx)).await?.into_inner();
        report.chat_end = Some(Ending::default());
        while let Some(note) = chat.next().await {
            match note {
                Ok(note) => report.chat.push(note),
                Err(status) => {
                    report.chat_end = Some(ending(&status));
                    break;
                }
            }
        }
        Ok(Response::new(report))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("TOUR_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:10001".to_string())
        .parse()?;
    let guide_addr = env::var("GUIDE_ADDR").unwrap_or_else(|_| "http://127.0.0.1:10000".into());
    let guide = RouteGuideClient::new(Channel::from_shared(guide_addr)?.connect_lazy());
    eprintln!("tour listening on {addr}");
    Server::builder()
        .add_service(TourServer::new(App { guide }))
        .serve(addr)
        .await?;
    Ok(())
}
