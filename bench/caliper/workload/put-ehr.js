'use strict';
// The EHR contract's `PutEhr` of one synthetic FHIR resource: the upload
// (patient ref, record ids) as transient data `metadata`, the resource as
// transient data under its record id (the contract keeps both in private
// data, so the block names neither the patient nor the record),
// exactly the uploads the Rust
// benchmark sends with the same seed (`ehrx-bench --export-uploads`).
// Fabric's gateway picks the endorsers: both organisations, the members of
// the records collection (Caliper's peer-gateway connector cannot name
// endorsing organisations as our SDK does). Like our SDK, the workload
// checks that the endorsed result gives the record's category and SHA-256
// (it names no record id: the result is in the block).

const crypto = require('crypto');
const fs = require('fs');
const { Workload } = require('../lib/workload');

/** Each worker process reads the uploads once and takes its own in turn. */
let uploads;
let taken = 0;

/** The category of a record id `Type/id`. */
function categoryOf(recordId) {
    return recordId.split('/')[0];
}

/**
 * Why the contract's `PutEhr` result does not describe `upload`, or
 * undefined when it does.
 * @param {{metadata: string, record_id: string, record: string}} upload what was sent
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
    const sha256 = crypto.createHash('sha256').update(upload.record, 'utf8').digest('hex');
    const records = stored !== null && typeof stored === 'object' && Array.isArray(stored.records) ? stored.records : [];
    const one = records.length === 1 ? records[0] : undefined;
    const category = categoryOf(upload.record_id);
    if (!one || one.category !== category || one.sha256 !== sha256) {
        return `stored ${JSON.stringify(records.map((r) => [r.category, r.sha256]))}, sent ${upload.record_id} with ${sha256}`;
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
                contractArguments: [],
                transientMap: { metadata: upload.metadata, [upload.record_id]: upload.record },
            },
            check: (result) => checkResult(upload, result),
        };
    }
}

module.exports = { createWorkloadModule: () => new PutEhr(), checkResult };
