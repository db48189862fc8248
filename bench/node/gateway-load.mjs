// gateway-load for Fabric's official Node.js Gateway client
// (@hyperledger/fabric-gateway on @grpc/grpc-js): the third driver of the
// CPU baseline (scripts/bench-baseline.sh), beside the Rust SDK's
// client-sdk/examples/gateway_load.rs and the Go bench/go/cmd/gateway-load.
// It takes the same flags and prints the same one-line JSON report.
//
// One connection to one peer, one user: W warm-up submits, then N submits
// of Put(key, value) (each waits for its commit), then W warm-up evaluates,
// then M evaluates of Get(key), with K calls in flight. CPU
// (process.cpuUsage: user + system of the whole process, libuv's threads
// included) and wall time are measured around each measured phase only.

import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';
import { choose, measure, parseOptions, runCalls } from './lib.mjs';

const EMPTY = { count: 0, errors: 0, cpu_ms: 0, user_ms: 0, sys_ms: 0, wall_ms: 0 };

async function main() {
    const o = parseOptions(process.argv.slice(2));
    const chosen = choose(JSON.parse(readFileSync(o.network, 'utf8')), o);
    const tls = grpc.credentials.createSsl(readFileSync(chosen.peer.tls_ca_cert));
    const client = new grpc.Client(chosen.peer.address, tls, {
        'grpc.ssl_target_name_override': chosen.peer.server_name,
    });
    // The same deadlines as the Rust SDK's defaults and the Go twin.
    const gateway = connect({
        client,
        identity: { mspId: chosen.mspId, credentials: readFileSync(chosen.user.cert) },
        signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(chosen.user.key))),
        hash: hash.sha256,
        evaluateOptions: () => ({ deadline: Date.now() + 5000 }),
        endorseOptions: () => ({ deadline: Date.now() + 15000 }),
        submitOptions: () => ({ deadline: Date.now() + 5000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 60000 }),
    });
    try {
        // Connect now, so the handshake is part of setup and not of the first phase.
        await new Promise((resolve, reject) =>
            client.waitForReady(Date.now() + 15000, (err) => (err ? reject(err) : resolve())),
        );
        const contract = gateway.getNetwork(chosen.channel).getContract(o.chaincode);
        const value = 'v'.repeat(o.valueSize);
        const putKey = (prefix) => (i) => contract.submitTransaction('Put', `${prefix}-${i}`, value);
        const getKey = (i) => contract.evaluateTransaction('Get', `${o.getPrefix}-${i % o.getKeys}`);

        const report = {
            client: 'node-gateway',
            chaincode: o.chaincode,
            peer: chosen.peer.name,
            user: o.user,
            concurrency: o.concurrency,
            warmup: o.warmup,
            value_size: o.valueSize,
            submit: EMPTY,
            evaluate: EMPTY,
        };
        const errors = {};
        const warmErrors = {};
        if (o.submits > 0) {
            await runCalls(o.warmup, o.concurrency, putKey(`${o.keyPrefix}-warmup`), warmErrors);
            report.submit = await measure(o.submits, o.concurrency, putKey(o.keyPrefix), errors);
        }
        if (o.evaluates > 0) {
            await runCalls(o.warmup, o.concurrency, getKey, warmErrors);
            report.evaluate = await measure(o.evaluates, o.concurrency, getKey, errors);
        }
        const total = process.cpuUsage();
        report.process_cpu_ms = (total.user + total.system) / 1000;
        const first = errors.first ?? (warmErrors.first ? `warm-up: ${warmErrors.first}` : undefined);
        if (first) {
            report.first_error = first;
        }
        console.log(JSON.stringify(report));
    } finally {
        gateway.close();
        client.close();
    }
}

if (import.meta.url === `file://${process.argv[1]}`) {
    main().catch((err) => {
        console.error(`gateway-load: ${err?.message ?? err}`);
        process.exit(1);
    });
}
