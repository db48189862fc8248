'use strict';
// The showcase chaincode's trivial `Put(key, "v")`, a new key each time:
// the baseline write of the Rust benchmark's throughput part.

const { Workload } = require('../lib/workload');

class Put extends Workload {
    next() {
        const key = `caliper-${this.roundArguments.runId}-${this.roundIndex}-${this.workerIndex}-${this.sent}`;
        return {
            request: { contractId: 'showcase', contractFunction: 'Put', contractArguments: [key, 'v'] },
        };
    }
}

module.exports.createWorkloadModule = () => new Put();
