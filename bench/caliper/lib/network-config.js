'use strict';
// Caliper's network configuration (version 2.0, peer-gateway connector) and
// one connection profile per organisation, generated from the `network.json`
// that `scripts/network.sh up` writes. Each organisation's client users
// become Caliper identities; Caliper's connector opens each identity's
// gateway on the first peer listed for its organisation.

const fs = require('fs');
const path = require('path');

/** The chaincodes the workloads call: the EHR contract and the showcase. */
const CONTRACTS = ['ehrx', 'showcase'];

/**
 * Client users with P-256 keys (the Ed25519 test user is left out), in the
 * order the identities are used: User1 of each organisation, then User2...,
 * so consecutive workers alternate between the organisations' peers as the
 * Rust benchmark's workers do.
 * @param {object} network the parsed network.json
 * @returns {{mspId: string, name: string, cert: string, key: string}[]}
 */
function identities(network) {
    const perOrg = requireArray(network, 'organizations').map((org) => {
        const users = requireArray(org, 'users')
            .filter((user) => user.role === 'client' && user.key_type === 'p256')
            .map((user) => ({
                mspId: requireString(org, 'msp_id'),
                name: requireString(user, 'name'),
                cert: requireString(user, 'cert'),
                key: requireString(user, 'key'),
            }));
        users.sort((a, b) => userNumber(a.name) - userNumber(b.name));
        return users;
    });
    const longest = Math.max(0, ...perOrg.map((users) => users.length));
    const ordered = [];
    for (let i = 0; i < longest; i++) {
        for (const users of perOrg) {
            if (i < users.length) {
                ordered.push(users[i]);
            }
        }
    }
    return ordered;
}

/** `User12` → 12 (users sort by number, not text). */
function userNumber(name) {
    const digits = /(\d+)$/.exec(name);
    return digits ? Number(digits[1]) : Number.MAX_SAFE_INTEGER;
}

/**
 * The connection profile of one organisation: its peers, with the TLS CA
 * and the TLS server name of each.
 * @param {object} network the parsed network.json
 * @param {object} org one of its organisations
 * @returns {object} a Fabric common connection profile
 */
function connectionProfile(network, org) {
    const peers = {};
    for (const peer of requireArray(org, 'peers')) {
        peers[requireString(peer, 'name')] = {
            url: `grpcs://${requireString(peer, 'address')}`,
            tlsCACerts: { path: requireString(peer, 'tls_ca_cert') },
            grpcOptions: { 'ssl-target-name-override': requireString(peer, 'server_name') },
        };
    }
    const orgName = requireString(org, 'name');
    return {
        name: `${requireString(network, 'name')}-${orgName}`,
        version: '1.0.0',
        client: { organization: orgName },
        organizations: {
            [orgName]: { mspid: requireString(org, 'msp_id'), peers: Object.keys(peers) },
        },
        peers,
    };
}

/**
 * Caliper's network configuration for `network`, naming each
 * organisation's connection profile as `profilePath(org)`.
 * @param {object} network the parsed network.json
 * @param {(org: object) => string} profilePath where an organisation's profile is
 * @returns {object} Caliper's network configuration
 */
function caliperNetwork(network, profilePath) {
    const users = identities(network);
    return {
        name: `ehrx-${requireString(network, 'name')}`,
        version: '2.0.0',
        caliper: { blockchain: 'fabric' },
        channels: [{
            channelName: requireString(network, 'channel'),
            contracts: CONTRACTS.map((id) => ({ id })),
        }],
        organizations: requireArray(network, 'organizations').map((org) => ({
            mspid: org.msp_id,
            identities: {
                certificates: users
                    .filter((user) => user.mspId === org.msp_id)
                    .map((user) => ({
                        name: user.name,
                        clientPrivateKey: { path: user.key },
                        clientSignedCert: { path: user.cert },
                    })),
            },
            connectionProfile: { path: profilePath(org), discover: false },
        })),
    };
}

/**
 * Writes `networkconfig.json` and `profile-<org>.json` into `dir`.
 * @param {string} networkJson path of network.json
 * @param {string} dir output directory
 * @returns {{config: string, identities: object[]}} the configuration's path and the identities in use order
 */
function write(networkJson, dir) {
    const network = JSON.parse(fs.readFileSync(networkJson, 'utf8'));
    fs.mkdirSync(dir, { recursive: true });
    for (const org of requireArray(network, 'organizations')) {
        const file = path.join(dir, `profile-${requireString(org, 'name')}.json`);
        fs.writeFileSync(file, JSON.stringify(connectionProfile(network, org), null, 2));
    }
    const config = path.join(dir, 'networkconfig.json');
    const caliper = caliperNetwork(network, (org) => path.join(dir, `profile-${org.name}.json`));
    fs.writeFileSync(config, JSON.stringify(caliper, null, 2));
    return { config, identities: identities(network).map(({ mspId, name }) => ({ mspId, name })) };
}

function requireArray(object, field) {
    const value = object === null || typeof object !== 'object' ? undefined : object[field];
    if (!Array.isArray(value)) {
        throw new Error(`network.json: "${field}" must be an array`);
    }
    return value;
}

function requireString(object, field) {
    const value = object === null || typeof object !== 'object' ? undefined : object[field];
    if (typeof value !== 'string' || value.length === 0) {
        throw new Error(`network.json: "${field}" must be a non-empty string`);
    }
    return value;
}

module.exports = { identities, connectionProfile, caliperNetwork, write, CONTRACTS };
