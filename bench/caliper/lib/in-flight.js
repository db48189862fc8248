'use strict';
// A Caliper rate controller that keeps a fixed number of transactions in
// flight: before each submission it waits until fewer than `transactions`
// (over all workers, split evenly) are unfinished. This is the closed loop
// the Rust benchmark runs (`ehrx-bench --levels`). Caliper's built-in
// `fixed-load` controller only sleeps an estimate and then submits anyway,
// so its backlog drifts above the target.
//
// Use: rateControl: { type: <path of this file>, opts: { transactions: 16 } }

/** How often a waiting worker looks at its backlog again. */
const POLL_MS = 1;

/**
 * The in-flight transactions per worker: `transactions` split evenly, the
 * first workers taking one more when it does not divide.
 * @param {number} transactions in flight over all workers
 * @param {number} workers the number of workers
 * @param {number} workerIndex this worker, from 0
 * @returns {number} this worker's share
 */
function share(transactions, workers, workerIndex) {
    if (!Number.isInteger(transactions) || transactions < 1) {
        throw new Error(`in-flight rate control: opts.transactions must be a whole number of at least 1, not ${transactions}`);
    }
    if (!Number.isInteger(workers) || workers < 1 || workers > transactions) {
        throw new Error(`in-flight rate control: ${workers} workers cannot share ${transactions} transactions in flight; use at most ${transactions} workers`);
    }
    return Math.floor(transactions / workers) + (workerIndex < transactions % workers ? 1 : 0);
}

class InFlight {
    /**
     * @param {object} testMessage Caliper's round message
     * @param {object} stats this worker's transaction statistics
     * @param {number} workerIndex this worker, from 0
     */
    constructor(testMessage, stats, workerIndex) {
        const opts = testMessage.getRateControlSpec().opts || {};
        this.stats = stats;
        this.limit = share(opts.transactions, testMessage.getWorkersNumber(), workerIndex);
    }

    /** Waits until this worker has fewer than its share unfinished. */
    async applyRateControl() {
        while (this.stats.getTotalSubmittedTx() - this.stats.getTotalFinishedTx() >= this.limit) {
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
    }

    async end() { }
}

function createRateController(testMessage, stats, workerIndex) {
    return new InFlight(testMessage, stats, workerIndex);
}

module.exports = { createRateController, share };
