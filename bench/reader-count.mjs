// Counts packets with pcapdiag's own capture reader (no decoding), for the comparison with pcap-parser.
import { openSource } from '../dist/capture/source.js';
import { CaptureReader, READ_RECORD, READ_NEED_MORE, READ_END } from '../dist/capture/reader.js';
import { CaptureRecord } from '../dist/capture/record.js';

const src = openSource(process.argv[2]);
const reader = new CaptureReader();
const rec = new CaptureRecord();
let n = 0;
for (;;) {
  const st = reader.next(rec);
  if (st === READ_RECORD) n++;
  else if (st === READ_NEED_MORE) {
    const [off, len] = reader.writable();
    reader.commit(await src.read(reader.buf, off, len));
  } else if (st === READ_END) break;
}
console.log(n);
