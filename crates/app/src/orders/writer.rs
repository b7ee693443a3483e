//! Group commit for new orders. Orders placed at the same moment are written by one task in one
//! transaction with multi-row inserts (orders, items, first status events, notifications), so a burst of
//! N orders costs one commit instead of N. If a batch fails (say, a duplicate idempotency key), its orders
//! are retried one by one so only the faulty one fails. Each caller waits for its own order's outcome:
//! nothing is acknowledged before it is committed.

use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

use crate::entities::{notifications, order_items, order_status_events, orders};

/// Most orders, and most item rows, in one transaction (well inside SQLite's and PostgreSQL's limits on
/// bound parameters per statement).
const MAX_BATCH: usize = 128;
const MAX_ITEMS: usize = 2_000;

pub struct NewOrder {
    pub order: orders::Model,
    pub items: Vec<order_items::Model>,
    pub event: order_status_events::ActiveModel,
    pub notification: Option<notifications::Model>,
}

struct Job {
    new: NewOrder,
    done: oneshot::Sender<Result<(), DbErr>>,
}

#[derive(Clone)]
pub struct OrderWriter {
    tx: mpsc::Sender<Job>,
}

impl OrderWriter {
    /// Start the writer task on `db`.
    pub fn start(db: DatabaseConnection) -> OrderWriter {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(run(db, rx));
        OrderWriter { tx }
    }

    /// Store the order; returns once it is committed (or failed).
    pub async fn write(&self, new: NewOrder) -> Result<(), DbErr> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { new, done })
            .await
            .map_err(|_| DbErr::Custom("the order writer stopped".into()))?;
        wait.await
            .map_err(|_| DbErr::Custom("the order writer stopped".into()))?
    }
}

async fn run(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut items = first.new.items.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && items < MAX_ITEMS {
            match rx.try_recv() {
                Ok(job) => {
                    items += job.new.items.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        metrics::histogram!("brigade_order_write_batch_size").record(batch.len() as f64);
        let news: Vec<&NewOrder> = batch.iter().map(|j| &j.new).collect();
        match write_all(&db, &news).await {
            Ok(()) => {
                for job in batch {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(err) if batch.len() == 1 => {
                if let Some(job) = batch.pop() {
                    let _ = job.done.send(Err(err));
                }
            }
            Err(_) => {
                for job in batch {
                    let result = write_all(&db, &[&job.new]).await;
                    let _ = job.done.send(result);
                }
            }
        }
    }
}

fn set_all<A: ActiveModelTrait>(active: A) -> A {
    active.reset_all()
}

async fn write_all(db: &DatabaseConnection, news: &[&NewOrder]) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    orders::Entity::insert_many(
        news.iter()
            .map(|n| set_all(n.order.clone().into_active_model())),
    )
    .exec_without_returning(&txn)
    .await?;
    let items: Vec<order_items::ActiveModel> = news
        .iter()
        .flat_map(|n| n.items.iter().cloned())
        .map(|item| set_all(item.into_active_model()))
        .collect();
    if !items.is_empty() {
        order_items::Entity::insert_many(items)
            .exec_without_returning(&txn)
            .await?;
    }
    order_status_events::Entity::insert_many(news.iter().map(|n| n.event.clone()))
        .exec_without_returning(&txn)
        .await?;
    let notes: Vec<notifications::ActiveModel> = news
        .iter()
        .filter_map(|n| n.notification.clone())
        .map(|n| set_all(n.into_active_model()))
        .collect();
    if !notes.is_empty() {
        notifications::Entity::insert_many(notes)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await
}
