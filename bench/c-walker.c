/*
 * The machine's limit for the benchmark: a minimal C decoder and flow table, as in issue #6's
 * table. read() into a 64 KiB buffer with compaction; Ethernet (+802.1Q), IPv4/IPv6, TCP/UDP
 * ports; an open-addressing table of 5-tuples counting packets per flow. No verdicts, no output
 * but the totals. Classic pcap only (what bench/generate.mjs writes).
 *
 * Build: cc -O2 -o bench/out/c-walker bench/c-walker.c      Run: bench/out/c-walker FILE
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define SLOTS (1 << 20)

struct flow { uint8_t used, ver, proto; uint8_t a[16], b[16]; uint16_t pa, pb; uint32_t packets; };
static struct flow *table;
static uint64_t flows;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t mix(const uint8_t *x, int n, uint32_t h) {
  for (int i = 0; i < n; i++) h = (h ^ x[i]) * 16777619u;
  return h;
}

/* one packet: the flow key in canonical order (lower address first), then find or insert */
static void account(int ver, int proto, const uint8_t *s, const uint8_t *d, uint16_t sp, uint16_t dp) {
  int n = ver == 4 ? 4 : 16;
  int swap = memcmp(s, d, n) > 0 || (memcmp(s, d, n) == 0 && sp > dp);
  const uint8_t *a = swap ? d : s, *b = swap ? s : d;
  uint16_t pa = swap ? dp : sp, pb = swap ? sp : dp;
  uint32_t h = mix(a, n, 2166136261u);
  h = mix(b, n, h);
  h = (h ^ pa) * 16777619u;
  h = (h ^ pb ^ (uint32_t)proto << 16) * 16777619u;
  for (uint32_t i = h & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
    struct flow *f = &table[i];
    if (!f->used) {
      f->used = 1; f->ver = (uint8_t)ver; f->proto = (uint8_t)proto;
      memcpy(f->a, a, n); memcpy(f->b, b, n); f->pa = pa; f->pb = pb; f->packets = 1;
      flows++;
      return;
    }
    if (f->ver == ver && f->proto == proto && f->pa == pa && f->pb == pb && !memcmp(f->a, a, n) && !memcmp(f->b, b, n)) {
      f->packets++;
      return;
    }
  }
}

static void packet(const uint8_t *p, uint32_t len) {
  if (len < 14) return;
  uint16_t type = be16(p + 12);
  uint32_t off = 14;
  while ((type == 0x8100 || type == 0x88a8) && off + 4 <= len) { type = be16(p + off + 2); off += 4; }
  if (type == 0x0800 && off + 20 <= len) {
    const uint8_t *ip = p + off;
    uint32_t ihl = (ip[0] & 15) * 4;
    if ((be16(ip + 6) & 0x1fff) != 0 || off + ihl + 4 > len) return;
    int proto = ip[9];
    if (proto == 6 || proto == 17) account(4, proto, ip + 12, ip + 16, be16(ip + ihl), be16(ip + ihl + 2));
  } else if (type == 0x86dd && off + 44 <= len) {
    const uint8_t *ip = p + off;
    int proto = ip[6];
    if (proto == 6 || proto == 17) account(6, proto, ip + 8, ip + 24, be16(ip + 40), be16(ip + 42));
  }
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: c-walker FILE.pcap\n"); return 2; }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror(argv[1]); return 2; }
  table = calloc(SLOTS, sizeof *table);
  static uint8_t buf[BUF];
  size_t have = 0, pos = 0;
  uint64_t packets = 0;
  int header = 1;
  for (;;) {
    if (pos > 0) { memmove(buf, buf + pos, have - pos); have -= pos; pos = 0; }
    ssize_t n = read(fd, buf + have, BUF - have);
    if (n <= 0) break;
    have += (size_t)n;
    if (header) { if (have < 24) continue; pos = 24; header = 0; }
    while (have - pos >= 16) {
      uint32_t incl = buf[pos + 8] | buf[pos + 9] << 8 | buf[pos + 10] << 16 | (uint32_t)buf[pos + 11] << 24;
      if (incl > BUF - 16) { fprintf(stderr, "record too large\n"); return 1; }
      if (have - pos < 16 + incl) break;
      packet(buf + pos + 16, incl);
      packets++;
      pos += 16 + incl;
    }
  }
  printf("%llu packets, %llu flows\n", (unsigned long long)packets, (unsigned long long)flows);
  return 0;
}
