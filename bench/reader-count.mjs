// Counts packets with pcapdiag's own capture reader (no decoding), for the comparison with pcap-parser.
import { openSource } from '../dist/capture/source.js';
import { forEachRecord } from '../dist/capture/reader.js';

let n = 0;
await forEachRecord(openSource(process.argv[2]), () => n++);
console.log(n);
