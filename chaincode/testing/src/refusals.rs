//! Messages a test expects refused, each for its own defect: filed
//! (SubmitRequest, SubmitReply) or delivered (AcceptRequest, AcceptReply).

use ehrx_interface::names::Forwarded;

use crate::world::{Filed, World, assert_mentions};

impl World {
    /// Delivers each envelope of `kind` without a proof, as in
    /// [`World::delivery_refused`]; each must be refused with a message
    /// naming its defect.
    pub async fn each_delivery_refused<'a>(
        &self,
        kind: Forwarded,
        cases: impl IntoIterator<Item = (Vec<u8>, &'a str)>,
    ) {
        for (envelope, defect) in cases {
            let message = self.delivery_refused(kind, &envelope, b"").await;
            assert_mentions(&message, defect);
        }
    }

    /// Each case's defect applied to a copy of `valid`, which is signed by
    /// its author and submitted: each must be refused with a message
    /// naming the case.
    pub async fn each_filing_refused<'a, M: Filed + Clone, D: Fn(&mut M)>(
        &self,
        valid: &M,
        cases: impl IntoIterator<Item = (&'a str, D)>,
    ) {
        for (name, defect) in cases {
            let mut message = valid.clone();
            defect(&mut message);
            let refusal = self.submit_refused(&message).await;
            assert_mentions(&refusal, name);
        }
    }
}
