//! The networks of a [`World`] behind stand-in peers: each network's real
//! chaincode on its ledger, served over gRPC by an `hlf-testpeer` peer, so
//! that a client's tests talk to the contract itself. Between the two
//! networks, [`World::relay`] does what the relays and net2's responder do
//! on a real deployment, through the same contract functions.

use std::{sync::Arc, time::Duration};

use ehrx_chaincode::{
    ehr,
    proto::exchange::ReplyStatus,
    shim::{contract::ContractChaincode, testing::MemoryLedger},
};
use ehrx_interface::{
    names::{CHAINCODE, Forwarded, event},
    types::{Outcome as ExchangeOutcome, OutcomeKind},
};
use hlf_testpeer::{
    Contract, TestPeer,
    shim::{ShimContract, committed},
};

use crate::world::{Network, World};

/// A network's chaincode behind a stand-in peer.
pub type ContractPeer = TestPeer<ShimContract<ContractChaincode>>;

/// How often the relay looks for requests to carry.
const POLL: Duration = Duration::from_millis(20);

impl Network {
    /// This network's chaincode on its ledger, as a stand-in peer's
    /// contract.
    pub fn contract(&self) -> ShimContract<ContractChaincode> {
        ShimContract::new(ehr::chaincode(), self.ledger.clone())
    }
}

/// What net2 does with the requests net1 validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Takes each in and answers it at once.
    Answers,
    /// Answers each after a pause.
    AnswersAfter(Duration),
    /// Never hears of them.
    Silent,
}

impl World {
    /// The world on ledgers that stamp transactions with the current time,
    /// as the proposals of a client of a served network are.
    pub async fn live() -> Self {
        Self::on(|| MemoryLedger::new().with_system_clock()).await
    }

    /// Carries the request `signed`, validated on net1, to net2 and its
    /// answer back, as net1's relay, net2's responder and net2's relay
    /// would: AcceptRequest on net2 with net1's proof; a reply sealing
    /// what GetRequestRecords returns, or, when net2 rejected the request,
    /// a refusal carrying its reason; SubmitReply; and AcceptReply on net1
    /// with net2's proof, committed in a block of `net1`.
    pub async fn answer<C: Contract>(&self, signed: &[u8], net1: &TestPeer<C>) {
        let taken_in: ExchangeOutcome = serde_json::from_value(self.accept(signed).await).unwrap();
        let request_id = &taken_in.request_id;
        let reply = match (taken_in.outcome, &taken_in.reason) {
            (OutcomeKind::Accepted, _) => self.reply_from(&self.request_records(request_id).await),
            (OutcomeKind::Rejected, Some(reason)) => {
                self.refusal(request_id, ReplyStatus::NotFound, reason)
            }
            other => panic!("AcceptRequest answered {other:?}"),
        };
        let signed_reply = self.submit(&reply).await;
        let outcome = self.deliver(Forwarded::Reply, &signed_reply).await;
        assert!(outcome.committed, "{}", outcome.response.message);
        // Committed outside the peer, it reaches the peer's listeners as
        // the next block.
        net1.commit_block(vec![committed(CHAINCODE, &outcome)]);
    }

    /// Until the test ends, carries every request validated on net1
    /// (served by `net1`) as `destination` says.
    pub fn relay<C: Contract>(
        self: &Arc<Self>,
        net1: TestPeer<C>,
        destination: Destination,
    ) -> tokio::task::JoinHandle<()> {
        let world = Arc::clone(self);
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                let events = world.net1.ledger.events();
                for validated in events[seen..]
                    .iter()
                    .filter(|e| e.event_name == event::REQUEST_VALIDATED)
                {
                    // The event names the request; its relay reads the
                    // signed request from net1's private state.
                    let signed = world.net1.signed_request(&validated.payload);
                    match destination {
                        Destination::Answers => world.answer(&signed, &net1).await,
                        Destination::AnswersAfter(pause) => {
                            tokio::time::sleep(pause).await;
                            world.answer(&signed, &net1).await;
                        }
                        Destination::Silent => {}
                    }
                }
                seen = events.len();
                tokio::time::sleep(POLL).await;
            }
        })
    }
}
