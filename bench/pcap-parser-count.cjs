// Counts packets with the `pcap-parser` package (no decoding): its best case.
const pcapp = require('pcap-parser');
const fs = require('fs');
const stream = fs.createReadStream(process.argv[2], { highWaterMark: Number(process.argv[3] ?? 65536) });
let n = 0;
const parser = pcapp.parse(stream);
parser.on('packet', () => n++);
parser.on('end', () => console.log(n));
parser.on('error', (e) => {
  console.error(String(e));
  process.exit(1);
});
