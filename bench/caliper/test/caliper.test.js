'use strict';
// Unit tests of the Caliper helpers: `node --test bench/caliper/test/`.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');

const networkConfig = require('../lib/network-config');
const { share } = require('../lib/in-flight');
const { workerIdentities } = require('../lib/workload');
const { benchmark, parseLabel, roundLabel } = require('../lib/benchmark');
const summary = require('../lib/summary');
const { setupFile } = require('../lib/cli');
const { checkResult } = require('../workload/put-ehr');
const crypto = require('crypto');

const user = (name, role = 'client', keyType = 'p256') => ({ name, role, key_type: keyType, cert: `/c/${name}`, key: `/k/${name}` });
const network = () => ({
    name: 'net1',
    channel: 'ehrchannel',
    organizations: ['org1', 'org2'].map((org, i) => ({
        name: org,
        msp_id: `Net1Org${i + 1}MSP`,
        peers: [{ name: `peer0.${org}`, address: `127.0.0.1:${5000 + i}`, server_name: `peer0.${org}`, tls_ca_cert: `/tls/${org}` }],
        users: [user('Admin', 'admin'), user('User10'), user('User2'), user('User1'), user('UserEd', 'client', 'ed25519')],
    })),
});

test('identities alternate between organisations, in user number order, without admins or Ed25519 users', () => {
    const ids = networkConfig.identities(network()).map((i) => `${i.mspId}/${i.name}`);
    assert.deepEqual(ids, [
        'Net1Org1MSP/User1', 'Net1Org2MSP/User1', 'Net1Org1MSP/User2', 'Net1Org2MSP/User2',
        'Net1Org1MSP/User10', 'Net1Org2MSP/User10',
    ]);
});

test('the network configuration names every identity, both contracts and each organisation\'s profile', () => {
    const config = networkConfig.caliperNetwork(network(), (org) => `/profiles/${org.name}.json`);
    assert.equal(config.version, '2.0.0');
    assert.deepEqual(config.channels, [{ channelName: 'ehrchannel', contracts: [{ id: 'ehrx' }, { id: 'showcase' }] }]);
    assert.equal(config.organizations[1].mspid, 'Net1Org2MSP');
    assert.deepEqual(config.organizations[1].identities.certificates.map((c) => c.name), ['User1', 'User2', 'User10']);
    assert.deepEqual(config.organizations[1].identities.certificates[0].clientPrivateKey, { path: '/k/User1' });
    assert.deepEqual(config.organizations[1].connectionProfile, { path: '/profiles/org2.json', discover: false });
    const profile = networkConfig.connectionProfile(network(), network().organizations[0]);
    assert.deepEqual(profile.peers['peer0.org1'], {
        url: 'grpcs://127.0.0.1:5000',
        tlsCACerts: { path: '/tls/org1' },
        grpcOptions: { 'ssl-target-name-override': 'peer0.org1' },
    });
    assert.deepEqual(profile.organizations.org1, { mspid: 'Net1Org1MSP', peers: ['peer0.org1'] });
});

test('a malformed network.json is refused with the field named', () => {
    assert.throws(() => networkConfig.identities({ organizations: {} }), /"organizations" must be an array/);
    assert.throws(() => networkConfig.identities([]), /"organizations" must be an array/);
    const broken = network();
    broken.organizations[0].users[1].cert = ['/c'];
    assert.throws(() => networkConfig.identities(broken), /"cert" must be a non-empty string/);
    const noPeers = network();
    noPeers.organizations[0].peers = null;
    assert.throws(() => networkConfig.connectionProfile(noPeers, noPeers.organizations[0]), /"peers" must be an array/);
});

test('write puts the configuration and one profile per organisation in the directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caliper-'));
    const file = path.join(dir, 'network.json');
    fs.writeFileSync(file, JSON.stringify(network()));
    const { config, identities } = networkConfig.write(file, path.join(dir, 'out'));
    assert.equal(identities.length, 6);
    assert.deepEqual(identities[0], { mspId: 'Net1Org1MSP', name: 'User1' });
    const written = JSON.parse(fs.readFileSync(config, 'utf8'));
    assert.ok(fs.existsSync(written.organizations[0].connectionProfile.path));
    assert.ok(fs.existsSync(path.join(dir, 'out', 'profile-org2.json')));
});

test('transactions in flight are split over the workers, the first taking the remainder', () => {
    assert.deepEqual([0, 1, 2].map((w) => share(16, 3, w)), [6, 5, 5]);
    assert.equal(share(1, 1, 0), 1);
    assert.throws(() => share(2, 3, 0), /cannot share 2/);
    assert.throws(() => share(0, 1, 0), /at least 1/);
    assert.throws(() => share(undefined, 1, 0), /at least 1/);
    assert.throws(() => share('4', 1, 0), /at least 1/);
});

test('each worker uses its own of the first in-flight identities', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ mspId: 'M', name }));
    assert.deepEqual(workerIdentities(ids, 4, 2, 1).map((i) => i.name), ['b', 'd']);
    assert.deepEqual(workerIdentities(ids, 1, 1, 0).map((i) => i.name), ['a']);
    assert.throws(() => workerIdentities(ids, 6, 1, 0), /need 6 identities/);
    assert.throws(() => workerIdentities(ids, 2, 3, 2), /no identity/);
    assert.throws(() => workerIdentities({}, 1, 1, 0), /has 0/);
});

test('the benchmark runs a warm-up, then Put and PutEhr at each level', () => {
    const ids = Array.from({ length: 4 }, (_, i) => ({ mspId: 'M', name: `User${i}` }));
    const options = { levels: [1, 4], seconds: 20, warmup: 10, workers: 1, identities: ids, uploads: '/u', samplesDir: '/s', runId: '7', root: '/r' };
    const rounds = benchmark(options).test.rounds;
    assert.deepEqual(rounds.map((r) => r.label), ['warmup-Put', 'warmup-PutEhr', 'Put-x1', 'PutEhr-x1', 'Put-x4', 'PutEhr-x4']);
    assert.equal(rounds[0].txNumber, 10);
    assert.equal(rounds[0].rateControl.opts.transactions, 4);
    assert.equal(rounds[5].txDuration, 20);
    assert.equal(rounds[5].rateControl.type, '/r/lib/in-flight.js');
    assert.equal(rounds[5].workload.module, '/r/workload/put-ehr.js');
    assert.equal(rounds[5].workload.arguments.inFlight, 4);
    assert.equal(benchmark({ ...options, warmup: 0 }).test.rounds.length, 4);
    assert.throws(() => benchmark({ ...options, levels: [] }), /levels/);
    assert.throws(() => benchmark({ ...options, levels: [0] }), /levels/);
    assert.throws(() => benchmark({ ...options, levels: [8] }), /need 8 identities/);
    assert.throws(() => benchmark({ ...options, workers: 2 }), /workers/);
    assert.throws(() => benchmark({ ...options, seconds: 0.5 }), /seconds/);
});

test('round labels name the kind and the level, and only measured rounds parse', () => {
    assert.equal(roundLabel('PutEhr', 16), 'PutEhr-x16');
    assert.deepEqual(parseLabel('PutEhr-x16'), { kind: 'PutEhr', level: 16 });
    assert.equal(parseLabel('warmup-Put'), undefined);
    assert.equal(parseLabel('Get-x1'), undefined);
});

test('figures: committed per second over the round, nearest-rank percentiles of the committed', () => {
    assert.equal(summary.percentile([1, 2, 3, 4], 50), 2);
    assert.equal(summary.percentile([1, 2, 3, 4], 99), 4);
    assert.ok(Number.isNaN(summary.percentile([], 50)));
    const f = summary.figures([[0, 100, 1], [100, 300, 1], [300, 2000, 0]]);
    assert.equal(f.succeeded, 2);
    assert.equal(f.failed, 1);
    assert.equal(f.seconds, 2);
    assert.equal(f.per_second, 1);
    assert.equal(f.p50_ms, 100);
    assert.equal(f.max_ms, 200);
    assert.equal(f.mean_ms, 150);
    assert.equal(summary.figures([]).per_second, 0);
});

const REPORT = `<html><table style="x">
<tr><th>Name</th> <th>Succ</th> <th>Fail</th> <th>Send Rate (TPS)</th> <th>Max Latency (s)</th> <th>Min Latency (s)</th> <th>Avg Latency (s)</th> <th>Throughput (TPS)</th></tr>
<tr> <td>Put-x1</td> <td>90</td> <td>0</td> <td>4.5</td> <td>0.30</td> <td>0.18</td> <td>0.22</td> <td>4.5</td> </tr>
<tr> <td>PutEhr-x1</td> <td>80</td> <td>1</td> <td>4.1</td> <td>0.40</td> <td>0.20</td> <td>0.24</td> <td>4.0</td> </tr>
</table><table><tr><th>Other</th></tr></table></html>`;

test('Caliper\'s summary table is read from its report by column name', () => {
    const rows = summary.readReport(REPORT);
    assert.deepEqual(rows.get('PutEhr-x1'), { succ: 80, fail: 1, avg_latency_s: 0.24, tps: 4.0 });
    assert.equal(rows.size, 2);
    assert.equal(summary.readReport('<html>no table</html>').size, 0);
});

test('the summary compares with our throughput.csv and gives PutEhr against Put in each driver', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caliper-'));
    const samples = path.join(dir, 'samples');
    fs.mkdirSync(samples);
    const write = (label, worker, s) => fs.writeFileSync(path.join(samples, `${label}.worker${worker}.json`), JSON.stringify({ label, worker, samples: s }));
    write('Put-x1', 0, [[0, 200, 1], [200, 400, 1], [400, 600, 1], [600, 800, 1]]);
    write('PutEhr-x1', 0, [[0, 250, 1], [250, 500, 1]]);
    write('PutEhr-x1', 1, [[500, 1000, 1]]);
    write('warmup-Put', 0, [[0, 1, 1]]);
    fs.writeFileSync(path.join(dir, 'report.html'), REPORT);
    fs.writeFileSync(path.join(dir, 'ours.csv'), 'level,kind,attempted,succeeded,failed,seconds,per_second,mean_ms,p50_ms,p95_ms,p99_ms\n'
        + '1,Put,10,10,0,2,5,200,200,210,220\n1,PutEhr,10,10,0,2.5,4,250,250,260,270\n1,SubmitRequest,10,10,0,2,5,200,200,210,220\n');
    const md = summary.write(dir, samples, path.join(dir, 'report.html'), path.join(dir, 'ours.csv'));
    const { rows } = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.deepEqual(rows.map((r) => r.kind), ['Put', 'PutEhr']);
    assert.equal(rows[0].per_second, 5);
    assert.equal(rows[0].caliper_tps, 4.5);
    assert.equal(rows[0].rate_ratio, 1);
    assert.equal(rows[1].per_second, 3);
    assert.equal(rows[1].put_ratio, 0.6);
    assert.equal(rows[1].ours_put_ratio, 0.8);
    assert.equal(rows[1].caliper_avg_ms, 240);
    assert.match(md, /\| 1 \| PutEhr \| 3\.0 \|/);
    assert.equal(fs.readFileSync(path.join(dir, 'summary.csv'), 'utf8').trim().split('\n').length, 3);
    summary.write(dir, samples, path.join(dir, 'missing.html'));
    assert.ok(!JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).rows[0].ours_per_second);
});

test('a PutEhr result must give the category and the SHA-256 of what was sent', () => {
    const upload = { metadata: JSON.stringify({ patient_ref: 'ab', records: ['Condition/r-1'] }), record_id: 'Condition/r-1', record: '{"resourceType":"Condition","id":"r-1"}' };
    const sha256 = crypto.createHash('sha256').update(upload.record).digest('hex');
    const result = (records) => Buffer.from(JSON.stringify({ records }));
    assert.equal(checkResult(upload, result([{ category: 'Condition', sha256, stored: 'stored' }])), undefined);
    assert.match(checkResult(upload, result([{ category: 'Observation', sha256 }])), /stored \[\["Observation"/);
    assert.match(checkResult(upload, result([{ category: 'Condition', sha256: '00' }])), /"00"/);
    assert.match(checkResult(upload, result([])), /stored \[\]/);
    assert.match(checkResult(upload, result([{ category: 'Condition', sha256 }, { category: 'Condition', sha256 }])), /sent Condition\/r-1/);
    assert.match(checkResult(upload, Buffer.from('[]')), /stored \[\]/);
    assert.match(checkResult(upload, Buffer.from('null')), /stored \[\]/);
    assert.match(checkResult(upload, Buffer.from('not json')), /not JSON/);
});

test('the setup file registers each identity as an uploader, in its own organisation', () => {
    const file = setupFile([{ mspId: 'A', name: 'User1' }, { mspId: 'B', name: 'User1' }], 'net1', 'A');
    assert.deepEqual(file.uploaders, [{ user: 'User1' }, { org: 'B', user: 'User1' }]);
    assert.equal(file.network.network_id, 'net1');
});
