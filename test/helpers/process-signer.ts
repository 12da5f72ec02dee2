/**
 * A Signer whose key lives in another process (signer-process.ts), standing in for a GM/T 0018 hardware
 * module: the gateway gets only the public key and asks for each signature over IPC. It counts what it
 * was asked to sign, so a test can prove a caller went through the Signer interface rather than a key.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import type { SignatureScheme, Signer, SignerKeyType } from '../../certs/signer.js';

const CHILD = fileURLToPath(new URL('./signer-process.js', import.meta.url));

type Answer = { id: number; signature?: string; error?: string };

export class ProcessSigner implements Signer {
  readonly keyType: SignerKeyType;
  readonly publicKeyPem: string;
  readonly publicKey: KeyObject;
  /** Every signature asked for, by scheme. */
  readonly signed: Record<string, number> = {};
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  #next = 0;

  private constructor(child: ChildProcess, keyType: SignerKeyType, publicKeyPem: string) {
    this.#child = child;
    this.keyType = keyType;
    this.publicKeyPem = publicKeyPem;
    this.publicKey = createPublicKey(publicKeyPem);
    child.on('message', (answer: Answer) => {
      const waiting = this.#pending.get(answer.id);
      if (!waiting) return;
      this.#pending.delete(answer.id);
      if (answer.signature !== undefined) waiting.resolve(Buffer.from(answer.signature, 'base64'));
      else waiting.reject(new Error(`signer process: ${answer.error}`));
    });
    child.on('exit', () => {
      for (const waiting of this.#pending.values()) waiting.reject(new Error('signer process exited'));
      this.#pending.clear();
    });
  }

  /** Forks the signer process over `keyFile` (read only by the child); stopped when the test ends. */
  static async start(t: Test, keyFile: string): Promise<ProcessSigner> {
    const child = fork(CHILD, [keyFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    t.teardown(() => {
      if (child.connected) child.disconnect();
    });
    const hello = await new Promise<{ keyType: SignerKeyType; publicKeyPem: string }>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`signer process exited with ${code}`)));
    });
    return new ProcessSigner(child, hello.keyType, hello.publicKeyPem);
  }

  /** How many signatures were asked for in all. */
  get calls(): number {
    return Object.values(this.signed).reduce((a, b) => a + b, 0);
  }

  /** Stops the signer process (as a module that went away): later signatures are refused. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.disconnect();
    await exited;
  }

  sign(data: Uint8Array, scheme: SignatureScheme): Promise<Buffer> {
    this.signed[scheme] = (this.signed[scheme] ?? 0) + 1;
    if (!this.#child.connected) return Promise.reject(new Error('signer process: not running'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, data: Buffer.from(data).toString('base64'), scheme });
    });
  }
}
