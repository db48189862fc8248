import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choose, measure, parseOptions, runCalls } from '../lib.mjs';

test('flags default like the Go and Rust twins', () => {
    const o = parseOptions(['--submits', '5']);
    assert.equal(o.chaincode, 'showcase');
    assert.equal(o.concurrency, 8);
    assert.equal(o.getKeys, 5);
    assert.equal(o.getPrefix, o.keyPrefix);
    assert.match(o.keyPrefix, /^load-\d+-\d+$/);
});

test('bad counts, unknown flags and positionals are refused', () => {
    assert.throws(() => parseOptions(['--submits=-1']), /--submits must be a whole number from 0/);
    assert.throws(() => parseOptions(['--concurrency', '0']), /--concurrency must be a whole number from 1/);
    assert.throws(() => parseOptions(['--warmup', '1e3']), /--warmup/);
    assert.throws(() => parseOptions(['--warmup', '9'.repeat(12)]), /--warmup/);
    assert.throws(() => parseOptions(['--bogus', '1']), /bogus/);
    assert.throws(() => parseOptions(['extra']), /extra|positional/i);
    assert.throws(() => parseOptions(['--submits', '0', '--evaluates', '3']), /evaluates need keys/);
    assert.equal(parseOptions(['--submits', '0', '--get-prefix', 'seed', '--get-keys', '4']).getKeys, 4);
});

const description = {
    channel: 'ehr',
    organizations: [
        {
            name: 'org1',
            msp_id: 'Org1MSP',
            peers: [{ name: 'peer0' }, { name: 'peer1' }],
            users: [{ name: 'User1', cert: 'c', key: 'k' }],
        },
    ],
};

test('the organisation, peer and user are chosen by name or MSP id', () => {
    const base = parseOptions(['--submits', '1']);
    assert.equal(choose(description, base).peer.name, 'peer0');
    assert.equal(choose(description, { ...base, org: 'Org1MSP', peer: 'peer1' }).peer.name, 'peer1');
    assert.equal(choose(description, base).channel, 'ehr');
    assert.equal(choose(description, { ...base, channel: 'other' }).channel, 'other');
    assert.throws(() => choose(description, { ...base, org: 'org9' }), /no organisation org9/);
    assert.throws(() => choose(description, { ...base, peer: 'peer7' }), /no peer peer7/);
    assert.throws(() => choose(description, { ...base, user: 'Admin' }), /no user Admin/);
    assert.throws(() => choose({ organizations: [{ name: 'org1', peers: [] }] }, base), /has no peers/);
    assert.throws(() => choose([], base), /no organisation/);
});

test('every call runs once, at most k at a time, and failures are counted', async () => {
    let inFlight = 0;
    let most = 0;
    const seen = [];
    const errors = {};
    const failed = await runCalls(10, 3, async (i) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight -= 1;
        seen.push(i);
        if (i % 4 === 0) {
            throw new Error(`call ${i}\nfailed`);
        }
    }, errors);
    assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(most, 3);
    assert.equal(failed, 3);
    assert.equal(errors.first, 'call 0 failed');
    assert.equal(await runCalls(0, 4, async () => assert.fail('no call expected'), {}), 0);
});

test('a phase reports its count, failures, CPU and wall time', async () => {
    const phase = await measure(4, 2, async () => {
        const until = Date.now() + 5;
        while (Date.now() < until) {
            // burn CPU so the phase has some
        }
    }, {});
    assert.equal(phase.count, 4);
    assert.equal(phase.errors, 0);
    assert.ok(phase.cpu_ms > 0 && phase.wall_ms > 0);
    assert.ok(Math.abs(phase.cpu_ms - (phase.user_ms + phase.sys_ms)) < 1e-9);
});
