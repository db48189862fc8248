'use strict';
// The EHR contract's `PutEhr` of one synthetic FHIR resource: the metadata
// as the one argument, the resource as transient data under `record` (the
// contract keeps it in private data), exactly the uploads the Rust
// benchmark sends with the same seed (`ehrx-bench --export-uploads`).
// Fabric's gateway picks the endorsers: both organisations, the members of
// the records collection (Caliper's peer-gateway connector cannot name
// endorsing organisations as our SDK does). Like our SDK, the workload
// checks that the endorsed result names the record and its SHA-256.

const crypto = require('crypto');
const fs = require('fs');
const { Workload } = require('../lib/workload');

/** Each worker process reads the uploads once and takes its own in turn. */
let uploads;
let taken = 0;

/**
 * Why the contract's `PutEhr` result does not describe `upload`, or
 * undefined when it does.
 * @param {{metadata: string, record: string}} upload what was sent
 * @param {Buffer} result the contract's result
 * @returns {string|undefined} what is wrong
 */
function checkResult(upload, result) {
    let stored;
    try {
        stored = JSON.parse(result.toString('utf8'));
    } catch (error) {
        return `result is not JSON: ${error.message}`;
    }
    const sent = JSON.parse(upload.metadata);
    const sha256 = crypto.createHash('sha256').update(upload.record, 'utf8').digest('hex');
    if (stored === null || typeof stored !== 'object' || stored.record_id !== sent.record_id || stored.sha256 !== sha256) {
        return `stored ${JSON.stringify(stored && stored.record_id)} with SHA-256 ${JSON.stringify(stored && stored.sha256)}, sent ${sent.record_id} with ${sha256}`;
    }
    return undefined;
}

class PutEhr extends Workload {
    next() {
        if (!uploads) {
            uploads = JSON.parse(fs.readFileSync(this.roundArguments.uploads, 'utf8'));
        }
        // Worker w takes uploads w, w + W, w + 2W, ... over all rounds.
        const index = this.workerIndex + taken * this.totalWorkers;
        taken += 1;
        const upload = uploads[index];
        if (!upload) {
            throw new Error(`ran out of synthetic uploads after ${uploads.length}; export more (run.sh --uploads)`);
        }
        return {
            request: {
                contractId: 'ehrx',
                contractFunction: 'PutEhr',
                contractArguments: [upload.metadata],
                transientMap: { record: upload.record },
            },
            check: (result) => checkResult(upload, result),
        };
    }
}

module.exports = { createWorkloadModule: () => new PutEhr(), checkResult };
