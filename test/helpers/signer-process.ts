/**
 * The other end of ProcessSigner (process-signer.ts): a child process that reads one private key file and
 * signs what its parent asks over IPC, as a hardware module (密码机) would across its API. The key never
 * reaches the parent process.
 */
import { FileKeySigner, type SignatureScheme } from '../../certs/signer.js';

interface SignAsk {
  id: number;
  data: string;
  scheme: SignatureScheme;
}

const keyFile = process.argv[2];
if (!keyFile || !process.send) {
  process.stderr.write('usage: forked with a private key file path\n');
  process.exit(2);
}
const signer = FileKeySigner.fromFile(keyFile);
process.send({ ready: true, keyType: signer.keyType, publicKeyPem: signer.publicKeyPem });
process.on('message', (ask: SignAsk) => {
  signer.sign(Buffer.from(ask.data, 'base64'), ask.scheme).then(
    (signature) => process.send!({ id: ask.id, signature: signature.toString('base64') }),
    (err: Error) => process.send!({ id: ask.id, error: err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
