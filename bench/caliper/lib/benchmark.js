'use strict';
// Caliper's benchmark configuration: a warm-up round of each workload, then
// at each load level a round of `Put` and a round of `PutEhr`, each for a
// fixed time with a fixed number of transactions in flight (the in-flight
// rate controller), the kinds interleaved as in the Rust benchmark.

const path = require('path');

const WORKLOADS = [
    { kind: 'Put', module: 'workload/put.js' },
    { kind: 'PutEhr', module: 'workload/put-ehr.js' },
];

/**
 * @param {object} options
 * @param {number[]} options.levels transactions in flight
 * @param {number} options.seconds each measured round's length
 * @param {number} options.warmup transactions of each workload before the first level
 * @param {number} options.workers Caliper worker processes
 * @param {object[]} options.identities Caliper identities in use order
 * @param {string} options.uploads the exported PutEhr uploads
 * @param {string} options.samplesDir where the workloads write their samples
 * @param {string} options.runId makes the Put keys of this run unique
 * @param {string} options.root bench/caliper, where the workload modules are
 * @returns {object} the benchmark configuration
 */
function benchmark(options) {
    const { levels, seconds, warmup, workers, identities, uploads, samplesDir, runId, root } = options;
    if (!Array.isArray(levels) || levels.length === 0 || !levels.every((l) => Number.isInteger(l) && l >= 1)) {
        throw new Error('levels must be whole numbers of at least 1');
    }
    if (!Number.isInteger(seconds) || seconds < 1) {
        throw new Error('seconds must be a whole number of at least 1');
    }
    const most = Math.max(...levels);
    if (!Number.isInteger(workers) || workers < 1 || workers > Math.min(...levels)) {
        throw new Error(`workers must be from 1 to the smallest level (${Math.min(...levels)})`);
    }
    if (identities.length < most) {
        throw new Error(`${most} in flight need ${most} identities; the networks have ${identities.length} (NETWORK_USERS_PER_ORG)`);
    }
    const rateControl = (transactions) => ({ type: path.join(root, 'lib', 'in-flight.js'), opts: { transactions } });
    const round = (label, workload, inFlight, length) => ({
        label,
        ...length,
        rateControl: rateControl(inFlight),
        workload: {
            module: path.join(root, workload.module),
            arguments: { label, inFlight, identities, uploads, samplesDir, runId },
        },
    });
    const rounds = [];
    if (warmup > 0) {
        for (const workload of WORKLOADS) {
            rounds.push(round(`warmup-${workload.kind}`, workload, most, { txNumber: warmup }));
        }
    }
    for (const level of levels) {
        for (const workload of WORKLOADS) {
            rounds.push(round(roundLabel(workload.kind, level), workload, level, { txDuration: seconds }));
        }
    }
    return {
        test: {
            name: 'ehrx-throughput',
            description: 'PutEhr against the showcase Put on network I, at fixed transactions in flight',
            workers: { number: workers },
            rounds,
        },
    };
}

/** `PutEhr` at 4 in flight → `PutEhr-x4`. */
function roundLabel(kind, level) {
    return `${kind}-x${level}`;
}

/** `PutEhr-x4` → {kind: 'PutEhr', level: 4}, or undefined for other labels. */
function parseLabel(label) {
    const match = /^(Put|PutEhr)-x(\d+)$/.exec(label);
    return match ? { kind: match[1], level: Number(match[2]) } : undefined;
}

module.exports = { benchmark, roundLabel, parseLabel, WORKLOADS };
