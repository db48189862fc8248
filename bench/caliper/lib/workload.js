'use strict';
// What the two workloads share: which identity sends each transaction, and
// a record of every transaction's times (written at the end of the round,
// one JSON file per worker) so the summary can give percentiles, which
// Caliper's own report does not.
//
// Round arguments (from the benchmark configuration run.sh generates):
//   identities  [{mspId, name}] in use order; the first `inFlight` are used,
//               as the Rust benchmark gives each of its workers its own
//   inFlight    transactions in flight over all workers
//   samplesDir  where the per-worker sample files go
//   label       the round's name, used in the file name

const fs = require('fs');
const path = require('path');
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');

/**
 * The identities one worker uses: of the first `inFlight`, every
 * `workers`-th from `workerIndex`.
 * @param {{mspId: string, name: string}[]} identities all, in use order
 * @param {number} inFlight transactions in flight over all workers
 * @param {number} workers the number of workers
 * @param {number} workerIndex this worker, from 0
 * @returns {{mspId: string, name: string}[]} this worker's
 */
function workerIdentities(identities, inFlight, workers, workerIndex) {
    if (!Array.isArray(identities) || identities.length < inFlight) {
        throw new Error(`${inFlight} transactions in flight need ${inFlight} identities, the network configuration has ${Array.isArray(identities) ? identities.length : 0}`);
    }
    const mine = identities.slice(0, inFlight).filter((_, i) => i % workers === workerIndex);
    if (mine.length === 0) {
        throw new Error(`worker ${workerIndex} of ${workers} has no identity at ${inFlight} in flight`);
    }
    return mine;
}

class Workload extends WorkloadModuleBase {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.identities = workerIdentities(roundArguments.identities, roundArguments.inFlight, totalWorkers, workerIndex);
        this.sent = 0;
        this.samples = [];
    }

    /**
     * The request of one transaction, without the invoker.
     * @returns {{request: object, check: (result: Buffer) => string|undefined}}
     *   the request, and a check of the contract's result that returns why it is wrong
     */
    next() {
        throw new Error('a workload must define next()');
    }

    async submitTransaction() {
        const identity = this.identities[this.sent % this.identities.length];
        this.sent += 1;
        const { request, check } = this.next();
        // sendRequests counts the submission before its first await, as the
        // in-flight rate controller needs.
        const status = await this.sutAdapter.sendRequests({
            ...request,
            invokerMspId: identity.mspId,
            invokerIdentity: identity.name,
            readOnly: false,
        });
        let ok = status.IsCommitted();
        if (ok && check) {
            const wrong = check(Buffer.from(status.GetResult() || ''));
            if (wrong) {
                ok = false;
                console.error(`${request.contractFunction}: ${wrong}`);
            }
        }
        this.samples.push([status.GetTimeCreate(), status.GetTimeFinal(), ok ? 1 : 0]);
    }

    async cleanupWorkloadModule() {
        const { samplesDir, label } = this.roundArguments;
        if (samplesDir) {
            fs.mkdirSync(samplesDir, { recursive: true });
            const file = path.join(samplesDir, `${label}.worker${this.workerIndex}.json`);
            fs.writeFileSync(file, JSON.stringify({ label, worker: this.workerIndex, samples: this.samples }));
        }
    }
}

module.exports = { Workload, workerIdentities };
