/**
 * Our signed notes, keys, checkpoints and inclusion proofs, checked by code we did not write:
 * the Go reference implementation's published example (golang.org/x/mod/sumdb/note, note_test.go:
 * the PeterNeumann key pair and note), @noble/ed25519 (an independent Ed25519), and @sigstore/verify
 * (Sigstore's checkpoint and Merkle inclusion checks, as its Rekor verification runs them).
 */
import assert from 'node:assert/strict';
import { randomBytes, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import * as noble from '@noble/ed25519';
import type { TLogEntryWithInclusionProof } from '@sigstore/bundle';
import { verifyCheckpoint } from '@sigstore/verify/dist/tlog/checkpoint.js';
import { verifyMerkleInclusion } from '@sigstore/verify/dist/tlog/merkle.js';
import { proveInclusion } from '../../src/integrity/merkle-tree.js';
import { formatCheckpoint, parseCheckpoint } from '../../verifier/checkpoint.js';
import { ed25519PrivateKey, ed25519PublicKey, rawPublicKey } from '../../verifier/ed25519.js';
import {
  COSIGNATURE_V1, cosign, cosignedMessage, ED25519, formatSignatureLine, formatVerifierKey, keyId, parseNote, parseSignatureLine,
  parseVerifierKey, signNote, verifyCosignature, verifyNoteSignature,
} from '../../verifier/signed-note.js';
import { createLogKey, InMemoryTree, SignedLog } from './signed-log.js';

// golang.org/x/mod/sumdb/note, note_test.go (TestNewVerifier, TestSign): a published key pair and
// the note its signer produces. Ed25519 is deterministic (RFC 8032), so our signer must give the
// same bytes.
const GO_VERIFIER_KEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_SIGNER_KEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_TEXT = 'If you think cryptography is the answer to your problem,\nthen you don\'t know what your problem is.\n';
const GO_SIGNATURE_LINE = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

describe('signed notes against the Go reference implementation\'s published example', () => {
  const seed = Buffer.from(GO_SIGNER_KEY.split('+').slice(4).join('+'), 'base64').subarray(1); // after the algorithm byte
  const privateKey = ed25519PrivateKey(seed);
  const publicKey = rawPublicKey(privateKey);

  it('reads the Go verifier key and writes the same key, key ID included, from the Go signer key', () => {
    const key = parseVerifierKey(GO_VERIFIER_KEY);
    assert.deepEqual({ name: key.name, algorithm: key.algorithm, keyId: key.keyId.toString('hex'), publicKey: key.publicKey.toString('hex') },
      { name: 'PeterNeumann', algorithm: ED25519, keyId: 'c74f20a3', publicKey: publicKey.toString('hex') });
    assert.equal(formatVerifierKey('PeterNeumann', ED25519, publicKey), GO_VERIFIER_KEY);
  });

  it('reads back every verifier key it writes, those whose base64 holds a plus sign (about half of all keys) included', () => {
    let withPlus = 0;
    for (let i = 0; i < 64; i++) {
      const publicKey = rawPublicKey(ed25519PrivateKey(Buffer.alloc(32, i)));
      const text = formatVerifierKey('log.example', ED25519, publicKey);
      if (text.split('+').length > 3) withPlus++;
      assert.deepEqual(parseVerifierKey(text).publicKey, publicKey, text);
    }
    assert.ok(withPlus > 0);
  });

  it('signs the Go note\'s text into exactly the Go signature line', () => {
    assert.equal(signNote(GO_TEXT, 'PeterNeumann', privateKey, publicKey), GO_SIGNATURE_LINE);
  });

  it('accepts the Go note, and refuses it once one letter of its text is changed', () => {
    const key = parseVerifierKey(GO_VERIFIER_KEY);
    const note = parseNote(`${GO_TEXT}\n${GO_SIGNATURE_LINE}`);
    assert.equal(note.text, GO_TEXT);
    verifyNoteSignature(note, key);
    const changed = parseNote(`${GO_TEXT.replace('cryptography', 'cryptographY')}\n${GO_SIGNATURE_LINE}`);
    assert.throws(() => verifyNoteSignature(changed, key), /its signature by PeterNeumann does not verify/);
  });
});

describe('Ed25519 signatures against @noble/ed25519', () => {
  it('derives the same public key from a seed as node:crypto does', async () => {
    for (let i = 0; i < 8; i++) {
      const seed = randomBytes(32);
      assert.deepEqual(Buffer.from(await noble.getPublicKeyAsync(seed)), rawPublicKey(ed25519PrivateKey(seed)));
    }
  });

  it('verifies the log\'s checkpoint signatures, and refuses them over a changed checkpoint', async () => {
    const key = createLogKey('auditor.example/log');
    for (let size = 0; size < 8; size++) {
      const text = formatCheckpoint(key.origin, size * 1000, randomBytes(32));
      const { signature } = parseSignatureLine(signNote(text, key.origin, key.privateKey, key.publicKey).slice(0, -1));
      assert.equal(await noble.verifyAsync(signature, Buffer.from(text), key.publicKey), true);
      assert.equal(await noble.verifyAsync(signature, Buffer.from(text.replace(String(size * 1000), String(size * 1000 + 1))), key.publicKey), false);
    }
  });

  it('has its signatures over a checkpoint accepted by verifyNoteSignature, and the same signature under another key ID refused', async () => {
    const seed = randomBytes(32);
    const publicKey = Buffer.from(await noble.getPublicKeyAsync(seed));
    const key = parseVerifierKey(formatVerifierKey('log.example', ED25519, publicKey));
    const text = formatCheckpoint('log.example', 42, randomBytes(32));
    const signature = await noble.signAsync(Buffer.from(text), seed);
    verifyNoteSignature(parseNote(`${text}\n${formatSignatureLine('log.example', keyId('log.example', ED25519, publicKey), signature)}`), key);
    const elsewhere = parseNote(`${text}\n${formatSignatureLine('log.example', keyId('log.example', COSIGNATURE_V1, publicKey), signature)}`);
    assert.throws(() => verifyNoteSignature(elsewhere, key), /carries no signature by the key log\.example\+/);
  });

  it('agrees with our witness cosignatures (c2sp.org/tlog-cosignature) both ways', async () => {
    const seed = randomBytes(32);
    const publicKey = Buffer.from(await noble.getPublicKeyAsync(seed));
    const witness = parseVerifierKey(formatVerifierKey('witness.example', COSIGNATURE_V1, publicKey));
    const text = formatCheckpoint('log.example', 7, randomBytes(32));
    const time = 1_700_000_000n;

    const ours = parseSignatureLine(cosign(text, 'witness.example', ed25519PrivateKey(seed), publicKey, time).slice(0, -1));
    assert.equal(ours.signature.readBigUInt64BE(0), time);
    assert.equal(await noble.verifyAsync(ours.signature.subarray(8), cosignedMessage(text, time), publicKey), true);

    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(time);
    const theirs = Buffer.concat([stamp, await noble.signAsync(cosignedMessage(text, time), seed)]);
    const line = formatSignatureLine('witness.example', witness.keyId, theirs);
    assert.equal(verifyCosignature(text, parseSignatureLine(line.slice(0, -1)), witness), time);
    assert.throws(() => verifyCosignature(text.replace('\n7\n', '\n8\n'), parseSignatureLine(line.slice(0, -1)), witness), /does not verify/);
  });
});

/**
 * The members of a Rekor entry that Sigstore's checkpoint and inclusion checks read; the rest of
 * a Rekor entry (its kind, its signed entry timestamp) has no counterpart here.
 */
function rekorEntry(leaf: Buffer, index: number, size: number, root: Buffer, hashes: Buffer[], note: string): TLogEntryWithInclusionProof {
  const entry = {
    canonicalizedBody: leaf,
    inclusionProof: { logIndex: String(index), treeSize: String(size), rootHash: root, hashes, checkpoint: { envelope: note } },
  };
  return entry as unknown as TLogEntryWithInclusionProof;
}

describe('checkpoints and inclusion proofs against @sigstore/verify', () => {
  it('accepts our checkpoint\'s signature and reads its size and root, and refuses a checkpoint signed by another key', async () => {
    const log = new SignedLog(createLogKey('auditor.example'));
    for (let i = 0; i < 5; i++) log.append();
    const note = await log.checkpoint();
    // Sigstore finds the log's key by the first four bytes of its log ID and by name; a C2SP key
    // ID stands in for Rekor's (Rekor derives its own from the key alone).
    const authority = {
      logID: Buffer.concat([parseVerifierKey(log.key.verifierKey).keyId, Buffer.alloc(28)]),
      baseURL: log.key.origin,
      publicKey: ed25519PublicKey(log.key.publicKey),
      validFor: { start: new Date(0), end: new Date(8.64e15) },
    };
    const root = await log.tree.root();
    const checkpoint = verifyCheckpoint(rekorEntry(log.events[0]!.leaf, 0, 5, root, [], note), [authority]);
    assert.deepEqual({ origin: checkpoint.origin, size: checkpoint.logSize, root: checkpoint.logHash }, { origin: 'auditor.example', size: 5n, root });
    assert.deepEqual(parseCheckpoint(parseNote(note).text).rootHash, checkpoint.logHash);

    // Under the log's name and key ID, so that only the signature itself can tell.
    const text = parseNote(note).text;
    const forged = `${text}\n${formatSignatureLine('auditor.example', authority.logID.subarray(0, 4), sign(null, Buffer.from(text), createLogKey('x').privateKey))}`;
    assert.throws(() => verifyCheckpoint(rekorEntry(log.events[0]!.leaf, 0, 5, root, [], forged), [authority]), /invalid checkpoint signature/);
  });

  it('accepts every inclusion proof of every leaf in trees of 1 to 40 leaves, and refuses each with a hash altered', async () => {
    const tree = new InMemoryTree();
    const leaves: Buffer[] = [];
    for (let size = 1; size <= 40; size++) {
      const leaf = randomBytes(1 + (size % 7));
      leaves.push(leaf);
      tree.append(leaf);
      const root = await tree.root();
      for (let index = 0; index < size; index++) {
        const hashes = await proveInclusion(index, size, tree.read);
        const checkpoint = { origin: 'o', logSize: BigInt(size), logHash: root, rest: [] };
        verifyMerkleInclusion(rekorEntry(leaves[index]!, index, size, root, hashes, ''), checkpoint);
        if (hashes.length > 0) {
          const altered = hashes.with(hashes.length - 1, Buffer.from(hashes.at(-1)!.map((byte, i) => (i === 0 ? byte ^ 1 : byte))));
          assert.throws(() => verifyMerkleInclusion(rekorEntry(leaves[index]!, index, size, root, altered, ''), checkpoint), /calculated root hash does not match/);
        }
      }
    }
  });
});
