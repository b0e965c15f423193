// The PAYchat spec's webhook receiver, with its two verifiers copied
// unchanged from specs/paychat.txt (Part 10 and Part 12). It listens on
// 127.0.0.1 (port in argv[2], 0 = any), prints "listening <port>", then one
// JSON line per webhook: what each verifier said. It answers 200 when both
// accept, 401 otherwise. PAYCHAT_SECRET_KEY is the partner's secret key.
const express = require('express');
const crypto = require('crypto');

// --- specs/paychat.txt, Part 10: Verification Code (Node.js) ---
function verifyWebhook(payload, signatureHeader, secretKey) {
  // Parse the signature header
  const [tPart, v1Part] = signatureHeader.split(',');
  const timestamp = tPart.replace('t=', '');
  const signature = v1Part.replace('v1=', '');

  // Recreate the signed message
  const message = `${timestamp}.${JSON.stringify(payload)}`;

  // Calculate expected signature
  const expected = crypto
    .createHmac('sha256', secretKey)
    .update(message)
    .digest('hex');

  // Compare signatures
  return signature === expected;
}

// --- specs/paychat.txt, Part 12: Handle Webhooks (Express) ---
function verifySignature(payload, header) {
  const [t, v1] = header.split(',');
  const timestamp = t.replace('t=', '');
  const signature = v1.replace('v1=', '');
  const message = `${timestamp}.${JSON.stringify(payload)}`;
  const expected = crypto
    .createHmac('sha256', process.env.PAYCHAT_SECRET_KEY)
    .update(message)
    .digest('hex');
  return signature === expected;
}
// --- end of the spec's code ---

const app = express();
app.use(express.json());
app.post('/webhooks/paychat', (req, res) => {
  const header = req.headers['x-paychat-signature'] || '';
  let a = false, b = false;
  try { a = verifyWebhook(req.body, header, process.env.PAYCHAT_SECRET_KEY); } catch (e) {}
  try { b = verifySignature(req.body, header); } catch (e) {}
  console.log(JSON.stringify({
    event: req.headers['x-paychat-event'], delivery: req.headers['x-paychat-delivery-id'],
    verifyWebhook: a, verifySignature: b, stringified: JSON.stringify(req.body),
  }));
  res.status(a && b ? 200 : 401).send(a && b ? 'OK' : 'Invalid signature');
});
const server = app.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log('listening ' + server.address().port);
});
