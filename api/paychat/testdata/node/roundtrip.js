// Reads JSON texts, one per line, and prints for each whether
// JSON.stringify(JSON.parse(text)) === text: the property ledgerd's
// PAYchat bodies and amounts must have.
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
for (const l of lines) {
  const again = JSON.stringify(JSON.parse(l));
  console.log(JSON.stringify({ ok: again === l, again }));
}
