//! Pricing function of the typeshow example, a test fixture for cofaas.
//!
//! Serves `shop.Pricing`. `Quote` reads every field of the order (so each
//! type must arrive intact), totals it, and echoes the order back inside the
//! quote (so each type must also travel back). An order without lines is
//! refused with INVALID_ARGUMENT.

use std::collections::HashMap;
use std::env;

use tonic::transport::Server;
use tonic::{Request, Response, Status};

pub mod shop {
    tonic::include_proto!("shop");
}

use shop::order::{Bonus, Payment};
use shop::pricing_server::{Pricing, PricingServer};
use shop::{Category, Order, Quote};

const DEFAULT_LISTEN: &str = "127.0.0.1:50072";

#[derive(Default)]
pub struct Pricer;

/// Depth of a category tree.
fn depth(category: &Category) -> usize {
    1 + category.children.iter().map(depth).max().unwrap_or(0)
}

#[tonic::async_trait]
impl Pricing for Pricer {
    async fn quote(&self, request: Request<Order>) -> Result<Response<Quote>, Status> {
        let order = request.into_inner();
        if order.lines.is_empty() {
            return Err(Status::invalid_argument(format!(
                "order {} has no lines",
                order.id
            )));
        }
        let mut total: i64 = 0;
        for line in &order.lines {
            total += line.unit_price_micros as i64 * i64::from(line.quantity);
        }
        let mut coupons: Vec<_> = order.coupons.iter().collect();
        coupons.sort();
        let mut notes = vec![format!("priority {:?}", order.priority())];
        for (code, off) in coupons {
            total -= off;
            notes.push(format!("coupon {code}: -{off}"));
        }
        for line in &order.lines {
            if let Some(note) = &line.note {
                notes.push(format!("{}: {note}", line.sku));
            }
        }
        let mut cards_by_line = HashMap::new();
        match &order.payment {
            Some(Payment::Card(card)) => {
                let last4: String = card.number.chars().rev().take(4).collect();
                notes.push(format!(
                    "card ending {}",
                    last4.chars().rev().collect::<String>()
                ));
                for i in 0..order.lines.len() {
                    cards_by_line.insert(i as u32, card.clone());
                }
            }
            Some(Payment::Voucher(code)) => notes.push(format!("voucher {code}")),
            None => notes.push("unpaid".to_string()),
        }
        if let Some(gift) = &order.gift_message {
            notes.push(format!("gift message: {gift}"));
        }
        if let Some(parcels) = order.max_parcels {
            notes.push(format!("at most {parcels} parcels"));
        }
        if let Some(category) = &order.category {
            notes.push(format!(
                "category {} of depth {}",
                category.name,
                depth(category)
            ));
        }
        if let Some(any) = &order.extension {
            notes.push(format!(
                "extension {} ({} bytes)",
                any.type_url,
                any.value.len()
            ));
        }
        if let Some(attributes) = &order.attributes {
            let mut keys: Vec<_> = attributes.fields.keys().cloned().collect();
            keys.sort();
            notes.push(format!("attributes {}", keys.join(",")));
        }
        if let Some(mask) = &order.fields {
            notes.push(format!("fields {}", mask.paths.join(",")));
        }
        if let Some(s) = &order.scalars {
            notes.push(format!(
                "scalars {} {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
                s.f64,
                s.f32,
                s.i32,
                s.i64,
                s.u32,
                s.u64,
                s.s32,
                s.s64,
                s.fx32,
                s.fx64,
                s.sfx32,
                s.sfx64,
                s.flag,
                s.text,
                s.data.len()
            ));
        }
        notes.push(format!("history {:?}", order.history().collect::<Vec<_>>()));
        if let Some(level) = order.loyalty_level {
            notes.push(format!("loyalty {level}"));
        }
        notes.push(format!("blob {} bytes", order.blob.len()));
        match &order.bonus {
            Some(Bonus::Surprise(_)) => notes.push("bonus: a surprise".to_string()),
            Some(Bonus::Points(points)) => notes.push(format!("bonus: {points} points")),
            Some(Bonus::Code(code)) => notes.push(format!("bonus: code {code}")),
            None => {}
        }
        notes.push(format!(
            "{} gift(s), wrapped {}, counts {:?}, {} flag(s), tag {}",
            order.gifts.len() + order.gift_by_line.len(),
            order.wrapping.is_some(),
            order.counts,
            order.flags.values().filter(|f| **f).count(),
            order.tag.as_ref().map_or("none", |t| t.label.as_str()),
        ));
        let deliver_by = match (&order.placed_at, &order.deliver_within) {
            (Some(at), Some(within)) => Some(prost_types::Timestamp {
                seconds: at.seconds + within.seconds,
                nanos: at.nanos,
            }),
            _ => None,
        };
        Ok(Response::new(Quote {
            order: Some(order),
            total_micros: total,
            notes,
            deliver_by,
            cards_by_line,
        }))
    }

    async fn ping(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("PRICING_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;

    eprintln!("pricing listening on {addr}");
    Server::builder()
        .add_service(PricingServer::new(Pricer))
        .serve(addr)
        .await?;
    Ok(())
}
