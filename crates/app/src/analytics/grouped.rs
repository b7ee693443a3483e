//! Single channel orders and status updates, stored in groups.
//!
//! A request that carries one order (`POST /api/channel-orders` with an object, or a status update) would
//! pay alone for everything an ingest reads and writes: the code mapping, the restaurants, what is stored
//! of the order, one transaction with its commit, and the kitchen's side after it. A [`ChannelWriter`]
//! task stores the single orders that arrive while its previous group is being stored as one batch
//! through [`channel::ingest_shares`], and answers each caller with its own share of the outcome, as if
//! its request had been stored alone:
//!
//! - a group never holds two updates of one order (`_id`): the later waits for the next group, so each
//!   answer says what that request changed, in the order the requests arrived;
//! - a batch is stored whole or not at all, so when a group fails (one order contradicts what is stored,
//!   names an unknown brand, or the database refuses), each of its orders is stored again alone and gets
//!   the answer it would have got alone;
//! - the task, not the request, runs the group: a client that hangs up cannot cancel a group half way.

use std::collections::{HashSet, VecDeque};

use tokio::sync::{mpsc, oneshot};

use super::channel::{self, IngestOutcome, ValidOrder};
use crate::http::error::ApiError;
use crate::state::WeakState;

/// Orders stored together at most.
pub const MAX_GROUP: usize = 256;

type Reply = oneshot::Sender<Result<IngestOutcome, ApiError>>;
type Job = (ValidOrder, Reply);

/// Stores single channel orders in groups (see the module documentation).
pub struct ChannelWriter {
    jobs: mpsc::Sender<Job>,
}

impl ChannelWriter {
    /// Start the writer for `state`. It stops when the state is gone.
    pub fn start(state: WeakState) -> ChannelWriter {
        let (jobs, mut queue) = mpsc::channel::<Job>(4 * MAX_GROUP);
        tokio::spawn(async move {
            let mut waiting: VecDeque<Job> = VecDeque::new();
            loop {
                let mut arrived: Vec<Job> = Vec::new();
                if waiting.is_empty() {
                    if queue.recv_many(&mut arrived, MAX_GROUP).await == 0 {
                        break;
                    }
                } else {
                    while arrived.len() < MAX_GROUP {
                        match queue.try_recv() {
                            Ok(job) => arrived.push(job),
                            Err(_) => break,
                        }
                    }
                }
                let (group, later) = compose(waiting.drain(..).chain(arrived));
                waiting = later;
                let Some(state) = state.upgrade() else {
                    break;
                };
                let (size, started) = (group.len(), std::time::Instant::now());
                store_group(&state, group).await;
                tracing::trace!(size, elapsed = ?started.elapsed(), "stored a channel order group");
            }
        });
        ChannelWriter { jobs }
    }

    /// Store one order; the answer is what storing it alone would have answered.
    pub async fn store(&self, order: ValidOrder) -> Result<IngestOutcome, ApiError> {
        let stopped = || ApiError::unavailable("the channel order writer has stopped");
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((order, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The next group, in arrival order, and what waits for a later one: at most [`MAX_GROUP`] orders, no
/// `_id` twice.
fn compose(jobs: impl Iterator<Item = Job>) -> (Vec<Job>, VecDeque<Job>) {
    let mut group = Vec::new();
    let mut later = VecDeque::new();
    let mut ids: HashSet<String> = HashSet::new();
    for job in jobs {
        if group.len() < MAX_GROUP && !ids.contains(&job.0.external_id) {
            ids.insert(job.0.external_id.clone());
            group.push(job);
        } else {
            later.push_back(job);
        }
    }
    (group, later)
}

/// Store a group and answer each caller.
async fn store_group(state: &crate::state::AppState, group: Vec<Job>) {
    let (orders, replies): (Vec<ValidOrder>, Vec<Reply>) = group.into_iter().unzip();
    if orders.len() == 1 {
        let answer = channel::ingest(state, orders).await;
        if let Some(reply) = replies.into_iter().next() {
            let _ = reply.send(answer);
        }
        return;
    }
    let mut created = HashSet::new();
    match channel::ingest_shares(state, orders.clone(), &mut created).await {
        Ok((outcome, shares)) => {
            let mut answers: Vec<Option<IngestOutcome>> = split(outcome, shares);
            for (order, reply) in orders.iter().zip(replies) {
                let answer = answers
                    .iter_mut()
                    .find(|a| {
                        a.as_ref()
                            .is_some_and(|a| a.orders[0].external_id == order.external_id)
                    })
                    .and_then(Option::take)
                    .ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!(
                            "a grouped ingest answered nothing for {}",
                            order.external_id
                        ))
                    });
                let _ = reply.send(answer);
            }
        }
        Err(err) => {
            tracing::debug!(code = %err.code, orders = orders.len(), "a channel order group failed; storing its orders one by one");
            for (order, reply) in orders.into_iter().zip(replies) {
                let brand = order.brand_id.clone();
                let mut answer = channel::ingest(state, vec![order]).await;
                // The group's attempt created the restaurant: the first of its orders stored says so.
                if let Ok(outcome) = &mut answer
                    && created.remove(&brand)
                {
                    outcome.restaurants_created = 1;
                }
                let _ = reply.send(answer);
            }
        }
    }
}

/// One outcome per order of a batch's outcome, each as if its order had been the whole batch.
fn split(outcome: IngestOutcome, shares: Vec<channel::OrderShare>) -> Vec<Option<IngestOutcome>> {
    outcome
        .orders
        .into_iter()
        .zip(shares)
        .map(|(order, share)| {
            Some(IngestOutcome {
                received: 1,
                created: usize::from(order.created),
                updated: usize::from(!order.created),
                events_stored: order.events_stored,
                duplicate_events: share.duplicate_events,
                unknown_codes: share.unknown_codes,
                restaurants_created: usize::from(share.restaurant_created),
                orders: vec![order],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> (Job, oneshot::Receiver<Result<IngestOutcome, ApiError>>) {
        let (reply, answer) = oneshot::channel();
        let order = ValidOrder {
            at: String::new(),
            external_id: id.to_string(),
            created: chrono::Utc::now(),
            account: "a".into(),
            brand_id: "b".into(),
            channel_order_id: None,
            customer: None,
            delivery_address: None,
            pickup_time: None,
            items: Vec::new(),
            status: 10,
            history: Vec::new(),
        };
        ((order, reply), answer)
    }

    #[test]
    fn a_group_holds_each_order_once_and_keeps_arrival_order() {
        let jobs: Vec<Job> = ["x", "y", "x", "z", "y", "x"]
            .into_iter()
            .map(|id| job(id).0)
            .collect();
        let (group, later) = compose(jobs.into_iter());
        let ids: Vec<&str> = group.iter().map(|j| j.0.external_id.as_str()).collect();
        assert_eq!(ids, ["x", "y", "z"]);
        let (group, later) = compose(later.into_iter());
        let ids: Vec<&str> = group.iter().map(|j| j.0.external_id.as_str()).collect();
        assert_eq!(ids, ["x", "y"]);
        let (group, later) = compose(later.into_iter());
        assert_eq!(group.len(), 1);
        assert!(later.is_empty());
    }

    #[test]
    fn a_group_stops_at_its_size() {
        let jobs: Vec<Job> = (0..MAX_GROUP + 3)
            .map(|i| job(&format!("o{i}")).0)
            .collect();
        let (group, later) = compose(jobs.into_iter());
        assert_eq!(group.len(), MAX_GROUP);
        assert_eq!(later.len(), 3);
        assert_eq!(later[0].0.external_id, format!("o{MAX_GROUP}"));
    }
}
